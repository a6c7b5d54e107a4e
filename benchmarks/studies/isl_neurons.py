"""In silico labelling on real data: 13 phase-contrast planes → DAPI, MAP2, NFH (ISL neurons).

One 1024 × 1024 field (``../shared/data/isl-neurons``, Christiansen et al. 2018, CC-BY-4.0), split
spatially: models train on columns 0–767 and are tested on columns 768–1023 (training crops never
cross the boundary). Three models, from ``benchmarks/configs/``:

* ``unet``          U-Net, L1 loss, all targets on every crop;
* ``unet_partial``  the same, but each target hidden on a random third of the training crops
                    (the adaptive partial-label loss ignores hidden targets);
* ``pix2pix``       ResNet generator with one decoder per target, one PatchGAN per target.

Each model predicts the test strip with Gaussian-blended tiles and test-time augmentation (the 4
rotations); predictions (float32) and the ground-truth strips are written as TIFFs so that
``stainless evaluate translation`` reproduces every number. Metrics per target in raw intensity
units: PCC, SSIM and PSNR (data range = the ground truth's max − min), MAE, Light My Cells
Euclidean and cosine distance.

    python benchmarks/studies/isl_neurons.py            # trains the three models, then evaluates
    python benchmarks/studies/isl_neurons.py --reuse    # evaluates the models the configs trained

Writes ``benchmarks/results/isl_neurons.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from stainless.config import TranslationConfig, load_translation_config
from stainless.inference.predictor import TilingOptions, TranslationPredictor
from stainless.io import read_image, read_input_planes, write_image
from stainless.metrics import translation_metrics
from stainless.model_folder import is_model_folder, read_meta
from stainless.provenance import write_record
from stainless.training.translation import train_translation

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
MODELS = ("unet", "unet_partial", "pix2pix")
TEST_COLUMNS = slice(768, 1024)


def train_or_reuse(name: str, reuse: bool) -> TranslationConfig:
    config = load_translation_config(HERE / "configs" / f"isl_neurons_{name}.yaml")
    if reuse and is_model_folder(config.output):
        print(f"{name}: reusing {config.output}")
    else:
        print(f"{name}: training (see the config for epochs and crops)")
        train_translation(
            config, overwrite=True, progress="bar" if sys.stderr.isatty() else "lines"
        )
    return config


def test_strip(config: TranslationConfig) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Raw input planes and ground-truth targets of the test strip (columns 768–1023)."""
    sample = config.data.samples[0]
    planes, _ = read_input_planes(sample.inputs)
    truths = {
        name: read_image(path).array[:, TEST_COLUMNS] for name, path in sample.targets.items()
    }
    return planes[:, :, TEST_COLUMNS], truths


def evaluate_model(
    name: str, config: TranslationConfig, out_dir: Path, tile: int
) -> dict[str, Any]:
    planes, truths = test_strip(config)
    predictor = TranslationPredictor.load(config.output)
    options = TilingOptions(tile=tile, overlap_fraction=0.5, batch_size=4, tta=True)
    started = time.perf_counter()
    predictions = predictor.predict(planes, "phase", options)
    predict_seconds = time.perf_counter() - started
    (out_dir / "predictions" / name).mkdir(parents=True, exist_ok=True)
    (out_dir / "ground_truth").mkdir(parents=True, exist_ok=True)
    scores = {}
    for target, prediction in predictions.items():
        truth = truths[target]
        write_image(
            out_dir / "predictions" / name / f"neurons-test_{target}.tif",
            prediction,
            axes="YX",
            overwrite=True,
        )
        write_image(
            out_dir / "ground_truth" / f"neurons-test_{target}.tif",
            truth,
            axes="YX",
            overwrite=True,
        )
        scores[target] = translation_metrics(prediction, truth.astype(np.float64))
    meta = read_meta(config.output)
    return {
        "model": str(config.output),
        "architecture": config.model.architecture,
        "hide_target_fraction": config.data.hide_target_fraction,
        "training_seconds": meta.get("training_seconds"),
        "epochs": meta.get("epochs"),
        "batches": meta.get("batches"),
        "predict_seconds_with_tta": round(predict_seconds, 1),
        "test": scores,
    }


def print_table(results: dict[str, dict[str, Any]]) -> None:
    columns = ("pcc", "ssim", "mae", "euclidean_distance", "cosine_distance")
    print(f"{'model':<14}{'target':<7}" + "".join(f"{c[:9]:>11}" for c in columns))
    for name, result in results.items():
        for target, scores in result["test"].items():
            print(f"{name:<14}{target:<7}" + "".join(f"{scores[c]:>11.4f}" for c in columns))


def markdown_tables(results: dict[str, dict[str, Any]]) -> str:
    """The tables of benchmarks/RESULTS.md, generated from the results (no hand copying)."""
    lines = [
        "| model | target | PCC | SSIM | MAE | E_dist | C_dist | training | epochs (batches) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, result in results.items():
        minutes = (result["training_seconds"] or 0) / 60
        for target, s in result["test"].items():
            lines.append(
                f"| {name} | {target} | {s['pcc']:.3f} | {s['ssim']:.3f} | {s['mae']:.0f} | "
                f"{s['euclidean_distance']:.3f} | {s['cosine_distance']:.3f} | {minutes:.1f} min | "
                f"{result['epochs']} ({result['batches']}) |"
            )
    if {"unet", "unet_partial"} <= results.keys():
        lines += [
            "",
            "| target | PCC, all labels | PCC, each target hidden on 1/3 of crops | difference |",
            "|---|---|---|---|",
        ]
        for target, full in results["unet"]["test"].items():
            partial = results["unet_partial"]["test"][target]
            change = partial["pcc"] - full["pcc"]
            lines.append(f"| {target} | {full['pcc']:.3f} | {partial['pcc']:.3f} | {change:+.3f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reuse", action="store_true", help="evaluate already trained models")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--output", type=Path, default=HERE / "results" / "isl_neurons.json")
    args = parser.parse_args()
    started = time.perf_counter()
    out_dir = HERE / "results" / "isl_neurons"
    results = {}
    for name in args.models:
        config = train_or_reuse(name, args.reuse)
        results[name] = evaluate_model(name, config, out_dir, args.tile)
    print_table(results)
    print(markdown_tables(results))
    document = {
        "benchmark": "isl_neurons",
        "data": "../shared/data/isl-neurons: train columns 0-767, test columns 768-1023",
        "results": results,
        "reproduce_with": "stainless evaluate translation "
        "--pred benchmarks/results/isl_neurons/predictions/<model> "
        "--gt benchmarks/results/isl_neurons/ground_truth",
    }
    write_record(args.output, document, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
