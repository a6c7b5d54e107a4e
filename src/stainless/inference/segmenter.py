"""Applying a trained segmentation model to whole images: tiled maps, then labels.

Same engine as translation (``inference_mode``, channels-last, Gaussian-blended tiles, the same
test-time augmentation), but float32 unless bf16 is asked for (see the class). The head's maps
are activated (probabilities, distances) per tile before blending, and post-processed with the
thresholds stored in the model folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np
from numpy.typing import NDArray
from torch import nn

from stainless.data.colour import apply_colour
from stainless.data.normalize import normalize_planes
from stainless.inference.onnx_engine import is_onnx_model, load_onnx_network
from stainless.inference.scaling import rescaling
from stainless.io.channels import select_channels
from stainless.model_folder import SegmentationModelInfo, resolve_model
from stainless.models import load_segmentation_network
from stainless.models.whole_image import WholeImageMaps
from stainless.postprocessing.decoders import labels_from_maps
from stainless.tiling import ImageWindow, TilingOptions

SHRUNK = 0.9
"""Below this resampling (beyond the model's own ``input_scale``) a flows model's labels are
decoded at the network's resolution (see :meth:`SegmentationPredictor._labels_at_network_size`)."""


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
        self.maps = WholeImageMaps(
            network,
            info.head,
            info.classes,
            info.size_multiple,
            info.input_scale,
            device,
            precision,
        )

    @property
    def use_bf16(self) -> bool:
        """Whether the network runs under bf16 autocast."""
        return self.maps.use_bf16

    @classmethod
    def load(
        cls,
        folder: str | Path,
        device: str = "auto",
        precision: str = "auto",
        diameter: float | None = None,
    ) -> SegmentationPredictor:
        """Load a model folder written by ``stainless train segmentation``, or a built-in model
        by name (``stainless models list``), or an ``.onnx`` export (``stainless export``). With
        ``diameter`` (px: the typical object size in
        the images to come), images are resampled so their objects reach the network at the
        size of the training objects (``SegmentationModelInfo.at_diameter``); labels come back
        at the image's own size."""
        network: nn.Module
        if is_onnx_model(folder):  # an exported graph, run by onnxruntime (float32)
            network, loaded = load_onnx_network(folder, "segmentation")
            info, precision = cast(SegmentationModelInfo, loaded), "fp32"
        else:
            network, info = load_segmentation_network(resolve_model(folder))
        if diameter is not None:
            info = info.at_diameter(diameter, str(folder))
        return cls(network, info, device, precision)

    def input_planes(
        self,
        planes: NDArray[np.generic],
        channel_names: Sequence[str] | None,
        source: Path,
        channels: Sequence[int | str] | None = None,
    ) -> NDArray[np.generic]:
        """The planes ``(in_channels, Y, X)`` the network takes from an image's planes
        ``(C, Y, X)``: the ``channels`` given, else the model's own (see
        :mod:`stainless.io.channels`), else all planes; then the model's colour convention
        (a grey plane or an RGB image for a ``grey`` / ``rgb`` model,
        :func:`stainless.data.colour.apply_colour`).

        Raises
        ------
        ValueError
            Naming ``source`` when the channels do not exist or the plane count differs.
        """
        chosen = channels if channels is not None else self.info.channels
        if self.info.colour != "as_is":
            if chosen is not None:
                planes = select_channels(planes, channel_names, chosen, source)
            return apply_colour(planes, self.info.colour, source)
        if self.info.any_planes and chosen is None:
            return planes
        if chosen is not None:
            if len(chosen) != self.info.in_channels:
                raise ValueError(
                    f"--channels names {len(chosen)} channel(s) but the model takes "
                    f"{self.info.in_channels}"
                )
            return select_channels(planes, channel_names, chosen, source)
        if planes.shape[0] != self.info.in_channels:
            raise ValueError(
                f"input '{source}' gives {planes.shape[0]} planes but the model expects "
                f"{self.info.in_channels} (choose them with --channels)"
            )
        return planes

    def predict_maps(
        self,
        planes: NDArray[np.generic],
        options: TilingOptions | None = None,
        pixel_size_um: float | None = None,
        input_ranges: list[tuple[float, float]] | None = None,
        window: ImageWindow | None = None,
        magnification: float = 1.0,
    ) -> NDArray[np.float32]:
        """Activated maps ``(K, Y, X)`` of raw planes ``(C, Y, X)`` (see
        :func:`stainless.postprocessing.decoders.labels_from_maps` for their meaning). With
        ``pixel_size_um`` and a model that records its own, the images are resampled to the
        model's pixel size first (on top of its ``input_scale``); maps come back at the
        planes' size. ``input_ranges``: per-plane intensity percentiles to normalise by
        (those of the whole image when ``planes`` is one block of it); ``window``: the planes
        are the padded region of a larger image, of which the window's box is predicted as in
        the whole image (:func:`stainless.tiling.sliding_window`); ``magnification``: a
        further resampling factor (the automatic size search tries several)."""
        wanted = self.info.planes_wanted()
        if planes.ndim != 3 or (wanted is not None and planes.shape[0] != wanted):
            got = planes.shape[0] if planes.ndim == 3 else f"an array of shape {planes.shape}"
            raise ValueError(f"this model expects {wanted} input planes, got {got}")
        normalized = normalize_planes(planes, *self.info.input_percentiles, input_ranges)
        stem = self.info.stem()
        if stem is not None:
            normalized = stem(normalized)
        scale = rescaling(pixel_size_um, self.info.pixel_size_um) * magnification
        return self.maps(normalized, options, scale, window)

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
        pixel_size_um: float | None = None,
        input_ranges: list[tuple[float, float]] | None = None,
        window: ImageWindow | None = None,
        magnification: float = 1.0,
    ) -> NDArray[np.integer]:
        """Instance labels (or a class map for multi-class semantic models) ``(Y, X)``;
        ``pixel_size_um``, ``input_ranges``, ``window`` and ``magnification`` as in
        :meth:`predict_maps`."""
        maps = self.predict_maps(
            planes, options, pixel_size_um, input_ranges, window, magnification
        )
        # shrunk beyond the model's own scale (--diameter auto, --pixel-size): objects of the
        # image are larger than the network saw them
        scale = magnification * rescaling(pixel_size_um, self.info.pixel_size_um)
        if self.info.head == "flows" and scale < SHRUNK:
            return self._labels_at_network_size(maps, scale * self.info.input_scale, thresholds)
        return self.labels(maps, thresholds)

    def _labels_at_network_size(
        self, maps: NDArray[np.float32], scale: float, thresholds: dict[str, float] | None
    ) -> NDArray[np.integer]:
        """Labels of maps ``(K, Y, X)`` of an image that was shrunk by ``scale`` for the network,
        decoded at the network's resolution and brought back by nearest neighbour.

        Following upsampled flows at the image's resolution splits large objects (their sinks
        spread into several peaks): on bbbc039 validation images at ×3 (``scale`` 0.23), csi@0.50
        0.33-0.46 decoded at the image's resolution, 0.84-0.92 at the network's."""
        from skimage.transform import resize

        small = (max(round(maps.shape[1] * scale), 1), max(round(maps.shape[2] * scale), 1))
        shrunk = np.stack([resize(m, small, order=1, preserve_range=True, anti_aliasing=False)
                           for m in maps]).astype(np.float32)  # fmt: skip
        merged = {**self.info.thresholds, **(thresholds or {})}
        if "min_size_px" in merged:  # an area in the image's pixels
            merged["min_size_px"] = merged["min_size_px"] * scale**2
        labels = labels_from_maps(shrunk, self.info.head, merged)
        return np.asarray(resize(labels, maps.shape[1:], order=0, preserve_range=True,
                                 anti_aliasing=False)).astype(labels.dtype)  # fmt: skip
