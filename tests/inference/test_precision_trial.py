"""``precision: auto`` for inference is decided by a timed trial, once per network and shape."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

from stainless import device
from stainless.device import inference_precision


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
    assert inference_precision(network, sample, network) is (not slow_in_bf16)
    calls = network.calls
    assert calls == 6  # one warm-up and two timed calls each way
    assert inference_precision(network, sample, network) is (not slow_in_bf16)
    assert network.calls == calls  # remembered: no second trial for the same shape
    inference_precision(network, torch.zeros((2, 1, 8, 8)), network)
    assert network.calls == 2 * calls  # another shape, another trial
