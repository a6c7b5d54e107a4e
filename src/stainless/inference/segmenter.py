"""Applying a trained segmentation model to whole images: tiled maps, then labels.

Same engine as translation (``inference_mode``, channels-last, bf16 where native, Gaussian-blended
tiles); the head's maps are activated (probabilities, distances) per tile before blending, and
post-processed with the thresholds stored in the model folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from stainless.data.normalize import normalize_planes
from stainless.inference.predictor import TilingOptions, to_channels_last
from stainless.inference.tiling import sliding_window
from stainless.models import activate, head_channels
from stainless.postprocessing.instances import labels_from_maps
from stainless.training.checkpoint import SegmentationModelInfo, load_segmentation_network
from stainless.training.device import bf16_supported, resolve_device


class SegmentationPredictor:
    """A loaded segmentation model.

    Parameters
    ----------
    network : nn.Module
    info : SegmentationModelInfo
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    precision : str
        ``auto`` (bf16 where native), ``bf16`` or ``fp32``.
    """

    def __init__(
        self,
        network: nn.Module,
        info: SegmentationModelInfo,
        device: str = "auto",
        precision: str = "auto",
    ) -> None:
        self.info = info
        self.device = resolve_device(device)
        if precision not in ("auto", "bf16", "fp32"):
            raise ValueError(f"precision must be auto, bf16 or fp32, got {precision!r}")
        self.use_bf16 = precision == "bf16" or (precision == "auto" and bf16_supported(self.device))
        self.network = network.to(self.device).eval()
        to_channels_last(self.network)

    @classmethod
    def load(
        cls, folder: str | Path, device: str = "auto", precision: str = "auto"
    ) -> SegmentationPredictor:
        """Load a model folder written by ``stainless train segmentation``, or a built-in model
        by name (``stainless models list``)."""
        from stainless.zoo import resolve_model

        network, info = load_segmentation_network(resolve_model(folder))
        return cls(network, info, device, precision)

    def _predict_tiles(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        x = torch.from_numpy(batch).to(self.device).contiguous(memory_format=torch.channels_last)
        with (
            torch.inference_mode(),
            torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_bf16),
        ):
            maps = activate(self.network(x).float(), self.info.head)
        return maps.cpu().numpy()

    def predict_maps(
        self, planes: NDArray[np.generic], options: TilingOptions | None = None
    ) -> NDArray[np.float32]:
        """Activated maps ``(K, Y, X)`` of raw planes ``(C, Y, X)`` (see
        :func:`stainless.postprocessing.instances.labels_from_maps` for their meaning)."""
        if planes.ndim != 3 or planes.shape[0] != self.info.in_channels:
            got = planes.shape[0] if planes.ndim == 3 else f"an array of shape {planes.shape}"
            raise ValueError(f"this model expects {self.info.in_channels} input planes, got {got}")
        options = options or TilingOptions()
        normalized = normalize_planes(planes, *self.info.input_percentiles)
        return sliding_window(
            np.ascontiguousarray(normalized),
            self._predict_tiles,
            head_channels(self.info.head, self.info.classes),
            tile=options.tile,
            overlap_fraction=options.overlap_fraction,
            batch_size=options.batch_size,
            size_multiple=self.info.size_multiple,
            margin_px=options.margin_px,
        )

    def labels(
        self, maps: NDArray[np.float32], thresholds: dict[str, float] | None = None
    ) -> NDArray[np.integer]:
        """Labels from maps, with the model's thresholds updated by ``thresholds``."""
        return labels_from_maps(
            maps, self.info.head, {**self.info.thresholds, **(thresholds or {})}
        )

    def segment(
        self,
        planes: NDArray[np.generic],
        options: TilingOptions | None = None,
        thresholds: dict[str, float] | None = None,
    ) -> NDArray[np.integer]:
        """Instance labels (or a class map for multi-class semantic models) ``(Y, X)``."""
        return self.labels(self.predict_maps(planes, options), thresholds)
