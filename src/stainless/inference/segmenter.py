"""Applying a trained segmentation model to whole images: tiled maps, then labels.

Same engine as translation (``inference_mode``, channels-last, Gaussian-blended tiles, the same
test-time augmentation), but float32 unless bf16 is asked for (see the class). The head's maps
are activated (probabilities, distances) per tile before blending, and post-processed with the
thresholds stored in the model folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from stainless.data.normalize import normalize_planes
from stainless.data.resample import resample_planes
from stainless.inference.predictor import TilingOptions, predict_tiled, prepare_for_inference
from stainless.models import activate, head_channels
from stainless.postprocessing.instances import labels_from_maps
from stainless.training.checkpoint import SegmentationModelInfo, load_segmentation_network


def _correct_hover_view(maps: NDArray[np.float32], k: int, mirrored: bool) -> NDArray[np.float32]:
    """HoVer maps of a view turned ``k`` quarter turns (``np.rot90``) and optionally mirrored,
    already moved back into place: the (horizontal, vertical) offsets are vectors, so they are
    turned back too, and a mirrored image has mirrored horizontal offsets."""
    out = np.array(maps)
    h, v = maps[2], maps[3]
    if k == 1:
        out[2], out[3] = -v, h
    elif k == 2:
        out[2], out[3] = -h, -v
    elif k == 3:
        out[2], out[3] = v, -h
    if mirrored:
        out[2] = -out[2]
    return out


class SegmentationPredictor:
    """A loaded segmentation model.

    Test-time augmentation (``TilingOptions.tta``) averages the maps of the four quarter turns
    (and their mirror images with ``tta_flips``), turning HoVer offsets back with the image.

    Parameters
    ----------
    network : nn.Module
    info : SegmentationModelInfo
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    precision : str
        ``auto`` or ``fp32``: float32; ``bf16``: bfloat16 autocast. Unlike translation, ``auto``
        does not pick bf16: its 8-bit mantissa quantises a distance map into steps of ~0.004,
        whose plateaus become spurious h-maxima (on DSB2018 test images bf16 changed the object
        count of an image from 31 to 42-44, and with the thread count), so segmentation runs in
        float32 unless bf16 is asked for.
    """

    def __init__(
        self,
        network: nn.Module,
        info: SegmentationModelInfo,
        device: str = "auto",
        precision: str = "auto",
    ) -> None:
        self.info = info
        self.network, self.device, self.use_bf16 = prepare_for_inference(
            network, device, "fp32" if precision == "auto" else precision
        )

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
        scale = self.info.input_scale
        if scale != 1.0:  # the network works on magnified images; maps return to pixel size
            normalized = resample_planes(normalized, scale, order=1)
        maps = predict_tiled(
            normalized,
            self._predict_tiles,
            head_channels(self.info.head, self.info.classes),
            self.info.size_multiple,
            options,
            _correct_hover_view if self.info.head == "hover" else None,
        )
        if scale != 1.0:
            maps = resample_planes(maps, shape=(planes.shape[1], planes.shape[2]), order=1)
        return maps

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
