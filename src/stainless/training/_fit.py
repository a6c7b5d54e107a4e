"""The Lightning fit shared by every training command: checkpoints, resume, logs, quiet start."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any, Protocol

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader

from stainless.training.device import lightning_device, lightning_precision


class EpochAware(Protocol):
    """A dataset whose random crops depend on the epoch."""

    def set_epoch(self, epoch: int) -> None: ...


class _NewCropsEachEpoch(Callback):
    """Tells the crop dataset which epoch it is serving."""

    def __init__(self, crops: EpochAware) -> None:
        self.crops = crops

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.crops.set_epoch(trainer.current_epoch)


def check_resumable(output: Path, resume: bool) -> None:
    """With ``--resume`` a checkpoint must exist."""
    if resume and not (output / "checkpoints" / "last.ckpt").is_file():
        raise FileNotFoundError(
            f"--resume: no checkpoint at '{output / 'checkpoints' / 'last.ckpt'}'"
        )


def fit(
    module: pl.LightningModule,
    loader: DataLoader[Any],
    val_loader: DataLoader[Any] | None,
    output: Path,
    training: Any,
    *,
    resume: bool,
    progress: bool,
) -> pl.Trainer:
    """Fit ``module``, writing ``<output>/checkpoints`` (every epoch, and ``last.ckpt``) and
    ``<output>/logs``; resumes from ``last.ckpt`` when asked.

    ``training`` is a training config with ``epochs``, ``device``, ``devices``, ``precision`` and
    ``val_every_n_steps``; the loader's dataset must have ``set_epoch``.
    """
    steps_per_epoch = max(len(loader), 1)
    # Lightning's start-up banners (GPU/TPU availability, tips) are noise for our users.
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    checkpoints = output / "checkpoints"
    if not resume:  # a fresh run must not leave an older run's checkpoints to be resumed later
        for stale in checkpoints.glob("*.ckpt"):
            stale.unlink()
    # save_top_k=1 with no monitor keeps the latest epoch (save_top_k=0 saves only at the end).
    checkpoint = ModelCheckpoint(
        dirpath=checkpoints, save_last=True, save_top_k=1, enable_version_counter=False
    )
    accelerator = lightning_device(training.device)
    trainer = pl.Trainer(
        max_epochs=training.epochs,
        accelerator=accelerator,
        devices=training.devices,
        precision=lightning_precision(training.precision, accelerator),
        default_root_dir=output,
        logger=CSVLogger(output, name="logs"),
        callbacks=[checkpoint, _NewCropsEachEpoch(loader.dataset)],  # type: ignore[arg-type]
        val_check_interval=min(training.val_every_n_steps, steps_per_epoch) if val_loader else None,
        limit_val_batches=None if val_loader else 0,
        enable_progress_bar=progress,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=min(10, steps_per_epoch),
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*LeafSpec.*")
        warnings.filterwarnings("ignore", message=".*Checkpoint directory .* is not empty.*")
        warnings.filterwarnings(
            "ignore", message=".*`validation_step` but have no `val_dataloader`.*"
        )
        trainer.fit(
            module,
            loader,
            val_loader,
            ckpt_path=str(checkpoints / "last.ckpt") if resume else None,
        )
    return trainer


def trained_batches(trainer: pl.Trainer) -> int:
    """Optimisation steps run (over all epochs)."""
    return int(trainer.fit_loop.epoch_loop.total_batch_idx) + 1


def torch_threads() -> int:
    """Intra-op threads torch used (for the run metadata)."""
    return torch.get_num_threads()
