"""Instance labels from predicted maps.

* distance + mask → h-maxima markers → watershed inside the mask (ISL pretraining paper, §2.3.2);
* HoVer maps + foreground → Sobel borders → markers → watershed (HoVer-Net, Graham et al. 2019).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi
from skimage.morphology import h_maxima
from skimage.segmentation import watershed

from stainless.postprocessing.labels import clean_labels


def labels_from_distance(
    distance: NDArray[np.floating],
    mask: NDArray[np.generic] | None = None,
    *,
    mask_threshold: float = 0.5,
    h: float = 0.3,
    min_size_px: int = 0,
) -> NDArray[np.integer]:
    """Split a distance map into objects.

    Markers are the h-maxima of the distance map (maxima that rise at least ``h`` above every
    path to a higher maximum: the reconstruction by dilation of ``distance − h`` under
    ``distance``); each marker floods ``−distance`` by watershed, restricted to the foreground.

    Parameters
    ----------
    distance : (Y, X) float ndarray
        Predicted normalised distance map (1 at object centres, 0 on borders).
    mask : (Y, X) ndarray, optional
        Foreground probability (or boolean mask); default: every pixel with a positive distance.
    mask_threshold : float
        Foreground where ``mask > mask_threshold``.
    h : float
        Minimum contrast of a kept maximum (in distance units).
    min_size_px : int
        Objects smaller than this are removed.

    Returns
    -------
    (Y, X) uint16/uint32 ndarray
        Sequentially numbered instance labels.
    """
    distance = np.asarray(distance, dtype=np.float64)
    foreground = distance > 0 if mask is None else np.asarray(mask) > mask_threshold
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
