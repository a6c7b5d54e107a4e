"""The plain progress line of a training in a log: it counts towards where the run will stop."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from stainless.training import _progress
from stainless.training._progress import PlainProgress


def _line_after(
    monkeypatch: pytest.MonkeyPatch, progress: PlainProgress, seconds: float, step: int
) -> str:
    clock = {"now": 1000.0}
    monkeypatch.setattr(_progress.time, "monotonic", lambda: clock["now"])
    trainer: Any = SimpleNamespace(global_step=0, callback_metrics={}, max_epochs=1000)
    progress.on_train_start(trainer, None)  # type: ignore[arg-type]
    clock["now"] += seconds
    trainer.global_step = step
    return progress.line(trainer)


def test_a_time_budget_that_ends_first_shows_the_steps_it_will_reach(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 64000 steps allowed, 4.5 s a step, 72 minutes: the budget ends the run near step 960
    progress = PlainProgress(64000, 64, every_s=60, budget_s=72 * 60)
    line = _line_after(monkeypatch, progress, seconds=900, step=200)
    assert line.startswith("step 200 of ~960 (epoch 4; time budget 1h12m00s)")
    assert "64000" not in line and "/1000" not in line
    assert line.endswith("ETA 57m00s")


def test_a_step_cap_that_ends_first_counts_against_it(monkeypatch: pytest.MonkeyPatch) -> None:
    progress = PlainProgress(480, 48, every_s=60, budget_s=3600)
    line = _line_after(monkeypatch, progress, seconds=100, step=240)
    assert line.startswith("step 240/480 (epoch 5/1000)")
    assert line.endswith("ETA 1m40s")
