"""Flows → instance labels: stainless' decoder vs Cellpose's own ``dynamics.compute_masks``.

Labels: the expert masks of one dense-tissue image (``whole/CFL_Position13_CD3``, 2108 touching
cells) resized to 2048 x 2048 (nearest neighbour). Flows as a network predicts them: the exact
flows of those masks (``stainless.data.targets.flows_target``), Gaussian-smoothed (σ = 1 px) with
Gaussian noise (σ = 0.05, seed 0), at Cellpose's 5x scale; the foreground logit is +-4 smoothed
(σ = 1.5 px). Both decoders take the same maps and the same settings (foreground probability
> 0.5, i.e. logit > 0; flow threshold 0.4; 200 Euler steps; objects under 15 px and over 40 % of
the image removed):

* Cellpose: ``cellpose<4`` ``dynamics.compute_masks`` (torch ``grid_sample`` path following on
  the CPU), in ``peers-venv`` (Cellpose pins numpy < 2.1), best of N inside that process;
* stainless: ``labels_from_flows`` (compiled per-pixel Euler paths that stop at their sink), best
  of N in this process.

Agreement: ARI (all pixels) and csi@0.5 of stainless' labels against Cellpose's, and each against
the expert masks.

    python benchmarks/speed/bench_flows.py [--data ../shared/data] [--repeats 3]

Writes ``benchmarks/results/bench_flows.json``; the last line printed is
``speedup_vs_cellpose: <ratio>``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from stainless.data.targets import flows_target
from stainless.io import read_labels
from stainless.metrics import instance_metrics
from stainless.postprocessing.flows import labels_from_flows
from stainless.provenance import write_record

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_matching import MASKS, SIZE, best_time, resize_nearest

HERE = Path(__file__).resolve().parents[1]  # benchmarks/


def network_like_maps(truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(5x flows (2, Y, X), foreground logits (Y, X)) of ``truth``, smoothed and noisy."""
    rng = np.random.default_rng(0)
    flows = flows_target(truth)
    flows = np.stack([ndi.gaussian_filter(channel, 1.0) for channel in flows])
    flows += rng.normal(0.0, 0.05, flows.shape).astype(np.float32)
    logits = ndi.gaussian_filter(np.where(truth > 0, 4.0, -4.0), 1.5)
    return (5.0 * flows).astype(np.float32), logits.astype(np.float32)


def agreement(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    scores = instance_metrics(truth, predicted, thresholds=[0.5])
    return {
        "ari": float(scores["ari"]),
        "csi@0.50": float(scores["csi@0.50"]),
        "n_true": int(scores["n_true"]),
        "n_pred": int(scores["n_pred"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peers-python", type=Path, default=HERE.parent / "peers-venv/bin/python")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "bench_flows.json")
    args = parser.parse_args()
    started = time.perf_counter()
    truth = resize_nearest(read_labels(args.data / MASKS).array, SIZE)
    dp, logits = network_like_maps(truth)
    with tempfile.TemporaryDirectory() as folder:
        inputs, outputs = Path(folder) / "flows.npz", Path(folder) / "masks.npz"
        np.savez(inputs, dP=dp, cellprob=logits)
        command = [str(args.peers_python), str(HERE / "peers" / "cellpose_masks.py")]
        command += ["--flows", str(inputs), "--output", str(outputs)]
        subprocess.run([*command, "--repeats", str(args.repeats)], check=True)
        peer = np.load(outputs)
        cellpose_masks, cellpose_s = peer["masks"], float(peer["seconds"])
    probability = 1.0 / (1.0 + np.exp(-logits))
    stainless_s, labels = best_time(
        lambda: labels_from_flows(
            probability, dp / 5.0, mask_threshold=0.5, flow_threshold=0.4, min_size_px=15
        ),
        args.repeats,
    )
    speedup = cellpose_s / stainless_s
    result = {
        "benchmark": "bench_flows",
        "data": {"masks": str(args.data / MASKS), "size": [SIZE, SIZE]},
        "maps": "exact flows smoothed sigma 1 + N(0, 0.05) (seed 0), x5; logits +-4 smoothed 1.5",
        "settings": {"cellprob_threshold": 0.0, "flow_threshold": 0.4, "min_size_px": 15},
        "stainless_vs_cellpose": agreement(cellpose_masks, labels),
        "cellpose_vs_truth": agreement(truth, cellpose_masks),
        "stainless_vs_truth": agreement(truth, labels),
        "cellpose_s": cellpose_s,
        "stainless_s": stainless_s,
        "speedup_vs_cellpose": speedup,
        "repeats": args.repeats,
    }
    print(f"labels: {args.data / MASKS} resized to {SIZE}x{SIZE}, {int(truth.max())} ids")
    for name in ("stainless_vs_cellpose", "cellpose_vs_truth", "stainless_vs_truth"):
        print(f"  {name}: {result[name]}")
    print(f"  cellpose compute_masks   {cellpose_s * 1000:.1f} ms")
    print(f"  stainless labels_from_flows {stainless_s * 1000:.1f} ms")
    write_record(args.output, result, started)
    print(f"speedup_vs_cellpose: {speedup:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
