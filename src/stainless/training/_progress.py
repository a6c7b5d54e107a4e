"""Progress a user can follow when output is not a terminal: a plain line every N seconds."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback


def _duration(seconds: float) -> str:
    whole = max(round(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, rest = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{rest:02d}s" if hours else f"{minutes}m{rest:02d}s"


class PlainProgress(Callback):
    """Prints ``step S/T (epoch E/N)  loss L  elapsed 1m02s  ETA 3m10s`` every ``every_s``
    seconds and once at the end, flushed at once (so a ``nohup`` log fills as training runs).

    Parameters
    ----------
    total_steps : int
        Steps the run will take (epochs × steps per epoch, capped by ``max_steps``).
    steps_per_epoch : int
        Optimisation steps in one epoch.
    every_s : float
        Seconds between lines.
    budget_s : float, optional
        The time budget (``max_minutes``): the ETA never exceeds what is left of it.
    stream : text stream
        Where the lines go (standard error by default).
    """

    def __init__(
        self,
        total_steps: int,
        steps_per_epoch: int,
        every_s: float,
        budget_s: float | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self.total_steps = max(total_steps, 1)
        self.steps_per_epoch = max(steps_per_epoch, 1)
        self.every_s = every_s
        self.budget_s = budget_s
        self.stream = stream
        self.started = 0.0
        self.last_line = 0.0
        self.first_step = 0

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.started = self.last_line = time.monotonic()
        self.first_step = trainer.global_step

    def line(self, trainer: pl.Trainer) -> str:
        """The progress line for the trainer's current state.

        While the time budget would end the run before the step cap, the line counts towards
        the steps the budget is expected to reach (``step 192 of ~950 (time budget 72m)``), not
        towards an epoch cap the run will never see.
        """
        step = trainer.global_step
        elapsed = time.monotonic() - self.started
        done = step - self.first_step
        remaining = (self.total_steps - step) * elapsed / done if done else float("nan")
        by_budget = False
        if self.budget_s is not None:
            left = max(self.budget_s - elapsed, 0.0)
            by_budget = not remaining <= left  # also while the rate is unknown
            remaining = min(remaining, left)
        loss = trainer.callback_metrics.get("loss")
        loss_text = f"loss {float(loss):.4f}" if loss is not None else "loss -"
        eta = _duration(remaining) if remaining == remaining else "-"
        epoch = max(step - 1, 0) // self.steps_per_epoch + 1  # the epoch the last step was in
        if by_budget and self.budget_s is not None:
            expected = f" of ~{step + round(remaining * done / elapsed)}" if done else ""
            where = f"step {step}{expected} (epoch {epoch}; time budget {_duration(self.budget_s)})"
        else:
            where = f"step {step}/{self.total_steps} (epoch {epoch}/{trainer.max_epochs})"
        return f"{where}  {loss_text}  elapsed {_duration(elapsed)}  ETA {eta}"

    def _print(self, text: str) -> None:
        print(text, file=self.stream or sys.stderr, flush=True)

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any
    ) -> None:
        now = time.monotonic()
        if now - self.last_line >= self.every_s:
            self.last_line = now
            self._print(self.line(trainer))

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._print(self.line(trainer) + "  (training done)")
