"""Choosing the device, numeric precision and memory layout for training and inference."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
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
    fp32_s, bf16_s = bf16_timings(step, repeats)
    return bf16_s < fp32_s


def bf16_timings(step: Callable[[bool], object], repeats: int = 2) -> tuple[float, float]:
    """Seconds of ``step(False)`` (float32) and ``step(True)`` (bf16 autocast): best of
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
    return best[False], best[True]


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
    hardware has bf16 at all — to be decided by :func:`precision_trial` —
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


BF16_MIN_PCC = 0.999
"""bf16 is taken only where its output correlates with float32's at least this well (Pearson)."""
BF16_MAX_P999_DIFFERENCE = 0.02
"""... and where 99.9 % of its output values are within this of float32's (the network's
normalised output units, about [-1, 1] for translation: 1 % of that range)."""


@dataclass(frozen=True)
class PrecisionTrial:
    """What ``precision: auto`` decided on one batch, and why.

    Attributes
    ----------
    bf16 : bool
        The decision: bf16 autocast (faster *and* agreeing), else float32.
    fp32_s, bf16_s : float
        Best-of-two seconds of one forward pass each way.
    pcc : float
        Pearson correlation of the bf16 output with the float32 output (NaN for a constant
        output).
    p999_abs_difference, max_abs_difference : float
        The 99.9th percentile and the maximum of ``|bf16 - fp32|`` over the output values.
    """

    bf16: bool
    fp32_s: float
    bf16_s: float
    pcc: float
    p999_abs_difference: float
    max_abs_difference: float

    @property
    def agrees(self) -> bool:
        """Whether the bf16 output passes the agreement bar (:data:`BF16_MIN_PCC`,
        :data:`BF16_MAX_P999_DIFFERENCE`); a constant output agrees when it is within the bar."""
        constant_and_close = math.isnan(self.pcc) and (
            self.max_abs_difference <= BF16_MAX_P999_DIFFERENCE
        )
        correlated = self.pcc >= BF16_MIN_PCC or constant_and_close
        return correlated and self.p999_abs_difference <= BF16_MAX_P999_DIFFERENCE

    def record(self) -> dict[str, Any]:
        """The trial as JSON-ready values, with the bar it was held to (for run metadata)."""
        return {"precision": "bf16" if self.bf16 else "fp32", "decided_by": "timed trial",
                **{key: round(value, 6) if isinstance(value, float) else value
                   for key, value in asdict(self).items() if key != "bf16"},
                "speedup_bf16": round(self.fp32_s / max(self.bf16_s, 1e-12), 3),
                "agrees": self.agrees,
                "bar": {"min_pcc": BF16_MIN_PCC,
                        "max_p999_abs_difference": BF16_MAX_P999_DIFFERENCE}}  # fmt: skip


def output_agreement(reference: torch.Tensor, other: torch.Tensor) -> tuple[float, float, float]:
    """Pearson r, 99.9th percentile and maximum of ``|other - reference|`` over all values."""
    a = reference.detach().double().flatten().cpu()
    b = other.detach().double().flatten().cpu()
    difference = (b - a).abs()
    a, b = a - a.mean(), b - b.mean()
    denominator = float(a.norm() * b.norm())
    pcc = float((a * b).sum()) / denominator if denominator > 0 else float("nan")
    p999 = float(np.percentile(difference.numpy(), 99.9))
    return pcc, p999, float(difference.max())


_PRECISION_TRIALS: dict[tuple[object, ...], PrecisionTrial] = {}
"""Timed-trial outcomes of this process, keyed by device, network and input shape."""


def precision_trial(
    network: nn.Module, sample: torch.Tensor, forward: Callable[[torch.Tensor], torch.Tensor]
) -> PrecisionTrial:
    """Whether to run ``forward`` under bf16 autocast on this machine: only where bf16 is faster
    in a timed trial on ``sample`` (one warm-up and the best of two calls each way, see
    :func:`bf16_timings`) **and** its output agrees with float32's on that same batch (the
    trial's own outputs; :attr:`PrecisionTrial.agrees`). Run once per device, network and input
    shape in a process and remembered.

    With bf16, inference ran 3.8× faster than a naive float32 loop on one CPU (AMX); on another
    (AVX512-BF16 only, no AMX) bf16 was slower than float32 in the same benchmark, so no
    capability flag can decide. bf16 rounds every activation, so a network with large
    cancelling terms can be faster and wrong in it (tested): speed alone cannot decide either.
    """
    parameters = sum(p.numel() for p in network.parameters())
    key = (sample.device.type, type(network).__name__, parameters, tuple(sample.shape))
    if key not in _PRECISION_TRIALS:
        outputs: dict[bool, torch.Tensor] = {}

        def step(use_bf16: bool) -> None:
            with (
                torch.inference_mode(),
                torch.autocast(sample.device.type, dtype=torch.bfloat16, enabled=use_bf16),
            ):
                outputs[use_bf16] = forward(sample)

        fp32_s, bf16_s = bf16_timings(step)
        pcc, p999, largest = output_agreement(outputs[False].float(), outputs[True].float())
        measured = PrecisionTrial(False, fp32_s, bf16_s, pcc, p999, largest)
        _PRECISION_TRIALS[key] = replace(measured, bf16=bf16_s < fp32_s and measured.agrees)
    return _PRECISION_TRIALS[key]
