"""Image-to-image metrics for in silico labelling (predicted vs. real fluorescence).

Every function takes the prediction and the target as arrays of the same shape and an optional
boolean ``mask`` of that shape; with a mask, only the pixels where it is True count. The metrics
of the Light My Cells challenge ([LightMyCells2024], Table 1: MAE, SSIM, PCC, E_dist, C_dist) and
the usual MSE / PSNR are here.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.ndimage import gaussian_filter

FloatArray = NDArray[np.float64]


def _pair(
    pred: ArrayLike, target: ArrayLike, mask: ArrayLike | None
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_] | None]:
    pred_array = np.asarray(pred, dtype=np.float64)
    target_array = np.asarray(target, dtype=np.float64)
    if pred_array.shape != target_array.shape:
        raise ValueError(
            f"prediction has shape {pred_array.shape} but target has {target_array.shape}"
        )
    if mask is None:
        return pred_array, target_array, None
    mask_array = np.asarray(mask)
    if mask_array.shape != pred_array.shape:
        raise ValueError(f"mask has shape {mask_array.shape} but images have {pred_array.shape}")
    mask_array = mask_array.astype(bool)
    if not mask_array.any():
        raise ValueError("mask selects no pixels")
    return pred_array, target_array, mask_array


def _values(
    pred: ArrayLike, target: ArrayLike, mask: ArrayLike | None
) -> tuple[FloatArray, FloatArray]:
    pred_array, target_array, mask_array = _pair(pred, target, mask)
    if mask_array is None:
        return pred_array.ravel(), target_array.ravel()
    return pred_array[mask_array], target_array[mask_array]


def mae(pred: ArrayLike, target: ArrayLike, *, mask: ArrayLike | None = None) -> float:
    """Mean absolute error, ``mean(|pred − target|)``.

    Parameters
    ----------
    pred, target : (..., Y, X) array-like
    mask : (..., Y, X) bool array-like, optional

    Returns
    -------
    float
    """
    p, t = _values(pred, target, mask)
    return float(np.mean(np.abs(p - t)))


def mse(pred: ArrayLike, target: ArrayLike, *, mask: ArrayLike | None = None) -> float:
    """Mean squared error, ``mean((pred − target)²)``. Shapes as in :func:`mae`."""
    p, t = _values(pred, target, mask)
    return float(np.mean((p - t) ** 2))


def psnr(
    pred: ArrayLike, target: ArrayLike, *, data_range: float, mask: ArrayLike | None = None
) -> float:
    """Peak signal-to-noise ratio, ``10 log10(data_range² / MSE)`` in dB.

    Parameters
    ----------
    pred, target : (..., Y, X) array-like
    data_range : float
        Span of possible values (e.g. 65535 for uint16, or max − min of the target). Required:
        guessing it from the data makes scores incomparable across images.
    mask : (..., Y, X) bool array-like, optional

    Returns
    -------
    float
        ``inf`` when the images are identical.
    """
    if data_range <= 0:
        raise ValueError(f"data_range must be > 0, got {data_range}")
    error = mse(pred, target, mask=mask)
    if error == 0:
        return float("inf")
    return float(10.0 * np.log10(data_range**2 / error))


def ssim(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    data_range: float,
    mask: ArrayLike | None = None,
    sigma: float = 1.5,
) -> float:
    """Structural similarity (Wang et al., IEEE TIP 2004) with a Gaussian window.

    Local means, variances and covariance are Gaussian-weighted (σ = 1.5 px, window 11 px) with
    K1 = 0.01, K2 = 0.03; the SSIM map is averaged over pixels at least half a window from the
    border (and inside ``mask`` when given). Without a mask this equals
    ``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=data_range)``.

    Parameters
    ----------
    pred, target : (Y, X) or (Z, Y, X) array-like
    data_range : float
        Span of possible values; required (see :func:`psnr`).
    mask : bool array-like of the same shape, optional
    sigma : float
        Standard deviation of the Gaussian window in pixels.

    Returns
    -------
    float in [-1, 1]
    """
    if data_range <= 0:
        raise ValueError(f"data_range must be > 0, got {data_range}")
    p, t, mask_array = _pair(pred, target, mask)
    truncate = 3.5
    radius = int(truncate * sigma + 0.5)
    if min(p.shape) < 2 * radius + 1:
        raise ValueError(
            f"images of shape {p.shape} are smaller than the {2 * radius + 1}-px SSIM window"
        )

    def smooth(image: FloatArray) -> FloatArray:
        return gaussian_filter(image, sigma=sigma, truncate=truncate)

    mean_p, mean_t = smooth(p), smooth(t)
    var_p = smooth(p * p) - mean_p**2
    var_t = smooth(t * t) - mean_t**2
    cov = smooth(p * t) - mean_p * mean_t
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    ssim_map = ((2 * mean_p * mean_t + c1) * (2 * cov + c2)) / (
        (mean_p**2 + mean_t**2 + c1) * (var_p + var_t + c2)
    )
    inner = tuple(slice(radius, size - radius) for size in p.shape)
    if mask_array is None:
        return float(ssim_map[inner].mean())
    inner_mask = mask_array[inner]
    if not inner_mask.any():
        raise ValueError("mask selects no pixels away from the image border")
    return float(ssim_map[inner][inner_mask].mean())


def pearson(pred: ArrayLike, target: ArrayLike, *, mask: ArrayLike | None = None) -> float:
    """Pearson correlation coefficient (PCC) of the pixel values.

    ``PCC = Σ (p − p̄)(t − t̄) / sqrt(Σ (p − p̄)² Σ (t − t̄)²)``. Returns 0.0 when either image is
    constant (the correlation is undefined there). Shapes as in :func:`mae`.
    """
    p, t = _values(pred, target, mask)
    p = p - p.mean()
    t = t - t.mean()
    denominator = float(np.sqrt(np.dot(p, p) * np.dot(t, t)))
    return float(np.dot(p, t) / denominator) if denominator > 0 else 0.0


def _unit_range(values: FloatArray) -> FloatArray:
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def euclidean_distance(
    pred: ArrayLike, target: ArrayLike, *, mask: ArrayLike | None = None
) -> float:
    """Light My Cells Euclidean distance ``E_dist`` between two images, size-independent.

    Normalisation (ours, stated because the challenge leaves it to the evaluator): each image is
    min–max scaled to [0, 1] over the evaluated pixels, then
    ``E_dist = ||p − t||₂ / sqrt(N)`` with N the number of evaluated pixels (the root mean squared
    difference), so values lie in [0, 1] whatever the image size. Shapes as in :func:`mae`.
    """
    p, t = _values(pred, target, mask)
    difference = _unit_range(p) - _unit_range(t)
    return float(np.sqrt(np.dot(difference, difference) / difference.size))


def cosine_distance(pred: ArrayLike, target: ArrayLike, *, mask: ArrayLike | None = None) -> float:
    """Light My Cells cosine distance ``C_dist = 1 − p·t / (||p|| ||t||)``.

    Each image is min–max scaled to [0, 1] over the evaluated pixels first (as for
    :func:`euclidean_distance`), so the value lies in [0, 1]. An all-zero image after scaling
    (a constant image) gives 1.0, except that two constant images give 0.0.
    """
    p, t = _values(pred, target, mask)
    p, t = _unit_range(p), _unit_range(t)
    norms = float(np.sqrt(np.dot(p, p) * np.dot(t, t)))
    if norms == 0:
        return 0.0 if not p.any() and not t.any() else 1.0
    return float(1.0 - np.dot(p, t) / norms)


def translation_metrics(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    data_range: float | None = None,
    mask: ArrayLike | None = None,
) -> dict[str, float]:
    """All image metrics for one predicted / real fluorescence pair.

    Parameters
    ----------
    pred, target : (Y, X) or (Z, Y, X) array-like
    data_range : float, optional
        For PSNR and SSIM. Default: ``target.max() − target.min()`` (the target's own range, a
        common choice for fluorescence without a fixed scale); pass it to compare across images.
    mask : bool array-like, optional

    Returns
    -------
    dict with ``mae``, ``mse``, ``psnr``, ``ssim``, ``pcc``, ``euclidean_distance``,
    ``cosine_distance``.
    """
    target_array = np.asarray(target, dtype=np.float64)
    if data_range is None:
        data_range = float(target_array.max() - target_array.min()) or 1.0
    return {
        "mae": mae(pred, target_array, mask=mask),
        "mse": mse(pred, target_array, mask=mask),
        "psnr": psnr(pred, target_array, data_range=data_range, mask=mask),
        "ssim": ssim(pred, target_array, data_range=data_range, mask=mask),
        "pcc": pearson(pred, target_array, mask=mask),
        "euclidean_distance": euclidean_distance(pred, target_array, mask=mask),
        "cosine_distance": cosine_distance(pred, target_array, mask=mask),
    }
