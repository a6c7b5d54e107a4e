"""``train_segmentation``: from a validated config to a segmentation model folder.

Steps: load the annotated images, build the network (random, or around a translation model's
U-Net with ``model.init``), fit with class-balanced augmented crops (resuming when asked), tune
the post-processing thresholds on the validation images when asked, and write the model folder.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback
from torch import nn
from torch.utils.data import DataLoader

from stainless import model_folder
from stainless.config import SegmentationConfig
from stainless.data.object_size import diameter_range, median_object_diameter
from stainless.data.plane_stem import stem_for
from stainless.data.segmentation import (
    LoadedSegmentationSample,
    SegmentationCrops,
    at_network_size,
    load_configured_samples,
    segmentation_validation_crops,
    training_and_validation_samples,
)
from stainless.io.header import read_pixel_size
from stainless.model_folder import SegmentationModelInfo
from stainless.models import build_network, load_segmentation_network
from stainless.models.whole_image import WholeImageMaps
from stainless.postprocessing.decoders import DECODERS
from stainless.provenance import run_metadata
from stainless.tiling import TilingOptions
from stainless.training._claim import OutputClaim
from stainless.training._fit import (
    Progress,
    check_output,
    fit,
    stop_reason,
    torch_threads,
    trained_batches,
)
from stainless.training._snapshots import Snapshots, saved_snapshots
from stainless.training.segmentation_module import SegmentationModule
from stainless.training.tuning import tune_thresholds


def balanced_class_weights(samples: list[LoadedSegmentationSample], classes: int) -> torch.Tensor:
    """Inverse class frequencies over the training labels, ``total / (K · count_k)``."""
    counts = np.zeros(classes)
    for sample in samples:
        counts += np.bincount(sample.classes().ravel(), minlength=classes)[:classes]
    counts = np.maximum(counts, 1)
    return torch.tensor(counts.sum() / (classes * counts), dtype=torch.float32)


def _class_weights(
    config: SegmentationConfig, samples: list[LoadedSegmentationSample]
) -> torch.Tensor | None:
    weights = config.training.class_weights
    if weights == "balanced":
        return balanced_class_weights(samples, config.model.classes)
    if isinstance(weights, list):
        return torch.tensor(weights, dtype=torch.float32)
    return None


def train_segmentation(
    config: SegmentationConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool | Progress = True,
    snapshots: int = 0,
) -> Path:
    """Train a segmentation model and write its model folder; returns the folder.

    Parameters
    ----------
    config : SegmentationConfig
    resume : bool
        Continue from ``<output>/checkpoints/last.ckpt``.
    overwrite : bool
        Replace an existing model folder.
    progress : bool or {"bar", "lines", "none"}
        A progress bar with the running loss (True, ``bar``), a plain line every
        ``training.progress_every_s`` seconds (``lines``), or nothing (False, ``none``).
    snapshots : int
        With K ≥ 2, also keep the network's weights when 1/K, 2/K, … (K-1)/K of the budget is
        spent (``<output>/snapshots``, for self-training's reliability).

    Raises
    ------
    TrainingInterrupted
        SIGTERM / SIGINT stopped the training after saving ``checkpoints/last.ckpt``.
    FileExistsError
        Another training is writing ``config.output``, or it holds a model (without
        ``overwrite`` / ``resume``).
    """
    with OutputClaim(config.output) as claim:
        check_output(
            config.output,
            model_folder.is_model_folder(config.output),
            resume=resume,
            overwrite=overwrite,
        )
        return _train_claimed(config, claim, resume, progress, snapshots)


def _train_claimed(
    config: SegmentationConfig,
    claim: OutputClaim,
    resume: bool,
    progress: bool | Progress,
    snapshots: int,
) -> Path:
    started = time.perf_counter()
    pl.seed_everything(config.seed, workers=True, verbose=False)
    data = config.data
    training_configs, validation_configs = training_and_validation_samples(data)
    training, validation = (
        load_configured_samples(samples, data) for samples in (training_configs, validation_configs)
    )
    planes = {s.inputs.shape[0] for s in training + validation}
    if len(planes) > 1:
        raise ValueError(f"images have different numbers of input planes: {sorted(planes)}")
    n_planes = planes.pop()
    input_planes = input_planes_of(config)
    stem = stem_for(input_planes, resampled_planes(config, n_planes))
    in_channels = n_planes if stem is None else stem.channels
    if config.model.classes == 3 and any(s.cells is None for s in training + validation):
        raise ValueError("model.classes 3 needs cell labels ('cells') for every sample")
    network, body, transfer = build_network(config, in_channels)
    module = SegmentationModule(config, network, body, _class_weights(config, training))
    crops = SegmentationCrops(training, config.model.head, data, seed=config.seed, stem=stem)
    loader = DataLoader(crops, batch_size=data.batch_size, shuffle=False, drop_last=True)
    val_loader: DataLoader[dict[str, torch.Tensor]] | None = (
        DataLoader(
            segmentation_validation_crops(  # type: ignore[arg-type]
                validation,
                config.model.head,
                data.crop_size,
                scale=data.scale,
                stem=stem,
            ),
            batch_size=data.batch_size,
        )
        if validation
        else None
    )
    if not resume:  # a fresh run keeps no older run's snapshots
        for stale in saved_snapshots(config.output, max(snapshots, 10)):
            stale.unlink()
    extra: list[Callback] = [Snapshots(config.output, snapshots)] if snapshots >= 2 else []
    trainer = fit(
        module, loader, val_loader, config.output, config.training,
        resume=resume, progress=progress, callbacks=extra,
    )  # fmt: skip
    post = config.postprocess
    info = SegmentationModelInfo(
        head=config.model.head,
        classes=config.model.classes,
        in_channels=in_channels,
        input_percentiles=data.input_percentiles,
        size_multiple=transfer["size_multiple"] if transfer else config.model.size_multiple,
        thresholds=post.model_dump(exclude={"tune_on"}),
        transfer=transfer,
        input_scale=data.scale,
        channels=data.channels,
        object_diameter_px=data.object_diameter
        or median_object_diameter(s.labels for s in training),
        input_planes=input_planes,
        pixel_size_um=data.pixel_size_um
        or (None if data.object_diameter else read_pixel_size(training_configs[0].inputs[0])),
        colour=data.colour,
        one_diameter=data.object_diameter is not None,
        training_diameters_px=(
            diameter_range(s.labels for s in training) if data.object_diameter else None
        ),
    )
    tuning: dict[str, Any] = {}
    if post.tune_on == "val" and validation and DECODERS[info.head].tunable(info.classes):
        info, tuning = _tune(module.network, info, validation)
    meta = run_metadata(
        seed=config.seed,
        data={
            "training": [s.label for s in training_configs],
            "validation": [s.label for s in validation_configs],
        },
        training_seconds=round(module.previous_training_seconds + time.perf_counter() - started, 1),
        batches=trained_batches(trainer),
        epochs=int(trainer.current_epoch),
        stopped_by=stop_reason(trainer, config.training),
        precision=str(trainer.precision),
        validation=module.validation_scores,
        distance_alpha=float(module.distance_alpha),
        tuning=tuning,
        torch_threads=torch_threads(),
    )
    claim.check_unchanged()
    return model_folder.save_model_folder(
        config.output, config, module.network.state_dict(), info, meta
    )


def _translation_init(config: SegmentationConfig) -> Path | None:
    """The translation model folder in ``model.init`` (None: random or a segmentation init)."""
    if config.model.init is None:
        return None
    folder = model_folder.resolve_model(config.model.init)
    return folder if model_folder.model_kind(folder) == "translation" else None


def resampled_planes(config: SegmentationConfig, n_planes: int) -> int:
    """The plane count K that ``resample`` brings each series to: that of the translation model
    in ``model.init`` (its first layer takes K planes, whatever the segmentation images have),
    else the images' own ``n_planes``."""
    folder = _translation_init(config)
    if folder is None:
        return n_planes
    info = model_folder.read_translation_info(folder)
    return info.in_channels if info.input_planes == "resample" else n_planes


def input_planes_of(config: SegmentationConfig) -> str:
    """``data.input_planes``, else that of the translation model in ``model.init``, else
    ``fixed``."""
    if config.data.input_planes is not None:
        return config.data.input_planes
    folder = _translation_init(config)
    return "fixed" if folder is None else model_folder.read_translation_info(folder).input_planes


def _tune(
    network: nn.Module, info: SegmentationModelInfo, validation: list[LoadedSegmentationSample]
) -> tuple[SegmentationModelInfo, dict[str, Any]]:
    """Tune the thresholds on the (already normalised) validation images, each brought to the
    training objects' diameter when the model was trained at one."""
    validation = [at_network_size(s, 1.0) for s in validation]
    whole_image = WholeImageMaps(
        network.cpu(), info.head, info.classes, info.size_multiple, info.input_scale, "cpu"
    )
    options = TilingOptions(tile=256, overlap_fraction=0.25)
    stem = info.stem()
    maps = [whole_image(s.inputs if stem is None else stem(s.inputs), options) for s in validation]
    truths = [s.labels for s in validation]
    thresholds, score = tune_thresholds(maps, truths, info.head, info.thresholds)
    tuned = replace(info, thresholds=thresholds)
    return tuned, {"on": "val", "images": len(validation), "csi@0.50": score, **thresholds}


def retune_model_folder(folder: Path) -> dict[str, Any]:
    """Tune the post-processing thresholds of a trained model folder again on the validation
    images of its own config, and store them (``model.json``, ``meta.json``: ``tuning``).

    Returns the tuning record. Raises ``ValueError`` when the config names no validation image.
    """
    config = model_folder.read_segmentation_config(folder)
    _, validation_configs = training_and_validation_samples(config.data)
    if not validation_configs:
        raise ValueError(f"model '{folder}': its config names no validation image to tune on")
    validation = load_configured_samples(validation_configs, config.data)
    network, info = load_segmentation_network(folder)
    tuned, tuning = _tune(network, info, validation)
    model_folder.update_model_folder(folder, info=tuned, meta={"tuning": tuning})
    return tuning
