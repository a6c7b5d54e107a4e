"""Pixel (semantic) segmentation metrics: IoU (Jaccard), Dice, pixel accuracy.

[Bonte2022] scores nucleus semantic segmentation by the Jaccard index; [Brightfield3Class2019]
(background / nucleus / cytoplasm) by Dice. Both come from one confusion matrix built with a
single ``np.bincount``.

Convention: a class absent from both prediction and ground truth scores 1.0 (nothing to find,
nothing found) and still counts in the mean; nothing returns NaN.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stainless.metrics._labels import check_label_image, check_same_shape


def confusion_matrix(
    true_classes: ArrayLike, pred_classes: ArrayLike, n_classes: int
) -> NDArray[np.int64]:
    """Pixel counts of (true class, predicted class).

    Parameters
    ----------
    true_classes, pred_classes : (..., Y, X) integer array-like
        Class index per pixel, in ``0 .. n_classes − 1``.
    n_classes : int

    Returns
    -------
    (n_classes, n_classes) int64 ndarray
        Rows are true classes, columns predicted classes.
    """
    true_array = check_label_image(true_classes, "ground truth")
    pred_array = check_label_image(pred_classes, "prediction")
    check_same_shape(true_array, pred_array)
    if n_classes < 1:
        raise ValueError(f"n_classes must be >= 1, got {n_classes}")
    for name, array in (("ground truth", true_array), ("prediction", pred_array)):
        if array.size and int(array.max()) >= n_classes:
            raise ValueError(
                f"{name} holds class {int(array.max())} but only {n_classes} classes were given"
            )
    keys = np.multiply(true_array.ravel(), n_classes, dtype=np.intp)
    keys += pred_array.ravel()
    counts = np.bincount(keys, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64)


def _per_class(numerator: NDArray[np.int64], denominator: NDArray[np.int64]) -> NDArray[np.float64]:
    out = np.ones(numerator.shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def iou_per_class(confusion: NDArray[np.int64]) -> NDArray[np.float64]:
    """Jaccard index ``|T ∩ P| / |T ∪ P|`` of each class, shape ``(n_classes,)``."""
    hits = np.diag(confusion)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - hits
    return _per_class(hits, union)


def dice_per_class(confusion: NDArray[np.int64]) -> NDArray[np.float64]:
    """Dice coefficient ``2 |T ∩ P| / (|T| + |P|)`` (Dice 1945) of each class, ``(n_classes,)``."""
    hits = np.diag(confusion)
    return _per_class(2 * hits, confusion.sum(axis=0) + confusion.sum(axis=1))


def pixel_accuracy(confusion: NDArray[np.int64]) -> float:
    """Fraction of pixels whose class is right, ``trace / total`` (1.0 for an empty image)."""
    total = int(confusion.sum())
    return float(np.trace(confusion) / total) if total else 1.0


def binary_iou(true_mask: ArrayLike, pred_mask: ArrayLike) -> float:
    """Jaccard index of two foreground masks (any non-zero value is foreground).

    Parameters
    ----------
    true_mask, pred_mask : (..., Y, X) array-like

    Returns
    -------
    float, 1.0 when both masks are empty
    """
    true_array = np.asarray(true_mask).astype(bool)
    pred_array = np.asarray(pred_mask).astype(bool)
    check_same_shape(true_array, pred_array)
    union = int(np.count_nonzero(true_array | pred_array))
    return float(np.count_nonzero(true_array & pred_array) / union) if union else 1.0


def binary_dice(true_mask: ArrayLike, pred_mask: ArrayLike) -> float:
    """Dice coefficient of two foreground masks; 1.0 when both are empty. Shapes as in
    :func:`binary_iou`."""
    true_array = np.asarray(true_mask).astype(bool)
    pred_array = np.asarray(pred_mask).astype(bool)
    check_same_shape(true_array, pred_array)
    total = int(np.count_nonzero(true_array)) + int(np.count_nonzero(pred_array))
    return float(2 * np.count_nonzero(true_array & pred_array) / total) if total else 1.0


def semantic_metrics(
    true_classes: ArrayLike,
    pred_classes: ArrayLike,
    *,
    n_classes: int,
    class_names: list[str] | None = None,
) -> dict[str, float]:
    """IoU and Dice per class and their means over classes, plus pixel accuracy.

    Parameters
    ----------
    true_classes, pred_classes : (..., Y, X) integer array-like
        Class index per pixel (0 is usually background).
    n_classes : int
    class_names : list of str, optional
        Names used in the keys; default ``class0``, ``class1``, ...

    Returns
    -------
    dict with ``iou_<name>``, ``dice_<name>`` per class, ``mean_iou``, ``mean_dice`` (over all
    classes, background included) and ``pixel_accuracy``.
    """
    names = class_names if class_names is not None else [f"class{i}" for i in range(n_classes)]
    if len(names) != n_classes:
        raise ValueError(f"{len(names)} class names given for {n_classes} classes")
    confusion = confusion_matrix(true_classes, pred_classes, n_classes)
    iou = iou_per_class(confusion)
    dice = dice_per_class(confusion)
    result: dict[str, float] = {}
    for name, iou_value, dice_value in zip(names, iou, dice, strict=True):
        result[f"iou_{name}"] = float(iou_value)
        result[f"dice_{name}"] = float(dice_value)
    result["mean_iou"] = float(iou.mean())
    result["mean_dice"] = float(dice.mean())
    result["pixel_accuracy"] = pixel_accuracy(confusion)
    return result
