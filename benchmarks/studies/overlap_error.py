"""What a smaller tile overlap costs in accuracy: the built-in ``phase-to-dapi`` on the whole
isl-neurons field (13 phase planes, 1024 × 1024), tiles of ``--tile`` px, Gaussian blending,
overlaps 0.5 (the reference, the old default), 0.25, 0.125 and 0 (no overlap).

Per overlap: tiles run, time (best of ``--repeats``), the largest and the 99.9th-percentile
absolute difference to the 0.5-overlap prediction in network units (targets scaled to [−1, 1],
so 0.01 is 0.5 % of the target's range), and the DAPI PCC against the real stain on the test
strip (columns 768–1023) and on the whole field.

    python benchmarks/studies/overlap_error.py [--tile 512] [--repeats 2]

Writes ``benchmarks/results/overlap_error_<tile>.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from stainless.data.normalize import normalize_planes
from stainless.inference.predictor import TilingOptions, load_predictor
from stainless.io import read_image, read_input_planes
from stainless.metrics import pearson
from stainless.provenance import write_record
from stainless.tiling import tile_grid

HERE = Path(__file__).resolve().parents[1]
DATA = HERE.parent.parent / "shared" / "data" / "isl-neurons"
OVERLAPS = (0.5, 0.25, 0.125, 0.0)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    predictor = load_predictor("phase-to-dapi", "cpu", "auto")
    raw, _ = read_input_planes(sorted(DATA.glob("phase_z*.png")))
    normalized = normalize_planes(raw, *predictor.info.input_percentiles)
    stem = predictor.info.stem()
    planes = stem(normalized) if stem is not None else normalized
    dapi = read_image(DATA / "dapi.png").array.astype(np.float64)
    index = predictor.info.target_names.index("dapi")
    outputs, rows = {}, []
    for overlap in OVERLAPS:
        options = TilingOptions(tile=args.tile, overlap_fraction=overlap, batch_size=4)
        predictor.predict_normalized(planes, None, options)  # warm-up
        best = float("inf")
        for _ in range(args.repeats):
            started = time.perf_counter()
            outputs[overlap] = predictor.predict_normalized(planes, None, options)
            best = min(best, time.perf_counter() - started)
        grid = tile_grid(planes.shape[1:], args.tile, overlap, predictor.info.size_multiple)
        difference = np.abs(outputs[overlap] - outputs[OVERLAPS[0]])
        prediction = outputs[overlap][index].astype(np.float64)
        rows.append({
            "overlap": overlap,
            "tiles": len(grid.starts_y) * len(grid.starts_x),
            "seconds": best,
            "max_abs_difference": float(difference.max()),
            "p999_abs_difference": float(np.quantile(difference, 0.999)),
            "dapi_pcc_strip": float(pearson(prediction[:, 768:], dapi[:, 768:])),
            "dapi_pcc_field": float(pearson(prediction, dapi)),
        })  # fmt: skip
    print(f"phase-to-dapi, isl-neurons field {planes.shape[1]}², tiles {args.tile}, precision "
          f"{predictor.choose_precision(args.tile, 4)}")  # fmt: skip
    print("| overlap | tiles | time (s) | max abs diff vs 0.5 | p99.9 | DAPI PCC strip | field |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['overlap']} | {row['tiles']} | {row['seconds']:.2f} | "
              f"{row['max_abs_difference']:.4f} | {row['p999_abs_difference']:.4f} | "
              f"{row['dapi_pcc_strip']:.4f} | {row['dapi_pcc_field']:.4f} |")  # fmt: skip
    output = HERE / "results" / f"overlap_error_{args.tile}.json"
    write_record(output, {"tile": args.tile, "rows": rows, "command": " ".join(sys.argv)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
