"""``precision: auto`` for inference is decided by a timed trial with an agreement check, once
per network and shape."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

from stainless import device
from stainless.device import precision_trial


class _SlowUnder(nn.Module):
    """Sleeps longer in the precision it should lose in, and counts its calls."""

    def __init__(self, slow_in_bf16: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1))
        self.slow_in_bf16 = slow_in_bf16
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        in_bf16 = torch.is_autocast_enabled("cpu")
        time.sleep(0.03 if in_bf16 == self.slow_in_bf16 else 0.0)
        return x * self.weight


@pytest.mark.parametrize("slow_in_bf16", [True, False])
def test_the_faster_precision_wins_and_is_remembered(
    slow_in_bf16: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(device, "_PRECISION_TRIALS", {})
    network = _SlowUnder(slow_in_bf16)
    sample = torch.zeros((1, 1, 8, 8))
    assert precision_trial(network, sample, network).bf16 is (not slow_in_bf16)
    calls = network.calls
    assert calls == 6  # one warm-up and two timed calls each way
    assert precision_trial(network, sample, network).bf16 is (not slow_in_bf16)
    assert network.calls == calls  # remembered: no second trial for the same shape
    precision_trial(network, torch.zeros((2, 1, 8, 8)), network)
    assert network.calls == 2 * calls  # another shape, another trial


class _FastButWrongInBf16(nn.Module):
    """Faster under bf16 autocast, but its 1x1 convolution subtracts two large, nearly equal
    numbers, which bf16's 8-bit mantissa cannot tell apart (values ~1000 round to steps of 4)."""

    def __init__(self, bias: float = -1000.0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 1)
        with torch.no_grad():
            self.conv.weight.fill_(1.0)
            self.conv.bias.fill_(bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_autocast_enabled("cpu"):
            time.sleep(0.03)
        return self.conv(x)


def test_a_faster_bf16_that_disagrees_with_fp32_is_not_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(device, "_PRECISION_TRIALS", {})
    network = _FastButWrongInBf16()
    sample = 1000.0 + torch.rand((1, 1, 32, 32), generator=torch.Generator().manual_seed(0))
    trial = precision_trial(network, sample, network)
    assert trial.bf16_s < trial.fp32_s  # faster ...
    assert trial.p999_abs_difference > 0.5 and not trial.agrees  # ... but wrong
    assert trial.bf16 is False
    record = trial.record()
    assert record["precision"] == "fp32" and record["agrees"] is False
    assert record["speedup_bf16"] > 1.0 and record["bar"]["min_pcc"] == 0.999


def test_a_faster_bf16_that_agrees_is_taken_and_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device, "_PRECISION_TRIALS", {})
    network = _FastButWrongInBf16(bias=0.0)  # no cancellation: bf16 rounds [0, 1) by < 0.004
    sample = torch.rand((1, 1, 32, 32), generator=torch.Generator().manual_seed(0))
    trial = precision_trial(network, sample, network)
    assert trial.agrees and trial.bf16
    assert trial.record()["precision"] == "bf16"
    assert trial.pcc > 0.999 and trial.max_abs_difference < 0.02
