"""Validation of instance label images for the metrics."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stainless.io.labels import check_labels


def check_label_image(labels: ArrayLike, name: str) -> NDArray[np.integer]:
    """Return ``labels`` as an integer ndarray suitable for ``np.bincount``.

    Parameters
    ----------
    labels : (..., Y, X) array-like of non-negative integers
        An instance or class label image.
    name : str
        How to call the image in an error message (a file name, or "ground truth").

    Raises
    ------
    ValueError
        If the image is not of an integer (or boolean) dtype, or holds negative values.
    """
    array = check_labels(np.asarray(labels), name)
    if array.dtype == np.uint64:
        if array.size and int(array.max()) > np.iinfo(np.int64).max:
            raise ValueError(f"labels '{name}' hold values above 2**63 - 1")
        array = array.astype(np.int64)
    return array


def check_same_shape(
    true_labels: NDArray[np.generic],
    pred_labels: NDArray[np.generic],
    true_name: str = "ground truth",
    pred_name: str = "prediction",
) -> None:
    """Raise ``ValueError`` naming both images when their shapes differ."""
    if true_labels.shape != pred_labels.shape:
        raise ValueError(
            f"{pred_name} has shape {pred_labels.shape} but {true_name} has {true_labels.shape}"
        )
