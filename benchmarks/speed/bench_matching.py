"""Instance matching speed: stainless vs ``stardist.matching.matching`` on 2048 x 2048 labels.

Ground truth: the expert masks of one dense-tissue image (``whole/CFL_Position13_CD3``, 2108
touching cells), resized to 2048 x 2048 with nearest-neighbour sampling, so every object stays an
object. Prediction: the same masks with realistic errors (objects dropped, eroded, merged, split;
then numbered 1..n) from ``stainless.data.perturb.perturb_labels``. Both libraries match at the ten
thresholds 0.50:0.05:0.95 in one call, in this process, best of N; TP/FP/FN must be identical.

    pip install -r benchmarks/requirements-peers.txt
    python benchmarks/speed/bench_matching.py [--data ../shared/data] [--repeats 5]

Writes ``benchmarks/results/bench_matching.json``; the last line printed is
``speedup_vs_stardist: <ratio>``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from stainless.data.perturb import perturb_labels
from stainless.io import read_labels
from stainless.metrics import DEFAULT_THRESHOLDS, match_instances
from stainless.metrics._overlap import _runs, overlap_table
from stainless.provenance import run_metadata, write_record

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
MASKS = Path("dense-tissue") / "whole" / "CFL_Position13_CD3_masks.png"
SIZE = 2048


def resize_nearest(labels: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour resize of a label image to ``(size, size)``."""
    rows = (np.arange(size) * labels.shape[0] / size).astype(np.intp)
    cols = (np.arange(size) * labels.shape[1] / size).astype(np.intp)
    return labels[np.ix_(rows, cols)]


def best_time(function: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Best wall time of ``repeats`` calls (after one warm-up call) and the last result."""
    result = function()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", type=Path, default=HERE / "results" / "bench_matching.json")
    args = parser.parse_args()
    try:
        from stardist.matching import matching
    except ImportError:
        print(
            "stardist is missing: pip install -r benchmarks/requirements-peers.txt", file=sys.stderr
        )
        return 2
    started = time.perf_counter()
    masks_path = args.data / MASKS
    truth = resize_nearest(read_labels(masks_path).array, SIZE)
    # Consecutive ids 1..n, as a segmentation model writes them (and as stardist relabels anyway).
    perturbed = perturb_labels(truth, seed=0)
    _, pred = np.unique(perturbed, return_inverse=True)
    pred = pred.reshape(truth.shape).astype(np.uint16)
    thresholds = list(DEFAULT_THRESHOLDS)

    stardist_s, stardist_stats = best_time(
        lambda: matching(truth, pred, thresh=thresholds), args.repeats
    )
    stainless_s, counts = best_time(
        lambda: match_instances(truth, pred, thresholds=thresholds), args.repeats
    )
    peer_counts = [(int(s.tp), int(s.fp), int(s.fn)) for s in stardist_stats]
    own_counts = list(zip(counts.tp.tolist(), counts.fp.tolist(), counts.fn.tolist(), strict=True))
    if peer_counts != own_counts:
        print(f"MISMATCH stardist {peer_counts} vs stainless {own_counts}", file=sys.stderr)
        return 1
    speedup = stardist_s / stainless_s

    print(f"labels: {masks_path} resized to {SIZE}x{SIZE}")
    runs = _runs(truth.ravel(), pred.ravel())[2].size
    pairs = overlap_table(truth, pred).pair_true.size
    print(f"objects: {counts.n_true} true, {counts.n_pred} predicted")
    print(f"pixel runs: {runs} (of {truth.size} pixels); overlapping object pairs: {pairs}")
    print(f"{'threshold':>9} {'TP':>6} {'FP':>6} {'FN':>6}   (identical in both)")
    for threshold, (tp, fp, fn) in zip(thresholds, own_counts, strict=True):
        print(f"{threshold:>9.2f} {tp:>6} {fp:>6} {fn:>6}")
    print(f"10 thresholds, best of {args.repeats}:")
    print(f"  stardist.matching.matching {stardist_s * 1e3:8.1f} ms")
    print(f"  stainless match_instances  {stainless_s * 1e3:8.1f} ms")

    result = {
        "benchmark": "bench_matching",
        "data": {
            "masks": str(masks_path),
            "size": [SIZE, SIZE],
            "n_true": counts.n_true,
            "n_pred": counts.n_pred,
        },
        "pixel_runs": runs,
        "overlapping_pairs": pairs,
        "thresholds": thresholds,
        "counts": {"tp": counts.tp.tolist(), "fp": counts.fp.tolist(), "fn": counts.fn.tolist()},
        "stardist_s": stardist_s,
        "stainless_s": stainless_s,
        "speedup_vs_stardist": speedup,
        "repeats": args.repeats,
        "wall_s": time.perf_counter() - started,
        "metadata": run_metadata(stardist_version=version("stardist")),
    }
    write_record(args.output, result)
    print(f"speedup_vs_stardist: {speedup:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
