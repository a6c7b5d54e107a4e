"""Inference speed of the default translation model: stainless' predictor vs. a naive loop.

Model: ``build_translation_network`` with the default ``ModelConfig`` (U-Net, width 32, depth 4),
13 input planes → 3 targets, as for the ISL neurons; weights are random (speed does not depend on
them). Image: 2048 × 2048 on the CPU, all runs in this process, best of N after one warm-up run.

* naive: eager, autograd enabled, float32, contiguous (NCHW) tensors, tiles of 512 with 50 %
  overlap (the old default), 4 per batch;
* stainless: ``TranslationPredictor`` exactly as ``stainless predict`` runs it by default (its
  default tiling, ``precision: auto`` decided by the timed trial, inference mode, channels-last).

``--onnxruntime`` adds the same network exported to ONNX and run by onnxruntime inside the same
predictor (``--engine onnxruntime``), and a ``stainless fp32`` row: the agreement of the default
(its precision trial) and of onnxruntime is measured against it (Pearson r, p99.9 and max
|difference|, in network units), so speed and agreement are reported together.

``--ablation`` adds one row per single change to the naive loop — inference mode, channels-last,
bf16 autocast, the overlap (0.25, 0.125), 8 tiles per batch, ``torch.compile`` — so each gain is
measured on its own (one timed run each after a warm-up). The last line printed is
``speedup_vs_naive: <ratio>``.

    python benchmarks/speed/bench_inference.py [--repeats 3] [--size 2048] [--onnxruntime]
        [--ablation] [--compile]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from bench_matching import best_time
from torch import nn

from stainless.cli.main import build_parser
from stainless.config import ModelConfig
from stainless.device import output_agreement
from stainless.inference.predictor import TilingOptions, TranslationPredictor
from stainless.model_folder import TranslationModelInfo
from stainless.models import build_translation_network
from stainless.provenance import run_metadata, write_record
from stainless.tiling import sliding_window

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
PLANES, TARGETS = 13, 3


def default_options() -> TilingOptions:
    """The tiling ``stainless predict`` uses without options."""
    args = build_parser().parse_args(["predict", "--model", "m", "--input", "x", "--output", "o"])
    return TilingOptions(args.tile, args.overlap, args.batch_size)


def loop(
    network: nn.Module,
    *,
    inference: bool = False,
    channels_last: bool = False,
    bf16: bool = False,
) -> Callable[[np.ndarray], np.ndarray]:
    """A tile function with the given optimisations switched on."""
    context = torch.inference_mode if inference else torch.enable_grad

    def predict_tiles(batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(batch)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with context(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return network(x).float().detach().numpy()

    return predict_tiles


def agreement_of(got: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Pearson r, p99.9 and max of |got - reference| (network units)."""
    pcc, p999, largest = output_agreement(torch.from_numpy(reference), torch.from_numpy(got))
    return {"pearson_r": round(pcc, 6), "p99.9_abs_difference": round(p999, 6),
            "max_abs_difference": round(largest, 6)}  # fmt: skip


def onnx_predictor(
    network: nn.Module, info: TranslationModelInfo, folder: Path
) -> TranslationPredictor:
    """``network`` exported to ONNX in ``folder`` (checked against torch by the export) and
    loaded as ``--engine onnxruntime`` runs it."""
    from stainless.export.onnx_graph import export_onnx
    from stainless.export.source import ExportSource, PlanesOnly
    from stainless.inference.onnx_engine import load_onnx_network

    source = ExportSource(PlanesOnly(network).eval(), info, folder / "random-weights", PLANES)
    export_onnx(source, folder / "network.onnx")
    graph, _ = load_onnx_network(folder / "network.onnx", "translation")
    return TranslationPredictor(graph, info, device="cpu", precision="fp32")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ablation", action="store_true")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="also the default path with torch.compile (its first call, compiling, is timed)",
    )
    parser.add_argument(
        "--onnxruntime", action="store_true", help="also onnxruntime and fp32 rows, with agreement"
    )
    parser.add_argument("--output", type=Path, default=HERE / "results" / "bench_inference.json")
    args = parser.parse_args()
    torch.manual_seed(0)
    model_config = ModelConfig.model_validate({})
    network = build_translation_network(model_config, PLANES, TARGETS).eval()
    plain = build_translation_network(model_config, PLANES, TARGETS).eval()
    plain.load_state_dict(network.state_dict())  # an NCHW copy: the predictor converts its own
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
    naive_options = TilingOptions(tile=512, overlap_fraction=0.5, batch_size=4)

    def tiled(function: Callable[[np.ndarray], np.ndarray], options: TilingOptions) -> Any:
        return lambda: sliding_window(
            image, function, TARGETS, tile=options.tile,
            overlap_fraction=options.overlap_fraction, batch_size=options.batch_size,
            size_multiple=info.size_multiple,
        )  # fmt: skip

    options = default_options()
    predictor = TranslationPredictor(network, info, device="cpu", precision="auto")
    precision = predictor.choose_precision(options.tile, options.batch_size)
    rows: dict[str, float] = {}
    rows["naive"], reference = best_time(tiled(loop(plain), naive_options), args.repeats)
    rows["stainless"], output = best_time(
        lambda: predictor.predict_normalized(image, None, options), args.repeats
    )
    agreement: dict[str, dict[str, float]] = {}
    if args.onnxruntime:
        fp32 = TranslationPredictor(network, info, device="cpu", precision="fp32")
        rows["stainless fp32"], exact = best_time(
            lambda: fp32.predict_normalized(image, None, options), args.repeats
        )
        with tempfile.TemporaryDirectory() as temporary:
            graph = onnx_predictor(network, info, Path(temporary))
            rows["stainless + onnxruntime"], onnx_output = best_time(
                lambda: graph.predict_normalized(image, None, options), args.repeats
            )
        agreement = {"stainless": agreement_of(output, exact),
                     "stainless + onnxruntime": agreement_of(onnx_output, exact)}  # fmt: skip
    if args.ablation:
        variants: dict[str, Any] = {
            "inference mode": tiled(loop(plain, inference=True), naive_options),
            "channels-last": tiled(loop(network, channels_last=True), naive_options),
            "bf16 autocast": tiled(loop(plain, inference=True, bf16=True), naive_options),
        }
        for overlap in (0.25, 0.125):
            variants[f"overlap {overlap}"] = tiled(
                loop(plain), TilingOptions(512, overlap, naive_options.batch_size)
            )
        variants["batch 8"] = tiled(loop(plain), TilingOptions(512, 0.5, 8))
        compiled = torch.compile(plain)
        variants["torch.compile"] = tiled(loop(compiled, inference=True), naive_options)
        for name, run in variants.items():
            rows[name], _ = best_time(run, 1)  # one timed run after the warm-up
    if args.compile:
        compiled_predictor = TranslationPredictor(network, info, device="cpu", precision="fp32")
        compiled_predictor.network = torch.compile(compiled_predictor.network)
        started = time.perf_counter()
        compiled_predictor.predict_normalized(image, None, options)
        first_call_s = time.perf_counter() - started
        rows["stainless + torch.compile"], _ = best_time(
            lambda: compiled_predictor.predict_normalized(image, None, options), args.repeats
        )
        print(f"torch.compile: first call (compiling) {first_call_s:.1f} s")
    megapixels = args.size * args.size / 1e6
    difference = float(np.abs(reference - output).max())
    speedup = rows["naive"] / rows["stainless"]
    print(f"image {args.size}², {PLANES} planes -> {TARGETS} targets, U-Net width "
          f"{model_config.width} depth {model_config.depth}; best of {args.repeats}; "
          f"{torch.get_num_threads()} threads")  # fmt: skip
    print(f"stainless: tiles {options.tile}, overlap {options.overlap_fraction}, batch "
          f"{options.batch_size}, precision {precision} (timed trial)")  # fmt: skip
    print("| run | seconds | Mpx/s | vs naive |")
    print("|---|---|---|---|")
    for name, seconds in rows.items():
        print(f"| {name} | {seconds:.2f} | {megapixels / seconds:.2f} | "
              f"{rows['naive'] / seconds:.2f}× |")  # fmt: skip
    print(f"largest difference stainless vs naive: {difference:.4f} (network units)")
    for name, numbers in agreement.items():
        print(f"agreement with stainless fp32, {name}: {numbers}")
    print(f"precision trial: {predictor.precision_record()}")
    result = {
        "benchmark": "bench_inference",
        "size": args.size,
        "seconds": rows,
        "mpx_per_s": {name: megapixels / seconds for name, seconds in rows.items()},
        "stainless_options": vars(options) if hasattr(options, "__dict__") else str(options),
        "precision": precision,
        "precision_trial": predictor.precision_record(),
        "agreement_with_fp32": agreement,
        "max_abs_difference": difference,
        "speedup_vs_naive": speedup,
        "repeats": args.repeats,
        "command": " ".join(sys.argv),
        "metadata": run_metadata(torch_threads=torch.get_num_threads()),
    }
    write_record(args.output, result)
    print(f"stainless_mpx_per_s: {megapixels / rows['stainless']:.2f}")
    print(f"speedup_vs_naive: {speedup:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
