"""Built-in ``cells-phase`` (issue 13): whole cells from one phase-contrast image, against
Cellpose ``cyto`` on the Usiigaci test split.

Data: ``../shared/data/usiigaci-phase-cells`` (46 phase-contrast fields of fibroblast-like cells
with whole-cell masks; MIT licence; Tsai et al., SoftwareX 2019), split by its ``splits.csv``:
train 35, val 6 (thresholds), test 5 (reported). Stages:

``train``   ``stainless train segmentation --config cells_phase_flows.yaml --max-minutes 58``
``report``  the model and Cellpose ``cyto`` (``peers-venv``; diameter = the median cell diameter
            of the training masks, channels [0, 0]) segment the test fields in one run;
            ``stainless evaluate segmentation --errors`` scores both, all objects and >= 100 px;
            the model also segments the middle isl-neurons phase plane (another cell type and
            microscope, no cell masks) for a picture. Writes ``results/cells_phase.json`` and
            ``results/cells_phase_isl_neurons.png``.
``path``    the README's "Segment your cells" commands, timed: the built-in segments the test
            fields with outlines; it is fine-tuned on 3 training fields (a seeded draw) with
            ``--max-minutes 2``; the tuned model segments the test fields, which are evaluated.
            Writes ``results/cells_phase_path.json``.

    python benchmarks/studies/cells_phase.py train
    python benchmarks/studies/cells_phase.py report [--model FOLDER]
    python benchmarks/studies/cells_phase.py path [--model cells-phase]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from dense_tissue import (
    add_peer_options,
    run,
    scored,
    segment_with_cellpose,
    segment_with_stainless,
)

from stainless.data.object_size import median_object_diameter
from stainless.io import read_labels
from stainless.model_folder import is_model_folder, read_meta
from stainless.provenance import write_record

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
RESULTS = HERE / "results" / "cells_phase"
CONFIG = HERE / "configs" / "cells_phase_flows.yaml"
BUDGET_MINUTES = 58


def split_files(data: Path, split: str) -> list[tuple[str, Path, Path]]:
    """(id, image, labels) of one split of ``splits.csv``."""
    with (data / "splits.csv").open(newline="") as handle:
        ids = [row["id"] for row in csv.DictReader(handle) if row["split"] == split]
    return [(i, data / "images" / f"{i}.png", data / "labels" / f"{i}.png") for i in ids]


def median_diameter(pairs: list[tuple[str, Path, Path]]) -> float:
    """Median equivalent diameter (px) of the objects of the label images (Cellpose's
    ``diameter``)."""
    diameter = median_object_diameter(read_labels(labels).array for _, _, labels in pairs)
    assert diameter is not None, "the training masks hold no object"
    return diameter


def test_folder(pairs: list[tuple[str, Path, Path]]) -> Path:
    """``<id>_img.png`` / ``<id>_masks.png`` links to the test fields (the Cellpose layout)."""
    folder = RESULTS / "test"
    folder.mkdir(parents=True, exist_ok=True)
    for name, image, labels in pairs:
        for link, target in ((f"{name}_img.png", image), (f"{name}_masks.png", labels)):
            if not (folder / link).exists():
                (folder / link).symlink_to(target.resolve())
    return folder


def report(model: Path, data: Path, peers_python: Path, weights: Path, out: Path) -> None:
    started = time.perf_counter()
    test = test_folder(split_files(data, "test"))
    diameter = median_diameter(split_files(data, "train"))
    predictions = RESULTS / "predictions"
    cellpose = scored(
        *segment_with_cellpose(test, peers_python, weights, predictions / "cellpose", diameter),
        test,
        seconds_key="segment_seconds_test",
        settings=f"diameter {diameter:.1f} (median of the training masks), channels [0, 0]",
    )
    meta = read_meta(model)
    ours = scored(
        *segment_with_stainless(model, test, predictions / "stainless"),
        test,
        seconds_key="segment_seconds_test",
        model=str(model),
        training_minutes=round(meta.get("training_seconds", 0) / 60, 1),
        steps=meta.get("batches"),
        validation_tuning=meta.get("tuning", {}),
    )
    phase = data.parent / "isl-neurons" / "phase_z06.png"
    neurons = RESULTS / "isl_neurons"
    run(["segment", "--model", str(model), "--input", str(phase), "--output", str(neurons)])
    picture = HERE / "results" / "cells_phase_isl_neurons.png"
    labels = neurons / "phase_z06_labels.tif"
    run(["overlay", "--image", str(phase), "--pred", str(labels), "--output", str(picture)])
    output: dict[str, Any] = {
        "benchmark": "cells_phase",
        "data": str(data),
        "protocol": "train on Usiigaci train (35), tune on val (6), report the mean over the 5 "
        "test fields; Cellpose cyto in the same run",
        "results": {"cellpose_cyto_pretrained": cellpose, "stainless_cells_phase": ours},
        "isl_neurons_picture": str(picture.relative_to(HERE.parent)),
    }
    write_record(out, output, started)
    for name, entry in output["results"].items():
        mean, filtered = entry["metrics"]["mean"], entry["metrics_min100"]["mean"]
        print(
            f"| {name} | {mean['csi@0.50']:.3f} | {filtered['csi@0.50']:.3f} | "
            f"{mean['ari']:.3f} | "
            + " | ".join(str(entry["errors"][k]) for k in ("split", "merged", "missed", "spurious"))
            + f" | {entry['segment_seconds_test']} s |"
        )


def user_path(model: str, data: Path, out: Path, fields: int = 3, minutes: float = 2) -> None:
    """The four README commands on Usiigaci, each timed (step 2, annotation, is the masks)."""
    started = time.perf_counter()
    test = test_folder(split_files(data, "test"))
    work = RESULTS / "path"
    training = split_files(data, "train")
    chosen = [training[i] for i in np.random.default_rng(0).permutation(len(training))[:fields]]
    mine = work / "mine"
    mine.mkdir(parents=True, exist_ok=True)
    for name, image, labels in chosen:
        for link, target in ((f"{name}_img.png", image), (f"{name}_masks.png", labels)):
            if not (mine / link).exists():
                (mine / link).symlink_to(Path(target).resolve())
    seconds: dict[str, float] = {}

    def timed(step: str, argv: list[str]) -> None:
        clock = time.perf_counter()
        run(argv)
        seconds[step] = round(time.perf_counter() - clock, 1)

    images = [str(p) for p in sorted(test.glob("*_img.png"))]
    look = ["segment", "--model", model, "--input", *images, "--outlines", "--overwrite"]
    timed("1_look", [*look, "--output", str(work / "look")])
    tuned = work / "my-cells"
    files = ["--images", str(mine), "--labels", str(mine), "--output", str(tuned)]
    budget = ["--max-minutes", str(minutes), "--overwrite", "--no-progress"]
    timed("3_fine_tune", ["train", "segmentation", *files, "--init", model, *budget])
    predictions = work / "pred"
    segment = ["segment", "--model", str(tuned), "--input", *images, "--overwrite"]
    timed("4_segment", [*segment, "--output", str(predictions)])
    clock = time.perf_counter()
    tuned_scores = scored(predictions, 0.0, test, seconds_key="unused")
    seconds["4_evaluate"] = round(time.perf_counter() - clock, 1)
    output = {
        "benchmark": "cells_phase_path",
        "protocol": f"README 'Segment your cells' on Usiigaci: fine-tune {model} on {fields} "
        f"training fields (seed 0 draw) with --max-minutes {minutes}; the 5 test fields",
        "fields": [name for name, _, _ in chosen],
        "seconds": seconds,
        "test_csi@0.50_fine_tuned": tuned_scores["metrics"]["mean"]["csi@0.50"],
        "test_errors_fine_tuned": tuned_scores["errors"],
        "fine_tuned_meta": {k: read_meta(tuned).get(k) for k in ("batches", "stopped_by")},
    }
    write_record(out, output, started)
    print(output["seconds"], output["test_csi@0.50_fine_tuned"])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("stage", choices=("train", "report", "path"))
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--model", type=Path, default=RESULTS / "flows")
    parser.add_argument("--path-model", default="cells-phase", help="the model of 'path'")
    add_peer_options(parser)
    parser.add_argument("--output", type=Path, default=HERE / "results" / "cells_phase.json")
    args = parser.parse_args()
    data = (args.data / "usiigaci-phase-cells").resolve()
    if args.stage == "train":
        if is_model_folder(args.model):
            print(f"reusing {args.model}")
            return 0
        budget = ["--max-minutes", str(BUDGET_MINUTES), "--overwrite"]
        run(
            ["train", "segmentation", "--config", str(CONFIG), "--output", str(args.model), *budget]
        )
        return 0
    if args.stage == "path":
        path_json = args.output.with_name("cells_phase_path.json")
        user_path(args.path_model, data, path_json)
        return 0
    report(args.model, data, args.peers_python, args.cellpose_weights, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
