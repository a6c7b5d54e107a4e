"""Copy trained benchmark models into the package as built-in models (``stainless.zoo``).

* ``nuclei-fluorescence``: the DSB2018 U-Net whose head (distance or flows) scored best on the
  validation split (``benchmarks/studies/dsb2018.py``; training data CC0), with its test-split
  scores from ``benchmarks/results/dsb2018.json``;
* ``phase-to-dapi``: the isl-neurons pix2pix generator, 13 phase planes → DAPI, MAP2, NFH
  (``benchmarks/studies/isl_neurons.py``; data CC-BY-4.0, Christiansen et al. 2018), with its
  held-out-strip scores from ``benchmarks/results/isl_neurons.json``.

Weights are stored as float16 safetensors (half the size; widened to float32 on loading); the
config, model.json and meta.json are written by ``stainless.model_folder`` as they were read.
Run after both benchmarks (``--only nuclei-fluorescence`` rebuilds one):

    python tools/build_zoo.py
"""

from __future__ import annotations

import argparse
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


DSB_HEADS = {
    "distance": "distance + mask U-Net, h-maxima watershed",
    "flows": "flows U-Net (Cellpose-style [Stringer2021]), pixels follow the flows to their sinks",
}
VERSIONS = {  # name -> (version, what changed); bump whenever the shipped weights change
    "nuclei-fluorescence": (
        2,
        "v2 (issue 11): the flows head replaces the distance head; it scores higher on the "
        "DSB2018 validation split (which chose it) and on the test split",
    ),
    "phase-to-dapi": (1, ""),
}


def best_dsb_head(results: dict[str, Any]) -> str:
    """The DSB2018 head whose thresholds scored best on the *validation* split (the test split
    only reports), among the heads of ``DSB_HEADS`` in ``dsb2018.json``."""
    rows = {h: r for h, r in results.items() if h in DSB_HEADS}
    return max(rows, key=lambda h: rows[h]["tuned_thresholds"]["csi@0.50"])


def cards() -> dict[str, tuple[Path, dict[str, Any]]]:
    results = json.loads((RESULTS / "dsb2018.json").read_text())["results"]
    head = best_dsb_head(results)
    dsb = results[head]
    isl = json.loads((RESULTS / "isl_neurons.json").read_text())["results"]["pix2pix"]
    return {
        "nuclei-fluorescence": (
            Path(dsb.get("model", RESULTS / "dsb2018" / head)),
            {
                "task": f"nucleus instance segmentation ({DSB_HEADS[head]})",
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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="+", choices=sorted(VERSIONS), help="build only these")
    args = parser.parse_args()
    for name, (source, card) in cards().items():
        if args.only and name not in args.only:
            continue
        target = ZOO_ROOT / name
        if source.resolve() == target.resolve():
            print(f"{name}: already built from {source}")
            continue
        if not is_model_folder(source):
            print(f"{name}: train it first ({source} is not a model folder)", file=sys.stderr)
            return 1
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
        version, changes = VERSIONS[name]
        card = {"name": name, **card, "version": version, "changes": changes}
        write_text_atomically(target / CARD, json.dumps(card, indent=2) + "\n")
        size = sum(f.stat().st_size for f in target.iterdir()) / 1e6
        print(f"{name} v{version}: {size:.1f} MB in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
