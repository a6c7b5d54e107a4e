"""The card of the built-in ``cells`` (``tools/build_zoo.py``): held-out scores from
``benchmarks/results/cells_v2.json`` and, once run, leave-one-set-out scores from
``benchmarks/results/cells_loso.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"

CELL_SETS = {
    "usiigaci": "Usiigaci phase-contrast test split (5 fields)",
    "dense-tissue": "dense-tissue test strips, membrane fluorescence (7; never trained on)",
    "dense-tissue+dapi": "the same strips with their DAPI as nucleus channel (7)",
    "isl-neurons": "isl-neurons test strip, MAP2 + DAPI (labels derived from the stains)",
}
"""The held-out sets of the ``cells`` card (``benchmarks/results/cells_v2.json``)."""


def cells_card() -> tuple[Path, dict[str, Any]]:
    report = json.loads((RESULTS / "cells_v2.json").read_text())
    rows = {(r["model"], r["size"], r["dataset"]): r["csi@0.50"] for r in report["summary"]}
    scores = {f"{label}, csi@0.50": rows[("cells", "auto", key)]
              for key, label in CELL_SETS.items() if ("cells", "auto", key) in rows}  # fmt: skip
    for key in ("dense-tissue+dapi", "isl-neurons"):
        scores[f"{key} with --nuclei-seeded, csi@0.50"] = rows[("cells+seeded", "auto", key)]
    scores["Usiigaci at the true size (--diameter), csi@0.50"] = rows[("cells", "true", "usiigaci")]
    left_out = {"data": "dense-tissue is the one set left out of the built-in's training (no "
                "licence to ship weights learnt from it)",
                "scores": {"dense-tissue (left out), csi@0.50":
                           rows[("cells", "auto", "dense-tissue")]}}  # fmt: skip
    if (RESULTS / "cells_loso.json").is_file():
        left_out = leave_one_set_out_scores(left_out)
    return (
        RESULTS / "cells" / "cells_v2",
        {
            "task": "whole-cell (and cell-like object) instance segmentation across modalities: "
            "phase contrast, fluorescent cells with a cytoplasm or membrane stain, fluorescent "
            "nuclei (flows U-Net, Cellpose-style [Stringer2021]); finds the object size in each "
            "image itself. For phase contrast alone, cells-phase is far better (0.633 vs 0.240 "
            "on the Usiigaci test split)",
            "inputs": "two channels: (1) cytoplasm / membrane stain or the label-free image, "
            "(2) an optional nucleus stain (zeros when absent); grey images need no option",
            "channels": "Cellpose's: --channels CYTO,NUCLEUS (1-based, 0 = none), e.g. 2,1 for "
            "green cytoplasm and red nuclei; a grey image feeds channel 1 and no nucleus",
            "training_data": "Usiigaci phase-contrast train split (35 fields), DSB2018 grey "
            "(353) and BBBC039 (123) nuclei as channel 1, isl-neurons MAP2 + DAPI columns "
            "0-639 with cells derived from the stains; 85 min with crop shares 35 / 50 / 15 %, "
            "then 60 min more with 50 / 38.5 / 11.5 % (peak learning rate 5e-4); thresholds "
            "tuned on 6 val images of each set and the isl strip 640-767",
            "licence": "training data MIT (Usiigaci), CC0 (DSB2018, BBBC039), CC-BY-4.0 "
            "(isl-neurons: cite Christiansen et al., Cell 2018)",
            "credit": "Tsai et al., SoftwareX 2019 (Usiigaci); Caicedo et al., Nature Methods "
            "2019 (BBBC038); Caicedo et al., Cytometry A 2019 (BBBC039); Christiansen et al., "
            "Cell 2018 (isl-neurons)",
            "held_out": {
                "data": "mean over images, the size found automatically unless said "
                "(benchmarks/studies/cells.py, results/cells_v2.json)",
                "scores": scores,
            },
            "leave_one_set_out": left_out,
            "built_by": "benchmarks/studies/cells_manifest.py + benchmarks/configs/cells.yaml "
            "(then --init its result, cells_manifest_usiigaci50.csv, 60 min) + "
            "benchmarks/studies/cells.py + tools/build_zoo.py",
        },
    )


LOSO_SETS = {"usiigaci": ("usiigaci",), "nuclei": ("dsb2018", "bbbc039"),
             "isl": ("isl-neurons",)}  # fmt: skip
"""Leave-one-set-out run -> the held-out sets it is scored on (``studies/cells_loso.sh``)."""
LOSO_STEPS = 240
"""The steps of each leave-one-set-out run (``STEPS`` of ``studies/cells_loso.sh``)."""


def leave_one_set_out_scores(left_out: dict[str, Any]) -> dict[str, Any]:
    """``left_out`` with, per training set, the csi@0.50 (true size) of the run trained without
    it and of the run with every set at the same steps (``results/cells_loso.json``)."""
    report = json.loads((RESULTS / "cells_loso.json").read_text())
    rows = {(r["model"], r["dataset"]): r["csi@0.50"] for r in report["summary"]}
    scores = dict(left_out["scores"])
    for run, datasets in LOSO_SETS.items():
        for dataset in datasets:
            scores[f"{dataset} left out, csi@0.50"] = rows[(f"without_{run}", dataset)]
            scores[f"{dataset} with every set, csi@0.50"] = rows[("all", dataset)]
    data = (f"{left_out['data']}; the others by leave-one-set-out runs at equal budget "
            f"({LOSO_STEPS} steps of 16 x 128 px crops each from random weights, about a "
            "ninth of the built-in's 2226), scored at the true object size on held-out images "
            "(benchmarks/studies/cells_loso.sh, results/cells_loso.json); the two nucleus sets "
            "were left out together")  # fmt: skip
    return {"data": data, "scores": scores}
