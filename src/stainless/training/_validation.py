"""Validation scores averaged over a validation pass, shared by the Lightning modules."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from stainless.training._run_record import RunRecord


class AveragedValidation(RunRecord):
    """Collects per-batch validation values with :meth:`record`; at the end of each validation
    pass logs their means as ``val/<name>`` and keeps them in ``validation_scores`` (which go
    into the model's ``meta.json`` and, through :class:`RunRecord`, into checkpoints). Names
    starting with ``shown_in_progress`` appear on the progress bar."""

    shown_in_progress: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self._validation_values: dict[str, list[float]] = defaultdict(list)

    def record(self, name: str, value: float) -> None:
        """One batch's (or one image's) validation value."""
        self._validation_values[name].append(float(value))

    def on_validation_epoch_end(self) -> None:
        scores = {key: float(np.mean(values)) for key, values in self._validation_values.items()}
        self._validation_values.clear()
        if scores:
            self.validation_scores = scores
            for key, value in scores.items():
                self.log(f"val/{key}", value, prog_bar=key.startswith(self.shown_in_progress))
