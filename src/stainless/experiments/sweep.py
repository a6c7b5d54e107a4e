"""Resumable sweeps of segmentation trainings: task × K × init × seed × variant.

For each combination one segmentation model is trained on K training images (a seeded
permutation of the task's samples, or its first K), from random weights or from a translation
model (in silico labelling pretraining, [Bonte2022]), with the variant's config overrides; then
it segments the held-out images, which are scored. Each run appends one row to the CSV as soon
as it finishes; rerunning skips the rows already there. Summaries (mean ± std over seeds) and
plots read that CSV.
"""

from __future__ import annotations

import csv
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np

from stainless.config import (
    SWEEP_PATHS,
    SegmentationConfig,
    SweepConfig,
    fine_tuning,
    load_segmentation_config,
    read_config,
)
from stainless.data.segmentation import listed_samples, samples_from_segmentation_manifest
from stainless.inference.segmenter import SegmentationPredictor
from stainless.io import crop_region, read_input_planes, read_labels, write_text_atomically
from stainless.metrics import DEFAULT_THRESHOLDS, instance_metrics
from stainless.model_folder import model_kind, resolve_model
from stainless.tiling import TilingOptions
from stainless.training.segmentation import train_segmentation

KEYS = ("task", "variant", "k", "init", "seed")
"""The columns that name a run (and make it resumable)."""
SCORES = (
    "iou",
    "csi@0.50",
    "map_csi",
    "f1@0.50",
    "precision@0.50",
    "recall@0.50",
    "ari",
    "n_true",
    "n_pred",
)
"""Means over the test images, in the CSV."""
FILTERED = ("csi@0.50", "map_csi")
"""Scores also given with both sides filtered to ``min_size_px`` (``csi@0.50_min100``)."""

TestImage = tuple[str, np.ndarray, np.ndarray]
"""(name, raw planes (C, Y, X), labels (Y, X))."""


def load_sweep_config(path: Path) -> SweepConfig:
    """Read and validate a sweep YAML file; one-line ``ValueError`` on problems."""
    return read_config(path, SweepConfig, SWEEP_PATHS)


def _read_table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    if not path.is_file():
        return [], []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a sweep CSV (none when it does not exist); a row written before variants
    existed counts as variant ``baseline``."""
    _, rows = _read_table(path)
    for row in rows:
        row["variant"] = row.get("variant") or "baseline"
    return rows


def append_row(path: Path, row: dict[str, Any]) -> None:
    """Append ``row`` to the CSV, durably; columns it adds widen the file (rewritten
    atomically), columns it lacks stay empty."""
    header, rows = _read_table(path)
    new_columns = [key for key in row if key not in header]
    if rows and new_columns:
        rows = read_rows(path)
        write_text_atomically(path, _csv_text([*header, *new_columns], [*rows, row]))
        return
    header = header or list(row)
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, restval="")
        if not rows:
            writer.writeheader()
        writer.writerow({key: row.get(key, "") for key in header})
        handle.flush()
        os.fsync(handle.fileno())


def _csv_text(header: list[str], rows: Iterable[dict[str, Any]]) -> str:
    buffer = StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, restval="")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: row.get(key, "") for key in header})
    return buffer.getvalue()


def run_config(
    sweep: SweepConfig,
    task: str,
    variant: str,
    k: int | str,
    init: str,
    seed: int,
    output: Path,
) -> SegmentationConfig:
    """The task's config for one run: its K samples, the init, the sweep's and the variant's
    overrides (dotted keys)."""
    overrides = {**sweep.variants[variant], "seed": seed, "output": output}
    config = load_segmentation_config(sweep.tasks[task], **overrides)
    samples, validation = listed_samples(config.data)
    order = list(range(len(samples)))
    if sweep.subset == "permutation":
        order = [int(i) for i in np.random.default_rng(seed).permutation(len(samples))]
    count = len(samples) if k == "all" else int(k)
    if count > len(samples):
        raise ValueError(f"K = {count} but task '{task}' has only {len(samples)} samples")
    chosen = order[:count]
    if sweep.pair_validation:
        if len(validation) != len(samples):
            raise ValueError(
                f"pair_validation: task '{task}' has {len(samples)} samples but "
                f"{len(validation)} validation images"
            )
        validation = [validation[i] for i in chosen]
    data = config.data.model_copy(
        update={
            "samples": [samples[i] for i in chosen],
            "validation": validation,
            "manifest": None,
            "validation_split": None,
            "max_images": None,
        }
    )
    if init in sweep.weight_inits:
        folder = resolve_model(sweep.inits[init])  # type: ignore[arg-type]
        model = config.model.model_copy(update={"init": None, "encoder_weights": folder})
    else:
        model = config.model.model_copy(update={"init": sweep.inits[init]})
    return fine_tuning(config.model_copy(update={"data": data, "model": model}), task)


def load_test_images(sweep: SweepConfig) -> list[TestImage]:
    """The held-out images of the sweep (``test``, then the ``test_split`` rows of
    ``test_manifest``): raw planes and labels, each cut to its region."""
    samples = list(sweep.test)
    if sweep.test_manifest is not None:
        samples += samples_from_segmentation_manifest(sweep.test_manifest, sweep.test_split)
    if not samples:
        raise ValueError(f"test_manifest '{sweep.test_manifest}' has no '{sweep.test_split}' rows")
    images = []
    for sample in samples:
        planes, _ = read_input_planes(sample.inputs)
        labels = read_labels(sample.labels).array
        images.append(
            (
                sample.label,
                crop_region(planes, sample.region, sample.label),
                crop_region(labels, sample.region, sample.label),
            )
        )
    return images


def score_model(
    folder: Path, images: Sequence[TestImage], options: TilingOptions, min_sizes: Sequence[int]
) -> dict[str, float]:
    """Mean over ``images`` of foreground IoU and the instance metrics (csi = TP/(TP+FP+FN));
    with ``min_sizes``, csi@0.50 and map_csi on objects of at least that many pixels too."""
    from stainless.inference.object_size import own_size_magnification

    predictor = SegmentationPredictor.load(folder, device="cpu")
    rows = []
    for name, planes, truth in images:
        chosen = predictor.input_planes(planes, None, Path(name))
        magnification, _ = own_size_magnification(predictor, chosen, options)  # as segment does
        predicted = predictor.segment(chosen, options, magnification=magnification)
        metrics = instance_metrics(truth, predicted, thresholds=DEFAULT_THRESHOLDS)
        union = int(((truth > 0) | (predicted > 0)).sum())
        metrics["iou"] = float(((truth > 0) & (predicted > 0)).sum() / union) if union else 1.0
        row = {key: float(metrics[key]) for key in SCORES}
        for size in min_sizes:
            filtered = instance_metrics(
                truth, predicted, thresholds=DEFAULT_THRESHOLDS, min_size_px=size
            )
            row.update({f"{key}_min{size}": float(filtered[key]) for key in FILTERED})
        rows.append(row)
    return {key: round(float(np.mean([r[key] for r in rows])), 4) for key in rows[0]}


def plan(sweep: SweepConfig) -> list[tuple[str, str, int | str, str, int]]:
    """Every (task, variant, K, init, seed) of the sweep, in run order."""
    return [
        (task, variant, k, init, seed)
        for task in sweep.tasks
        for variant in sweep.variants
        for k in sweep.k
        for init in sweep.inits
        for seed in sweep.seeds
    ]


def score_untouched_inits(
    sweep: SweepConfig,
    done: set[tuple[str, ...]],
    options: TilingOptions,
    report: Callable[[str], None],
) -> list[TestImage]:
    """A row (``k`` 0, variant ``untouched``) per task and segmentation-model init: the init
    scored as it is. Returns the test images (loaded once)."""
    images = load_test_images(sweep)
    for task in sweep.tasks:
        for init, folder in sweep.inits.items():
            if folder is None or (task, "untouched", "0", init, "0") in done:
                continue
            if model_kind(resolve_model(folder)) != "segmentation":
                continue
            scores = score_model(resolve_model(folder), images, options, sweep.min_size_px)
            row = {"task": task, "variant": "untouched", "k": 0, "init": init, "seed": 0}
            append_row(sweep.csv, {**row, **scores, "training_seconds": 0.0})
            report(f"{task} {init} untouched: csi@0.50 {scores['csi@0.50']:.3f}")
    return images


def run_sweep(sweep: SweepConfig, *, report: Callable[[str], None] = print) -> list[dict[str, str]]:
    """Run every missing combination; returns all rows of the CSV."""
    sweep.csv.parent.mkdir(parents=True, exist_ok=True)
    done = {tuple(row.get(key, "") for key in KEYS) for row in read_rows(sweep.csv)}
    runs = plan(sweep)
    options = TilingOptions(tile=sweep.tile, overlap_fraction=sweep.overlap_fraction)
    images: list[TestImage] | None = None
    if sweep.score_inits:
        images = score_untouched_inits(sweep, done, options, report)
    for number, (task, variant, k, init, seed) in enumerate(runs, start=1):
        if (task, variant, str(k), init, str(seed)) in done:
            continue
        name = f"{task}_{variant}_k{k}_{init}_s{seed}".replace(" ", "-")
        config = run_config(sweep, task, variant, k, init, seed, sweep.runs / name)
        started = time.perf_counter()
        train_segmentation(config, overwrite=True, progress="lines")
        seconds = time.perf_counter() - started
        images = images if images is not None else load_test_images(sweep)
        scores = score_model(config.output, images, options, sweep.min_size_px)
        row = {"task": task, "variant": variant, "k": k, "init": init, "seed": seed, **scores}
        append_row(sweep.csv, {**row, "training_seconds": round(seconds, 1)})
        report(
            f"[{number}/{len(runs)}] {task} {variant} K={k} init={init} seed={seed}: "
            f"IoU {scores['iou']:.3f}, csi@0.50 {scores['csi@0.50']:.3f} ({seconds:.0f} s)"
        )
        if not sweep.keep_models:
            shutil.rmtree(config.output, ignore_errors=True)
    return read_rows(sweep.csv)


def summarise(
    rows: Sequence[dict[str, str]], by: Sequence[str], metrics: Sequence[str]
) -> list[dict[str, Any]]:
    """Mean and std over seeds of ``metrics``, one entry per distinct value of the ``by``
    columns (in first-seen order), with the number of seeds and the mean training seconds."""
    groups: dict[tuple[str, ...], list[dict[str, str]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[key] for key in by), []).append(row)
    summary = []
    for key, group in groups.items():
        entry: dict[str, Any] = {**dict(zip(by, key, strict=True)), "seeds": len(group)}
        for metric in metrics:
            values = [float(row[metric]) for row in group if row.get(metric, "") != ""]
            entry[metric] = round(float(np.mean(values)), 4) if values else None
            entry[f"{metric}_std"] = round(float(np.std(values)), 4) if values else None
        seconds = [float(row["training_seconds"]) for row in group]
        entry["training_seconds_mean"] = round(float(np.mean(seconds)), 1)
        summary.append(entry)
    return summary


def summary_table(
    rows: Sequence[dict[str, str]], metrics: Sequence[str] = ("csi@0.50", "iou")
) -> str:
    """A Markdown table of the sweep: one line per task, variant, K and init with the mean ±
    std over seeds of ``metrics``, the number of seeds and the mean training time."""
    by = ("task", "variant", "k", "init")
    lines = [
        "| " + " | ".join([*by, *metrics, "seeds", "training s"]) + " |",
        "|" + "---|" * (len(by) + len(metrics) + 2),
    ]

    def order(entry: dict[str, Any]) -> tuple[str, str, float]:
        k = str(entry["k"])
        return (entry["task"], entry["variant"], float(k) if k.isdigit() else float("inf"))

    for entry in sorted(summarise(rows, by, metrics), key=order):
        scores = [
            f"{entry[m]:.3f} ± {entry[f'{m}_std']:.3f}" if entry[m] is not None else ""
            for m in metrics
        ]
        cells = [*(str(entry[key]) for key in by), *scores, str(entry["seeds"])]
        lines.append("| " + " | ".join([*cells, str(entry["training_seconds_mean"])]) + " |")
    return "\n".join(lines)
