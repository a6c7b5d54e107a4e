"""The model folder: a self-describing directory that holds everything a trained model needs.

::

    model/
      config.yaml          the training config, as run
      model.json           what prediction needs: targets, input planes, normalisation, modalities
      weights.safetensors  the network's weights (no pickle: safe to load from anywhere)
      meta.json            versions, seed, data, date, training time, validation metrics

Written atomically (a hidden sibling folder renamed into place). Loading never unpickles.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from safetensors.torch import load_file, save_file
from torch import nn

from stainless.config import ModelConfig, SegmentationConfig, TranslationConfig, dump_config
from stainless.data.normalize import TargetScale
from stainless.models import (
    TransferNetwork,
    build_segmentation_network,
    build_translation_network,
)

WEIGHTS = "weights.safetensors"


@dataclass(frozen=True)
class TranslationModelInfo:
    """What prediction needs to know about a translation model (``model.json``)."""

    target_names: list[str]
    in_channels: int
    input_percentiles: tuple[float, float]
    target_scales: dict[str, tuple[float, float]]
    modalities: list[str]
    modality_strategy: str
    size_multiple: int
    kind: str = "translation"

    def scale(self, target: str) -> TargetScale:
        """Raw ↔ network map of one target."""
        return TargetScale(*self.target_scales[target])


def is_model_folder(folder: Path) -> bool:
    """True when ``folder`` holds a complete model (weights and description)."""
    return (folder / WEIGHTS).is_file() and (folder / "model.json").is_file()


@dataclass(frozen=True)
class SegmentationModelInfo:
    """What segmentation needs to know about a model (``model.json``).

    ``thresholds``: post-processing settings (``mask_threshold``, ``h``, ``border_threshold``,
    ``min_size_px``), tuned on validation images when asked. ``transfer``: for a network started
    from a translation model, that model's ``model`` config, input planes, targets and the chosen
    target, so the network can be rebuilt without the translation model's folder.
    ``input_scale``: the magnification applied to images before the network (``data.scale``).
    """

    head: str
    classes: int
    in_channels: int
    input_percentiles: tuple[float, float]
    size_multiple: int
    thresholds: dict[str, float]
    transfer: dict[str, Any] | None = None
    kind: str = "segmentation"
    input_scale: float = 1.0


def save_model_folder(
    folder: Path,
    config: BaseModel,
    network: nn.Module,
    info: TranslationModelInfo | SegmentationModelInfo,
    meta: dict[str, Any],
) -> Path:
    """Write a model folder atomically; replaces the model files of an existing folder (other
    files in it, such as training checkpoints and logs, are kept)."""
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=".model-", suffix=".tmp"))
    try:
        state = {
            key: value.detach().cpu().contiguous() for key, value in network.state_dict().items()
        }
        save_file(state, str(staging / WEIGHTS))
        (staging / "config.yaml").write_text(dump_config(config))
        (staging / "model.json").write_text(json.dumps(asdict(info), indent=2) + "\n")
        (staging / "meta.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
        for item in staging.iterdir():
            os.replace(item, folder / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _read_model_json(folder: Path, kind: str) -> dict[str, Any]:
    if not is_model_folder(folder):
        raise ValueError(f"'{folder}' is not a stainless model folder (no {WEIGHTS} + model.json)")
    raw: dict[str, Any] = json.loads((folder / "model.json").read_text())
    if raw.get("kind") != kind:
        raise ValueError(f"model '{folder}' is a {raw.get('kind')} model, not a {kind} model")
    return raw


def load_model_info(folder: Path) -> TranslationModelInfo:
    """Read ``model.json`` of a translation model folder."""
    raw = _read_model_json(folder, "translation")
    raw["input_percentiles"] = tuple(raw["input_percentiles"])
    raw["target_scales"] = {k: tuple(v) for k, v in raw["target_scales"].items()}
    return TranslationModelInfo(**raw)


def load_translation_network(folder: Path) -> tuple[nn.Module, TranslationModelInfo]:
    """Rebuild the network from ``config.yaml`` and load its weights (safetensors, no pickle).

    Returns the network in eval mode on the CPU and its :class:`TranslationModelInfo`.
    """
    info = load_model_info(folder)
    config = TranslationConfig.model_validate(yaml.safe_load((folder / "config.yaml").read_text()))
    network = build_translation_network(config.model, info.in_channels, len(info.target_names))
    state = load_file(str(folder / WEIGHTS))
    network.load_state_dict(state)
    network.eval()
    return network, info


def load_meta(folder: Path) -> dict[str, Any]:
    """``meta.json`` of a model folder (empty when absent)."""
    path = folder / "meta.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def load_segmentation_info(folder: Path) -> SegmentationModelInfo:
    """Read ``model.json`` of a segmentation model folder."""
    raw = _read_model_json(folder, "segmentation")
    raw["input_percentiles"] = tuple(raw["input_percentiles"])
    return SegmentationModelInfo(**raw)


def build_transfer_network(
    transfer: dict[str, Any], head: str, classes: int, alpha: float
) -> TransferNetwork:
    """A :class:`TransferNetwork` around an (untrained) translation network described by
    ``transfer`` (see :class:`SegmentationModelInfo`)."""
    body = build_translation_network(
        ModelConfig.model_validate(transfer["model"]),
        transfer["in_channels"],
        len(transfer["target_names"]),
    )
    return TransferNetwork(body, transfer["target_index"], head, classes, alpha)


def load_segmentation_network(folder: Path) -> tuple[nn.Module, SegmentationModelInfo]:
    """Rebuild a segmentation network from its folder and load its weights (no pickle).

    Returns the network in eval mode on the CPU and its :class:`SegmentationModelInfo`.
    """
    info = load_segmentation_info(folder)
    config = SegmentationConfig.model_validate(yaml.safe_load((folder / "config.yaml").read_text()))
    network: nn.Module
    if info.transfer is not None:
        network = build_transfer_network(
            info.transfer, info.head, info.classes, config.model.shifted_sigmoid_alpha
        )
    else:
        network = build_segmentation_network(config.model, info.in_channels)
    network.load_state_dict(load_file(str(folder / WEIGHTS)))
    network.eval()
    return network, info
