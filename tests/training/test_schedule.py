"""The learning-rate schedule: warm-up, then a cosine that ends with the step or time budget."""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

import pytest

from stainless.cli.main import main
from stainless.training.schedule import BudgetCosineSchedule, warmup_cosine_factor
from tests.training.test_segmentation_training import (
    segmentation_config,
    write_config,
    write_segmentation_data,
)


def test_warmup_rises_linearly_then_the_cosine_falls_to_the_floor() -> None:
    assert [warmup_cosine_factor(s, 0.0, 4, 0.1) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert warmup_cosine_factor(4, 0.0, 4, 0.1) == 1.0
    assert warmup_cosine_factor(10, 0.5, 4, 0.1) == pytest.approx(0.55)
    assert warmup_cosine_factor(10, 1.0, 4, 0.1) == pytest.approx(0.1)
    assert warmup_cosine_factor(10, 7.0, 4, 0.1) == pytest.approx(0.1)  # past the budget
    falling = [warmup_cosine_factor(9, p / 10, 0, 0.0) for p in range(11)]
    assert all(a > b for a, b in itertools.pairwise(falling))


def test_progress_is_the_larger_of_steps_and_time_spent() -> None:
    schedule = BudgetCosineSchedule(1e-3, 0.05, 0, budget_seconds=100.0)
    schedule._total_steps = 1000
    schedule.elapsed = 25.0
    assert schedule.progress(100) == pytest.approx(0.25)  # time is ahead of steps
    assert schedule.progress(500) == pytest.approx(0.5)  # steps are ahead of time
    restored = BudgetCosineSchedule(1e-3, 0.05, 0, budget_seconds=100.0)
    restored.load_state_dict(schedule.state_dict())  # a resumed run keeps its place
    assert restored.elapsed == 25.0


def test_a_step_budget_ends_the_schedule_at_its_floor(tmp_path: Path) -> None:
    write_segmentation_data(tmp_path, [0, 1, 2])
    config = segmentation_config()
    config["training"].update(
        epochs=50, warmup_steps=2, final_lr_fraction=0.1, learning_rate=0.01, optimizer="adamw"
    )
    path = write_config(tmp_path, config)
    argv = ["train", "segmentation", "--config", str(path), "--max-steps", "6", "--no-progress"]
    assert main(argv) == 0
    logged = tmp_path / "seg" / "logs" / "version_0" / "metrics.csv"
    with logged.open() as handle:
        rates = {int(r["step"]): float(r["lr"]) for r in csv.DictReader(handle) if r.get("lr")}
    assert rates, "the learning rate is logged"
    last_step = max(rates)
    expected = 0.01 * warmup_cosine_factor(last_step, last_step / 6, 2, 0.1)
    assert rates[last_step] == pytest.approx(expected, rel=1e-6)
    assert rates[last_step] < 0.01 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
