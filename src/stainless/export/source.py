"""What an export starts from: a model folder's network with one input, its description, and
the dynamic input shape every exported graph accepts.

A graph holds the network only: planes ``(N, C, H, W)`` normalised as the model was trained
(percentiles, plane stem) → its raw maps ``(N, K, H, W)``, before the head's activation and
post-processing, which stainless runs around the graph (``segment --model X.onnx``). ``H`` and
``W`` must be multiples of the network's stride (``size_multiple``): the graph is exported with
sizes ``size_multiple * k`` so that any such size runs, and stainless pads tiles to them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from stainless.model_folder import (
    ModelInfo,
    model_kind,
    read_separate_index,
    require_model_folder,
    resolve_model,
)
from stainless.models import load_segmentation_network, load_translation_network

MODEL_KEY = "stainless.model_json"
"""Metadata key of an exported graph: the model folder's ``model.json``, as JSON text."""
CHECK_KEY = "stainless.export_check"
"""Metadata key: the agreement check run at export (JSON text)."""
MAX_SIDE = 8192
"""Largest tile side (px) the dynamic dimensions allow."""


class PlanesOnly(nn.Module):
    """``network`` called with the planes alone: one input, one output, for the exporters
    (a translation network's optional modality argument is left out)."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` normalised planes → ``(N, K, H, W)`` raw maps."""
        return self.network(planes)


@dataclass(frozen=True)
class ExportSource:
    """A model ready to export.

    Attributes
    ----------
    network : PlanesOnly
        In eval mode, float32, on the CPU.
    info : ModelInfo
        Its ``model.json``.
    folder : Path
        The model folder (a built-in's inside the package).
    channels : int
        Planes the network takes (after a plane stem).
    """

    network: PlanesOnly
    info: ModelInfo
    folder: Path
    channels: int

    @property
    def multiple(self) -> int:
        """The side multiple the network needs (its total stride)."""
        return int(self.info.size_multiple)

    def model_json(self) -> str:
        """``model.json`` as the text an exported graph carries."""
        return json.dumps(asdict(self.info), default=str)

    def example(
        self, batch: int = 2, steps: tuple[int, int] = (4, 6), seed: int = 0
    ) -> torch.Tensor:
        """A random batch ``(batch, C, steps[0] * m, steps[1] * m)`` of the network's input
        (``m`` the side multiple). Batch 2 at export: with 1, exporters fix the batch at 1."""
        generator = torch.Generator().manual_seed(seed)
        side = (steps[0] * self.multiple, steps[1] * self.multiple)
        return torch.randn((batch, self.channels, *side), generator=generator)

    def dynamic_shapes(self) -> dict[str, dict[int, Any]]:
        """``torch.export`` dynamic shapes: any batch, sides any multiple of the stride."""
        steps = MAX_SIDE // self.multiple
        height = torch.export.Dim("height_steps", min=1, max=steps)
        width = torch.export.Dim("width_steps", min=1, max=steps)
        batch = torch.export.Dim("batch", min=1, max=1024)
        return {"planes": {0: batch, 2: self.multiple * height, 3: self.multiple * width}}


def export_source(model: str | Path) -> ExportSource:
    """The network and description of a model folder or built-in name.

    Raises
    ------
    ValueError
        One line naming the model: not a complete model folder (weights or ``model.json``
        missing), a ``separate`` folder of per-modality models (export each one), or a
        modality-conditioned network (its second input is not exported).
    """
    folder = resolve_model(model)
    if read_separate_index(folder) is not None:
        raise ValueError(
            f"'{model}' holds one model per modality: export each modality's folder in it"
        )
    require_model_folder(folder)
    kind = model_kind(folder)
    network: nn.Module
    info: ModelInfo
    if kind == "segmentation":
        network, info = load_segmentation_network(folder)
    elif kind == "translation":
        network, info = load_translation_network(folder)
        if info.modality_strategy == "dynamic":
            raise ValueError(
                f"'{model}' is conditioned on the imaging modality (a second input): "
                "export is for single-input networks"
            )
    else:
        raise ValueError(f"'{model}': model.json names kind {kind!r}, not a stainless model")
    stem = info.stem()
    channels = stem.channels if stem is not None else info.in_channels
    return ExportSource(PlanesOnly(network.float().eval()), info, folder, channels)
