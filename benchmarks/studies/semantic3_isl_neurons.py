"""3-class semantic segmentation from phase contrast: background / nucleus / cell (isl-neurons).

Labels come from the stains, as in the bright-field nucleus/cytoplasm paper: nuclei from DAPI
(instances, ``--split distance_intensity``), cells from MAP2 — either the MAP2 mask (``map2``:
cell bodies and the thin neurites) or one compact cell per nucleus (``compact``: a watershed of
MAP2 above its Li threshold, seeded by the nuclei, kept within 25 px of its nucleus, ``labels
from-fluorescence --seeds --threshold li``); cytoplasm = cell and not nucleus. U-Net, the small
FC-DenseNet (Tiramisu) and DeepLabv3+ train on the training region (columns 0–767) with the same
crops, loss (CE + Dice, balanced class weights) and wall-time budget (``--minutes``; the learning
rate follows a cosine that ends with the budget), on the phase planes as the ISL model takes them
(``input_planes`` of ``--isl-init``, e.g. ``resample``, so the models also take one plane), and
are scored on the test strip (columns 768–1023) by ``stainless segment`` + ``stainless evaluate
semantic``: Dice per class, parameter count, training time and the validation curve. ``unet_isl``
starts the U-Net from the body of the translation model given by ``--isl-init`` (in silico
labelling pretraining, as the ISL paper does for nuclei) at the same budget as ``unet``. Paper
(bright-field, 3 classes): Dice 0.91 / 0.93 / 0.94.

    python benchmarks/studies/semantic3_isl_neurons.py --minutes 7 --isl-init MODEL \
        [--variants unet unet_isl tiramisu deeplabv3plus unet_compact] [--reuse]

Writes ``benchmarks/results/semantic3_isl_neurons.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

from stainless.cli.main import main as stainless
from stainless.config import SegmentationConfig, load_segmentation_config
from stainless.data.segmentation import load_segmentation_sample
from stainless.data.targets import three_class_target
from stainless.io import write_image
from stainless.model_folder import is_model_folder, read_meta, read_translation_info
from stainless.models import load_segmentation_network
from stainless.provenance import write_record
from stainless.training.segmentation import train_segmentation

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
RESULTS = HERE / "results" / "semantic3_isl_neurons"
VARIANTS = (
    "unet",
    "unet_isl",
    "tiramisu",
    "deeplabv3plus",
    "unet_compact",
    "tiramisu_compact",
    "deeplabv3plus_compact",
    "unet_islnet_compact",
    "deeplabv3plus_islnet_compact",
)
"""Variant name → architecture config ``semantic3_isl_<arch>.yaml`` (the part before ``_``);
``_isl``: the head reads the DAPI map of ``--isl-init`` through [Bonte2022]'s adapter;
``_islnet``: ``--isl-init``'s whole network starts the network of the same architecture (a U-Net
translation model for ``unet_islnet``, its last 32 feature maps reaching the head; a DeepLabv3+
one, ``configs/isl_neurons_resample_planes_deeplabv3plus.yaml``, for ``deeplabv3plus_islnet``);
``_compact``: compact cells as the cell class."""
COMPACT_DISTANCE_PX = 25
CLASSES = ["background", "nucleus", "cell"]
TEST_REGION = (0, 768, 1024, 1024)


def make_labels(data: Path) -> None:
    """DAPI nuclei (shared with the few-shot benchmark) and the MAP2 cell mask."""
    nuclei = HERE / "results" / "fewshot_isl_neurons" / "labels"
    if not (nuclei / "dapi_labels.tif").is_file():
        dapi = str(data / "isl-neurons" / "dapi.png")
        args = ["--split", "distance_intensity", "--output", str(nuclei)]
        if stainless(["labels", "from-fluorescence", "--input", dapi, *args]) != 0:
            raise RuntimeError("labels from DAPI failed")
    map2 = str(data / "isl-neurons" / "map2.png")
    if not (RESULTS / "labels" / "map2_mask.tif").is_file():
        args = ["--mode", "semantic", "--output", str(RESULTS / "labels")]
        if stainless(["labels", "from-fluorescence", "--input", map2, *args]) != 0:
            raise RuntimeError("labels from MAP2 failed")
    if not (RESULTS / "compact" / "map2_labels.tif").is_file():
        seeds = str(nuclei / "dapi_labels.tif")
        args = ["--seeds", seeds, "--max-distance", str(COMPACT_DISTANCE_PX), "--threshold", "li"]
        args += ["--output", str(RESULTS / "compact")]
        if stainless(["labels", "from-fluorescence", "--input", map2, *args]) != 0:
            raise RuntimeError("compact cells from MAP2 and the nuclei failed")


def variant_config(variant: str, minutes: float, isl_init: Path | None) -> SegmentationConfig:
    """The architecture's config with the study's budget, inputs and labels."""
    architecture = variant.split("_")[0]
    config = load_segmentation_config(HERE / "configs" / f"semantic3_isl_{architecture}.yaml")
    samples = config.data.samples
    if "compact" in variant.split("_"):
        cells = RESULTS / "compact" / "map2_labels.tif"
        samples = [s.model_copy(update={"cells": cells}) for s in samples]
    # the test strip monitors the training curve only: nothing is selected or tuned on it
    strip = [samples[0].model_copy(update={"region": TEST_REGION, "name": "test-strip"})]
    # every variant takes its planes as the ISL model does, so that only the init differs
    input_planes = read_translation_info(isl_init).input_planes if isl_init else "resample"
    data = config.data.model_copy(
        update={
            "input_planes": input_planes,
            "crops_per_epoch": 256,
            "samples": samples,
            "validation": strip,
        }
    )
    model = config.model
    modifiers = variant.split("_")[1:]
    if ("isl" in modifiers or "islnet" in modifiers) and isl_init is None:
        raise ValueError(f"the {variant} variant needs --isl-init (a translation model)")
    if "isl" in modifiers:
        model = model.model_copy(update={"init": isl_init, "init_target": "dapi"})
    if "islnet" in modifiers:
        model = model.model_copy(update={"encoder_weights": isl_init})
    training = config.training.model_copy(
        update={"epochs": 10000, "max_minutes": minutes, "precision": "fp32"}
    )
    return config.model_copy(
        update={
            "data": data,
            "model": model,
            "training": training,
            "output": RESULTS / f"{variant}_{minutes:g}min",
        }
    )


def test_files(config: SegmentationConfig, compact: bool) -> tuple[Path, Path]:
    """The test strip's 13 planes (one CYX TIFF) and its class map (with the compact cells or
    the MAP2 mask)."""
    sample = config.data.samples[0].model_copy(update={"region": TEST_REGION})
    from stainless.io import read_input_planes

    planes, _ = read_input_planes(sample.inputs)
    y0, x0, y1, x1 = TEST_REGION
    folder = RESULTS / "test"
    folder.mkdir(parents=True, exist_ok=True)
    image = folder / "strip.tif"
    write_image(image, planes[:, y0:y1, x0:x1], axes="CYX", overwrite=True)
    loaded = load_segmentation_sample(sample, config.data.input_percentiles)
    assert loaded.cells is not None
    truth = folder / ("strip_classes_compact.tif" if compact else "strip_classes.tif")
    write_image(truth, three_class_target(loaded.labels, loaded.cells), axes="YX", overwrite=True)
    return image, truth


def validation_curve(folder: Path) -> list[dict[str, float]]:
    """(step, validation Dice per class) rows from the training log."""
    rows = []
    for path in sorted(folder.glob("logs/version_*/metrics.csv")):
        with path.open() as handle:
            for row in csv.DictReader(handle):
                dice = {k: v for k, v in row.items() if k.startswith("val/") and v}
                if dice:
                    rows.append(
                        {"step": int(row["step"]), **{k: float(v) for k, v in dice.items()}}
                    )
    return rows


def _init_of(config: SegmentationConfig) -> str:
    """How the network started: the adapter on a translation model, its weights, or random."""
    if config.model.init:
        return f"adapter on {config.model.init}"
    if config.model.encoder_weights:
        return f"weights of {config.model.encoder_weights}"
    return "random"


def run_one(
    variant: str, config: SegmentationConfig, reuse: bool, image: Path, truth: Path
) -> dict[str, Any]:
    name = config.output.name  # the variant and its budget
    if not (reuse and is_model_folder(config.output)):
        print(f"{variant}: training")
        train_segmentation(
            config, overwrite=True, progress="bar" if sys.stderr.isatty() else "lines"
        )
    predictions = RESULTS / "predictions" / name
    args = ["segment", "--model", str(config.output), "--input", str(image)]
    if stainless([*args, "--output", str(predictions), "--overwrite"]) != 0:
        raise RuntimeError(f"segment failed for {name}")
    scores = RESULTS / f"scores_{name}.json"
    args = ["evaluate", "semantic", "--pred", str(predictions / "strip_labels.tif")]
    args += ["--gt", str(truth), "--classes", *CLASSES, "--output", str(scores), "--overwrite"]
    if stainless(args) != 0:
        raise RuntimeError(f"evaluate failed for {name}")
    summary = json.loads(scores.read_text())["summary"]
    network, _ = load_segmentation_network(config.output)
    meta = read_meta(config.output)
    return {
        **{f"dice_{c}": summary[f"dice_{c}"] for c in CLASSES},
        "mean_dice": summary["mean_dice"],
        "parameters": int(sum(p.numel() for p in network.parameters())),
        "training_minutes": round(meta["training_seconds"] / 60, 1),
        "batches": meta["batches"],
        "init": _init_of(config),
        "cells": "compact" if "compact" in variant.split("_") else "map2",
        "validation_curve": validation_curve(config.output),
    }


def plot_curves(results: dict[str, dict[str, Any]], path: Path) -> None:
    """Validation loss (CE + Dice on the test strip's fixed crops) against steps.

    (The validation's ``dice_fg`` is the two-class foreground Dice of the semantic head and means
    nothing for three classes; per-class Dice is measured on the whole strip after training.)
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3.6))
    for variant, row in results.items():
        curve = [point for point in row["validation_curve"] if "val/loss" in point]
        axis.plot([p["step"] for p in curve], [p["val/loss"] for p in curve], label=variant)
    axis.set_xlabel("optimisation step")
    axis.set_title("validation loss (CE + Dice), test strip crops", fontsize=10)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def markdown_table(results: dict[str, dict[str, Any]]) -> str:
    """The table of benchmarks/RESULTS.md, from the results (no hand copying)."""
    lines = [
        "| model | init | cell label | Dice background | Dice nucleus | Dice cell | parameters "
        "| training | steps |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for variant, row in results.items():
        init = "random" if row["init"] == "random" else "ISL (translation body)"
        lines.append(
            f"| {variant} | {init} | {row['cells']} | {row['dice_background']:.3f} | "
            f"{row['dice_nucleus']:.3f} | {row['dice_cell']:.3f} | "
            f"{row['parameters'] / 1e6:.2f} M | {row['training_minutes']} min | {row['batches']} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--reuse", action="store_true", help="evaluate already trained models")
    parser.add_argument("--minutes", type=float, default=12.0, help="training budget per model")
    parser.add_argument("--isl-init", type=Path, help="translation model for unet_isl")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument(
        "--output", type=Path, default=HERE / "results" / "semantic3_isl_neurons.json"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    make_labels(args.data)
    results = {}
    for variant in args.variants:
        config = variant_config(variant, args.minutes, args.isl_init)
        image, truth = test_files(config, "compact" in variant.split("_"))
        results[variant] = run_one(variant, config, args.reuse, image, truth)
        print(f"{variant}: {results[variant]}", flush=True)
    print(markdown_table(results))
    plot_curves(results, args.output.with_name(f"{args.output.stem}_curves.png"))
    output = {
        "benchmark": "semantic3_isl_neurons",
        "data": str(args.data / "isl-neurons"),
        "split": "train columns 0-767, test columns 768-1023",
        "budget_minutes": args.minutes,
        "results": results,
        "anchor": {"brightfield_paper_dice_bg_nucleus_cytoplasm": [0.91, 0.93, 0.94]},
    }
    write_record(args.output, output, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
