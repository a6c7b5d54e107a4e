"""The size of the objects in label images, as Cellpose's ``diameter``: the median over all
objects of the diameter of the disc with the object's area, ``2 sqrt(area / pi)``
([Stringer2021], where models are trained at a fixed diameter and inputs rescaled to it)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray


def object_diameters(labels: NDArray[np.integer]) -> NDArray[np.float64]:
    """Equivalent diameter (px) of each object of an instance label image ``(Y, X)`` (0 =
    background), in label order."""
    counts = np.bincount(labels.ravel().astype(np.int64, copy=False))
    areas = counts[1:][counts[1:] > 0]
    return 2.0 * np.sqrt(areas / np.pi)


def median_object_diameter(label_images: Iterable[NDArray[np.integer]]) -> float | None:
    """Median equivalent diameter (px) over the objects of all ``label_images``; None when they
    hold no object."""
    diameters = [object_diameters(labels) for labels in label_images]
    pooled = np.concatenate(diameters) if diameters else np.empty(0)
    return float(np.median(pooled)) if pooled.size else None


def diameter_range(label_images: Iterable[NDArray[np.integer]]) -> tuple[float, float] | None:
    """The smallest and largest per-image median equivalent diameter (px) of ``label_images``
    (images without objects left out); None when none holds an object."""
    medians = [m for labels in label_images if (m := median_object_diameter([labels])) is not None]
    return (round(min(medians), 2), round(max(medians), 2)) if medians else None
