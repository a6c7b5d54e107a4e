"""Copy trained benchmark models into the package as built-in models (``stainless.zoo``).

* ``nuclei-fluorescence``: the DSB2018 U-Net whose head (distance or flows) scored best on the
  validation split (``benchmarks/studies/dsb2018.py``; training data CC0), with its test-split
  scores from ``benchmarks/results/dsb2018.json``;
* ``phase-to-dapi``: the isl-neurons U-Net that takes any number of phase planes → DAPI, MAP2,
  NFH (``benchmarks/configs/isl_neurons_any_planes.yaml``; data CC-BY-4.0, Christiansen et al.
  2018), with its held-out-strip scores from
  ``benchmarks/results/isl_any_planes_phase_to_dapi_resample.json``;
* ``nuclei``: the generalist nucleus flows U-Net (``benchmarks/configs/nuclei.yaml``: DSB2018 grey
  + DSB2018 histology + BBBC039 train splits, CC0), with its per-set held-out scores at the size
  it finds itself from ``benchmarks/results/nuclei_test_v2.json`` and ``nuclei_unseen_v2.json``;
* ``cells``: the cell generalist (``benchmarks/configs/cells.yaml``: Usiigaci, DSB2018, BBBC039,
  isl-neurons; two channels; then 60 min more from its weights), with its held-out scores from
  ``benchmarks/results/cells_v2.json``;
* ``cells-phase``: the Usiigaci phase-contrast flows U-Net (``benchmarks/studies/cells_phase.py``;
  data MIT, Tsai et al. 2019), with its test-split scores and Cellpose ``cyto``'s from
  ``benchmarks/results/cells_phase.json``.

Weights are stored as float16 safetensors (half the size; widened to float32 on loading); the
config, model.json and meta.json are written by ``stainless.model_folder`` as they were read.
Run after the benchmarks (``--only nuclei-fluorescence`` rebuilds one):

    python tools/build_zoo.py
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import torch
from cells_card import cells_card  # tools/ is on the path of its scripts

from stainless.config import SegmentationConfig, TranslationConfig
from stainless.data.object_size import median_object_diameter
from stainless.data.segmentation import training_and_validation_samples
from stainless.io import crop_region, read_labels, write_text_atomically
from stainless.model_folder import (
    InfoType,
    ModelInfo,
    SegmentationModelInfo,
    is_model_folder,
    model_kind,
    read_meta,
    read_segmentation_config,
    read_segmentation_info,
    read_translation_config,
    read_translation_info,
    read_weights,
    save_model_folder,
    update_model_folder,
)
from stainless.zoo import CARD, ZOO_ROOT, list_models

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
    "phase-to-dapi": (
        2,
        "v2 (issue 14): takes one phase plane or any focus series (v1: exactly 13 planes); "
        "U-Net with an L1 + PCC loss instead of pix2pix; DAPI PCC on the held-out strip with "
        "13 planes 0.743 (v1: 0.796)",
    ),
    "cells-phase": (1, "v1 (issue 13): first release"),
    "cells": (1, "v1 (issue 25): first release"),
    "nuclei": (
        2,
        "v2 (issue 24): v1's weights trained 978 more float32 steps (peak learning rate 5e-4, "
        "77 min; 154 min of fitting in all on 2 CPU cores); validation csi@0.50 0.790 (v1 "
        "0.775), which chose it",
    ),
}


def best_dsb_head(results: dict[str, Any]) -> str:
    """The DSB2018 head whose thresholds scored best on the *validation* split (the test split
    only reports), among the heads of ``DSB_HEADS`` in ``dsb2018.json``."""
    rows = {h: r for h, r in results.items() if h in DSB_HEADS}
    return max(rows, key=lambda h: rows[h]["tuned_thresholds"]["csi@0.50"])


def nuclei_fluorescence_card() -> tuple[Path, dict[str, Any]]:
    results = json.loads((RESULTS / "dsb2018.json").read_text())["results"]
    head = best_dsb_head(results)
    dsb = results[head]
    return (
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
    )


def phase_to_dapi_card() -> tuple[Path, dict[str, Any]]:
    report = json.loads((RESULTS / "isl_any_planes_phase_to_dapi_resample.json").read_text())
    planes = report["results"]["planes"]
    single = [row["dapi"] for label, row in planes.items() if label.startswith("z")]
    scores = {f"pcc_{t}": planes["all 13"][t] for t in ("dapi", "map2", "nfh")}
    scores["pcc_dapi, one plane (worst-best of the 13)"] = f"{min(single):.3f}-{max(single):.3f}"
    return (
        RESULTS / "isl_neurons" / "any_planes_resample",
        {
            "task": "in silico labelling: phase contrast → DAPI (also MAP2, NFH); U-Net, "
            "L1 + PCC loss, trained on random runs of planes",
            "inputs": "one phase-contrast plane, or a focus series of any length, resampled "
            "along z to 13 planes (--planes picks some)",
            "training_data": "isl-neurons field, training region (columns 0-767), 13 planes",
            "licence": "CC-BY-4.0 (training data: credit below)",
            "credit": "Christiansen et al., Cell 2018, 'In Silico Labeling' "
            "(google/in-silico-labeling test data)",
            "held_out": {
                "data": "isl-neurons test strip (columns 768-1023), all 13 planes unless said",
                "scores": scores,
            },
            "built_by": "benchmarks/configs/isl_neurons_resample_planes.yaml + "
            "benchmarks/studies/isl_any_planes.py + tools/build_zoo.py",
        },
    )


def cells_phase_card() -> tuple[Path, dict[str, Any]]:
    report = json.loads((RESULTS / "cells_phase.json").read_text())["results"]
    ours, cellpose = report["stainless_cells_phase"], report["cellpose_cyto_pretrained"]
    scores = {k: ours["metrics"]["mean"][k] for k in ("csi@0.50", "map_csi", "f1@0.50", "ari")}
    scores["csi@0.50 (>= 100 px)"] = ours["metrics_min100"]["mean"]["csi@0.50"]
    scores["cellpose cyto csi@0.50, same run"] = cellpose["metrics"]["mean"]["csi@0.50"]
    return (
        Path(ours["model"]),
        {
            "task": "whole-cell instance segmentation from one phase-contrast image (flows "
            "U-Net, Cellpose-style [Stringer2021]); resamples inputs by 0.64 internally",
            "inputs": "one phase-contrast plane; the training cells are 26-87 px across (5th-95th "
            "percentile, median 49; segment --diameter rescales other sizes)",
            "training_data": "Usiigaci phase-contrast fields of fibroblast-like cells, train split "
            "(35 fields, 1022x1024); thresholds tuned on the val split (6)",
            "licence": "MIT (training data: the oist/Usiigaci repository; credit below)",
            "credit": "Tsai et al., 'Usiigaci: instance-aware cell tracking in stain-free phase "
            "contrast microscopy enabled by machine learning', SoftwareX 2019",
            "held_out": {
                "data": "Usiigaci test split (5 fields, the project's own validation sets), "
                "mean over fields; Cellpose cyto scored in the same report",
                "scores": scores,
            },
            "pixel_size": "about 0.87 µm (Nikon Ti-E, 10x Ph1 objective, 1.5x intermediate "
            "magnification, Hamamatsu Orca Flash 4.0 with 2x2 binning: 13 µm / 15, from the "
            "Usiigaci README)",
            "built_by": "benchmarks/studies/cells_phase.py + tools/build_zoo.py",
        },
    )


NUCLEI_SETS = {
    ("dsb2018", "test"): "DSB2018 grey test split (56)",
    ("dsb2018-histology", "test"): "DSB2018 histology test split (16)",
    ("bbbc039", "test"): "BBBC039 test split (16)",
    ("dsb2018-stage1-test", "stage1-fluorescence"): "DSB2018 stage-1 test, fluorescence (53)",
    ("dsb2018-stage1-test", "stage1-histology"): "DSB2018 stage-1 test, colour (12)",
    ("sephace-bf-dapi", "brightfield"): "SEPHACE bright-field, nuclei from its DAPI (2 fields)",
}
"""The held-out sets of the ``nuclei`` card: (dataset, split) -> what it is."""
NUCLEI_RESULTS = ("test_v2", "unseen_v2")
"""``benchmarks/results/nuclei_<name>.json`` reports of the shipped version, and its row name:"""
NUCLEI_ROW = "nuclei-v2"


def nuclei_card() -> tuple[Path, dict[str, Any]]:
    reports = [
        json.loads((RESULTS / f"nuclei_{name}.json").read_text())
        for name in NUCLEI_RESULTS
        if (RESULTS / f"nuclei_{name}.json").is_file()
    ]
    rows = {(r["dataset"], r["split"]): r for report in reports for r in report["summary"]
            if r["model"] == NUCLEI_ROW and r["size"] == "auto"}  # fmt: skip
    scores = {f"{label}, csi@0.50": rows[key]["csi@0.50"]
              for key, label in NUCLEI_SETS.items() if key in rows}  # fmt: skip
    return (
        RESULTS / "nuclei" / "nuclei",
        {
            "task": "nucleus instance segmentation in fluorescence, bright-field-like and H&E "
            "colour images (flows U-Net, Cellpose-style [Stringer2021]); finds the nucleus "
            "size in each image itself",
            "inputs": "one grey plane (fluorescence: bright nuclei; bright-field: dark nuclei) or "
            "an RGB colour image (H&E-like); no --channels needed; nuclei of any size (trained "
            "at 20 px; segment --diameter PX skips the size search)",
            "training_data": "train splits of DSB2018 grey (353), DSB2018 histology (81) and "
            "BBBC039 (123); thresholds tuned on their val splits (71)",
            "licence": "CC0 (training data)",
            "credit": "Caicedo et al., Nature Methods 2019 (BBBC038 / Data Science Bowl 2018); "
            "Caicedo et al., Cytometry A 2019 (BBBC039)",
            "held_out": {
                "data": "held-out splits, mean over images, the size found automatically "
                "(dsb2018-stage1-test never used in training or tuning)",
                "scores": scores,
            },
            "built_by": "benchmarks/configs/nuclei.yaml + benchmarks/studies/nuclei_generalist.py "
            "+ tools/build_zoo.py",
        },
    )


CARDS = {
    "cells": cells_card,
    "cells-phase": cells_phase_card,
    "nuclei": nuclei_card,
    "nuclei-fluorescence": nuclei_fluorescence_card,
    "phase-to-dapi": phase_to_dapi_card,
}
"""Built-in name -> the trained folder and card, read from the benchmark results."""


PIXEL_SIZES_UM = {"cells-phase": 13.0 / 15.0}
"""Built-in name -> the training images' pixel size, where the data's acquisition states it
(Usiigaci: 6.5 µm camera pixels × 2 binning / (10× × 1.5×)); stored in model.json so that
``segment`` resamples images whose metadata gives another size."""


def with_recorded_facts(name: str, info: InfoType, config: Any) -> InfoType:
    """``info`` with its training objects' diameter (segmentation models predating that record)
    and its pixel size from :data:`PIXEL_SIZES_UM`."""
    if isinstance(info, SegmentationModelInfo):
        info = with_object_diameter(info, config)
    if name in PIXEL_SIZES_UM and info.pixel_size_um is None:
        info = dataclasses.replace(info, pixel_size_um=PIXEL_SIZES_UM[name])
    return info


def with_object_diameter(
    info: SegmentationModelInfo, config: SegmentationConfig
) -> SegmentationModelInfo:
    """``info`` with the median diameter of its training objects, computed from the training
    samples of its config as training does, where the model predates that record."""
    if info.object_diameter_px is not None:
        return info
    training, _ = training_and_validation_samples(config.data)
    labels = (crop_region(read_labels(s.labels).array, s.region, s.label) for s in training)
    return dataclasses.replace(info, object_diameter_px=median_object_diameter(labels))


def record_facts() -> int:
    """Add the training objects' diameter and the pixel size to the built-in models lacking
    them (the weights and cards are unchanged)."""
    for model in list_models():
        if model_kind(model.folder) == "segmentation":
            info: ModelInfo = read_segmentation_info(model.folder)
            config: Any = read_segmentation_config(model.folder)
        else:
            info, config = read_translation_info(model.folder), None
        updated = with_recorded_facts(model.name, info, config)
        if updated != info:
            update_model_folder(model.folder, info=updated)
        print(f"{model.name}: pixel size {updated.pixel_size_um} µm", end="")
        if isinstance(updated, SegmentationModelInfo):
            print(f", objects {updated.object_diameter_px:.1f} px across (median)", end="")
        print()
    return 0


def write_card(target: Path, name: str, card: dict[str, Any]) -> None:
    """Write the card of built-in ``name`` (with its version and changes) into ``target``."""
    version, changes = VERSIONS[name]
    card = {"name": name, **card, "version": version, "changes": changes}
    write_text_atomically(target / CARD, json.dumps(card, indent=2) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="+", choices=sorted(VERSIONS), help="build only these")
    parser.add_argument(
        "--card-only",
        action="store_true",
        help="rewrite only the cards (zoo.json) of built-ins already in the package, e.g. with "
        "new scores after the trained folder is gone; the weights are not touched",
    )
    parser.add_argument(
        "--record-facts",
        action="store_true",
        help="only add the training objects' diameter and the pixel size to built-ins that "
        "lack them",
    )
    args = parser.parse_args()
    if args.record_facts:
        return record_facts()
    for name, card_of in CARDS.items():
        if args.only and name not in args.only:
            continue
        source, card = card_of()
        target = ZOO_ROOT / name
        if args.card_only:
            write_card(target, name, card)
            print(f"{name}: card rewritten in {target}")
            continue
        if source.resolve() == target.resolve():
            print(f"{name}: already built from {source}")
            continue
        if not is_model_folder(source):
            print(f"{name}: train it first ({source} is not a model folder)", file=sys.stderr)
            return 1
        shutil.rmtree(target, ignore_errors=True)
        weights = read_weights(source)
        half = {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in weights.items()}
        if model_kind(source) == "segmentation":
            config: SegmentationConfig | TranslationConfig = read_segmentation_config(source)
            info: ModelInfo = read_segmentation_info(source)
        else:
            config, info = read_translation_config(source), read_translation_info(source)
        info = with_recorded_facts(name, info, config)
        save_model_folder(target, config, half, info, read_meta(source))
        write_card(target, name, card)
        size = sum(f.stat().st_size for f in target.iterdir()) / 1e6
        print(f"{name} v{VERSIONS[name][0]}: {size:.1f} MB in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
