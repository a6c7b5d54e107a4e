"""Instance labels from predicted maps.

* distance + mask → h-maxima markers → watershed inside the mask ([Bonte2022] §2.3.2);
* HoVer maps + foreground → Sobel borders → markers → watershed (HoVer-Net [Graham2019]).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi
from skimage.morphology import h_maxima
from skimage.segmentation import watershed

from stainless.postprocessing.labels import clean_labels, fill_holes


def _foreground_of(
    distance: NDArray[np.floating], mask: NDArray[np.generic] | None, mask_threshold: float
) -> NDArray[np.bool_]:
    if mask is None:
        return np.asarray(distance > 0)
    probability = np.asarray(mask, dtype=np.float64)
    if probability.shape != distance.shape:
        raise ValueError(
            f"mask has shape {probability.shape} but the distance map has {distance.shape}"
        )
    return probability > mask_threshold


def _decreasing_order(values: NDArray[np.float64], pixels: NDArray[np.intp]) -> NDArray[np.int64]:
    """``pixels`` sorted by decreasing ``values`` (≥ 0), ties in raster order.

    Two stable 16-bit radix sorts of the float32 bit patterns (for non-negative floats the bit
    patterns sort like the numbers; inverted, they sort in decreasing order): 3× faster than a
    comparison sort of the same keys, and the same order.
    """
    bits = ~values[pixels].astype(np.float32).view(np.uint32)
    first = np.argsort((bits & 0xFFFF).astype(np.uint16), kind="stable")
    second = np.argsort((bits[first] >> 16).astype(np.uint16), kind="stable")
    return pixels[first[second]].astype(np.int64)


def labels_from_distance(
    distance: NDArray[np.floating],
    mask: NDArray[np.generic] | None = None,
    *,
    mask_threshold: float = 0.5,
    h: float = 0.3,
    min_size_px: int = 0,
) -> NDArray[np.integer]:
    """Split a distance map into objects: h-maxima markers, then watershed inside the mask.

    Markers are the h-maxima of the distance map ([Bonte2022] §2.3.2): the regional
    maxima from which one must descend more than ``h`` to reach a higher pixel. Each marker
    floods ``−distance`` (4-connected), restricted to the foreground. The result equals
    :func:`labels_from_distance_skimage` (reconstruction-based ``h_maxima`` + ``watershed``) up to
    ties between equal values, ≥ 10× faster: one sort of the foreground pixels and two passes of
    a compiled union-find (:mod:`stainless.postprocessing._flood`).

    Parameters
    ----------
    distance : (Y, X) float ndarray
        Predicted normalised distance map (1 at object centres, 0 on borders).
    mask : (Y, X) ndarray, optional
        Foreground probability (or boolean mask); default: every pixel with a positive distance.
    mask_threshold : float
        Foreground where ``mask > mask_threshold``.
    h : float
        Minimum contrast of a kept maximum (in distance units), > 0.
    min_size_px : int
        Objects smaller than this are removed.

    Returns
    -------
    (Y, X) uint16/uint32 ndarray
        Sequentially numbered instance labels.
    """
    from stainless.postprocessing._flood import flood, significant_maxima

    if h <= 0:
        raise ValueError(f"h must be > 0, got {h}")
    distance = np.asarray(distance, dtype=np.float64)
    if distance.ndim != 2:
        raise ValueError(f"distance map must be (Y, X), got shape {distance.shape}")
    foreground = _foreground_of(distance, mask, mask_threshold)
    if not foreground.any():
        return clean_labels(np.zeros(distance.shape, dtype=np.int32))
    floor = min(0.0, float(distance[foreground].min()))
    values = np.where(foreground, distance, floor).ravel()
    if h > values.max() - floor:  # no maximum is significant (as scikit-image's h_maxima)
        return clean_labels(np.zeros(distance.shape, dtype=np.int32))
    order = _decreasing_order(values - floor, np.flatnonzero(foreground))
    width = distance.shape[1]
    keep = np.zeros(values.size, dtype=bool)
    keep[order] = significant_maxima(values, order, width, floor, float(h))
    markers, n_markers = ndi.label(keep.reshape(distance.shape))
    flat = np.zeros(values.size, dtype=np.int32)
    flat[order] = flood(values, order, width, markers.ravel()[order].astype(np.int32))
    labels = flat.reshape(distance.shape)
    if min_size_px <= 1:  # every marker keeps its pixels: the ids are already 1..n
        return fill_holes(labels).astype(np.uint16 if n_markers < 65536 else np.uint32)
    return clean_labels(labels, min_size_px=min_size_px)


def labels_from_distance_skimage(
    distance: NDArray[np.floating],
    mask: NDArray[np.generic] | None = None,
    *,
    mask_threshold: float = 0.5,
    h: float = 0.3,
    min_size_px: int = 0,
) -> NDArray[np.integer]:
    """The reference pipeline: scikit-image ``h_maxima`` (morphological reconstruction) →
    ``ndi.label`` → ``watershed`` inside the mask. Same parameters and result as
    :func:`labels_from_distance`, which is much faster; kept for tests and benchmarks."""
    distance = np.asarray(distance, dtype=np.float64)
    foreground = _foreground_of(distance, mask, mask_threshold)
    markers, _ = ndi.label(h_maxima(np.where(foreground, distance, 0.0), h) > 0)
    labels = watershed(-distance, markers, mask=foreground)
    return clean_labels(labels, min_size_px=min_size_px)


def labels_from_hover(
    foreground: NDArray[np.floating],
    hover: NDArray[np.floating],
    *,
    threshold: float = 0.5,
    border_threshold: float = 0.3,
    min_size_px: int = 10,
) -> NDArray[np.integer]:
    """Objects from a foreground probability and horizontal/vertical maps (HoVer-Net).

    The HoVer maps change sign across the border between two touching objects, so their Sobel
    gradient is large there. Markers are foreground pixels away from such borders; the watershed
    of the smoothed "distance-like" map ``(1 − border) · foreground`` grows them back to the
    object edges.

    Parameters
    ----------
    foreground : (Y, X) float ndarray
        Foreground probability.
    hover : (2, Y, X) float ndarray
        Horizontal and vertical maps in [−1, 1].
    threshold : float
        Foreground where ``foreground > threshold``.
    border_threshold : float
        Border where the normalised gradient exceeds it.
    min_size_px : int
        Markers and objects smaller than this are dropped.
    """
    mask = np.asarray(foreground) > threshold
    gradients = []
    for channel, axis in ((0, 1), (1, 0)):
        sobel = np.abs(ndi.sobel(hover[channel].astype(np.float64), axis=axis))
        span = sobel.max() - sobel.min()
        gradients.append((sobel - sobel.min()) / span if span > 0 else np.zeros_like(sobel))
    border = np.maximum(*gradients) * mask
    energy = ndi.gaussian_filter((1.0 - border) * mask, 1.0)
    markers_mask = ndi.binary_opening(mask & (border < border_threshold), iterations=1)
    markers, _ = ndi.label(markers_mask)
    if min_size_px > 1:
        sizes = np.bincount(markers.ravel())
        small = sizes < min_size_px
        small[0] = False
        markers[small[markers]] = 0
    labels = watershed(-energy, markers, mask=mask)
    return clean_labels(labels, min_size_px=min_size_px)
