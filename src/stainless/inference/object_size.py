"""Automatic object size: the diameter of the objects in an image, found by segmenting it (one
implementation for nuclei and cells).

A scale scan on a preview of the image (its central crop): segment at sizes from a quarter to
eight times the model's own object size (two per octave), measure the median equivalent
diameter of the objects found at each (:func:`stainless.data.object_size.median_object_diameter`,
as the training objects were measured), and take the largest size where what is found equals
what is tried and stops growing with it (:func:`plateau_crossing`); fixed-point rounds from
there (segment at the estimate, take the size found) refine it. A model that records the object
sizes of its training images (one fine-tuned on yours) searches only from half the smallest to
twice the largest of them (:func:`training_window`). A fixed-point iteration from
the model's own size, as this module first did, converged on fragments when objects were twice
the training size or more (the first bbbc039 test image at ×2: about 12 px for 59 px nuclei),
because an over-enlarged image splits objects into pieces of about the trial size; the scan
sees every fixed point and keeps the largest. This is the scale search of [Stringer2021]'s
first release (Cellpose 0.x estimated the diameter from the masks of a first pass) rather than
its later size regressor, which needs style vectors the networks here do not have.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

from stainless.data.object_size import median_object_diameter
from stainless.inference.segmenter import SegmentationPredictor
from stainless.model_folder import MAX_INPUT_SCALE, MIN_INPUT_SCALE, SegmentationModelInfo
from stainless.tiling import TilingOptions


@dataclass(frozen=True)
class SizeEstimate:
    """The estimated diameter (px of the image), the sizes tried on the way and whether the
    search converged (False: the refining rounds did not settle or nothing was found)."""

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
    network_side: int = 512,
    steps_per_octave: int = 2,
    octaves: tuple[float, float] = (-2.0, 3.0),
    refinements: int = 3,
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
        Largest side of the central crop a trial segments.
    network_side : int
        Side of that crop once resampled for the network (smaller crops where a trial
        enlarges the image, so that every trial costs about the same).
    steps_per_octave, octaves : int, (float, float)
        The scanned sizes: the model's own × 2^k for k from ``octaves[0]`` to ``octaves[1]``
        in steps of ``1 / steps_per_octave``.
    refinements : int
        Most fixed-point rounds from the scan's crossing (segment at the estimate, take the
        size found), which stop once the estimate moves by less than ``tolerance``
        (relative).
    tolerance : float
        Relative change of the estimate below which it has converged.

    Raises
    ------
    ValueError
        The model records no object size.
    """
    base = predictor.info
    native = native_diameter(base)
    trial_options = replace(options or TilingOptions(), tta=False, tta_flips=False)

    def measured(diameter: float) -> float | None:
        magnification = native / diameter  # objects of `diameter` px reach training size
        side = int(min(max_side, max(network_side / magnification, 64)))
        labels = predictor.segment(preview(planes, side), trial_options,
                                   magnification=magnification)  # fmt: skip
        return median_object_diameter([labels])

    low, high = (round(o * steps_per_octave) for o in octaves)
    sizes = sorted({_in_range(base, native * 2 ** (k / steps_per_octave))
                    for k in range(low, high + 1)})  # fmt: skip
    window = training_window(base)
    if window is not None:  # a model trained on images of a known size range looks near it
        sizes = [size for size in sizes if window[0] <= size <= window[1]] or sizes

    def allowed(diameter: float) -> float:
        kept = _in_range(base, diameter)
        return kept if window is None else float(np.clip(kept, *window))

    scan = [(size, found) for size in sizes if (found := measured(size)) is not None]
    if not scan:
        return SizeEstimate(native, tuple(sizes), converged=False)
    current, tried = allowed(plateau_crossing(scan)), list(sizes)
    for _ in range(refinements):
        tried.append(current)
        found = measured(current)
        if found is None:
            break
        found = allowed(found)
        if abs(math.log(found / current)) < math.log1p(tolerance):
            return SizeEstimate(found, tuple(tried), converged=True)
        current = found
    return SizeEstimate(current, tuple(tried), converged=False)


TRAINING_WINDOW = 2.0
"""A model that records its training images' object sizes searches from this factor below the
smallest to this factor above the largest."""


def training_window(info: SegmentationModelInfo) -> tuple[float, float] | None:
    """The sizes (px) a size search keeps to for a model that records its training images'
    per-image median diameters (``training_diameters_px``: a model fine-tuned on your images
    looks for objects of about their size); None for models that do not (the built-ins).

    Measured: a `cells` fine-tuned on one corrected region of 15 px cells found 49-58 px on
    held-out strips of the same tissue and segmented nothing there (issue 26)."""
    if info.training_diameters_px is None:
        return None
    smallest, largest = info.training_diameters_px
    return smallest / TRAINING_WINDOW, largest * TRAINING_WINDOW


def own_size_magnification(
    predictor: SegmentationPredictor,
    planes: NDArray[np.generic],
    options: TilingOptions | None = None,
) -> tuple[float, float | None]:
    """The magnification that shows an image's objects to ``predictor`` at its training size,
    and the diameter found (px): for a model trained at one object size the size is searched
    (:func:`estimate_diameter`); any other model takes the image as it is (1, None)."""
    if not predictor.info.one_diameter:
        return 1.0, None
    found = estimate_diameter(predictor, planes, options).diameter_px
    return native_diameter(predictor.info) / found, found


def plateau_crossing(scan: list[tuple[float, float]]) -> float:
    """The largest stable fixed point of size found = f(size tried).

    ``scan`` holds pairs (diameter tried, median diameter found), increasing in the first.
    Where the trial size is right, the size found equals it and barely moves with it: objects
    smaller than the trial size are still found whole, so found/tried falls through 1 as the
    trial size grows. Too large an enlargement splits objects into pieces of about the trial
    size, which makes spurious fixed points below the true one, some of them as flat. On 78
    scans of bbbc039 and dsb2018 validation images at ×0.5-×3 (``nuclei``), the flattest
    crossing missed the true size by more than 25 % on 11, the largest crossing on 7 (two of
    them 7 px nuclei at ×0.5, found at 11 px). So the largest crossing of
    found/tried through 1 from above (log-interpolated between two trials) is returned; with
    none, the size found at the end of the scan the ratio points to.

    Parameters
    ----------
    scan : list of (float, float)
        At least one pair, sorted by the diameter tried.
    """
    logs = [(math.log(tried), math.log(found)) for tried, found in scan]
    crossings = [t0 + r0 / (r0 - r1) * (t1 - t0)
                 for (t0, f0), (t1, f1) in pairwise(logs)
                 if (r0 := f0 - t0) >= 0 > (r1 := f1 - t1)]  # fmt: skip
    if crossings:
        return math.exp(crossings[-1])
    if logs[0][1] < logs[0][0]:  # found smaller than tried everywhere: at or below the scan
        return math.exp(logs[0][1])
    return math.exp(logs[-1][1])  # found larger everywhere: at or above the scan
