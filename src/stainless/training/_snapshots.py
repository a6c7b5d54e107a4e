"""Snapshots of the network along a training, for ST++'s reliability (Yang et al., CVPR 2022;
[Xue2022]): the weights when ``k / count`` of the run's budget is spent, ``k = 1 … count - 1``
(the final model is the last snapshot)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback
from safetensors.torch import save_file
from torch import nn

from stainless.io.atomic import write_atomically
from stainless.training.schedule import BudgetCosineSchedule

SNAPSHOTS = "snapshots"


def snapshot_path(folder: Path, index: int) -> Path:
    """Where snapshot ``index`` (1-based) of a training into ``folder`` is kept."""
    return folder / SNAPSHOTS / f"snapshot-{index}.safetensors"


def saved_snapshots(folder: Path, count: int) -> list[Path]:
    """The snapshots ``1 … count - 1`` of a training into ``folder`` that exist."""
    return [p for p in (snapshot_path(folder, k) for k in range(1, count)) if p.is_file()]


class Snapshots(Callback):
    """Saves the network's weights (safetensors) each time the run's budget progress
    (:meth:`BudgetCosineSchedule.progress`: steps or wall time, whichever is further) passes
    ``k / count``. A resumed run keeps the snapshots already written."""

    def __init__(self, folder: Path, count: int) -> None:
        self.folder = folder
        self.count = count

    def _schedule(self, trainer: pl.Trainer) -> BudgetCosineSchedule | None:
        for callback in trainer.callbacks:  # type: ignore[attr-defined]
            if isinstance(callback, BudgetCosineSchedule):
                return callback
        return None

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any, **kwargs: Any
    ) -> None:
        schedule = self._schedule(trainer)
        if schedule is None:
            return
        progress = schedule.progress(trainer.global_step)
        for index in range(1, self.count):
            path = snapshot_path(self.folder, index)
            if progress >= index / self.count and not path.is_file():
                self._save(pl_module, path)

    @staticmethod
    def _save(pl_module: pl.LightningModule, path: Path) -> None:
        network: nn.Module = pl_module.network  # type: ignore[assignment]
        tensors = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda temporary: save_file(tensors, str(temporary)))
