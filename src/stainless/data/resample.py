"""Resampling image planes between pixel sizes (segmentation models' ``input_scale``)."""

from __future__ import annotations

from typing import TypeVar

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi

ArrayType = TypeVar("ArrayType", bound=np.generic)


def resample_planes(
    planes: NDArray[ArrayType],
    scale: float | None = None,
    shape: tuple[int, int] | None = None,
    order: int = 1,
) -> NDArray[ArrayType]:
    """Planes ``(C, Y, X)`` magnified by ``scale``, or resampled to ``shape`` ``(Y', X')``.

    Pixel areas stay aligned (``grid_mode``), so magnifying by 2 and shrinking back returns
    every pixel to its place, as the zoom of the training crops does.
    """
    if shape is None:
        assert scale is not None
        shape = (round(planes.shape[1] * scale), round(planes.shape[2] * scale))
    factors = (shape[0] / planes.shape[1], shape[1] / planes.shape[2])
    return np.stack(
        [ndi.zoom(p, factors, order=order, grid_mode=True, mode="reflect") for p in planes]
    )
