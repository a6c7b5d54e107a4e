"""Copy trained benchmark models into the package as built-in models (``stainless.zoo``).

* ``nuclei-fluorescence``: the DSB2018 distance-map U-Net (``benchmarks/studies/dsb2018.py``;
  training data CC0), with its test-split scores from ``benchmarks/results/dsb2018.json``;
* ``phase-to-dapi``: the isl-neurons pix2pix generator, 13 phase planes → DAPI, MAP2, NFH
  (``benchmarks/studies/isl_neurons.py``; data CC-BY-4.0, Christiansen et al. 2018), with its
  held-out-strip scores from ``benchmarks/results/isl_neurons.json``.

Weights are stored as float16 safetensors (half the size; widened to float32 on loading); the
config, model.json and meta.json are written by ``stainless.model_folder`` as they were read.
Run after both benchmarks:

    python tools/build_zoo.py
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import torch

from stainless.io import write_text_atomically
from stainless.model_folder import (
    is_model_folder,
    read_meta,
    read_segmentation_config,
    read_segmentation_info,
    read_translation_config,
    read_translation_info,
    read_weights,
    save_model_folder,
)
from stainless.zoo import CARD, ZOO_ROOT

HERE = Path(__file__).resolve().parents[1] / "benchmarks"
RESULTS = HERE / "results"


def cards() -> dict[str, tuple[Path, dict[str, Any]]]:
    dsb = json.loads((RESULTS / "dsb2018.json").read_text())["results"]["distance"]
    isl = json.loads((RESULTS / "isl_neurons.json").read_text())["results"]["pix2pix"]
    return {
        "nuclei-fluorescence": (
            RESULTS / "dsb2018" / "distance",
            {
                "task": "nucleus instance segmentation (distance + mask U-Net, h-maxima watershed)",
                "inputs": "one fluorescence plane with bright nuclei (DAPI/Hoechst-like), any size",
                "training_data": "DSB2018 stage-1 train split (353 images, BBBC038)",
                "licence": "CC0 (training data)",
                "credit": "Caicedo et al., Nature Methods 2019 (BBBC038 / Data Science Bowl 2018)",
                "held_out": {
                    "data": "DSB2018 test split (56 images), mean over images",
                    "scores": {k: dsb[k] for k in ("csi@0.50", "map_csi", "f1@0.50", "pq@0.50")},
                },
                "built_by": "benchmarks/studies/dsb2018.py + tools/build_zoo.py",
            },
        ),
        "phase-to-dapi": (
            RESULTS / "isl_neurons" / "pix2pix",
            {
                "task": "in silico labelling: phase contrast → DAPI (also MAP2, NFH); pix2pix",
                "inputs": "13 phase-contrast focal planes (z-stack, in order), as in isl-neurons",
                "training_data": "isl-neurons field, training region (columns 0-767)",
                "licence": "CC-BY-4.0 (training data: credit below)",
                "credit": "Christiansen et al., Cell 2018, 'In Silico Labeling' "
                "(google/in-silico-labeling test data)",
                "held_out": {
                    "data": "isl-neurons test strip (columns 768-1023)",
                    "scores": {f"pcc_{t}": isl["test"][t]["pcc"] for t in ("dapi", "map2", "nfh")},
                },
                "built_by": "benchmarks/studies/isl_neurons.py + tools/build_zoo.py",
            },
        ),
    }


def main() -> int:
    for name, (source, card) in cards().items():
        if not is_model_folder(source):
            print(f"{name}: train it first ({source} is not a model folder)", file=sys.stderr)
            return 1
        target = ZOO_ROOT / name
        shutil.rmtree(target, ignore_errors=True)
        weights = read_weights(source)
        half = {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in weights.items()}
        info = read_segmentation_info(source) if name != "phase-to-dapi" else None
        save_model_folder(
            target,
            read_segmentation_config(source) if info else read_translation_config(source),
            half,
            info or read_translation_info(source),
            read_meta(source),
        )
        write_text_atomically(target / CARD, json.dumps({"name": name, **card}, indent=2) + "\n")
        size = sum(f.stat().st_size for f in target.iterdir()) / 1e6
        print(f"{name}: {size:.1f} MB in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
