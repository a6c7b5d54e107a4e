"""A learning-rate schedule that ends where the run ends: linear warm-up, then cosine decay over
the run's progress, counted in steps or in wall time, whichever budget runs out first.

A cosine over ``epochs`` does not finish decaying when ``--max-minutes`` stops the run early (a
58-minute dense-tissue run stopped at epoch 25 of 30 with the learning rate still at 11 % of its
peak); this one reaches its floor exactly when the step or time budget is spent.
"""

from __future__ import annotations

import math
import time
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback


def warmup_cosine_factor(step: int, progress: float, warmup_steps: int, floor: float) -> float:
    """Learning-rate multiplier at optimisation ``step`` (0-based).

    Parameters
    ----------
    step : int
        Optimisation steps taken so far.
    progress : float
        Fraction of the run's budget spent, in [0, 1] (clipped).
    warmup_steps : int
        The factor rises linearly from ``1 / warmup_steps`` to 1 over these first steps.
    floor : float
        The factor at the end of the run (cosine from 1 down to ``floor``, SGDR,
        Loshchilov & Hutter 2017).

    Returns
    -------
    float
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    p = min(max(progress, 0.0), 1.0)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * p))


class BudgetCosineSchedule(Callback):
    """Sets every optimiser's learning rate before each training step.

    Progress is ``max(step / total steps, elapsed / budget)``: the total steps are Lightning's
    estimate (``epochs`` × batches per epoch, capped by ``max_steps``); the elapsed training time
    is kept in checkpoints, so a resumed run continues its schedule instead of restarting it.

    Parameters
    ----------
    peak : float
        Learning rate after warm-up.
    floor_fraction : float
        Final learning rate as a fraction of ``peak``.
    warmup_steps : int
    budget_seconds : float, optional
        Wall-time budget of the fit (``training.max_minutes``).
    """

    def __init__(
        self,
        peak: float,
        floor_fraction: float,
        warmup_steps: int,
        budget_seconds: float | None,
    ) -> None:
        self.peak = peak
        self.floor_fraction = floor_fraction
        self.warmup_steps = warmup_steps
        self.budget_seconds = budget_seconds
        self.elapsed = 0.0
        self._tick = time.monotonic()
        self._total_steps = 1

    def progress(self, step: int) -> float:
        """Fraction of the budget spent after ``step`` steps and ``self.elapsed`` seconds."""
        by_steps = step / self._total_steps
        by_time = self.elapsed / self.budget_seconds if self.budget_seconds else 0.0
        return max(by_steps, by_time)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._total_steps = max(int(trainer.estimated_stepping_batches), 1)
        self._tick = time.monotonic()

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        now = time.monotonic()
        self.elapsed += now - self._tick
        self._tick = now
        step = trainer.global_step
        factor = warmup_cosine_factor(
            step, self.progress(step), self.warmup_steps, self.floor_fraction
        )
        for optimizer in trainer.optimizers:
            for group in optimizer.param_groups:
                group["lr"] = self.peak * factor
        pl_module.log("lr", self.peak * factor, on_step=True, on_epoch=False)

    def state_dict(self) -> dict[str, Any]:
        return {"elapsed": self.elapsed}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.elapsed = float(state_dict["elapsed"])
