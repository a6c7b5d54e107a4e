"""What a training run keeps across interruptions: the training time spent before a resume and
the last validation scores, saved in every checkpoint so that a resumed run's ``meta.json``
reports the whole run, not only its last part (issue 12)."""

from __future__ import annotations

import time
from typing import Any

import lightning.pytorch as pl

CHECKPOINT_KEY = "stainless_run"


class RunRecord(pl.LightningModule):
    """Keeps the training time of the runs before a resume (``previous_training_seconds``) and
    the last ``validation_scores`` in every checkpoint, and restores both on resume."""

    def __init__(self) -> None:
        super().__init__()
        self.validation_scores: dict[str, float] = {}
        self.previous_training_seconds = 0.0
        self._fit_started: float | None = None

    def on_fit_start(self) -> None:
        self._fit_started = time.perf_counter()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        this_run = time.perf_counter() - self._fit_started if self._fit_started else 0.0
        checkpoint[CHECKPOINT_KEY] = {
            "training_seconds": self.previous_training_seconds + this_run,
            "validation_scores": dict(self.validation_scores),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        record = checkpoint.get(CHECKPOINT_KEY, {})
        self.previous_training_seconds = float(record.get("training_seconds", 0.0))
        self.validation_scores = dict(record.get("validation_scores", {}))
