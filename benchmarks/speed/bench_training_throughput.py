"""Training throughput on this machine: one job on all cores vs one-thread jobs side by side, and
crop size, for the dense-tissue flows network (U-Net width 32, depth 4, flows head, Adam).

Each setting times ``--steps`` optimisation steps (forward, loss, backward, Adam) on random
batches after ``--warmup`` untimed steps, best of ``--repeats``; "side by side" starts one
single-thread process per core at once and counts the steps of all of them. Reported per
setting: steps/s and training pixels/s (crop² × batch × steps/s), and the ratio of each
setting's pixels/s to the one-job-all-cores baseline at 128² crops, measured in this run.

    python benchmarks/speed/bench_training_throughput.py [--steps 6] [--repeats 2]

Writes ``benchmarks/results/bench_training_throughput.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from stainless.config import SegmentationModelConfig
from stainless.losses import HeadLossSettings
from stainless.models.build import build_segmentation_network
from stainless.models.heads import head_of
from stainless.provenance import write_record

HERE = Path(__file__).resolve().parents[1]  # benchmarks/


def time_steps(
    crop: int,
    batch: int,
    steps: int,
    warmup: int,
    repeats: int,
    threads: int,
    channels_last: bool = False,
) -> float:
    """Best seconds per optimisation step of the flows U-Net on random (batch, 1, crop, crop)."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = SegmentationModelConfig(architecture="unet", width=32, depth=4, head="flows")
    network = build_segmentation_network(model, 1)
    head = head_of("flows")
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)
    images = torch.randn(batch, 1, crop, crop)
    target = torch.cat(
        [(torch.rand(batch, 1, crop, crop) > 0.5).float(), torch.randn(batch, 2, crop, crop)], 1
    )
    if channels_last:
        network = network.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    settings = HeadLossSettings("ce", None, torch.tensor(float("nan")))

    def step() -> None:
        optimizer.zero_grad()
        head.loss(network(images), target, settings).backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, (time.perf_counter() - start) / steps)
    return best


def side_by_side(crop: int, batch: int, args: argparse.Namespace, jobs: int) -> float:
    """Summed steps/s of ``jobs`` one-thread processes started together."""
    command = [sys.executable, __file__, "--worker", str(crop), str(batch)]
    command += ["--steps", str(args.steps), "--warmup", str(args.warmup)]
    command += ["--repeats", str(args.repeats)]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=environment)
        for _ in range(jobs)
    ]
    seconds = [float(p.communicate()[0].strip().splitlines()[-1]) for p in processes]
    return sum(1.0 / s for s in seconds)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crops", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--worker", type=int, nargs=2, help=argparse.SUPPRESS)
    parser.add_argument(
        "--output", type=Path, default=HERE / "results" / "bench_training_throughput.json"
    )
    args = parser.parse_args()
    if args.worker:  # a one-thread side-by-side job: print its seconds per step
        crop, batch = args.worker
        print(time_steps(crop, batch, args.steps, args.warmup, args.repeats, threads=1))
        return 0
    started = time.perf_counter()
    cores = os.cpu_count() or 1
    rows = []
    for crop in args.crops:
        timing = (crop, args.batch, args.steps, args.warmup, args.repeats, cores)
        one_job = 1.0 / time_steps(*timing)
        channels_last = 1.0 / time_steps(*timing, channels_last=True)
        together = side_by_side(crop, args.batch, args, cores)
        for setting, steps_per_s in (
            (f"1 job x {cores} threads", one_job),
            (f"1 job x {cores} threads, channels_last", channels_last),
            (f"{cores} jobs x 1 thread", together),
        ):
            rows.append(
                {
                    "crop": crop,
                    "batch": args.batch,
                    "setting": setting,
                    "steps_per_s": steps_per_s,
                    "pixels_per_s": steps_per_s * args.batch * crop * crop,
                }
            )
    baseline = rows[0]["pixels_per_s"]
    for row in rows:
        row["pixels_per_s_vs_baseline"] = row["pixels_per_s"] / baseline
        print(
            f"crop {row['crop']:4d}  {row['setting']:>20s}  {row['steps_per_s']:.3f} steps/s  "
            f"{row['pixels_per_s'] / 1e6:.3f} Mpx/s  x{row['pixels_per_s_vs_baseline']:.2f}"
        )
    document = {
        "benchmark": "bench_training_throughput",
        "network": "U-Net width 32 depth 4, flows head, Adam, float32",
        "settings": {"steps": args.steps, "warmup": args.warmup, "repeats": args.repeats},
        "cores": cores,
        "rows": rows,
    }
    write_record(args.output, document, started)
    print(json.dumps({r["setting"] + f" @{r['crop']}": round(r["steps_per_s"], 3) for r in rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
