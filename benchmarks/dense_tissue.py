"""Dense-tissue benchmark (Han et al. 2024): stainless vs Cellpose ``cyto`` on the 7 test strips.

Data: ``../shared/data/dense-tissue`` (immunofluorescence CD3/CD4/CD8 of HSV-infected skin, 12,575
expert-drawn cells). Protocol of the paper: train on the first K of the 7 training portions in the
paper's order, evaluate on the 7 test strips (1040x233), report the mean over strips of
csi@0.50 (the paper's "AP"), map_csi, ARI, and the same with ground truth and predictions
filtered to >= 100 px. Each training portion is cut once more (columns 0-998 train, 999-1158
validate): validation crops monitor the loss and tune the post-processing thresholds; the test
strips are only ever predicted.

Stages (each resumable; ``all`` runs them in order):

``pretext``
    The in silico labelling pretext: a CD3 -> DAPI U-Net trained on the training portions of the
    5 positions that have a registered DAPI image (no masks),
    ``configs/dense_tissue_isl_cd3_to_dapi.yaml``.
``sweep``
    Distance-map and HoVer U-Nets (width 16), random init vs ISL init, K = 1, 2, 7, seeds 0-2, at
    one fixed short budget per run; one CSV row per run (``results/dense_tissue_sweep.csv``).
``ablation``
    The sweep's K = 7 distance run changed one thing at a time, as the paper's Table 6: patch
    size, any-angle rotation on, flips and quarter turns off, zoom off; and the mask-loss weight.
    ``results/dense_tissue_ablation.csv``.
``flagship``
    Distance-map U-Nets (width 32) on all 7 portions with the full budget (<= 60 min each on the
    2 cores of the benchmark machine), ``configs/dense_tissue_distance.yaml`` as it is and with
    the ablation's best change (256² patches), see ``FLAGSHIPS``.
``report``
    In one run: Cellpose ``cyto`` pretrained (``peers-venv``, diameter 15) and the flagship models
    segment the test strips, both are scored by ``stainless evaluate segmentation`` (plain and
    ``--min-size 100``), errors are classified (splits / merges / misses / spurious), the sweep is
    summarised and plotted. Writes ``results/dense_tissue.json`` and ``results/dense_tissue_k.png``.

    python benchmarks/dense_tissue.py all
    python benchmarks/dense_tissue.py report      # only re-scores the trained models

The flagship numbers are what a user gets with

    stainless segment --model benchmarks/results/dense_tissue/<flagship> \\
        --input ../shared/data/dense-tissue/test/*_img.png --output P
    stainless evaluate segmentation --pred P --gt '../shared/data/dense-tissue/test/*_masks.png'
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from stainless.training.checkpoint import is_model_folder, load_meta

from stainless.cli.main import main as stainless
from stainless.config import SegmentationConfig, load_segmentation_config, load_translation_config
from stainless.inference.segmenter import SegmentationPredictor
from stainless.io import read_input_planes, read_labels
from stainless.metrics import DEFAULT_THRESHOLDS, instance_metrics
from stainless.provenance import run_metadata
from stainless.training.segmentation import train_segmentation
from stainless.training.translation import train_translation

HERE = Path(__file__).resolve().parent
CONFIGS = HERE / "configs"
RESULTS = HERE / "results" / "dense_tissue"
SWEEP_CSV = HERE / "results" / "dense_tissue_sweep.csv"
PAPER_ORDER = (
    "JML_Position10_CD3",
    "JML_Position8_CD3",
    "JML_Position8_CD4",
    "JML_Position8_CD8",
    "JML_Position9_CD3",
    "CFL_Position13_CD3",
    "CFL_Position7_CD3",
)
PAPER_ANCHORS = {
    "cellpose_cyto_pretrained": 0.516,
    "cellpose_trained_from_scratch_k7": 0.653,
    "cellpose_cyto_finetuned_k7": 0.694,
    "cellpose_cyto_finetuned_k7_tuned (patch 448, no rotation)": 0.711,
    "... with min size 100": 0.746,
    "human expert (one strip)": 0.662,
}
HEADS = ("distance", "hover")
INITS = ("random", "isl")
SWEEP_K = (1, 2, 7)
SEEDS = (0, 1, 2)
SWEEP_OVERRIDES: dict[str, Any] = {
    "model.width": 16,
    "data.crops_per_epoch": 400,  # 50 batches of 8
    "training.epochs": 8,  # 400 steps per run, whatever K
    "training.val_every_n_steps": 50,
}
SWEEP_COLUMNS = (
    "head",
    "init",
    "k",
    "seed",
    "csi@0.50",
    "map_csi",
    "ari",
    "csi@0.50_min100",
    "map_csi_min100",
    "n_true",
    "n_pred",
    "training_seconds",
)
ABLATION_CSV = HERE / "results" / "dense_tissue_ablation.csv"
ABLATION_COLUMNS = ("variant", "seed", *SWEEP_COLUMNS[4:])
BASE_AUGMENT: dict[str, Any] = {
    "flips": True,
    "rot90": True,
    "rotation": False,
    "scaling": [0.8, 1.25],
    "intensity": True,
}
ABLATIONS: dict[str, dict[str, Any]] = {
    "patch 256 (batch 2)": {"data.crop_size": 256, "data.batch_size": 2},
    "with any-angle rotation": {"data.augment": {**BASE_AUGMENT, "rotation": True}},
    "no flips or quarter turns": {"data.augment": {**BASE_AUGMENT, "flips": False, "rot90": False}},
    "no zoom": {"data.augment": {**BASE_AUGMENT, "scaling": None}},
    "mask loss weight 2": {"training.distance_alpha": 2.0},
    "magnified 2x (data.scale 2)": {"data.scale": 2.0},
}
REPORTED = ("csi@0.50", "map_csi", "ari", "f1@0.50", "precision@0.50", "recall@0.50")
PRETEXT_FOLDER = RESULTS / "isl_cd3_to_dapi"
FLAGSHIPS: dict[str, dict[str, Any]] = {  # full-budget K = 7 models: folder -> config changes
    "distance_k7_random_s0": {},
    "distance_k7_patch256_s0": {  # the ablation's best change; 1920 steps of 2 crops
        "data.crop_size": 256,
        "data.batch_size": 2,
        "data.crops_per_epoch": 128,
        "training.epochs": 30,
    },
}


# --------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------


def train_pretext(reuse: bool = True) -> Path:
    """The CD3 -> DAPI translation U-Net (the ISL init of the sweep)."""
    config = load_translation_config(CONFIGS / "dense_tissue_isl_cd3_to_dapi.yaml")
    if reuse and is_model_folder(config.output):
        print(f"pretext: reusing {config.output}")
    else:
        print("pretext: training CD3 -> DAPI")
        train_translation(config, overwrite=True, progress=sys.stderr.isatty())
    return config.output


def sweep_config(
    head: str,
    init: str,
    k: int,
    seed: int,
    changes: dict[str, Any] | None = None,
    variant: str = "",
) -> SegmentationConfig:
    """One short run: the first K training portions (paper order) and their validation cuts,
    the sweep's budget, and the ablation's ``changes`` (dotted config keys)."""
    name = f"{head}_{init}_k{k}_s{seed}" + (f"_{variant.replace(' ', '-')}" if variant else "")
    overrides = {**SWEEP_OVERRIDES, **(changes or {})}
    config = load_segmentation_config(
        CONFIGS / f"dense_tissue_{head}.yaml",
        seed=seed,
        output=RESULTS / "sweep" / name,
        **overrides,
    )
    data = config.data.model_copy(
        update={"samples": config.data.samples[:k], "validation": config.data.validation[:k]}
    )
    model = config.model.model_copy(update={"init": PRETEXT_FOLDER if init == "isl" else None})
    return config.model_copy(update={"data": data, "model": model})


def _done_runs(path: Path, keys: tuple[str, ...]) -> set[tuple[str, ...]]:
    if not path.is_file():
        return set()
    with path.open(newline="") as handle:
        return {tuple(row[key] for key in keys) for row in csv.DictReader(handle)}


def _append_row(path: Path, columns: tuple[str, ...], row: dict[str, Any]) -> None:
    new = not path.is_file()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        if new:
            writer.writeheader()
        writer.writerow({key: row[key] for key in columns})
        handle.flush()
        os.fsync(handle.fileno())


def test_strips(data: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, raw planes (1, Y, X), labels (Y, X)) of the 7 test strips, in paper order."""
    strips = []
    for name in PAPER_ORDER:
        planes, _ = read_input_planes([data / "test" / f"{name}_img.png"])
        strips.append((name, planes, read_labels(data / "test" / f"{name}_masks.png").array))
    return strips


def score_model(folder: Path, strips: list[tuple[str, np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Mean over strips of the paper's metrics, plain and with the >= 100 px filter."""
    predictor = SegmentationPredictor.load(folder, device="cpu")
    rows = []
    for _, planes, truth in strips:
        predicted = predictor.segment(planes)
        plain = instance_metrics(truth, predicted, thresholds=DEFAULT_THRESHOLDS)
        filtered = instance_metrics(
            truth, predicted, thresholds=DEFAULT_THRESHOLDS, min_size_px=100
        )
        rows.append(
            {
                "csi@0.50": plain["csi@0.50"],
                "map_csi": plain["map_csi"],
                "ari": plain["ari"],
                "csi@0.50_min100": filtered["csi@0.50"],
                "map_csi_min100": filtered["map_csi"],
                "n_true": plain["n_true"],
                "n_pred": plain["n_pred"],
            }
        )
    return {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}


def short_run(
    config: SegmentationConfig,
    strips: list[tuple[str, np.ndarray, np.ndarray]],
    keep_model: bool,
) -> dict[str, float]:
    """Train one short-budget model, score it on the test strips, delete it unless kept."""
    started = time.perf_counter()
    train_segmentation(config, overwrite=True, progress=False)
    seconds = time.perf_counter() - started
    scores = score_model(config.output, strips)
    if not keep_model:
        shutil.rmtree(config.output, ignore_errors=True)
    scores = {key: round(value, 4) for key, value in scores.items()}
    return {**scores, "training_seconds": round(seconds, 1)}


def run_sweep(data: Path, heads: list[str], inits: list[str], keep_models: bool) -> None:
    """Every missing (head, init, K, seed) run of the sweep; one CSV row each."""
    done = _done_runs(SWEEP_CSV, SWEEP_COLUMNS[:4])
    plan = [(h, i, k, s) for h in heads for i in inits for k in SWEEP_K for s in SEEDS]
    strips = test_strips(data)
    for number, (head, init, k, seed) in enumerate(plan, start=1):
        if (head, init, str(k), str(seed)) in done:
            continue
        scores = short_run(sweep_config(head, init, k, seed), strips, keep_models)
        row = {"head": head, "init": init, "k": k, "seed": seed, **scores}
        _append_row(SWEEP_CSV, SWEEP_COLUMNS, row)
        print(
            f"[{number}/{len(plan)}] {head} {init} K={k} seed={seed}: csi@0.50 "
            f"{scores['csi@0.50']:.3f} (min 100 px: {scores['csi@0.50_min100']:.3f}), "
            f"{scores['training_seconds']:.0f} s",
            flush=True,
        )


def run_ablation(data: Path, variants: list[str], keep_models: bool) -> None:
    """The paper's Table 6 and loss-weight ablation: the sweep's K = 7 distance run, one
    change at a time (its baseline row is the sweep's ``distance random K=7``)."""
    done = _done_runs(ABLATION_CSV, ABLATION_COLUMNS[:2])
    plan = [(variant, seed) for variant in variants for seed in SEEDS]
    strips = test_strips(data)
    for number, (variant, seed) in enumerate(plan, start=1):
        if (variant, str(seed)) in done:
            continue
        config = sweep_config("distance", "random", 7, seed, ABLATIONS[variant], variant)
        scores = short_run(config, strips, keep_models)
        _append_row(ABLATION_CSV, ABLATION_COLUMNS, {"variant": variant, "seed": seed, **scores})
        print(
            f"[{number}/{len(plan)}] {variant} seed={seed}: csi@0.50 {scores['csi@0.50']:.3f} "
            f"({scores['training_seconds']:.0f} s)",
            flush=True,
        )


def train_flagship(name: str, reuse: bool = True) -> Path:
    """A distance-map U-Net on all 7 training portions with the full budget."""
    config = load_segmentation_config(
        CONFIGS / "dense_tissue_distance.yaml", output=RESULTS / name, **FLAGSHIPS[name]
    )
    if reuse and is_model_folder(config.output):
        print(f"flagship: reusing {config.output}")
    else:
        print(f"flagship {name}: training (the <= 60 min run)")
        train_segmentation(config, overwrite=True, progress=sys.stderr.isatty())
    return config.output


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


def evaluate_folder(pred: Path, data: Path, min_size: int) -> dict[str, Any]:
    """``stainless evaluate segmentation`` of a prediction folder against the test strips."""
    out = pred.parent / f"{pred.name}_scores_min{min_size}.json"
    args = ["evaluate", "segmentation", "--pred", str(pred)]
    args += ["--gt", str(data / "test" / "*_masks.png"), "--out", str(out), "--overwrite"]
    if stainless([*args, "--min-size", str(min_size)]) != 0:
        raise RuntimeError(f"stainless evaluate failed on {pred}")
    scores = json.loads(out.read_text())
    return {
        "mean": {key: scores["summary"][key] for key in REPORTED},
        "per_strip_csi@0.50": {row["name"]: row["csi@0.50"] for row in scores["per_image"]},
    }


def segment_with_stainless(model: Path, data: Path) -> tuple[Path, float]:
    predictions = RESULTS / "predictions" / model.name
    shutil.rmtree(predictions, ignore_errors=True)
    started = time.perf_counter()
    images = [str(path) for path in sorted((data / "test").glob("*_img.png"))]
    args = ["segment", "--model", str(model), "--input", *images, "--output", str(predictions)]
    if stainless(args) != 0:
        raise RuntimeError(f"stainless segment failed for {model}")
    return predictions, time.perf_counter() - started


def segment_with_cellpose(data: Path, peers_python: Path, weights: Path) -> tuple[Path, float]:
    predictions = RESULTS / "predictions" / "cellpose_cyto"
    shutil.rmtree(predictions, ignore_errors=True)
    command = [str(peers_python), str(HERE / "peers" / "cellpose_predict.py")]
    command += ["--model", str(weights), "--input", str(data / "test" / "*_img.png")]
    command += ["--output", str(predictions), "--diameter", "15"]
    started = time.perf_counter()
    subprocess.run(command, check=True, env={**os.environ, "OMP_NUM_THREADS": "2"})
    return predictions, time.perf_counter() - started


def error_types(pred: Path, data: Path, overlap: float = 0.5) -> dict[str, int]:
    """Where the errors are, summed over strips.

    An unmatched ground-truth cell (IoU <= 0.5 with every prediction) is *split* when two or more
    predictions lie mostly (>= ``overlap`` of their area) inside it, *merged* when a prediction
    covering most of it also covers most of another true cell, else *missed* (not found, or
    outlined too loosely). An unmatched prediction lying mostly on background is *spurious*.
    """
    counts = dict.fromkeys(("true", "pred", "matched", "split", "merged", "missed", "spurious"), 0)
    for name in PAPER_ORDER:
        truth = read_labels(data / "test" / f"{name}_masks.png").array.astype(np.int64)
        predicted = read_labels(next(pred.glob(f"{name}_*.tif"))).array.astype(np.int64)
        on_both = (truth > 0) & (predicted > 0)
        pairs, shared = np.unique(
            np.stack([truth[on_both], predicted[on_both]]), axis=1, return_counts=True
        )
        true_ids, true_areas = np.unique(truth[truth > 0], return_counts=True)
        pred_ids, pred_areas = np.unique(predicted[predicted > 0], return_counts=True)
        true_area = dict(zip(true_ids.tolist(), true_areas.tolist(), strict=True))
        pred_area = dict(zip(pred_ids.tolist(), pred_areas.tolist(), strict=True))
        fragments: dict[int, int] = {}  # true id -> predictions lying mostly inside it
        covering: dict[int, list[int]] = {}  # true id -> predictions covering most of it
        cells_covered: dict[int, int] = {}  # prediction -> true cells it covers most of
        on_cells: dict[int, int] = {}  # prediction -> its pixels on true cells
        matched_true, matched_pred = set(), set()
        for (t, p), n in zip(pairs.T.tolist(), shared.tolist(), strict=True):
            on_cells[p] = on_cells.get(p, 0) + n
            if n / (true_area[t] + pred_area[p] - n) > 0.5:
                matched_true.add(t)
                matched_pred.add(p)
            if n >= overlap * pred_area[p]:
                fragments[t] = fragments.get(t, 0) + 1
            if n >= overlap * true_area[t]:
                covering.setdefault(t, []).append(p)
                cells_covered[p] = cells_covered.get(p, 0) + 1
        counts["true"] += len(true_area)
        counts["pred"] += len(pred_area)
        counts["matched"] += len(matched_true)
        for t in set(true_area) - matched_true:
            if fragments.get(t, 0) >= 2:
                counts["split"] += 1
            elif any(cells_covered[p] >= 2 for p in covering.get(t, [])):
                counts["merged"] += 1
            else:
                counts["missed"] += 1
        counts["spurious"] += sum(
            1 for p in set(pred_area) - matched_pred if on_cells.get(p, 0) < overlap * pred_area[p]
        )
    return counts


def _mean_and_std(group: list[dict[str, str]]) -> dict[str, Any]:
    entry: dict[str, Any] = {"seeds": len(group)}
    for key in ("csi@0.50", "map_csi", "ari", "csi@0.50_min100"):
        values = [float(row[key]) for row in group]
        entry[key] = round(float(np.mean(values)), 4)
        entry[f"{key}_std"] = round(float(np.std(values)), 4)
    seconds = [float(row["training_seconds"]) for row in group]
    entry["training_seconds_mean"] = round(float(np.mean(seconds)), 1)
    return entry


def _read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def summarise_sweep() -> list[dict[str, Any]]:
    """Mean ± std over seeds of the sweep CSV, one row per (head, init, K)."""
    rows = _read_rows(SWEEP_CSV)
    summary = []
    for head in HEADS:
        for init in INITS:
            for k in SWEEP_K:
                group = [r for r in rows if (r["head"], r["init"], r["k"]) == (head, init, str(k))]
                if group:
                    summary.append({"head": head, "init": init, "k": k, **_mean_and_std(group)})
    return summary


def summarise_ablation() -> list[dict[str, Any]]:
    """Mean ± std over seeds per ablation variant, the sweep's K = 7 distance run first."""
    baseline = [
        r
        for r in _read_rows(SWEEP_CSV)
        if (r["head"], r["init"], r["k"]) == ("distance", "random", "7")
    ]
    rows = _read_rows(ABLATION_CSV)
    summary = (
        [{"variant": "baseline (patch 128, batch 8)", **_mean_and_std(baseline)}]
        if baseline
        else []
    )
    for variant in ABLATIONS:
        group = [r for r in rows if r["variant"] == variant]
        if group:
            summary.append({"variant": variant, **_mean_and_std(group)})
    return summary


def plot_k_sweep(
    summary: list[dict[str, Any]], flagship: dict[str, float], cellpose: float | None, path: Path
) -> None:
    """csi@0.50 vs K per (head, init), with Cellpose and the paper's anchors."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.4, 4.4))
    for head in HEADS:
        for init in INITS:
            group = [e for e in summary if (e["head"], e["init"]) == (head, init)]
            if group:
                axis.errorbar(
                    [e["k"] for e in group],
                    [e["csi@0.50"] for e in group],
                    yerr=[e["csi@0.50_std"] for e in group],
                    marker="o",
                    capsize=3,
                    linestyle="-" if head == "distance" else "--",
                    label=f"stainless {head}, {init} init (short runs)",
                )
    for (name, value), marker in zip(flagship.items(), "*P", strict=False):
        axis.plot([7], [value], f"k{marker}", markersize=12, label=f"stainless {name} (full)")
    if cellpose is not None:
        axis.axhline(cellpose, color="grey", linestyle=":", label="Cellpose cyto pretrained (ours)")
    for value, label in (
        (0.711, "paper: Cellpose tuned, K=7"),
        (0.653, "paper: from scratch, K=7"),
    ):
        axis.scatter([7.25], [value], marker="_", s=300, color="tab:red")
        axis.annotate(label, (7.3, value), fontsize=7, va="center")
    axis.set_xticks(SWEEP_K)
    axis.set_xlim(0.5, 9.5)
    axis.set_xlabel("training portions K (paper order)")
    axis.set_ylabel("mean csi@0.50 over the 7 test strips")
    axis.set_ylim(0, 0.85)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    temporary = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(temporary, dpi=120)
    plt.close(figure)
    temporary.replace(path)


def report(data: Path, peers_python: Path, weights: Path, out: Path) -> dict[str, Any]:
    """Cellpose and the flagship on the test strips in one run, plus the sweep summary."""
    started = time.perf_counter()
    results: dict[str, Any] = {}
    cellpose_predictions, cellpose_seconds = segment_with_cellpose(data, peers_python, weights)
    results["cellpose_cyto_pretrained"] = {
        "metrics": evaluate_folder(cellpose_predictions, data, 0),
        "metrics_min100": evaluate_folder(cellpose_predictions, data, 100),
        "errors": error_types(cellpose_predictions, data),
        "segment_seconds_7_strips": round(cellpose_seconds, 1),
        "settings": "diameter 15, channels [0, 0], cellpose<4 in peers-venv",
    }
    flagship_csi: dict[str, float] = {}
    for name, changes in FLAGSHIPS.items():
        folder = RESULTS / name
        if not is_model_folder(folder):
            continue
        predictions, seconds = segment_with_stainless(folder, data)
        meta = load_meta(folder)
        metrics = evaluate_folder(predictions, data, 0)
        flagship_csi[name] = metrics["mean"]["csi@0.50"]
        results[f"stainless_{name}"] = {
            "config": "configs/dense_tissue_distance.yaml",
            "changes": changes,
            "metrics": metrics,
            "metrics_min100": evaluate_folder(predictions, data, 100),
            "errors": error_types(predictions, data),
            "segment_seconds_7_strips": round(seconds, 1),
            "training_minutes": round(meta["training_seconds"] / 60, 1),
            "training_threads": meta.get("torch_threads"),
            "validation_csi@0.50": meta.get("tuning", {}).get("csi@0.50"),
            "tuned_thresholds": {k: v for k, v in meta.get("tuning", {}).items() if k != "on"},
            "model": str(folder.relative_to(HERE.parent)),
        }
    cellpose_csi = results["cellpose_cyto_pretrained"]["metrics"]["mean"]["csi@0.50"]
    summary = summarise_sweep()
    plot_k_sweep(summary, flagship_csi, cellpose_csi, out.with_name("dense_tissue_k.png"))
    output = {
        "benchmark": "dense_tissue",
        "data": str(data),
        "protocol": "train on the first K training portions (paper order; columns 0-998 train, "
        "999-1158 validate and tune thresholds), report the mean over the 7 test strips",
        "paper_order": list(PAPER_ORDER),
        "results": results,
        "sweep": {"overrides": SWEEP_OVERRIDES, "csv": SWEEP_CSV.name, "summary": summary},
        "ablation": {
            "base": "the sweep's distance / random init / K = 7 runs",
            "changes": ABLATIONS,
            "csv": ABLATION_CSV.name,
            "summary": summarise_ablation(),
        },
        "paper_anchors_csi@0.50": PAPER_ANCHORS,
        "reproduce_with": "stainless segment --model benchmarks/results/dense_tissue/<flagship> "
        "--input ../shared/data/dense-tissue/test/*_img.png --output P "
        "&& stainless evaluate segmentation --pred P --gt "
        "'../shared/data/dense-tissue/test/*_masks.png'",
        "wall_s": round(time.perf_counter() - started, 1),
        "metadata": run_metadata(),
    }
    temporary = out.with_name(f".{out.name}.tmp")
    temporary.write_text(json.dumps(output, indent=2) + "\n")
    temporary.replace(out)
    print(markdown_tables(output))
    print(f"wrote {out}")
    return output


def markdown_tables(output: dict[str, Any]) -> str:
    """The report's tables in Markdown (for ``RESULTS.md``)."""
    lines = [
        "| model | csi@0.50 | map_csi | ARI | csi@0.50 ≥100 px | precision | recall | training |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in output["results"].items():
        mean, filtered = entry["metrics"]["mean"], entry["metrics_min100"]["mean"]
        minutes = entry.get("training_minutes")
        lines.append(
            f"| {name} | {mean['csi@0.50']:.3f} | {mean['map_csi']:.3f} | {mean['ari']:.3f} | "
            f"{filtered['csi@0.50']:.3f} | {mean['precision@0.50']:.3f} | "
            f"{mean['recall@0.50']:.3f} | {f'{minutes} min' if minutes else 'pretrained'} |"
        )
    lines += ["", "| model | true | predicted | matched | split | merged | missed | spurious |"]
    lines.append("|---|---|---|---|---|---|---|---|")
    for name, entry in output["results"].items():
        e = entry["errors"]
        lines.append(
            f"| {name} | {e['true']} | {e['pred']} | {e['matched']} | {e['split']} | "
            f"{e['merged']} | {e['missed']} | {e['spurious']} |"
        )
    lines += [
        "",
        "| head | init | K | csi@0.50 | ARI | csi@0.50 ≥100 px | s/run |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in output["sweep"]["summary"]:
        lines.append(
            f"| {e['head']} | {e['init']} | {e['k']} | {e['csi@0.50']:.3f} ± "
            f"{e['csi@0.50_std']:.3f} | {e['ari']:.3f} | {e['csi@0.50_min100']:.3f} | "
            f"{e['training_seconds_mean']:.0f} |"
        )
    lines += ["", "| K = 7 distance, short run | seeds | csi@0.50 | csi@0.50 ≥100 px | s/run |"]
    lines.append("|---|---|---|---|---|")
    for e in output["ablation"]["summary"]:
        lines.append(
            f"| {e['variant']} | {e['seeds']} | {e['csi@0.50']:.3f} ± {e['csi@0.50_std']:.3f} | "
            f"{e['csi@0.50_min100']:.3f} | {e['training_seconds_mean']:.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "stage", choices=("pretext", "sweep", "ablation", "flagship", "report", "all")
    )
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--heads", nargs="+", choices=HEADS, default=list(HEADS))
    parser.add_argument("--inits", nargs="+", choices=INITS, default=list(INITS))
    parser.add_argument("--retrain", action="store_true", help="retrain pretext / flagship")
    parser.add_argument("--variants", nargs="+", choices=list(ABLATIONS), default=list(ABLATIONS))
    parser.add_argument("--flagships", nargs="+", choices=list(FLAGSHIPS), default=list(FLAGSHIPS))
    parser.add_argument("--keep-models", action="store_true", help="keep the sweep's models")
    parser.add_argument("--peers-python", type=Path, default=HERE.parent / "peers-venv/bin/python")
    parser.add_argument(
        "--cellpose-weights",
        type=Path,
        default=HERE.parent.parent / "shared" / "peers" / "cellpose_cyto.pth",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "dense_tissue.json")
    args = parser.parse_args()
    data = (args.data / "dense-tissue").resolve()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.stage in ("pretext", "all") or ("isl" in args.inits and args.stage == "sweep"):
        train_pretext(reuse=not args.retrain)
    if args.stage in ("sweep", "all"):
        run_sweep(data, args.heads, args.inits, args.keep_models)
    if args.stage in ("ablation", "all"):
        run_ablation(data, args.variants, args.keep_models)
    if args.stage in ("flagship", "all"):
        for name in args.flagships:
            train_flagship(name, reuse=not args.retrain)
    if args.stage in ("report", "all"):
        report(data, args.peers_python, args.cellpose_weights, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
