"""Whole-cell labels grown from nuclei in a cell stain: the cytoplasm definition for compact
cells.

A cell stain thresholded on its own (MAP2, CellMask) gives one mask for all cells, and for
neurons mostly thin neurites. Seeding a watershed with the nuclei splits that mask into one
region per nucleus, and ``max_distance_px`` keeps each cell to the body around its nucleus, as a
cytoplasm label for compact cells (the nucleus / cytoplasm / background classes of
[Brightfield3Class2019]; CellProfiler's "propagate" secondary objects do the same).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi
from skimage.segmentation import watershed

from stainless.postprocessing.from_fluorescence import Threshold, foreground_from_fluorescence


def cells_from_nuclei(
    stain: NDArray[np.generic],
    nuclei: NDArray[np.integer],
    *,
    sigma_px: float = 2.0,
    threshold: Threshold = "otsu",
    max_distance_px: float | None = None,
    min_size_px: int = 30,
) -> NDArray[np.integer]:
    """One cell per nucleus: a watershed of the smoothed cell stain seeded by ``nuclei``.

    Parameters
    ----------
    stain : (Y, X) ndarray
        The cell stain (MAP2, CellMask, a cytoplasm dye).
    nuclei : (Y, X) integer ndarray
        Nucleus instance labels (0 = background), e.g. from DAPI.
    sigma_px, threshold, min_size_px
        The stain's foreground, as :func:`foreground_from_fluorescence`.
    max_distance_px : float, optional
        Keep only the pixels within this distance of their cell's nucleus.

    Returns
    -------
    (Y, X) int32 ndarray
        Cell labels with the ids of their nuclei; every nucleus lies inside its cell.
    """
    if stain.shape != nuclei.shape or stain.ndim != 2:
        raise ValueError(
            f"stain {stain.shape} and nuclei {nuclei.shape} must be (Y, X) images of one size"
        )
    foreground = foreground_from_fluorescence(
        stain, sigma_px=sigma_px, threshold=threshold, min_size_px=min_size_px
    )
    foreground |= nuclei > 0
    if max_distance_px is not None:
        near = ndi.distance_transform_edt(nuclei == 0) <= max_distance_px
        foreground &= near
    smooth = ndi.gaussian_filter(np.asarray(stain, dtype=np.float64), sigma_px)
    cells = watershed(-smooth, markers=nuclei.astype(np.int32), mask=foreground)
    return np.asarray(cells, dtype=np.int32)
