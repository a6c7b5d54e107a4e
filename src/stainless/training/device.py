"""Choosing the device and numeric precision for training and inference."""

from __future__ import annotations

from typing import Literal

import torch


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
