"""In-silico-labelling pretraining for few-shot nucleus segmentation (isl-neurons).

Ground truth: nuclei from DAPI with ``stainless labels from-fluorescence --split
distance_intensity`` (the ISL papers also derived their ground truth from the stain). Pretext:
the phase → DAPI/MAP2/NFH U-Net trained on the training region only
(``benchmarks/configs/isl_neurons_unet.yaml``, 13 phase planes). Tasks: nucleus semantic
segmentation (the pretrained DAPI output through the shifted sigmoid, ISL paper eq. 1) and
instance segmentation (distance + mask through two Conv-BN-ReLU blocks, Fig. 5b), fine-tuned
with K ∈ {1, 2, 5, 10, all = 12} crops (256 × 256) of the training region, random vs translation
initialisation, seeds 0–2, the same architecture and step budget for both inits; evaluated on
the held-out strip (columns 768–1023).

    python benchmarks/studies/fewshot_isl_neurons.py [--data ../shared/data]
    python benchmarks/studies/fewshot_isl_neurons.py --config fewshot_isl_flows.yaml  # flows head

The flows sweep starts from the built-in ``phase-to-dapi`` generator; its random init is that
generator's architecture with fresh weights (``RANDOM_TWIN``, written here before the sweep), so
both inits share architecture and step budget.

Runs ``stainless experiment sweep --config benchmarks/configs/fewshot_isl_neurons.yaml``
(resumable), which writes ``benchmarks/results/fewshot_isl_neurons.csv`` and ``.png``; this
script adds ``fewshot_isl_neurons.json`` with the means per (task, init, K).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import yaml

from stainless.cli.main import main as stainless
from stainless.model_folder import (
    is_model_folder,
    read_translation_config,
    read_translation_info,
    resolve_model,
    save_model_folder,
)
from stainless.models.build import build_translation_network
from stainless.provenance import write_record

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
LABELS = HERE / "results" / "fewshot_isl_neurons" / "labels"
CONFIGS = HERE / "configs"
RANDOM_TWIN = HERE / "results" / "fewshot_isl_flows" / "random_phase_to_dapi"


def write_random_twin(source: Path, output: Path, seed: int = 0) -> None:
    """A translation model folder with ``source``'s architecture and config but freshly
    initialised weights (seed ``seed``): the random-init control of a transfer from ``source``."""
    torch.manual_seed(seed)
    config = read_translation_config(source)
    info = read_translation_info(source)
    network = build_translation_network(config.model, info.in_channels, len(info.target_names))
    meta = {"random_twin_of": str(source), "seed": seed, "trained": False}
    save_model_folder(output, config, network.state_dict(), info, meta)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--config", default="fewshot_isl_neurons.yaml", help="a sweep config")
    args = parser.parse_args()
    config = CONFIGS / args.config
    sweep = yaml.safe_load(config.read_text())
    csv_path = (config.parent / sweep["csv"]).resolve()
    inits = {(config.parent / folder).resolve() for folder in sweep["inits"].values() if folder}
    started = time.perf_counter()
    if RANDOM_TWIN in inits and not is_model_folder(RANDOM_TWIN):
        write_random_twin(resolve_model("phase-to-dapi"), RANDOM_TWIN)
    if not (LABELS / "dapi_labels.tif").is_file():
        dapi = str(args.data / "isl-neurons" / "dapi.png")
        options = ["--split", "distance_intensity", "--output", str(LABELS)]
        if stainless(["labels", "from-fluorescence", "--input", dapi, *options]) != 0:
            return 1
    if stainless(["experiment", "sweep", "--config", str(config)]) != 0:
        return 1
    with csv_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    groups: dict[tuple[str, str, str, str], list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        variant = row.get("variant") or "baseline"
        groups[(row["task"], variant, row["init"], row["k"])].append(row)
    summary = []
    for (task, variant, init, k), members in groups.items():
        entry: dict[str, object] = {
            "task": task,
            "variant": variant,
            "init": init,
            "k": k,
            "runs": len(members),
        }
        for metric in ("iou", "csi@0.50", "map_csi", "training_seconds"):
            values = [float(m[metric]) for m in members]
            entry[f"{metric}_mean"] = round(float(np.mean(values)), 4)
            entry[f"{metric}_std"] = round(float(np.std(values)), 4)
        summary.append(entry)
    output = {
        "benchmark": "fewshot_isl_neurons",
        "config": str(config.relative_to(HERE.parent)),
        "csv": str(csv_path.relative_to(HERE.parent)),
        "plot": str(csv_path.with_suffix(".png").relative_to(HERE.parent)),
        "summary": summary,
    }
    write_record(csv_path.with_suffix(".json"), output, started)
    for entry in sorted(summary, key=lambda e: (e["task"], e["variant"], e["init"], str(e["k"]))):
        print(entry)
    return 0


if __name__ == "__main__":
    sys.exit(main())
