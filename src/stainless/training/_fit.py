"""The Lightning fit shared by every training command: budgets, progress, checkpoints, resume,
and a clean stop on SIGTERM / SIGINT."""

from __future__ import annotations

import copy
import logging
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any, Literal, Protocol

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader

from stainless.config import RunSettings
from stainless.device import bf16_supported, lightning_device, lightning_precision
from stainless.model_folder import CHECKPOINTS, last_checkpoint
from stainless.training._checkpoints import AtomicCheckpointIO, check_resumable
from stainless.training._progress import PlainProgress
from stainless.training.interruption import TrainingInterrupted

Progress = Literal["bar", "lines", "none"]
"""``bar``: a live progress bar (a terminal); ``lines``: a plain line every
``training.progress_every_s`` seconds (logs, ``nohup``); ``none``: silent."""


class EpochAware(Protocol):
    """A dataset whose random crops depend on the epoch."""

    def set_epoch(self, epoch: int) -> None: ...


class _NewCropsEachEpoch(Callback):
    """Tells the crop dataset which epoch it is serving."""

    def __init__(self, crops: EpochAware) -> None:
        self.crops = crops

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.crops.set_epoch(trainer.current_epoch)


class _CheckpointOnInterrupt(Callback):
    """Writes ``last.ckpt`` when a signal stops the fit, so that ``--resume`` continues."""

    def __init__(self, path: Path, received: list[int]) -> None:
        self.path = path
        self.received = received

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        if self.received or isinstance(exception, KeyboardInterrupt):
            trainer.save_checkpoint(self.path)


@contextmanager
def _signals_recorded(received: list[int]) -> Iterator[None]:
    """Record SIGTERM / SIGINT in ``received`` while the block runs. SIGINT still raises
    ``KeyboardInterrupt``; Lightning adds its own SIGTERM handler, which stops the loop at the
    end of the current batch."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def record(signal_number: int, frame: FrameType | None) -> None:
        received.append(signal_number)
        if signal_number == signal.SIGINT:
            raise KeyboardInterrupt

    previous = {s: signal.signal(s, record) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signal_number, handler in previous.items():
            signal.signal(signal_number, handler)


def _timed_step(
    module: pl.LightningModule, loader: DataLoader[Any], device: torch.device
) -> Callable[[bool], None]:
    """One forward and backward pass of a copy of ``module`` on the first training batch, in
    float32 or under bf16 autocast (for ``precision: auto`` to time both)."""
    network = copy.deepcopy(module).to(device).train()
    batch = next(iter(loader))
    inputs = [batch["input"].to(device)]
    if "modality" in batch:
        inputs.append(batch["modality"].to(device))

    def step(use_bf16: bool) -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            output = network(*inputs)
        output.float().square().mean().backward()
        network.zero_grad(set_to_none=True)

    return step


def check_budget(step: Callable[[bool], None], max_minutes: float, steps_per_epoch: int) -> None:
    """``ValueError`` before training when ``max_minutes`` cannot fit one epoch: one float32
    forward and backward pass (``step``, best of two after a warm-up; no optimiser or data
    loading, so the estimate is low) times the steps of an epoch."""
    step(False)
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        step(False)
        timings.append(time.perf_counter() - started)
    seconds = min(timings)
    epoch_minutes = seconds * steps_per_epoch / 60
    if max_minutes < epoch_minutes:
        raise ValueError(
            f"--max-minutes {max_minutes:g} is shorter than one epoch here ({steps_per_epoch} "
            f"steps of at least {seconds:.2f} s = {epoch_minutes:.1f} min); give more time or "
            "fewer data.crops_per_epoch"
        )


def check_output(output: Path, holds_a_model: bool, *, resume: bool, overwrite: bool) -> None:
    """Before any work: an existing model is only replaced with ``overwrite`` (or continued with
    ``resume``), and ``resume`` needs a checkpoint."""
    if holds_a_model and not (resume or overwrite):
        raise FileExistsError(
            f"model folder '{output}' exists; pass --overwrite to replace it or --resume"
        )
    if resume and not last_checkpoint(output).is_file():
        raise FileNotFoundError(f"--resume: no checkpoint at '{last_checkpoint(output)}'")
    if resume:
        check_resumable(last_checkpoint(output))


def progress_mode(progress: bool | Progress) -> Progress:
    """``True`` → ``bar``, ``False`` → ``none``; a mode is kept."""
    if isinstance(progress, bool):
        return "bar" if progress else "none"
    return progress


def _callbacks(
    loader: DataLoader[Any],
    output: Path,
    training: RunSettings,
    progress: Progress,
    received: list[int],
) -> list[Callback]:
    # save_top_k=1 with no monitor keeps the latest epoch (save_top_k=0 saves only at the end).
    callbacks: list[Callback] = [
        ModelCheckpoint(
            dirpath=output / CHECKPOINTS,
            save_last=True,
            save_top_k=1,
            enable_version_counter=False,
        ),
        _NewCropsEachEpoch(loader.dataset),  # type: ignore[arg-type]
        _CheckpointOnInterrupt(last_checkpoint(output), received),
    ]
    if progress == "lines":
        total = training.epochs * max(len(loader), 1)
        if training.max_steps is not None:
            total = min(total, training.max_steps)
        budget = training.max_minutes * 60 if training.max_minutes is not None else None
        callbacks.append(
            PlainProgress(total, max(len(loader), 1), training.progress_every_s, budget)
        )
    return callbacks


def fit(
    module: pl.LightningModule,
    loader: DataLoader[Any],
    val_loader: DataLoader[Any] | None,
    output: Path,
    training: RunSettings,
    *,
    resume: bool,
    progress: bool | Progress,
    callbacks: list[Callback] | None = None,
) -> pl.Trainer:
    """Fit ``module``, writing ``<output>/checkpoints`` (every epoch, and ``last.ckpt``) and
    ``<output>/logs``; resumes from ``last.ckpt`` when asked.

    The fit ends after ``training.epochs``, or earlier at ``training.max_steps`` steps or
    ``training.max_minutes`` (then the caller goes on as after the last epoch). The loader's
    dataset must have ``set_epoch``. ``callbacks`` join the fit's own (checkpoints, progress).

    Raises
    ------
    TrainingInterrupted
        SIGTERM or SIGINT stopped the fit; ``last.ckpt`` was written first.
    """
    mode = progress_mode(progress)
    steps_per_epoch = max(len(loader), 1)
    # Lightning's start-up banners (GPU/TPU availability, tips) are noise for our users.
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    if not resume:  # a fresh run must not leave an older run's checkpoints to be resumed later
        for stale in (output / CHECKPOINTS).glob("*.ckpt"):
            stale.unlink()
    received: list[int] = []
    accelerator = lightning_device(training.device)
    # only worth timing where the hardware has bf16 at all (it costs a module copy and a batch)
    device = torch.device("cuda" if accelerator == "gpu" else "cpu")
    timed = training.precision == "auto" and bf16_supported(device)
    timed_step = (
        _timed_step(module, loader, device) if timed or training.max_minutes is not None else None
    )
    if training.max_minutes is not None and timed_step is not None:
        check_budget(timed_step, training.max_minutes, steps_per_epoch)
    timed_step = timed_step if timed else None
    trainer = pl.Trainer(
        max_epochs=training.epochs,
        max_steps=training.max_steps or -1,
        max_time=timedelta(minutes=training.max_minutes) if training.max_minutes else None,
        accelerator=accelerator,
        devices=training.devices,
        precision=lightning_precision(training.precision, accelerator, timed_step),
        default_root_dir=output,
        logger=CSVLogger(output, name="logs"),
        callbacks=[*_callbacks(loader, output, training, mode, received), *(callbacks or [])],
        plugins=[AtomicCheckpointIO()],
        val_check_interval=min(training.val_every_n_steps, steps_per_epoch) if val_loader else None,
        limit_val_batches=None if val_loader else 0,
        enable_progress_bar=mode == "bar",
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=min(10, steps_per_epoch),
    )
    with warnings.catch_warnings(), _signals_recorded(received):
        for noise in (
            ".*does not have many workers.*",
            ".*LeafSpec.*",
            ".*Checkpoint directory .* is not empty.*",
            ".*`validation_step` but have no `val_dataloader`.*",
            ".*resuming from a checkpoint that ended before the epoch ended.*",
        ):
            warnings.filterwarnings("ignore", message=noise)
        try:
            trainer.fit(
                module,
                loader,
                val_loader,
                ckpt_path=str(last_checkpoint(output)) if resume else None,
            )
        except (SystemExit, KeyboardInterrupt):
            # Lightning turns a KeyboardInterrupt into its own exit(1) after on_exception; a
            # Ctrl+C we did not see (another thread's handler) is still a SIGINT to the user
            if received or last_checkpoint(output).is_file():
                signal_number = received[0] if received else signal.SIGINT
                raise TrainingInterrupted(signal_number, last_checkpoint(output)) from None
            raise
    return trainer


def stop_reason(trainer: pl.Trainer, training: RunSettings) -> str:
    """Why the fit ended: ``epochs``, ``max_steps`` or ``max_minutes`` (for the run metadata)."""
    if training.max_steps is not None and trainer.global_step >= training.max_steps:
        return "max_steps"
    if trainer.current_epoch < training.epochs and training.max_minutes is not None:
        return "max_minutes"
    return "epochs"


def trained_batches(trainer: pl.Trainer) -> int:
    """Optimisation steps run (over all epochs)."""
    return int(trainer.fit_loop.epoch_loop.total_batch_idx) + 1


def torch_threads() -> int:
    """Intra-op threads torch used (for the run metadata)."""
    return torch.get_num_threads()
