"""Input planes of a sample: stacked from one or several files, and cut to a region."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from stainless.io.images import read_image
from stainless.io.metadata import ImageMetadata


def read_input_planes(files: Sequence[Path]) -> tuple[NDArray[np.generic], ImageMetadata]:
    """Stack the planes of ``files`` into ``(C, Y, X)``.

    A YX file gives one plane, a CYX / ZYX / YXC file all of its planes (a ZCYX file is refused:
    say which planes to use). Also returns the first file's metadata (pixel size, channel names),
    to be carried over to predictions.

    Raises
    ------
    ValueError
        A file with other axes, or planes of different sizes (the files are named).
    """
    planes = []
    metadata = None
    for file in files:
        image = read_image(file)
        metadata = metadata or image.metadata
        if image.axes == "YX":
            planes.append(image.array[None])
        elif image.axes in ("CYX", "ZYX"):
            planes.append(image.array)
        elif image.axes == "YXC":
            planes.append(np.moveaxis(image.array, -1, 0))
        else:
            raise ValueError(
                f"input '{file}' has axes '{image.axes}'; expected YX, CYX or ZYX planes"
            )
    shapes = {plane.shape[1:] for plane in planes}
    if len(shapes) > 1:
        raise ValueError(f"input planes {[f.name for f in files]} differ in size: {sorted(shapes)}")
    return np.concatenate(planes, axis=0), metadata or ImageMetadata()


MIN_TRAINING_SIDE = 16
"""The smallest image side a training sample may have (the smallest tile and crop)."""


def check_training_size(planes: NDArray[np.generic], files: Sequence[Path], name: str) -> None:
    """``ValueError`` when a training sample's image (after its region) is smaller than
    :data:`MIN_TRAINING_SIDE` on a side: such an image teaches nothing and breaks cropping."""
    height, width = planes.shape[-2:]
    if min(height, width) < MIN_TRAINING_SIDE:
        raise ValueError(
            f"sample '{name}': image '{files[0]}' is {height}x{width} pixels; a training image "
            f"needs at least {MIN_TRAINING_SIDE}x{MIN_TRAINING_SIDE}"
        )


def crop_region(
    array: NDArray[np.generic], region: tuple[int, int, int, int] | None, name: str
) -> NDArray[np.generic]:
    """``array[..., y0:y1, x0:x1]`` of a sample's ``region`` (the whole array when None).

    Raises ``ValueError`` naming the sample when the region exceeds the image.
    """
    if region is None:
        return array
    y0, x0, y1, x1 = region
    if y1 > array.shape[-2] or x1 > array.shape[-1]:
        raise ValueError(
            f"sample '{name}': region {region} exceeds the image size {array.shape[-2:]}"
        )
    return array[..., y0:y1, x0:x1]
