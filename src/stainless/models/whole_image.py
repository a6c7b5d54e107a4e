"""A segmentation network applied to whole images: tiled, blended, activated maps.

Shared by inference (:class:`stainless.inference.segmenter.SegmentationPredictor`) and by
training, which tunes post-processing thresholds on whole validation images; it sits below both
so that neither imports the other.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from stainless.data.resample import resample_planes
from stainless.device import prepare_for_inference
from stainless.models.heads import head_of
from stainless.tiling import ImageWindow, TilingOptions, predict_tiled


class WholeImageMaps:
    """Activated head maps of normalised planes of any size.

    Parameters
    ----------
    network : nn.Module
        ``(N, C, H, W) -> (N, K, H, W)`` raw maps.
    head : str
        A key of :data:`stainless.models.heads.HEADS`.
    classes : int
    size_multiple : int
        Tile sides are rounded up to a multiple of this.
    input_scale : float
        Planes are magnified by this before the network; maps come back at pixel size.
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    precision : str
        ``fp32`` or ``bf16`` (``auto`` means fp32 here: bf16 quantises distance maps into
        plateaus that become spurious h-maxima, see ``SegmentationPredictor``).
    """

    def __init__(
        self,
        network: nn.Module,
        head: str,
        classes: int,
        size_multiple: int,
        input_scale: float = 1.0,
        device: str = "auto",
        precision: str = "fp32",
    ) -> None:
        self.head = head_of(head)
        self.n_maps = self.head.channels(classes)
        self.size_multiple = size_multiple
        self.input_scale = input_scale
        self.network, self.device, use_bf16 = prepare_for_inference(
            network, device, "fp32" if precision == "auto" else precision
        )
        self.use_bf16 = bool(use_bf16)

    def _predict_tiles(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        x = torch.from_numpy(batch).to(self.device).contiguous(memory_format=torch.channels_last)
        with (
            torch.inference_mode(),
            torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_bf16),
        ):
            maps = self.head.activate(self.network(x).float())
        return maps.cpu().numpy()

    def __call__(
        self,
        planes: NDArray[np.float32],
        options: TilingOptions | None = None,
        magnification: float = 1.0,
        window: ImageWindow | None = None,
    ) -> NDArray[np.float32]:
        """Maps ``(K, Y, X)`` of normalised planes ``(C, Y, X)``; ``magnification`` multiplies
        the model's ``input_scale`` for these planes (another pixel size). With ``window``, the
        planes are the padded region of a larger image and the maps of the window's box come
        back (see :func:`stainless.tiling.sliding_window`); no resampling then."""
        options = options or TilingOptions()
        scale = self.input_scale * magnification
        if window is not None and scale != 1.0:
            raise ValueError("an image window cannot be resampled; tile the block instead")
        scaled = planes
        if scale != 1.0:  # the network works on magnified images
            scaled = resample_planes(planes, scale, order=1)
        maps = predict_tiled(
            scaled,
            self._predict_tiles,
            self.n_maps,
            self.size_multiple,
            options,
            self.head.correct_view,
            window,
        )
        if scale != 1.0:
            maps = resample_planes(maps, shape=(planes.shape[1], planes.shape[2]), order=1)
        return maps
