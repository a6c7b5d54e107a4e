"""Choosing the device, numeric precision and memory layout for training and inference."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

import torch
from torch import nn


def resolve_device(requested: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but torch sees no CUDA GPU")
    if requested not in ("cpu", "cuda"):
        raise ValueError(f"unknown device '{requested}'; expected auto, cpu or cuda")
    return torch.device(requested)


def bf16_supported(device: torch.device) -> bool:
    """Whether bfloat16 autocast is worth using on ``device`` (CUDA with bf16, or a CPU with
    native bf16 matrix instructions: AVX512-BF16 / AMX)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    capability = torch.backends.cpu.get_cpu_capability()
    return capability in ("AVX512_BF16", "AMX") or _cpu_flag("avx512_bf16") or _cpu_flag("amx_bf16")


def _cpu_flag(flag: str) -> bool:
    try:
        with open("/proc/cpuinfo") as handle:
            return any(flag in line for line in handle if line.startswith("flags"))
    except OSError:
        return False


def lightning_device(requested: str) -> str:
    """Lightning ``accelerator`` for a requested device."""
    return "gpu" if resolve_device(requested).type == "cuda" else "cpu"


def lightning_precision(
    requested: str, accelerator: str, step: Callable[[bool], object] | None = None
) -> Literal["bf16-mixed", "32-true"]:
    """Lightning ``precision``: ``bf16`` → bf16 mixed, ``fp32`` → float32; ``auto`` → whichever
    of the two runs ``step`` (one training step, ``step(use_bf16)``) faster on this machine, where
    the hardware has bf16 at all (bf16 autocast was 3.8× faster than float32 on one CPU with AMX
    and slower on another with AVX512-BF16 only, so a flag cannot decide)."""
    device = torch.device("cuda" if accelerator == "gpu" else "cpu")
    if requested == "bf16":
        return "bf16-mixed"
    if requested != "auto" or not bf16_supported(device) or step is None:
        return "32-true"
    return "bf16-mixed" if faster_in_bf16(step) else "32-true"


def faster_in_bf16(step: Callable[[bool], object], repeats: int = 2) -> bool:
    """Whether ``step(True)`` (under bf16 autocast) beats ``step(False)`` (float32): best of
    ``repeats`` timed calls each, after one warm-up call each."""
    best = {}
    for use_bf16 in (False, True):
        step(use_bf16)
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            step(use_bf16)
            timings.append(time.perf_counter() - started)
        best[use_bf16] = min(timings)
    return best[True] < best[False]


def to_channels_last(network: nn.Module) -> None:
    """Channels-last weights for every 2-D convolution (oneDNN's fast layout on CPU); other
    parameters, such as the 5-D kernel bank of a dynamic stem, keep their layout."""
    for module in network.modules():
        if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
            module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]


def prepare_for_inference(
    network: nn.Module, device: str, precision: str
) -> tuple[nn.Module, torch.device, bool | None]:
    """Move ``network`` to ``device`` in eval mode and channels-last; returns it, the device and
    whether to run under bf16 autocast (``precision``: bf16, fp32, or auto: None where the
    hardware has bf16 at all — to be decided by :func:`inference_precision`'s timed trial —
    else False)."""
    resolved = resolve_device(device)
    if precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"precision must be auto, bf16 or fp32, got {precision!r}")
    use_bf16: bool | None = precision == "bf16"
    if precision == "auto" and bf16_supported(resolved):
        use_bf16 = None
    prepared = network.to(resolved).eval()
    to_channels_last(prepared)
    return prepared, resolved, use_bf16


_PRECISION_TRIALS: dict[tuple[object, ...], bool] = {}
"""Timed-trial outcomes of this process, keyed by device, network and input shape."""


def inference_precision(
    network: nn.Module, sample: torch.Tensor, forward: Callable[[torch.Tensor], object]
) -> bool:
    """Whether bf16 autocast runs ``forward(sample)`` faster than float32 on this machine: a
    timed trial (one warm-up and the best of two calls each, see :func:`faster_in_bf16`), run
    once per device, network and input shape in a process and remembered.

    With bf16, inference ran 3.8× faster than a naive float32 loop on one CPU (AMX); on another
    (AVX512-BF16 only, no AMX) bf16 was slower than float32 in the same benchmark, so no
    capability flag can decide.
    """
    parameters = sum(p.numel() for p in network.parameters())
    key = (sample.device.type, type(network).__name__, parameters, tuple(sample.shape))
    if key not in _PRECISION_TRIALS:

        def step(use_bf16: bool) -> None:
            with (
                torch.inference_mode(),
                torch.autocast(sample.device.type, dtype=torch.bfloat16, enabled=use_bf16),
            ):
                forward(sample)

        _PRECISION_TRIALS[key] = faster_in_bf16(step)
    return _PRECISION_TRIALS[key]
