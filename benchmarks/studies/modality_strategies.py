"""Modality strategies on two real label-free modalities → DAPI ([LightMyCells2024], issue 27).

One translation model for phase contrast (isl-neurons: 13 planes, trained on columns 0–767) and
bright field (sephace ``set1``: 6 planes of a focus series) → DAPI, trained with each of the three
first-layer strategies of ``model.modality_strategy``, the same steps for every network:

* ``unified``  — one first layer for both modalities (the network is not told which it sees);
* ``dynamic``  — the first layer's kernel generated from the modality code, all else shared;
* ``separate`` — one model per modality on its own data only: the single-modality references.

Each model predicts DAPI on the two held-out parts, the isl-neurons strip (columns 768–1023,
phase) and the other sephace field (``set2``, bright field), with Gaussian-blended tiles; the score
is the Pearson correlation (PCC) with the real DAPI per modality (SSIM and MAE are in the JSON,
but a model of both sets outputs DAPI in their mean percentile scale, so only PCC compares).
Predictions are written as TIFFs beside the ground truth so that ``stainless evaluate
translation`` reproduces every number.

    python benchmarks/studies/modality_strategies.py            # trains what is missing, scores
    python benchmarks/studies/modality_strategies.py --only unified dynamic

The sephace data are MIT "for noncommercial and research purposes": benchmark only; these
models are never shipped. Writes ``benchmarks/results/modality_strategies.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from stainless.config import TranslationConfig, load_translation_config
from stainless.inference.predictor import TilingOptions, load_predictor
from stainless.io import crop_region, read_image, read_input_planes, write_image
from stainless.metrics import translation_metrics
from stainless.model_folder import is_model_folder, read_meta
from stainless.provenance import write_record
from stainless.training.translation import train_translation

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
STRATEGIES = ("unified", "dynamic", "separate")
RESULTS = HERE / "results" / "modality_strategies"


def config_of(strategy: str) -> TranslationConfig:
    """The study's config for ``strategy`` (``configs/modality_<strategy>.yaml``)."""
    return load_translation_config(HERE / "configs" / f"modality_{strategy}.yaml")


def trained(config: TranslationConfig) -> bool:
    """Whether the config's model (for ``separate``: every modality's) is already written."""
    if config.model.modality_strategy != "separate":
        return is_model_folder(config.output)
    return (config.output / "separate.json").is_file()


def training_record(config: TranslationConfig) -> dict[str, Any]:
    """Seconds, epochs and batches of the model (summed over a separate pair's members)."""
    folders = (
        [config.output]
        if config.model.modality_strategy != "separate"
        else sorted(p for p in config.output.iterdir() if is_model_folder(p))
    )
    metas = [read_meta(folder) for folder in folders]
    return {
        "networks": len(folders),
        "training_seconds": round(sum(float(m.get("training_seconds") or 0) for m in metas), 1),
        "batches": [m.get("batches") for m in metas],
    }


def held_out(config: TranslationConfig) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    """(name, modality, raw planes (C, Y, X), DAPI (Y, X)) of every held-out part."""
    parts = []
    for sample in config.data.validation:
        planes, _ = read_input_planes(sample.inputs)
        dapi = read_image(sample.targets["dapi"]).array
        parts.append(
            (
                sample.label,
                str(sample.modality),
                crop_region(planes, sample.region, sample.label),
                crop_region(dapi, sample.region, sample.label),
            )
        )
    return parts


def evaluate(strategy: str, config: TranslationConfig, tile: int) -> dict[str, Any]:
    """DAPI scores of ``strategy``'s model on each held-out part."""
    predictor = load_predictor(config.output, precision="fp32")
    options = TilingOptions(tile=tile, overlap_fraction=0.25, batch_size=4)
    scores: dict[str, Any] = {}
    (RESULTS / "predictions" / strategy).mkdir(parents=True, exist_ok=True)
    (RESULTS / "ground_truth").mkdir(parents=True, exist_ok=True)
    for name, modality, planes, truth in held_out(config):
        started = time.perf_counter()
        prediction = predictor.predict(planes, modality, options)["dapi"]
        seconds = time.perf_counter() - started
        write_image(
            RESULTS / "predictions" / strategy / f"{name}_dapi.tif",
            prediction,
            axes="YX",
            overwrite=True,
        )
        write_image(RESULTS / "ground_truth" / f"{name}_dapi.tif", truth, axes="YX", overwrite=True)
        metrics = translation_metrics(prediction, truth.astype(np.float64))
        scores[name] = {
            "modality": modality,
            **{key: round(float(metrics[key]), 4) for key in ("pcc", "ssim", "mae")},
            "predict_seconds": round(seconds, 1),
        }
    return {"model": str(config.output), **training_record(config), "held_out": scores}


def markdown(results: dict[str, dict[str, Any]]) -> str:
    """One row per strategy: DAPI PCC per held-out part and the training cost. (SSIM and MAE, in
    the JSON, depend on the output's units: a model of two sets outputs DAPI in their mean
    percentile scale, uint16 isl-neurons beside uint8 sephace, so only PCC compares across.)"""
    parts = list(next(iter(results.values()))["held_out"])
    header = " | ".join(
        f"{part} ({results[next(iter(results))]['held_out'][part]['modality']}) PCC"
        for part in parts
    )
    lines = [
        f"| strategy | {header} | networks | training s |",
        "|---|" + "---|" * len(parts) + "---|---|",
    ]
    for strategy, result in results.items():
        cells = " | ".join(f"{result['held_out'][p]['pcc']:.3f}" for p in parts)
        lines.append(
            f"| {strategy} | {cells} | {result['networks']} | {result['training_seconds']:.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    parser.add_argument("--tile", type=int, default=256)
    args = parser.parse_args()
    started = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    for strategy in args.only:
        config = config_of(strategy)
        if not trained(config):
            print(f"{strategy}: training {config.training.max_steps} steps", flush=True)
            train_translation(config, overwrite=True, progress="lines")
        results[strategy] = evaluate(strategy, config, args.tile)
        print(strategy, results[strategy]["held_out"], flush=True)
    table = markdown(results)
    print(table)
    record = {
        "benchmark": "modality_strategies",
        "configs": [f"benchmarks/configs/modality_{s}.yaml" for s in args.only],
        "command": "python benchmarks/studies/modality_strategies.py " + " ".join(sys.argv[1:]),
        "results": results,
        "table": table,
    }
    write_record(HERE / "results" / "modality_strategies.json", record, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
