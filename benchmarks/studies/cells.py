"""The ``cells`` generalist (issue 25) on held-out cell images, beside ``cells-phase``.

Test sets (none of their images trained either model):

* ``usiigaci``: the 5 Usiigaci phase-contrast test fields (in domain for both models);
* ``dense-tissue``: the 7 dense-tissue test strips (CD3/CD4/CD8 membrane fluorescence; never
  trained on: the set has no licence, so no shipped model may learn from it);
* ``dense-tissue+dapi``: the same 7 strips with the registered DAPI of their position (5
  positions) as the nucleus channel, by the network alone and with ``--nuclei-seeded``;
* ``isl-neurons``: the isl-neurons test strip (columns 768-1023; MAP2 + DAPI), scored against
  cells derived from MAP2 seeded by DAPI nuclei (``labels from-fluorescence --seeds``), the
  labels the generalist trained on in columns 0-639: a check, not an expert ground truth;
* ``dsb2018``, ``bbbc039`` (only when named in ``--sets``): the first ``NUCLEUS_TEST_IMAGES``
  test images of each nucleus set (grey fluorescence as the first channel), for the
  leave-one-set-out runs (``studies/cells_loso.sh``).

Each image is segmented at the object size the model finds itself (``auto``) and at the median
diameter of its true objects (``true``: the model apart from the size search); a model trained
at one scale, as ``cells-phase``, at its own (``own scale``; the first record of
``results/cells.json`` calls it ``auto``). Scored by csi@0.50
(TP / (TP + FP + FN) at IoU 0.5, the dense-tissue paper's number), mean over the images.

    python benchmarks/studies/cells.py labels      # isl-neurons cells for training and test
    python benchmarks/studies/cells.py evaluate --model cells=benchmarks/results/cells/cells \
        --model cells-phase
    python benchmarks/studies/cells.py evaluate --model cells --sizes true --no-seeded \
        --sets usiigaci,dsb2018 --name cells_quick
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from stainless.cli.main import main as stainless
from stainless.data.object_size import median_object_diameter
from stainless.provenance import write_record

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
DATA = HERE.parent.parent / "shared" / "data"
RESULTS = HERE / "results" / "cells"
DENSE_TEST_COLUMNS = slice(0, 233)
"""The dense-tissue test strips are columns 0-232 of the whole images (and of the DAPI)."""
ISL_TEST_COLUMNS = slice(768, 1024)
SCORES = ("csi@0.50", "f1@0.50", "precision@0.50", "recall@0.50")
CELL_SETS = ("usiigaci", "dense-tissue", "dense-tissue+dapi", "isl-neurons")
NUCLEUS_SETS = ("dsb2018", "bbbc039")
NUCLEUS_TEST_IMAGES = 10


def make_isl_labels() -> None:
    """isl-neurons nuclei from DAPI, then one compact cell per nucleus in MAP2."""
    isl = DATA / "isl-neurons"
    nuclei = RESULTS / "isl_nuclei"
    steps = [
        ["--input", str(isl / "dapi.png"), "--split", "distance_intensity", "--output",
         str(nuclei)],
        ["--input", str(isl / "map2.png"), "--seeds", str(nuclei / "dapi_labels.tif"),
         "--max-distance", "25", "--threshold", "li", "--output", str(RESULTS / "isl_cells")],
    ]  # fmt: skip
    for step in steps:
        if stainless(["labels", "from-fluorescence", *step, "--overwrite"]) != 0:
            raise SystemExit("isl-neurons labels failed")


def _read(path: Path) -> np.ndarray:
    from stainless.io import read_input_planes

    return read_input_planes([path])[0]


def test_images(
    sets: tuple[str, ...] = CELL_SETS,
) -> Iterator[tuple[str, str, np.ndarray, np.ndarray, Path]]:
    """(set, image name, raw planes (C, Y, X), truth (Y, X), source path) of every test image
    of ``sets``."""
    from stainless.io import read_labels

    if set(sets) & set(CELL_SETS):  # the cell sets are read only when asked for
        yield from (item for item in _cell_test_images(sets) if item[0] in sets)
    manifest = HERE / "configs" / "nuclei_manifest.csv"
    rows = [line.split(",") for line in manifest.read_text().splitlines()[1:]]
    for dataset in NUCLEUS_SETS:
        if dataset not in sets:
            continue
        chosen = [row for row in rows if row[3] == "test" and row[4] == dataset]
        for name, image, labels, *_ in chosen[:NUCLEUS_TEST_IMAGES]:
            path = (HERE / "configs" / image).resolve()
            truth = read_labels((HERE / "configs" / labels).resolve()).array
            yield dataset, name, _read(path), truth, path


def _cell_test_images(
    sets: tuple[str, ...],
) -> Iterator[tuple[str, str, np.ndarray, np.ndarray, Path]]:
    """The cell test images; a set's files are read only when ``sets`` names it."""
    from stainless.io import read_labels

    usiigaci = DATA / "usiigaci-phase-cells"
    for line in (usiigaci / "splits.csv").read_text().splitlines()[1:]:
        name, split = line.split(",")[:2]
        if split == "test":
            image = usiigaci / "images" / f"{name}.png"
            truth = read_labels(usiigaci / "labels" / f"{name}.png").array
            yield "usiigaci", name, _read(image), truth, image
    dense = DATA / "dense-tissue"
    for image in sorted((dense / "test").glob("*_img.png")):
        name = image.name.removesuffix("_img.png")
        truth = read_labels(dense / "test" / f"{name}_masks.png").array
        planes = _read(image)
        yield "dense-tissue", name, planes, truth, image
        dapi = dense / "dapi" / f"{name.rsplit('_', 1)[0]}_DAPI.png"
        if dapi.is_file():
            nucleus = _read(dapi)[:, :, DENSE_TEST_COLUMNS]
            yield "dense-tissue+dapi", name, np.concatenate([planes, nucleus]), truth, image
    if "isl-neurons" not in sets:
        return
    isl = DATA / "isl-neurons"
    both = np.concatenate([_read(isl / "map2.png"), _read(isl / "dapi.png")])
    truth = read_labels(RESULTS / "isl_cells" / "map2_labels.tif").array
    yield ("isl-neurons", "test-strip", both[:, :, ISL_TEST_COLUMNS],
           truth[:, ISL_TEST_COLUMNS], isl / "map2.png")  # fmt: skip


def segment(
    predictor: Any, seeded: Any, raw: np.ndarray, source: Path, true_size: float | None = None
) -> tuple[np.ndarray, float, float]:
    """Labels, the diameter used (px) and the seconds: at ``true_size`` when given, else at the
    size the model finds itself (``auto``) when it was trained at one object size, else at its
    own scale."""
    from stainless.inference.object_size import estimate_diameter, native_diameter

    started = time.perf_counter()
    channels = [1, 2] if predictor.info.in_channels == 2 else [1]
    planes = predictor.input_planes(raw, None, source, channels)
    native = native_diameter(predictor.info)
    diameter = native
    if true_size is not None:
        diameter = true_size
    elif predictor.info.one_diameter:
        diameter = estimate_diameter(predictor, planes).diameter_px
    if seeded is not None:
        labels = seeded.segment(planes, source, magnification=native / diameter)
    else:
        labels = predictor.segment(planes, magnification=native / diameter)
    return labels, float(diameter), time.perf_counter() - started


def evaluate(
    models: list[str],
    nuclei_model: str,
    sets: tuple[str, ...] = CELL_SETS,
    sizes: tuple[str, ...] = ("auto", "true"),
    seeded_too: bool = True,
) -> dict[str, Any]:
    """Per-image and per-set scores of each model on ``sets`` (and ``<model>+seeded`` where the
    cell model takes a nucleus channel, the image has one and ``seeded_too``), at each of
    ``sizes`` for a model trained at one object size."""
    from stainless.inference.nuclei_seeded import NucleiSeededSegmenter
    from stainless.inference.segmenter import SegmentationPredictor
    from stainless.metrics.instance import instance_metrics

    rows = []
    for spec in models:
        name, _, folder = spec.partition("=")
        predictor = SegmentationPredictor.load(folder or name)
        variants: dict[str, Any] = {name: None}
        if predictor.info.in_channels == 2 and seeded_too:
            nuclei = SegmentationPredictor.load(nuclei_model)
            variants[f"{name}+seeded"] = NucleiSeededSegmenter(predictor, nuclei)
        for dataset, image, raw, truth, source in test_images(sets):
            for variant, seeded in variants.items():
                if seeded is not None and raw.shape[0] < 2:
                    continue
                if dataset.endswith("+dapi") and predictor.info.in_channels == 1:
                    continue  # the same strips as dense-tissue
                runs: dict[str, float | None] = {"own scale": None}
                if predictor.info.one_diameter:  # found, and the model apart from the search
                    found = {"auto": None, "true": median_object_diameter([truth])}
                    runs = {size: found[size] for size in sizes}
                for size, true_size in runs.items():
                    labels, diameter, seconds = segment(predictor, seeded, raw, source, true_size)
                    metrics = instance_metrics(truth, labels, thresholds=[0.5])
                    rows.append({"model": variant, "size": size, "dataset": dataset,
                                 "image": image, "diameter_px": round(diameter, 1),
                                 "seconds": round(seconds, 1),
                                 **{k: round(float(metrics[k]), 4) for k in SCORES}})  # fmt: skip
                    print(json.dumps(rows[-1]), flush=True)
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["model"], row["size"], row["dataset"])].append(row)
    summary = [
        {"model": model, "size": size, "dataset": dataset, "images": len(group),
         **{k: round(float(np.mean([r[k] for r in group])), 4) for k in SCORES},
         "mean_seconds": round(float(np.mean([r["seconds"] for r in group])), 1)}
        for (model, size, dataset), group in groups.items()
    ]  # fmt: skip
    return {"summary": summary, "per_image": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=("labels", "evaluate"))
    parser.add_argument("--model", action="append", help="NAME=FOLDER or a built-in name")
    parser.add_argument("--nuclei-model", default="nuclei")
    parser.add_argument("--name", default="cells", help="results/<name>.json")
    parser.add_argument(
        "--sets", default=",".join(CELL_SETS),
        help=f"comma-separated test sets of {', '.join(CELL_SETS + NUCLEUS_SETS)}",
    )  # fmt: skip
    parser.add_argument("--sizes", default="auto,true", help="auto, true or both (comma-separated)")
    parser.add_argument("--no-seeded", action="store_true", help="skip the nucleus-seeded runs")
    args = parser.parse_args()
    sets = tuple(args.sets.split(","))
    sizes = tuple(args.sizes.split(","))
    if unknown := set(sets) - set(CELL_SETS + NUCLEUS_SETS):
        parser.error(f"--sets: unknown test set(s) {sorted(unknown)}")
    if unknown := set(sizes) - {"auto", "true"}:
        parser.error(f"--sizes: expected auto and/or true, got {sorted(unknown)}")
    if args.stage == "labels":
        make_isl_labels()
        return 0
    started = time.perf_counter()
    result = evaluate(args.model or ["cells"], args.nuclei_model, sets, sizes, not args.no_seeded)
    record = {
        "benchmark": "cells",
        "protocol": __doc__.split("\n\n")[1].strip() if __doc__ else "",
        "models": args.model,
        "nuclei_model": args.nuclei_model,
        **result,
        "reproduce_with": "python " + " ".join(sys.argv),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    write_record(HERE / "results" / f"{args.name}.json", record)
    for row in result["summary"]:
        print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
