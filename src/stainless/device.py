"""Choosing the device, numeric precision and memory layout for training and inference."""

from __future__ import annotations

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


def lightning_precision(requested: str, accelerator: str) -> Literal["bf16-mixed", "32-true"]:
    """Lightning ``precision``: ``auto`` picks bf16 mixed precision where the hardware has it."""
    device = torch.device("cuda" if accelerator == "gpu" else "cpu")
    if requested == "bf16" or (requested == "auto" and bf16_supported(device)):
        return "bf16-mixed"
    return "32-true"


def to_channels_last(network: nn.Module) -> None:
    """Channels-last weights for every 2-D convolution (oneDNN's fast layout on CPU); other
    parameters, such as the 5-D kernel bank of a dynamic stem, keep their layout."""
    for module in network.modules():
        if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
            module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]


def prepare_for_inference(
    network: nn.Module, device: str, precision: str
) -> tuple[nn.Module, torch.device, bool]:
    """Move ``network`` to ``device`` in eval mode and channels-last; returns it, the device and
    whether to run under bf16 autocast (``precision``: auto = where native, bf16, fp32)."""
    resolved = resolve_device(device)
    if precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"precision must be auto, bf16 or fp32, got {precision!r}")
    use_bf16 = precision == "bf16" or (precision == "auto" and bf16_supported(resolved))
    prepared = network.to(resolved).eval()
    to_channels_last(prepared)
    return prepared, resolved, use_bf16
