"""Where ``segment`` spends memory: numpy allocations (tracemalloc) per stage of the flows
built-in on one large image — the tiled maps, then each step of the flows decoder.

Content: the largest DSB2018 image tiled to N × N (as ``bench_memory.py``). Peaks are of numpy
allocations only (torch's own allocator is not traced); the decoder's peaks exclude the maps,
which stay allocated (``maps current``).

    python benchmarks/speed/trace_segment_memory.py [--size 4096]
"""

from __future__ import annotations

import argparse
import sys
import tracemalloc
from pathlib import Path

import numpy as np

from stainless.inference.segmenter import SegmentationPredictor
from stainless.io import read_image
from stainless.postprocessing import flows
from stainless.postprocessing.labels import clean_labels
from stainless.tiling import TilingOptions

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _mark(stage: str) -> None:
    current, peak = tracemalloc.get_traced_memory()
    print(f"{stage}: current {current / 1e6:.0f} MB, peak {peak / 1e6:.0f} MB", flush=True)
    tracemalloc.reset_peak()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    args = parser.parse_args()
    dsb = max((DATA / "dsb2018" / "images").glob("*.png"), key=lambda p: p.stat().st_size)
    plane = read_image(dsb).array
    reps = (-(-args.size // plane.shape[0]), -(-args.size // plane.shape[1]))
    image = np.tile(plane, reps)[: args.size, : args.size][None]
    predictor = SegmentationPredictor.load("nuclei-fluorescence", device="cpu")
    thresholds = predictor.info.thresholds
    tracemalloc.start()
    maps = predictor.predict_maps(image, TilingOptions(512, 0.25, 4))
    _mark("maps")
    foreground, field = maps[0], maps[1:]
    mask = foreground > thresholds["mask_threshold"]
    labels = np.zeros(foreground.shape, dtype=np.int32)
    ys, xs, end_y, end_x = flows.follow_flows(field, mask, flows.STEPS)
    _mark("decode: follow flows")
    sinks = flows._sinks(end_y, end_x, foreground.shape, 10)
    _mark("decode: sinks")
    labels[ys, xs] = sinks[end_y, end_x]
    del ys, xs, end_y, end_x, sinks
    errors = flows._flow_errors(labels, field)
    _mark("decode: flow errors")
    labels[(errors > thresholds["flow_threshold"])[labels] & (labels > 0)] = 0
    clean_labels(labels, min_size_px=int(thresholds["min_size_px"]))
    _mark("decode: clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
