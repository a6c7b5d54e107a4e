"""Cellpose's own mask recovery (``cellpose<4`` ``dynamics.compute_masks``) on given flows, timed.

Benchmark-only peer runner, executed by ``peers-venv/bin/python`` (Cellpose pins numpy < 2.1, so it
cannot share the stainless environment):

    peers-venv/bin/python benchmarks/peers/cellpose_masks.py --flows flows.npz --output masks.npz

``flows.npz`` holds ``dP`` (2, Y, X) flows at the network's 5x scale and ``cellprob`` (Y, X)
foreground logits. Best of ``--repeats`` calls after one warm-up; writes ``masks`` and ``seconds``
to ``--output``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from cellpose import dynamics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flows", required=True, type=Path)
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--flow-threshold", type=float, default=0.4)
    parser.add_argument("--min-size", type=int, default=15)
    args = parser.parse_args()
    inputs = np.load(args.flows)
    dp, cellprob = inputs["dP"].astype(np.float32), inputs["cellprob"].astype(np.float32)

    def run() -> np.ndarray:
        masks = dynamics.compute_masks(
            dp, cellprob, flow_threshold=args.flow_threshold, min_size=args.min_size
        )
        return masks[0] if isinstance(masks, tuple) else masks

    masks = run()
    best = float("inf")
    for _ in range(args.repeats):
        started = time.perf_counter()
        masks = run()
        best = min(best, time.perf_counter() - started)
    np.savez_compressed(args.output, masks=np.asarray(masks), seconds=best)
    print(f"cellpose compute_masks: {best * 1000:.1f} ms, {int(np.asarray(masks).max())} masks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
