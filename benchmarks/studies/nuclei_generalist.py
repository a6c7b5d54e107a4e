"""One nucleus model for every modality (issue 24): score nucleus models on the held-out splits of
every nucleus set we have, per set, with the object size found automatically, given (the true
size), or the model's own.

Sets and splits come from ``benchmarks/configs/nuclei_manifest.csv`` (column ``dataset``; all
CC0): ``dsb2018`` (grey fluorescence), ``dsb2018-histology`` (colour H&E-like),
``bbbc039`` (16-bit Hoechst) — ``val`` (thresholds and conventions are chosen there) and
``test``; ``dsb2018-stage1-test``, never trained on, split by kind (``stage1-fluorescence``,
``stage1-histology``); ``brightfield``: the two SEPHACE bright-field fields (the middle plane of
each fine focus series; MIT, non-commercial: benchmarks only, never in the package) against
nuclei derived from their registered DAPI (``--brightfield-labels`` writes them once:
``stainless labels from-fluorescence --min-size 300``, about 18 nuclei a field).

Sizes (``--size``, repeatable): ``auto`` — what ``stainless segment`` does for a model trained at
one object size (:func:`stainless.inference.object_size.estimate_diameter`, run on each image);
``true`` — each image at the median equivalent diameter of its ground-truth objects, as a
user who knows ``--diameter`` would pass it; ``native`` — no resampling. Each image's planes go
through the model's own channel / colour convention (``SegmentationPredictor.input_planes``); a
model of one grey plane without a convention (``nuclei-fluorescence``) gets a colour image as the
mean of its red, green and blue, as a user would convert it.
Scores: csi@0.50 (TP / (TP + FP + FN)), f1@0.50 and pq@0.50, the mean over the images of a set.

    python benchmarks/studies/nuclei_generalist.py --split val --size auto --name conventions \
        --model grey=benchmarks/results/nuclei/convention_grey \
        --model rgb=benchmarks/results/nuclei/convention_rgb
    python benchmarks/studies/nuclei_generalist.py --model nuclei --model nuclei-fluorescence \
        --split test --split stage1-fluorescence --split stage1-histology --size auto --size true

Writes ``benchmarks/results/nuclei_<name>.json`` (rows per image, summary per model, set and
size, the command and run metadata).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[2]
MANIFEST = REPOSITORY / "benchmarks" / "configs" / "nuclei_manifest.csv"
SCORES = ("csi@0.50", "f1@0.50", "pq@0.50")


def manifest_rows(splits: list[str], datasets: list[str] | None) -> list[dict[str, str]]:
    """The manifest rows of ``splits`` (and ``datasets``, all when None), paths made absolute."""
    with MANIFEST.open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["split"] in splits]
    for row in rows:
        row["input"] = str((MANIFEST.parent / row["input"]).resolve())
        row["labels"] = str((MANIFEST.parent / row["labels"]).resolve())
    return [row for row in rows if datasets is None or row["dataset"] in datasets]


def derive_brightfield_labels() -> None:
    """Nuclei of the SEPHACE fields from their DAPI, where the manifest expects them."""
    from stainless.cli.main import main as stainless

    data = REPOSITORY.parent / "shared" / "data" / "sephace-bf-dapi"
    for field in ("set1", "set2"):
        output = REPOSITORY / "benchmarks" / "results" / "nuclei" / "brightfield_gt" / field
        command = ["labels", "from-fluorescence", "--input", str(data / field / "dapi.png"),
                   "--output", str(output), "--min-size", "300", "--overwrite"]  # fmt: skip
        if stainless(command) != 0:
            raise SystemExit(f"could not derive the nuclei of {field}")


def score_image(predictor: Any, row: dict[str, str], sizes: list[str]) -> list[dict[str, Any]]:
    """One row per size: the image segmented at that size and scored against its labels."""
    from stainless.data.colour import apply_colour
    from stainless.data.object_size import median_object_diameter
    from stainless.inference.object_size import estimate_diameter, native_diameter
    from stainless.io import read_input_planes, read_labels
    from stainless.metrics.instance import instance_metrics

    path = Path(row["input"])
    raw, metadata = read_input_planes([path])
    if predictor.info.colour == "as_is" and predictor.info.in_channels == 1:
        raw = apply_colour(raw, "grey", path)
    planes = predictor.input_planes(raw, metadata.channel_names, path)
    truth = read_labels(Path(row["labels"])).array
    native = native_diameter(predictor.info)
    found = []
    for size in sizes:
        started = time.perf_counter()
        if size == "auto":
            diameter = estimate_diameter(predictor, planes).diameter_px
        elif size == "true":
            diameter = median_object_diameter([truth]) or native
        else:
            diameter = native
        labels = predictor.segment(planes, magnification=native / diameter)
        metrics = instance_metrics(truth, labels, thresholds=[0.5])
        found.append({
            "image": row["name"], "dataset": row["dataset"], "split": row["split"],
            "size": size, "diameter_px": round(float(diameter), 2),
            "seconds": round(time.perf_counter() - started, 2),
            **{key: round(float(metrics[key]), 4) for key in SCORES},
        })  # fmt: skip
    return found


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean scores per (model, dataset, split, size)."""
    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["model"], row["dataset"], row["split"], row["size"])].append(row)
    return [
        {"model": model, "dataset": dataset, "split": split, "size": size, "images": len(group),
         **{key: round(float(np.mean([r[key] for r in group])), 4) for key in SCORES},
         "mean_seconds": round(float(np.mean([r["seconds"] for r in group])), 2)}
        for (model, dataset, split, size), group in sorted(groups.items())
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True,
                        help="NAME=FOLDER, or a built-in name (repeatable)")  # fmt: skip
    parser.add_argument("--split", action="append", required=True)
    parser.add_argument("--dataset", action="append", help="only these sets (default: all)")
    parser.add_argument("--size", action="append", choices=("auto", "true", "native"))
    parser.add_argument("--limit", type=int, help="the first N images of each set and split")
    parser.add_argument("--name", default="generalist", help="results/nuclei_<name>.json")
    parser.add_argument("--brightfield-labels", action="store_true",
                        help="first derive the bright-field nuclei from the DAPI")  # fmt: skip
    args = parser.parse_args()
    if args.brightfield_labels:
        derive_brightfield_labels()

    from stainless.inference.segmenter import SegmentationPredictor
    from stainless.provenance import write_record

    started = time.perf_counter()
    sizes = args.size or ["auto"]
    chosen = manifest_rows(args.split, args.dataset)
    if args.limit:
        kept: dict[tuple[str, str], int] = defaultdict(int)
        limited = []
        for row in chosen:
            key = (row["dataset"], row["split"])
            if kept[key] < args.limit:
                kept[key] += 1
                limited.append(row)
        chosen = limited
    rows: list[dict[str, Any]] = []
    for entry in args.model:
        name, _, folder = entry.partition("=")
        predictor = SegmentationPredictor.load(folder or name, "cpu")
        for number, row in enumerate(chosen):
            found = score_image(predictor, row, sizes)
            rows += [{"model": name, **r} for r in found]
            scores = ", ".join(f"{r['size']} {r['csi@0.50']:.3f}" for r in found)
            print(f"{name} {number + 1}/{len(chosen)} {row['name']}: {scores}",
                  file=sys.stderr, flush=True)  # fmt: skip
    summary = summarise(rows)
    for line in summary:
        print(line, file=sys.stderr)
    command = " ".join(["python benchmarks/studies/nuclei_generalist.py", *sys.argv[1:]])
    document = {"study": "nucleus models on every nucleus set, per set", "models": args.model,
                "splits": args.split, "sizes": sizes, "summary": summary, "rows": rows,
                "command": command}  # fmt: skip
    write_record(REPOSITORY / "benchmarks" / "results" / f"nuclei_{args.name}.json",
                 document, started)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
