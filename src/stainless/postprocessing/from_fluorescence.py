"""Ground truth from a stain: semantic or instance labels derived from a fluorescence image.

The in silico labelling papers build their segmentation ground truth from the stained channel
(DAPI for nuclei, a membrane or MAP2 stain for cells) instead of drawing it. The recipe here:

1. Gaussian smoothing (``sigma_px``) against shot noise;
2. a global threshold: Otsu's (maximal between-class variance), or the equal-posterior point of
   a two-component Gaussian mixture fitted to the smoothed intensities (better when the
   foreground is a small fraction of the image), or a fixed value;
3. hole filling and a size filter (``min_size_px``);
4. for instances, touching objects are split by a watershed from h-maxima markers, as for
   predicted distance maps, of either the Euclidean distance transform of the mask
   (``split="distance"``, ``h`` in pixels) or of that transform weighted by the smoothed stain
   (``split="distance_intensity"``, both scaled to [0, 1], ``h`` a fraction): nuclei are
   brightest at their centre, which separates touching nuclei without a neck between them.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi
from skimage.filters import threshold_li, threshold_otsu

from stainless.postprocessing.instances import labels_from_distance
from stainless.postprocessing.labels import clean_labels, fill_holes

Threshold = Literal["otsu", "li", "gmm"] | float


def gmm_threshold(values: NDArray[np.floating], iterations: int = 100) -> float:
    """Threshold between the two components of a 1-D Gaussian mixture fitted by EM.

    Starts from Otsu's split; returns the intensity between the two means where the weighted
    densities are equal (the Bayes decision boundary).

    Parameters
    ----------
    values : (N,) float ndarray
    iterations : int
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size > 1_000_000:  # a regular subsample is plenty for two Gaussians
        x = x[:: x.size // 1_000_000]
    split = threshold_otsu(x)
    low, high = x[x <= split], x[x > split]
    if low.size == 0 or high.size == 0:
        return float(split)
    weights = np.array([low.size, high.size], dtype=np.float64) / x.size
    means = np.array([low.mean(), high.mean()])
    stds = np.array([max(low.std(), 1e-6), max(high.std(), 1e-6)])
    for _ in range(iterations):
        density = weights / stds * np.exp(-0.5 * ((x[:, None] - means) / stds) ** 2)
        responsibility = density / np.maximum(density.sum(axis=1, keepdims=True), 1e-300)
        mass = responsibility.sum(axis=0)
        new_means = (responsibility * x[:, None]).sum(axis=0) / mass
        stds = np.sqrt((responsibility * (x[:, None] - new_means) ** 2).sum(axis=0) / mass)
        stds = np.maximum(stds, 1e-6)
        weights = mass / x.size
        converged = np.allclose(new_means, means, rtol=1e-6)
        means = new_means
        if converged:
            break
    order = np.argsort(means)
    means, stds, weights = means[order], stds[order], weights[order]
    grid = np.linspace(means[0], means[1], 2048)
    densities = weights / stds * np.exp(-0.5 * ((grid[:, None] - means) / stds) ** 2)
    crossing = np.flatnonzero(densities[:, 1] >= densities[:, 0])
    return float(grid[crossing[0]] if crossing.size else split)


def foreground_from_fluorescence(
    image: NDArray[np.generic],
    *,
    sigma_px: float = 2.0,
    threshold: Threshold = "otsu",
    min_size_px: int = 30,
) -> NDArray[np.bool_]:
    """Foreground mask ``(Y, X)`` of a stain: smooth, threshold, fill holes, drop small blobs."""
    if image.ndim != 2:
        raise ValueError(f"expected one (Y, X) stain image, got shape {image.shape}")
    smooth = ndi.gaussian_filter(np.asarray(image, dtype=np.float64), sigma_px)
    if threshold == "otsu":
        level = float(threshold_otsu(smooth))
    elif threshold == "li":  # minimum cross-entropy (Li & Lee 1993): lower than Otsu on dim stains
        level = float(threshold_li(smooth))
    elif threshold == "gmm":
        level = gmm_threshold(smooth)
    elif isinstance(threshold, int | float):
        level = float(threshold)
    else:
        raise ValueError(f"threshold must be 'otsu', 'li', 'gmm' or a number, got {threshold!r}")
    components, _ = ndi.label(smooth > level)
    cleaned = clean_labels(components, min_size_px=min_size_px)
    return np.asarray(fill_holes(cleaned) > 0)


def labels_from_fluorescence(
    image: NDArray[np.generic],
    *,
    mode: Literal["semantic", "instance"] = "instance",
    sigma_px: float = 2.0,
    threshold: Threshold = "otsu",
    min_size_px: int = 30,
    split: Literal["distance", "distance_intensity"] = "distance",
    h: float | None = None,
) -> NDArray[np.integer]:
    """Labels derived from a stain image ``(Y, X)``.

    ``h`` defaults to 2 px for ``split="distance"`` and 0.01 for ``"distance_intensity"``.

    Returns
    -------
    (Y, X) ndarray
        ``semantic``: uint8 mask (1 = stained); ``instance``: sequential uint16/uint32 labels.
    """
    foreground = foreground_from_fluorescence(
        image, sigma_px=sigma_px, threshold=threshold, min_size_px=min_size_px
    )
    if mode == "semantic":
        return foreground.astype(np.uint8)
    if mode != "instance":
        raise ValueError(f"mode must be 'semantic' or 'instance', got {mode!r}")
    if not foreground.any():
        return clean_labels(np.zeros(foreground.shape, dtype=np.int32))
    distance = ndi.distance_transform_edt(foreground)
    # a light blur removes the one-pixel ridges of the exact transform that would seed splits
    distance = ndi.gaussian_filter(distance, 1.0) * foreground
    if split == "distance_intensity":
        smooth = ndi.gaussian_filter(np.asarray(image, dtype=np.float64), max(sigma_px, 2.5))
        smooth = (smooth - smooth.min()) / max(float(np.ptp(smooth)), 1e-12)
        distance = distance / max(float(distance.max()), 1e-12) * smooth
        distance /= max(float(distance.max()), 1e-12)
        h = 0.01 if h is None else h
    elif split == "distance":
        h = 2.0 if h is None else h
    else:
        raise ValueError(f"split must be 'distance' or 'distance_intensity', got {split!r}")
    return labels_from_distance(distance, foreground, h=h, min_size_px=min_size_px)
