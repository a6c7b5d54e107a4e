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

from stainless.cli.main import main as stainless
from stainless.provenance import write_record

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
LABELS = HERE / "results" / "fewshot_isl_neurons" / "labels"
CONFIG = HERE / "configs" / "fewshot_isl_neurons.yaml"
CSV = HERE / "results" / "fewshot_isl_neurons.csv"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    args = parser.parse_args()
    started = time.perf_counter()
    if not (LABELS / "dapi_labels.tif").is_file():
        dapi = str(args.data / "isl-neurons" / "dapi.png")
        options = ["--split", "distance_intensity", "--output", str(LABELS)]
        if stainless(["labels", "from-fluorescence", "--input", dapi, *options]) != 0:
            return 1
    if stainless(["experiment", "sweep", "--config", str(CONFIG)]) != 0:
        return 1
    with CSV.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    groups: dict[tuple[str, str, str], list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        groups[(row["task"], row["init"], row["k"])].append(row)
    summary = []
    for (task, init, k), members in groups.items():
        entry: dict[str, object] = {"task": task, "init": init, "k": k, "runs": len(members)}
        for metric in ("iou", "csi@0.50", "map_csi", "training_seconds"):
            values = [float(m[metric]) for m in members]
            entry[f"{metric}_mean"] = round(float(np.mean(values)), 4)
            entry[f"{metric}_std"] = round(float(np.std(values)), 4)
        summary.append(entry)
    output = {
        "benchmark": "fewshot_isl_neurons",
        "config": str(CONFIG.relative_to(HERE.parent)),
        "csv": str(CSV.relative_to(HERE.parent)),
        "plot": str(CSV.with_suffix(".png").relative_to(HERE.parent)),
        "summary": summary,
    }
    write_record(CSV.with_suffix(".json"), output, started)
    for entry in sorted(summary, key=lambda e: (e["task"], e["init"], str(e["k"]))):
        print(entry)
    return 0


if __name__ == "__main__":
    sys.exit(main())
