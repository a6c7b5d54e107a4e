"""The few-shot experiment: how segmentation quality grows with the number of annotated images,
from random initialisation and from a translation (in silico labelling) model.

For each task config × K × init × seed, one segmentation model is trained on K training images
(a seeded permutation of the task's samples, so seeds differ in data as well as weights), then
evaluated on the test images. Every run appends one row to the CSV as soon as it finishes;
rerunning the experiment skips the rows already there (resume). A plot of each metric vs K with
mean ± standard deviation over seeds is drawn at the end.
"""

from __future__ import annotations

import csv
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stainless.config import (
    SegmentationConfig,
    SegmentationSampleConfig,
    _format_validation_error,
    _resolve_path,
    load_segmentation_config,
)
from stainless.data.segmentation import LoadedSegmentationSample, load_segmentation_sample
from stainless.inference.predictor import TilingOptions
from stainless.inference.segmenter import SegmentationPredictor
from stainless.metrics import DEFAULT_THRESHOLDS, instance_metrics
from stainless.training.segmentation import train_segmentation

CSV_COLUMNS = (
    "task",
    "k",
    "init",
    "seed",
    "iou",
    "csi@0.50",
    "map_csi",
    "f1@0.50",
    "precision@0.50",
    "n_true",
    "n_pred",
    "training_seconds",
)
PLOTTED = ("iou", "csi@0.50")


class FewshotConfig(BaseModel):
    """``stainless experiment fewshot`` settings (paths relative to the YAML file).

    ``tasks`` maps a name to a segmentation config; ``inits`` maps a name to a translation model
    folder (``null`` = random initialisation); ``k`` lists training-image counts (``all`` = every
    sample of the task); ``test`` lists the held-out images.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    csv: Path
    runs: Path
    tasks: dict[str, Path] = Field(min_length=1)
    inits: dict[str, Path | None] = Field(min_length=1)
    k: list[int | Literal["all"]] = Field(min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    test: list[SegmentationSampleConfig] = Field(min_length=1)
    keep_models: bool = False


def load_fewshot_config(path: Path) -> FewshotConfig:
    """Read and validate a few-shot experiment YAML file; one-line ``ValueError`` on problems."""
    if not path.is_file():
        raise OSError(f"config '{path}' does not exist")
    raw = yaml.safe_load(path.read_text()) or {}
    base = path.parent.resolve()
    for key in ("csv", "runs"):
        if key in raw:
            raw[key] = _resolve_path(raw[key], base)
    raw["tasks"] = {k: _resolve_path(v, base) for k, v in (raw.get("tasks") or {}).items()}
    raw["inits"] = {k: _resolve_path(v, base) for k, v in (raw.get("inits") or {}).items()}
    for sample in raw.get("test") or []:
        sample["inputs"] = [_resolve_path(p, base) for p in sample.get("inputs") or []]
        sample["labels"] = _resolve_path(sample.get("labels"), base)
    try:
        return FewshotConfig.model_validate(raw)
    except ValidationError as error:
        raise ValueError(_format_validation_error(error, str(path))) from error


def _done_runs(path: Path) -> set[tuple[str, str, str, str]]:
    if not path.is_file():
        return set()
    with path.open(newline="") as handle:
        return {(r["task"], r["k"], r["init"], r["seed"]) for r in csv.DictReader(handle)}


def _append_row(path: Path, row: dict[str, Any]) -> None:
    new = not path.is_file()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow({key: row.get(key, "") for key in CSV_COLUMNS})
        handle.flush()
        os.fsync(handle.fileno())


def run_config(
    task_config: Path, run_folder: Path, init: Path | None, k: int | str, seed: int
) -> SegmentationConfig:
    """The task's config for one run: K samples of a seed-dependent permutation, the init."""
    config = load_segmentation_config(task_config, seed=seed, output=run_folder)
    samples = list(config.data.samples)
    permuted = [samples[i] for i in np.random.default_rng(seed).permutation(len(samples))]
    count = len(samples) if k == "all" else int(k)
    if count > len(samples):
        raise ValueError(f"K = {count} but task '{task_config}' has only {len(samples)} samples")
    data = config.data.model_copy(update={"samples": permuted[:count], "max_images": None})
    model = config.model.model_copy(update={"init": init})
    return config.model_copy(update={"data": data, "model": model})


def evaluate_run(folder: Path, test: list[LoadedSegmentationSample]) -> dict[str, float]:
    """Mean over the (normalised) test images of foreground IoU and the instance metrics."""
    predictor = SegmentationPredictor.load(folder, device="cpu")
    options = TilingOptions(tile=256, overlap_fraction=0.25)
    rows = []
    for loaded in test:
        labels = predictor.labels(predictor.predict_maps(loaded.inputs, options))
        metrics = instance_metrics(loaded.labels, labels, thresholds=DEFAULT_THRESHOLDS)
        truth, predicted = loaded.labels > 0, labels > 0
        union = int((truth | predicted).sum())
        metrics["iou"] = float((truth & predicted).sum() / union) if union else 1.0
        rows.append(metrics)
    return {key: float(np.mean([r[key] for r in rows])) for key in CSV_COLUMNS[4:11]}


def run_fewshot(
    config: FewshotConfig, *, report: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    """Run every missing (task, K, init, seed) combination; returns all rows of the CSV."""
    config.csv.parent.mkdir(parents=True, exist_ok=True)
    done = _done_runs(config.csv)
    plan = [
        (task, k, init, seed)
        for task in config.tasks
        for k in config.k
        for init in config.inits
        for seed in config.seeds
    ]
    loaded_tests: dict[tuple[float, float], list[LoadedSegmentationSample]] = {}
    for number, (task, k, init, seed) in enumerate(plan, start=1):
        key = (task, str(k), init, str(seed))
        if key in done:
            continue
        folder = config.runs / f"{task}_k{k}_{init}_s{seed}"
        run = run_config(config.tasks[task], folder, config.inits[init], k, seed)
        started = time.perf_counter()
        train_segmentation(run, overwrite=True, progress=False)
        seconds = time.perf_counter() - started
        percentiles = run.data.input_percentiles
        if percentiles not in loaded_tests:  # read the test images once per normalisation
            loaded_tests[percentiles] = [
                load_segmentation_sample(s, percentiles) for s in config.test
            ]
        scores = evaluate_run(folder, loaded_tests[percentiles])
        row = {"task": task, "k": k, "init": init, "seed": seed, **scores}
        row["training_seconds"] = round(seconds, 1)
        _append_row(config.csv, row)
        report(
            f"[{number}/{len(plan)}] {task} K={k} init={init} seed={seed}: "
            f"IoU {scores['iou']:.3f}, csi@0.50 {scores['csi@0.50']:.3f} ({seconds:.0f} s)"
        )
        if not config.keep_models:
            shutil.rmtree(folder, ignore_errors=True)
    with config.csv.open(newline="") as handle:
        return list(csv.DictReader(handle))


def plot_fewshot(rows: list[dict[str, Any]], path: Path) -> Path:
    """Metric vs K, one panel per (task, metric), one line per init, mean ± std over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = sorted({r["task"] for r in rows})
    ks = sorted({r["k"] for r in rows}, key=lambda k: (k == "all", int(k) if k != "all" else 0))
    figure, axes = plt.subplots(
        len(tasks), len(PLOTTED), figsize=(4.5 * len(PLOTTED), 3.4 * len(tasks)), squeeze=False
    )
    for row_axes, task in zip(axes, tasks, strict=True):
        for axis, metric in zip(row_axes, PLOTTED, strict=True):
            for init in sorted({r["init"] for r in rows}):
                means, stds = [], []
                for k in ks:
                    values = [
                        float(r[metric])
                        for r in rows
                        if r["task"] == task and r["init"] == init and r["k"] == k
                    ]
                    means.append(np.mean(values) if values else np.nan)
                    stds.append(np.std(values) if values else np.nan)
                axis.errorbar(range(len(ks)), means, yerr=stds, marker="o", capsize=3, label=init)
            axis.set_xticks(range(len(ks)), [str(k) for k in ks])
            axis.set_xlabel("training images K")
            axis.set_ylabel(metric)
            axis.set_title(task)
            axis.set_ylim(0, 1)
            axis.grid(alpha=0.3)
            axis.legend()
    figure.tight_layout()
    temporary = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(temporary, dpi=120)
    plt.close(figure)
    temporary.replace(path)
    return path
