"""Inference speed of the default translation model: stainless' predictor vs. a naive loop.

Model: ``build_translation_network`` with the default ``ModelConfig`` (U-Net, width 32, depth 4),
13 input planes → 3 targets, as for the ISL neurons; weights are random (speed does not depend on
them). Image: 2048 × 2048, tiles of 512 with 50 % overlap, 4 tiles per batch, on the CPU.

Both sides share the tiling code and differ only in how a batch of tiles goes through the network:

* naive: eager, autograd enabled, float32, contiguous (NCHW) tensors;
* stainless: ``torch.inference_mode``, channels-last, bf16 autocast where the CPU has native bf16.

Best of N runs each after one warm-up run, in one process. The last line printed is
``speedup_vs_naive: <ratio>``.

    python benchmarks/speed/bench_inference.py [--repeats 3] [--size 2048]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from stainless.config import ModelConfig
from stainless.inference.predictor import TilingOptions, TranslationPredictor
from stainless.model_folder import TranslationModelInfo
from stainless.models import build_translation_network
from stainless.provenance import run_metadata, write_record
from stainless.tiling import sliding_window

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
PLANES, TARGETS = 13, 3


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=HERE / "results" / "bench_inference.json")
    args = parser.parse_args()
    torch.manual_seed(0)
    model_config = ModelConfig.model_validate({})
    network = build_translation_network(model_config, PLANES, TARGETS).eval()
    info = TranslationModelInfo(
        target_names=["a", "b", "c"],
        in_channels=PLANES,
        input_percentiles=(1.0, 99.8),
        target_scales={n: (0.0, 1.0) for n in "abc"},
        modalities=list(model_config.modalities),
        modality_strategy="unified",
        size_multiple=model_config.size_multiple,
    )
    image = (
        np.random.default_rng(0).standard_normal((PLANES, args.size, args.size)).astype(np.float32)
    )
    options = TilingOptions(tile=512, overlap_fraction=0.5, batch_size=4)

    def naive_tiles(batch: np.ndarray) -> np.ndarray:
        return network(torch.from_numpy(batch)).detach().numpy()

    def naive() -> np.ndarray:
        return sliding_window(
            image,
            naive_tiles,
            TARGETS,
            tile=options.tile,
            overlap_fraction=options.overlap_fraction,
            batch_size=options.batch_size,
            size_multiple=info.size_multiple,
        )

    predictor = TranslationPredictor(network, info, device="cpu", precision="auto")

    def optimised() -> np.ndarray:
        return predictor.predict_normalized(image, None, options)

    timings = {}
    outputs = {}
    for name, run in (("naive", naive), ("stainless", optimised)):
        run()  # warm-up: oneDNN builds its kernels on the first call
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            outputs[name] = run()
            best = min(best, time.perf_counter() - start)
        timings[name] = best
    megapixels = args.size * args.size / 1e6
    difference = float(np.abs(outputs["naive"] - outputs["stainless"]).max())
    speedup = timings["naive"] / timings["stainless"]
    model = f"U-Net width {model_config.width} depth {model_config.depth}"
    print(f"image {args.size}x{args.size}, {PLANES} planes -> {TARGETS} targets, {model}")
    threads = torch.get_num_threads()
    print(f"tiles 512, overlap 0.5, batch 4; best of {args.repeats}; {threads} threads")
    for name, label in (
        ("naive", "naive (eager, autograd, fp32, NCHW)"),
        ("stainless", "stainless"),
    ):
        rate = megapixels / timings[name]
        print(f"  {label:<36} {timings[name]:7.2f} s  {rate:6.2f} Mpx/s")
    print(f"  bf16 autocast: {predictor.use_bf16}")
    print(f"  largest difference between the two outputs: {difference:.4f} (bf16 rounding)")
    result = {
        "benchmark": "bench_inference",
        "size": args.size,
        "naive_s": timings["naive"],
        "stainless_s": timings["stainless"],
        "naive_mpx_per_s": megapixels / timings["naive"],
        "stainless_mpx_per_s": megapixels / timings["stainless"],
        "max_abs_difference": difference,
        "bf16": predictor.use_bf16,
        "speedup_vs_naive": speedup,
        "repeats": args.repeats,
        "metadata": run_metadata(torch_threads=torch.get_num_threads()),
    }
    write_record(args.output, result)
    print(f"speedup_vs_naive: {speedup:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
