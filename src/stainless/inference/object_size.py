"""Automatic object size: the diameter of the objects in an image, found by segmenting it (one
implementation for nuclei and cells).

A fixed-point search on a preview of the image (the whole image up to ``max_side`` px, else its
central crop): segment at the model's own object size, measure the median equivalent diameter of
the objects found (:func:`stainless.data.object_size.median_object_diameter`, as the training
objects were measured), resample so that objects of that size reach the network at its
training size, and repeat until the estimate moves by less than ``tolerance`` (at most
``iterations`` rounds). Where nothing is found, larger and smaller sizes are tried in turn.
This is the scale search of [Stringer2021]'s first release (Cellpose 0.x estimated the
diameter from the masks of a first pass) rather than its later size regressor, which needs
style vectors the networks here do not have.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from stainless.data.object_size import median_object_diameter
from stainless.inference.segmenter import SegmentationPredictor
from stainless.model_folder import MAX_INPUT_SCALE, MIN_INPUT_SCALE, SegmentationModelInfo
from stainless.tiling import TilingOptions

FALLBACK_FACTORS = (2.0, 0.5, 4.0, 0.25)
"""Sizes (× the model's own) tried in turn when the model's own size finds no object."""


@dataclass(frozen=True)
class SizeEstimate:
    """The estimated diameter (px of the image), the sizes tried on the way and whether the
    search converged (False: it stopped at ``iterations`` or found nothing)."""

    diameter_px: float
    tried_px: tuple[float, ...]
    converged: bool


def native_diameter(info: SegmentationModelInfo) -> float:
    """The object diameter (px of the image) that a model loaded without ``--diameter`` sees at
    its training size: the median diameter of its training objects.

    Raises
    ------
    ValueError
        The model does not record its training objects' diameter.
    """
    if info.object_diameter_px is None:
        raise ValueError(
            "--diameter auto: this model does not record the diameter of its training "
            "objects; give --diameter PX"
        )
    return float(info.object_diameter_px)


def central_box(shape_yx: tuple[int, int], side: int) -> tuple[int, int, int, int]:
    """``(y0, y1, x0, x1)`` of the central ``side × side`` crop of an image (all of a smaller
    one)."""
    height, width = shape_yx
    y0, x0 = max((height - side) // 2, 0), max((width - side) // 2, 0)
    return y0, min(y0 + side, height), x0, min(x0 + side, width)


def preview(planes: NDArray[np.generic], max_side: int) -> NDArray[np.generic]:
    """The central ``max_side × max_side`` crop of planes ``(C, Y, X)`` (all of a smaller
    image)."""
    y0, y1, x0, x1 = central_box((planes.shape[-2], planes.shape[-1]), max_side)
    return planes[..., y0:y1, x0:x1]


def _in_range(info: SegmentationModelInfo, diameter: float) -> float:
    """``diameter`` clipped to the resampling that ``--diameter`` accepts
    (:meth:`SegmentationModelInfo.at_diameter`)."""
    reference = info.input_scale * native_diameter(info)
    low, high = reference / MAX_INPUT_SCALE, reference / MIN_INPUT_SCALE
    return float(min(max(diameter, low * 1.001), high * 0.999))


def estimate_diameter(
    predictor: SegmentationPredictor,
    planes: NDArray[np.generic],
    options: TilingOptions | None = None,
    *,
    max_side: int = 1024,
    iterations: int = 4,
    tolerance: float = 0.1,
) -> SizeEstimate:
    """The typical object diameter (px) in raw planes ``(C, Y, X)``, found with the model of
    ``predictor`` (a :class:`stainless.inference.segmenter.SegmentationPredictor`, loaded
    without a diameter); see the module.

    Parameters
    ----------
    predictor : SegmentationPredictor
    planes : (C, Y, X) ndarray
        The planes the network takes (channels already picked).
    options : TilingOptions, optional
        Tiling of each trial segmentation (test-time augmentation is switched off there).
    max_side : int
        Side of the central crop the search runs on.
    iterations : int
        Most rounds of the fixed-point search.
    tolerance : float
        Relative change of the estimate below which it has converged.

    Raises
    ------
    ValueError
        The model records no object size.
    """
    base = predictor.info
    native = native_diameter(base)
    crop = preview(planes, max_side)
    trial_options = replace(options or TilingOptions(), tta=False, tta_flips=False)

    def measured(diameter: float) -> float | None:
        magnification = native / diameter  # objects of `diameter` px reach training size
        labels = predictor.segment(crop, trial_options, magnification=magnification)
        return median_object_diameter([labels])

    tried: list[float] = []
    current: float | None = None
    for factor in (1.0, *FALLBACK_FACTORS):
        start = _in_range(base, native * factor)
        tried.append(start)
        found = measured(start)
        if found is not None:
            current = _in_range(base, found)
            break
    if current is None:
        return SizeEstimate(native, tuple(tried), converged=False)
    for _ in range(iterations - 1):
        tried.append(current)
        found = measured(current)
        if found is None:
            return SizeEstimate(current, tuple(tried), converged=False)
        found = _in_range(base, found)
        if abs(math.log(found / current)) < math.log1p(tolerance):
            return SizeEstimate(found, tuple(tried), converged=True)
        current = found
    return SizeEstimate(current, tuple(tried), converged=False)
