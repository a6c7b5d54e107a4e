"""Run Cellpose (``cellpose<4``, its own virtual env) on a folder of images; write label TIFFs.

Benchmark-only peer runner, executed by ``peers-venv/bin/python`` (see ``../shared/peers``):

    peers-venv/bin/python benchmarks/peers/cellpose_predict.py \
        --model ../shared/peers/cellpose_cyto.pth \
        --input '../shared/data/dense-tissue/test/*_img.png' \
        --output benchmarks/results/dense_tissue/cellpose_cyto --diameter 15

Writes ``<output>/<stem without _img>_cp_masks.tif`` (uint16/uint32) and ``timing.json``.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import time
from pathlib import Path

import numpy as np
import tifffile
from cellpose import io as cellpose_io
from cellpose import models


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--input", required=True, help="glob of images")
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--diameter", type=float, default=15.0)
    parser.add_argument("--repeats", type=int, default=1, help="best of N evaluations an image")
    args = parser.parse_args()
    files = sorted(glob.glob(args.input))
    if not files:
        print(f"no image matches {args.input}", file=sys.stderr)
        return 2
    args.output.mkdir(parents=True, exist_ok=True)
    model = models.CellposeModel(gpu=False, pretrained_model=str(args.model))
    timings = {}
    for file in files:
        image = cellpose_io.imread(file)
        best = float("inf")
        for _ in range(args.repeats):
            started = time.perf_counter()
            masks, _, _ = model.eval(image, channels=[0, 0], diameter=args.diameter)
            best = min(best, time.perf_counter() - started)
        timings[Path(file).name] = best
        stem = Path(file).stem.removesuffix("_img")
        dtype = np.uint16 if masks.max() < 65536 else np.uint32
        tifffile.imwrite(args.output / f"{stem}_cp_masks.tif", masks.astype(dtype))
        print(f"{stem}: {int(masks.max())} objects ({timings[Path(file).name]:.1f} s)")
    (args.output / "timing.json").write_text(json.dumps(timings, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
