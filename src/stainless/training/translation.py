"""``train_translation``: from a validated config to a model folder.

Steps: load and normalise the samples, build the crops and the Lightning module, fit (resuming
from ``<output>/checkpoints/last.ckpt`` when asked), then write the model folder with its
normalisation and metadata. With ``modality_strategy: separate`` one model is trained per modality
present in the data, in ``<output>/<modality>/``, indexed by ``<output>/separate.json``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from torch.utils.data import DataLoader

from stainless.config import SampleConfig, TranslationConfig
from stainless.config.translation import MULTI_MODALITY_STRATEGY
from stainless.data.plane_stem import stem_for
from stainless.data.splits import hold_out
from stainless.data.translation import (
    LoadedSample,
    TrainingCrops,
    load_sample,
    resolve_modality,
    samples_from_manifest,
    target_names_of,
    validation_crops,
)
from stainless.io.header import read_pixel_size
from stainless.model_folder import (
    TranslationModelInfo,
    holds_a_model,
    save_model_folder,
    write_separate_index,
)
from stainless.provenance import run_metadata
from stainless.training._claim import OutputClaim
from stainless.training._fit import (
    Progress,
    check_output,
    fit,
    stop_reason,
    torch_threads,
    trained_batches,
)
from stainless.training.module import Pix2PixModule, RegressionModule, TranslationModule


def _mean_scales(
    samples: list[LoadedSample], target_names: list[str]
) -> dict[str, tuple[float, float]]:
    """Per target, the mean raw ↔ network map over the training samples that have it."""
    scales = {}
    for index, name in enumerate(target_names):
        present = [s.scales[index] for s in samples if s.scales[index] is not None]
        scales[name] = (
            float(np.mean([s.low for s in present if s is not None])),
            float(np.mean([s.high for s in present if s is not None])),
        )
    return scales


def train_translation(
    config: TranslationConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool | Progress = True,
) -> Path:
    """Train a translation model and write its model folder; returns the folder.

    Parameters
    ----------
    config : TranslationConfig
    resume : bool
        Continue from the last checkpoint in ``<output>/checkpoints``.
    overwrite : bool
        Replace an existing model folder.
    progress : bool or {"bar", "lines", "none"}
        A progress bar (True, ``bar``), a plain line every ``training.progress_every_s``
        seconds (``lines``), or nothing (False, ``none``).

    Raises
    ------
    TrainingInterrupted
        SIGTERM / SIGINT stopped the training after saving ``checkpoints/last.ckpt``.
    FileExistsError
        Another training is writing ``config.output``, or it holds a model (without
        ``overwrite`` / ``resume``).
    """
    samples = config.data.samples or samples_from_manifest(config.data.manifest or Path())
    config = with_modality_strategy(config, samples)
    samples, held_out = hold_out(samples, config.data.validation_fraction)
    if held_out:
        data = config.data.model_copy(update={"validation": [*config.data.validation, *held_out]})
        config = config.model_copy(update={"data": data})
    if config.model.modality_strategy != "separate":
        return _train_one(config, samples, resume=resume, overwrite=overwrite, progress=progress)
    modalities = []
    resolved = [s.model_copy(update={"modality": resolve_modality(s)}) for s in samples]
    unknown = [s.label for s in resolved if s.modality is None]
    if unknown:
        raise ValueError(f"modality_strategy 'separate' needs the modality of samples {unknown}")
    with OutputClaim(config.output):  # each modality's folder is claimed again by _train_one
        validation = [
            s.model_copy(update={"modality": resolve_modality(s)}) for s in config.data.validation
        ]
        for modality in sorted({str(sample.modality) for sample in resolved}):
            own = [s for s in validation if s.modality == modality]  # validates on its modality
            data = config.data.model_copy(update={"validation": own})
            sub = config.model_copy(update={"output": config.output / modality, "data": data})
            chosen = [s for s in resolved if s.modality == modality]
            _train_one(sub, chosen, resume=resume, overwrite=overwrite, progress=progress)
            modalities.append(modality)
        write_separate_index(config.output, modalities)
    return config.output


def with_modality_strategy(
    config: TranslationConfig, samples: list[SampleConfig]
) -> TranslationConfig:
    """``config`` with ``modality_strategy: auto`` decided by the training samples: ``unified``
    when they share one modality (or name none), :data:`MULTI_MODALITY_STRATEGY` when they hold
    several. Other strategies are kept as set."""
    if config.model.modality_strategy != "auto":
        return config
    modalities: set[str | None] = {str(s.modality) for s in samples if s.modality is not None}
    if len(modalities) < 2:  # an undeclared modality is read from the OME channel names
        undeclared = [sample for sample in samples if sample.modality is None]
        modalities |= {resolve_modality(sample) for sample in undeclared} - {None}
    strategy = MULTI_MODALITY_STRATEGY if len(modalities) > 1 else "unified"
    model = config.model.model_copy(update={"modality_strategy": strategy})
    return config.model_copy(update={"model": model})


def _build_module(
    config: TranslationConfig, in_channels: int, target_names: list[str]
) -> TranslationModule:
    module_class = Pix2PixModule if config.model.architecture == "pix2pix" else RegressionModule
    return module_class(config, in_channels, target_names)


def _train_one(
    config: TranslationConfig,
    samples: list[SampleConfig],
    *,
    resume: bool,
    overwrite: bool,
    progress: bool | Progress,
) -> Path:
    """Claim ``config.output``, check it, train one model and write it there."""
    with OutputClaim(config.output) as claim:
        check_output(
            config.output, holds_a_model(config.output), resume=resume, overwrite=overwrite
        )
        return _train_claimed(config, samples, claim, resume=resume, progress=progress)


def _train_claimed(
    config: TranslationConfig,
    samples: list[SampleConfig],
    claim: OutputClaim,
    *,
    resume: bool,
    progress: bool | Progress,
) -> Path:
    started = time.perf_counter()
    pl.seed_everything(config.seed, workers=True, verbose=False)
    target_names = target_names_of(samples, config.data.targets)
    modalities = list(config.model.modalities)
    needs_modality = config.model.modality_strategy != "unified"
    training = [
        load_sample(s, target_names, config.data, modalities, needs_modality) for s in samples
    ]
    validation = [
        load_sample(s, target_names, config.data, modalities, needs_modality)
        for s in config.data.validation
    ]
    planes = {s.inputs.shape[0] for s in training + validation}
    if len(planes) > 1 and config.model.input_planes == "fixed":
        raise ValueError(
            f"samples have different numbers of input planes: {sorted(planes)} "
            "(model.input_planes 'any' or 'resample' takes series of any length)"
        )
    n_planes = max(planes)  # 'resample' brings every series to the longest
    stem = stem_for(config.model.input_planes, n_planes)
    in_channels = n_planes if stem is None else stem.channels
    data = config.data
    crops = TrainingCrops(
        training,
        data.crop_size,
        data.crops_per_epoch,
        flips=data.flips,
        rotations=data.rotations,
        hide_target_fraction=data.hide_target_fraction,
        stem=stem,
        single_plane_fraction=data.single_plane_fraction,
        gamma_range=data.gamma_range,
        seed=config.seed,
    )
    loader = DataLoader(crops, batch_size=data.batch_size, shuffle=False, drop_last=True)
    val_loader: DataLoader[dict[str, torch.Tensor]] | None = (
        DataLoader(
            validation_crops(validation, data.crop_size, stem=stem),  # type: ignore[arg-type]
            batch_size=data.batch_size,
        )
        if validation
        else None
    )
    module = _build_module(config, in_channels, target_names)
    trainer = fit(
        module, loader, val_loader, config.output, config.training, resume=resume, progress=progress
    )
    info = TranslationModelInfo(
        target_names=target_names,
        in_channels=in_channels,
        input_percentiles=data.input_percentiles,
        target_scales=_mean_scales(training, target_names),
        modalities=modalities,
        modality_strategy=config.model.modality_strategy,
        size_multiple=config.model.size_multiple,
        input_planes=config.model.input_planes,
        trained_planes=n_planes,
        pixel_size_um=data.pixel_size_um or read_pixel_size(samples[0].inputs[0]),
    )
    meta = _training_meta(
        config,
        samples,
        module,
        trainer,
        module.previous_training_seconds + time.perf_counter() - started,
    )
    claim.check_unchanged()
    return save_model_folder(config.output, config, module.network.state_dict(), info, meta)


def _training_meta(
    config: TranslationConfig,
    samples: list[SampleConfig],
    module: TranslationModule,
    trainer: pl.Trainer,
    seconds: float,
) -> dict[str, Any]:
    return run_metadata(
        seed=config.seed,
        data={
            "training": [
                {
                    "name": s.label,
                    "inputs": [str(p) for p in s.inputs],
                    "targets": {k: str(v) for k, v in s.targets.items()},
                    "region": s.region,
                }
                for s in samples
            ],
            "validation": [{"name": s.label, "region": s.region} for s in config.data.validation],
        },
        training_seconds=round(seconds, 1),
        batches=trained_batches(trainer),
        epochs=int(trainer.current_epoch),
        stopped_by=stop_reason(trainer, config.training),
        precision=str(trainer.precision),
        validation=module.validation_scores,
        torch_threads=torch_threads(),
    )
