"""Reading and checking label images (instance or class labels)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi

from stainless.io.images import Image, read_image


def check_labels(array: NDArray[Any], name: str) -> NDArray[np.integer]:
    """Return ``array`` if it is a valid label image, else raise a ``ValueError`` naming ``name``.

    Valid: an integer (or boolean) dtype and no negative value. Float labels are refused even
    when their values are whole numbers: they usually mean an interpolated or normalised file.
    """
    if array.dtype == np.bool_:
        return array.astype(np.uint8)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"labels '{name}' have dtype {array.dtype}; expected integers (0 = background, "
            "one value per object)"
        )
    if array.size and np.issubdtype(array.dtype, np.signedinteger) and int(array.min()) < 0:
        raise ValueError(f"labels '{name}' hold negative values; expected values >= 0")
    return array


def read_labels(path: str | os.PathLike[str], *, axes: str | None = None) -> Image:
    """Read a label image, keeping its integer dtype and values exactly.

    Parameters
    ----------
    path : path-like
        TIFF, OME-TIFF or PNG holding ``(Y, X)`` (or ``(Z, Y, X)``) integer labels.
    axes : str, optional
        Axes of the file when it does not say.

    Returns
    -------
    Image
        ``array`` of integer dtype, 0 = background.

    Raises
    ------
    ValueError
        Float or negative labels, or a channel axis (labels have one value per pixel).
    OSError
        Missing or unreadable file.
    """
    image = read_image(path, axes=axes)
    if "C" in image.axes:
        channel_axis = image.axes.index("C")
        if image.array.shape[channel_axis] != 1:
            raise ValueError(
                f"labels '{path}' have {image.array.shape[channel_axis]} channels (axes "
                f"'{image.axes}'); expected one value per pixel"
            )
        image = Image(
            np.squeeze(image.array, axis=channel_axis),
            image.axes.replace("C", ""),
            image.metadata,
            image.path,
        )
    check_labels(image.array, str(path))
    return image


def warn_if_binary_mask(labels: NDArray[np.integer], name: str) -> None:
    """Warn when a label image holds one value over several separate regions.

    That is a binary (semantic) mask, not instance labels: every region would count as one object.
    """
    foreground = labels != 0
    if not foreground.any() or np.any(labels[foreground] != labels.max()):
        return
    _, n_regions = ndi.label(foreground)
    if n_regions > 1:
        warnings.warn(
            f"labels '{name}' hold a single value over {n_regions} separate regions: a binary "
            "mask, not instance labels; label its connected components first",
            stacklevel=2,
        )


def check_same_shape(image: Image, labels: Image) -> None:
    """Raise ``ValueError`` when the spatial shape (Z, Y, X) of labels and image differ."""
    spatial_image = tuple(
        size for axis, size in zip(image.axes, image.array.shape, strict=True) if axis in "ZYX"
    )
    spatial_labels = tuple(
        size for axis, size in zip(labels.axes, labels.array.shape, strict=True) if axis in "ZYX"
    )
    if spatial_image != spatial_labels:
        raise ValueError(
            f"labels '{Path(str(labels.path)).name}' have shape {spatial_labels} but image "
            f"'{Path(str(image.path)).name}' has {spatial_image}"
        )
