"""Automatic object size (issue 24): the same test images at ×0.5 / ×1 / ×2 / ×3, segmented
with the model's own size (no ``--diameter``), with the true size (the median equivalent
diameter of each rescaled image's ground-truth objects, as ``--diameter`` would be given) and
with ``--diameter auto`` (:func:`stainless.inference.object_size.estimate_diameter`).

Data: a set of ``../shared/data`` with ``images/``, ``labels/`` and ``splits.csv`` — by default
``dsb2018`` (CC0), the ``test`` split (56 images); ``--dataset usiigaci-phase-cells --model
cells-phase`` for whole cells in phase contrast (MIT). Images are rescaled bilinearly, labels by
nearest neighbour. Nothing is tuned here: the search has only its fixed defaults. Writes
``results/auto_diameter[_<dataset>].json``.

    python benchmarks/studies/auto_diameter.py [--model nuclei-fluorescence] [--limit N]
    python benchmarks/studies/auto_diameter.py --dataset usiigaci-phase-cells --model cells-phase
    python benchmarks/studies/auto_diameter.py --dataset bbbc039 --model nuclei --skip-native \
        --name nuclei_bbbc039
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from skimage.transform import rescale

REPOSITORY = Path(__file__).resolve().parents[2]
SCALES = (0.5, 1.0, 2.0, 3.0)


def _csi(truth: np.ndarray, labels: np.ndarray) -> float:
    from stainless.metrics.instance import match_instances, scores_from_counts

    return float(scores_from_counts(match_instances(truth, labels, thresholds=[0.5]))["csi"][0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPOSITORY.parent / "shared" / "data")
    parser.add_argument("--dataset", default="dsb2018")
    parser.add_argument("--model", default="nuclei-fluorescence")
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, help="the first N images of the split only")
    parser.add_argument("--output", type=Path, default=REPOSITORY / "benchmarks" / "results")
    parser.add_argument("--name", help="results/auto_diameter_<name>.json instead of by dataset")
    parser.add_argument("--skip-native", action="store_true",
                        help="no row at the model's own size (slow on images at x3)")  # fmt: skip
    args = parser.parse_args()

    from stainless.data.object_size import median_object_diameter
    from stainless.inference.object_size import estimate_diameter
    from stainless.inference.segmenter import SegmentationPredictor
    from stainless.io import read_image
    from stainless.provenance import write_record

    started = time.perf_counter()
    root = args.data / args.dataset
    ids = [row["id"] for row in csv.DictReader((root / "splits.csv").open())
           if row["split"] == args.split][: args.limit]  # fmt: skip
    predictor = SegmentationPredictor.load(args.model, "cpu")
    native = float(predictor.info.object_diameter_px or 0.0)
    rows: list[dict[str, Any]] = []
    for number, name in enumerate(ids):
        image = read_image(root / "images" / f"{name}.png").array.astype(np.float32)
        truth = read_image(root / "labels" / f"{name}.png").array
        for scale in SCALES:
            planes = rescale(image, scale, order=1, preserve_range=True).astype(np.float32)[None]
            labels = rescale(truth, scale, order=0, preserve_range=True,
                             anti_aliasing=False).astype(np.int32)  # fmt: skip
            true_px = median_object_diameter([labels]) or native
            searched = time.perf_counter()
            estimate = estimate_diameter(predictor, planes)
            search_s = time.perf_counter() - searched
            row = {"image": name, "scale": scale, "true_diameter_px": round(true_px, 2),
                   "auto_diameter_px": round(estimate.diameter_px, 2),
                   "converged": estimate.converged, "trials": len(estimate.tried_px),
                   "search_s": round(search_s, 2)}  # fmt: skip
            sizes = {"native": native, "true": true_px, "auto": estimate.diameter_px}
            if args.skip_native:
                del sizes["native"]
            for key, diameter in sizes.items():
                found = predictor.segment(planes, magnification=native / diameter)
                row[f"csi_{key}"] = round(_csi(labels, found), 4)
            rows.append(row)
        print(f"{number + 1}/{len(ids)} {name[:12]}: " + ", ".join(
            f"×{r['scale']:g} true {r['csi_true']:.3f} auto {r['csi_auto']:.3f}"
            for r in rows[-len(SCALES):]), file=sys.stderr, flush=True)  # fmt: skip
    summary = []
    for scale in SCALES:
        chosen = [row for row in rows if row["scale"] == scale]
        summary.append({
            "scale": scale,
            **{f"mean_csi_{key}": round(float(np.mean([r[f"csi_{key}"] for r in chosen])), 4)
               for key in ("native", "true", "auto") if f"csi_{key}" in chosen[0]},
            "median_abs_log2_error": round(float(np.median([abs(np.log2(
                r["auto_diameter_px"] / r["true_diameter_px"])) for r in chosen])), 3),
            "mean_search_s": round(float(np.mean([r["search_s"] for r in chosen])), 2),
        })  # fmt: skip
    for line in summary:
        print(line, file=sys.stderr)
    command = " ".join(["python benchmarks/studies/auto_diameter.py", *sys.argv[1:]])
    document = {"study": "automatic object size on rescaled images", "model": args.model,
                "data": f"{args.dataset} {args.split} split, {len(ids)} images",
                "summary": summary, "rows": rows, "command": command}  # fmt: skip
    suffix = "" if args.dataset == "dsb2018" else f"_{args.dataset.split('-')[0]}"
    suffix = f"_{args.name}" if args.name else suffix
    write_record(args.output / f"auto_diameter{suffix}.json", document, started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
