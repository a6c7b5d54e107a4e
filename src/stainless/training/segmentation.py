"""``train_segmentation``: from a validated config to a segmentation model folder.

Steps: load the annotated images, build the network (random, or around a translation model's
U-Net with ``model.init``), fit with class-balanced augmented crops (resuming when asked), tune
the post-processing thresholds on the validation images when asked, and write the model folder.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
import yaml
from torch import nn
from torch.utils.data import DataLoader

from stainless.config import SegmentationConfig, TranslationConfig
from stainless.data.segmentation import (
    LoadedSegmentationSample,
    SegmentationCrops,
    load_segmentation_sample,
    segmentation_validation_crops,
    training_and_validation_samples,
)
from stainless.inference.predictor import TilingOptions
from stainless.inference.segmenter import SegmentationPredictor
from stainless.models import build_segmentation_network
from stainless.provenance import run_metadata
from stainless.training._fit import check_resumable, fit, torch_threads, trained_batches
from stainless.training.checkpoint import (
    SegmentationModelInfo,
    build_transfer_network,
    is_model_folder,
    load_model_info,
    load_translation_network,
    save_model_folder,
)
from stainless.training.segmentation_module import SegmentationModule
from stainless.training.tuning import tune_thresholds


def _transfer_description(config: SegmentationConfig, in_channels: int) -> dict[str, Any]:
    """What :class:`SegmentationModelInfo` keeps of the translation model in ``model.init``."""
    folder = config.model.init
    assert folder is not None
    info = load_model_info(folder)
    if info.modality_strategy != "unified":
        raise ValueError(
            f"model.init '{folder}' is a '{info.modality_strategy}' translation model; "
            "transfer needs a unified one"
        )
    if info.in_channels != in_channels:
        raise ValueError(
            f"model.init '{folder}' takes {info.in_channels} input planes but the segmentation "
            f"images have {in_channels}"
        )
    target = config.model.init_target or info.target_names[0]
    if target not in info.target_names:
        raise ValueError(
            f"model.init_target '{target}' is not a target of '{folder}' ({info.target_names})"
        )
    if config.data.crop_size % info.size_multiple:
        raise ValueError(
            f"data.crop_size {config.data.crop_size} must be a multiple of {info.size_multiple} "
            f"for the translation model '{folder}'"
        )
    translation = TranslationConfig.model_validate(
        yaml.safe_load((folder / "config.yaml").read_text())
    )
    return {
        "source": str(folder),
        "model": translation.model.model_dump(mode="json"),
        "in_channels": in_channels,
        "target_names": info.target_names,
        "target_index": info.target_names.index(target),
        "size_multiple": info.size_multiple,
    }


def build_network(
    config: SegmentationConfig, in_channels: int
) -> tuple[nn.Module, nn.Module | None, dict[str, Any] | None]:
    """The network to train, its pretrained body (None for random init) and the transfer
    description (None for random init)."""
    model = config.model
    if model.init is None:
        network = build_segmentation_network(model, in_channels)
        if model.encoder_weights is not None:
            load_local_weights(network.backbone, model.encoder_weights)
        return network, None, None
    transfer = _transfer_description(config, in_channels)
    transfer_network = build_transfer_network(
        transfer, model.head, model.classes, model.shifted_sigmoid_alpha
    )
    pretrained, _ = load_translation_network(model.init)
    transfer_network.body.load_state_dict(pretrained.state_dict())
    return transfer_network, transfer_network.body, transfer


def load_local_weights(backbone: nn.Module, path: Path) -> None:
    """Initialise ``backbone`` from a local weight file (safetensors, or a state dict read with
    ``torch.load(weights_only=True)``): tensors whose name and shape match are copied, the rest
    keep their random values. Nothing is downloaded."""
    state: Any
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
    if not isinstance(state, dict):
        raise ValueError(f"model.encoder_weights '{path}' does not hold a state dict")
    own = backbone.state_dict()
    matching = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not matching:
        raise ValueError(
            f"model.encoder_weights '{path}': no tensor matches the backbone's names and shapes"
        )
    backbone.load_state_dict(matching, strict=False)


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


def _check_output(config: SegmentationConfig, resume: bool, overwrite: bool) -> None:
    if is_model_folder(config.output) and not (resume or overwrite):
        raise FileExistsError(
            f"model folder '{config.output}' exists; pass --overwrite to replace it or --resume"
        )
    check_resumable(config.output, resume)


def train_segmentation(
    config: SegmentationConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Train a segmentation model and write its model folder; returns the folder.

    Parameters
    ----------
    config : SegmentationConfig
    resume : bool
        Continue from ``<output>/checkpoints/last.ckpt``.
    overwrite : bool
        Replace an existing model folder.
    progress : bool
        Show a progress bar with the running loss.
    """
    _check_output(config, resume, overwrite)
    started = time.perf_counter()
    pl.seed_everything(config.seed, workers=True, verbose=False)
    data = config.data
    training_configs, validation_configs = training_and_validation_samples(data)
    training = [load_segmentation_sample(s, data.input_percentiles) for s in training_configs]
    validation = [load_segmentation_sample(s, data.input_percentiles) for s in validation_configs]
    planes = {s.inputs.shape[0] for s in training + validation}
    if len(planes) > 1:
        raise ValueError(f"images have different numbers of input planes: {sorted(planes)}")
    in_channels = planes.pop()
    if config.model.classes == 3 and any(s.cells is None for s in training + validation):
        raise ValueError("model.classes 3 needs cell labels ('cells') for every sample")
    network, body, transfer = build_network(config, in_channels)
    module = SegmentationModule(config, network, body, _class_weights(config, training))
    crops = SegmentationCrops(training, config.model.head, data, seed=config.seed)
    loader = DataLoader(crops, batch_size=data.batch_size, shuffle=False, drop_last=True)
    val_loader: DataLoader[dict[str, torch.Tensor]] | None = (
        DataLoader(
            segmentation_validation_crops(  # type: ignore[arg-type]
                validation, config.model.head, data.crop_size, scale=data.scale
            ),
            batch_size=data.batch_size,
        )
        if validation
        else None
    )
    trainer = fit(
        module, loader, val_loader, config.output, config.training, resume=resume, progress=progress
    )
    post = config.postprocess
    info = SegmentationModelInfo(
        head=config.model.head,
        classes=config.model.classes,
        in_channels=in_channels,
        input_percentiles=data.input_percentiles,
        size_multiple=transfer["size_multiple"] if transfer else config.model.size_multiple,
        thresholds={
            "mask_threshold": post.mask_threshold,
            "h": post.h,
            "border_threshold": post.border_threshold,
            "min_size_px": post.min_size_px,
        },
        transfer=transfer,
        input_scale=data.scale,
    )
    tuning: dict[str, Any] = {}
    if (
        post.tune_on == "val"
        and validation
        and not (config.model.head == "semantic" and config.model.classes > 2)
    ):
        info, tuning = _tune(module.network, info, validation)
    meta = run_metadata(
        seed=config.seed,
        data={
            "training": [s.label for s in training_configs],
            "validation": [s.label for s in validation_configs],
        },
        training_seconds=round(time.perf_counter() - started, 1),
        batches=trained_batches(trainer),
        epochs=int(trainer.current_epoch),
        validation=module.validation_scores,
        distance_alpha=float(module.distance_alpha),
        tuning=tuning,
        torch_threads=torch_threads(),
    )
    return save_model_folder(config.output, config, module.network, info, meta)


def _tune(
    network: nn.Module, info: SegmentationModelInfo, validation: list[LoadedSegmentationSample]
) -> tuple[SegmentationModelInfo, dict[str, Any]]:
    """Tune the thresholds on the validation images. Their planes are already normalised;
    normalising again by their own percentiles leaves them unchanged."""
    predictor = SegmentationPredictor(network.cpu(), info, device="cpu")
    options = TilingOptions(tile=256, overlap_fraction=0.25)
    maps = [predictor.predict_maps(s.inputs, options) for s in validation]
    truths = [s.labels for s in validation]
    thresholds, score = tune_thresholds(maps, truths, info.head, info.thresholds)
    tuned = SegmentationModelInfo(**{**asdict(info), "thresholds": thresholds})
    return tuned, {"on": "val", "images": len(validation), "csi@0.50": score, **thresholds}


def retune_model_folder(folder: Path) -> dict[str, Any]:
    """Tune the post-processing thresholds of a trained model folder again on the validation
    images of its own config, and store them (``model.json``, ``meta.json``: ``tuning``).

    Returns the tuning record. Raises ``ValueError`` when the config names no validation image.
    """
    from stainless.training.checkpoint import load_meta, load_segmentation_network

    config = SegmentationConfig.model_validate(yaml.safe_load((folder / "config.yaml").read_text()))
    _, validation_configs = training_and_validation_samples(config.data)
    if not validation_configs:
        raise ValueError(f"model '{folder}': its config names no validation image to tune on")
    percentiles = config.data.input_percentiles
    validation = [load_segmentation_sample(s, percentiles) for s in validation_configs]
    network, info = load_segmentation_network(folder)
    tuned, tuning = _tune(network, info, validation)
    meta = {**load_meta(folder), "tuning": tuning}
    for name, document in (("model.json", asdict(tuned)), ("meta.json", meta)):
        temporary = folder / f".{name}.tmp"
        temporary.write_text(json.dumps(document, indent=2, default=str) + "\n")
        temporary.replace(folder / name)
    return tuning
