"""Reading and checking label images (instance or class labels)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

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


def warn_if_objects_in_pieces(labels: NDArray[np.integer], name: str) -> None:
    """Warn when an id of ``labels`` covers several separate regions, saying what it looks like.

    One value over every region is a binary (semantic) mask, not instance labels; ids in pieces
    among other ids are objects split by their decoder or their annotator. Either way each id
    counts as one object when matched. Regions touch along an edge or a corner.

    Parameters
    ----------
    labels : (..., Y, X) integer ndarray
        0 = background.
    name : str
        The file, for the message.
    """
    from skimage.measure import label

    pieces = label(labels, background=0, connectivity=labels.ndim)
    piece_ids, first = np.unique(np.ravel(pieces), return_index=True)
    owners = np.ravel(labels)[first[piece_ids != 0]]
    ids, counts = np.unique(owners, return_counts=True)
    if ids.size == 0 or counts.max() == 1:
        return
    if ids.size == 1:
        message = (
            f"labels '{name}' hold a single value over {counts[0]} separate regions: a binary "
            "mask (or one object in pieces), not instance labels; label its connected "
            "components first ('stainless labels')"
        )
    else:
        worst = int(np.argmax(counts))
        message = (
            f"labels '{name}': {int(np.count_nonzero(counts > 1))} of {ids.size} objects are "
            f"in several separate pieces (id {ids[worst]}: {counts[worst]} pieces); each counts "
            "as one object when matched"
        )
    warnings.warn(message, stacklevel=2)


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
