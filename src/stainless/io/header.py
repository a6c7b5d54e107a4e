"""An image file's shape, dtype and axes without reading its pixels: the check every batch
command runs on all of its inputs before it writes anything (issue 12)."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from stainless.io._tiff_series import image_series
from stainless.io._zarr import open_zarr_array
from stainless.io.images import (
    PNG_SUFFIXES,
    _guess_axes,
    _suffix,
    check_axes,
    is_image_path,
    quiet_tifffile,
)
from stainless.io.metadata import ome_metadata_of

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_SAMPLES = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}
"""Samples per pixel of each PNG colour type (grey, RGB, palette → RGB, grey + alpha, RGBA)."""


@dataclass(frozen=True)
class ImageHeader:
    """What a file says about its pixels.

    Attributes
    ----------
    path : Path
    shape : tuple of int
    dtype : numpy.dtype
    axes : str
        Letters from ``TCZYX``, as :func:`stainless.io.read_image` would return them.
    """

    path: Path
    shape: tuple[int, ...]
    dtype: np.dtype
    axes: str

    @property
    def yx_shape(self) -> tuple[int, int]:
        """The plane size (Y, X)."""
        return self.shape[self.axes.index("Y")], self.shape[self.axes.index("X")]

    @property
    def planes(self) -> int:
        """How many input planes :func:`stainless.io.read_input_planes` makes of the file
        (``YX``: 1; ``CYX``/``ZYX``/``YXC``: the size of the first or last axis)."""
        if self.axes == "YX":
            return 1
        if self.axes in ("CYX", "ZYX"):
            return self.shape[0]
        if self.axes == "YXC":
            return self.shape[-1]
        raise ValueError(
            f"input '{self.path}' has axes '{self.axes}'; expected YX, CYX or ZYX planes"
        )

    @property
    def plane_kind(self) -> str:
        """``z-planes`` for a z-stack, ``channels`` otherwise (for messages)."""
        return "z-planes" if self.axes.startswith("Z") else "channels"


def _png_header(path: Path) -> tuple[tuple[int, ...], np.dtype, str]:
    with path.open("rb") as handle:
        start = handle.read(33)
    if len(start) < 33 or not start.startswith(_PNG_SIGNATURE) or start[12:16] != b"IHDR":
        raise OSError(f"cannot read '{path}': not a PNG file (no PNG signature and header)")
    width, height, bit_depth, colour_type = struct.unpack(">IIBB", start[16:26])
    if colour_type not in _PNG_SAMPLES or width == 0 or height == 0:
        raise OSError(f"cannot read '{path}': corrupt PNG header")
    dtype = np.dtype(np.uint16 if bit_depth == 16 else np.uint8)
    samples = _PNG_SAMPLES[colour_type]
    if samples == 1:
        return (height, width), dtype, "YX"
    return (height, width, samples), dtype, "YXC"


def _tiff_header(path: Path) -> tuple[tuple[int, ...], np.dtype, str]:
    try:
        with quiet_tifffile(), tifffile.TiffFile(path) as tif:
            series = image_series(tif, path)
            shape, dtype, file_axes = tuple(series.shape), np.dtype(series.dtype), series.axes
    except (OSError, ValueError):
        raise
    except Exception as error:  # tifffile raises many unrelated types for broken files
        raise OSError(f"cannot read '{path}': corrupt or truncated TIFF file ({error})") from error
    return shape, dtype, _guess_axes(file_axes, shape, path)


def read_header(path: str | os.PathLike[str]) -> ImageHeader:
    """The shape, dtype and axes of an image file or zarr store, reading no pixel data.

    Raises
    ------
    OSError
        Missing, unreadable or corrupt file (the header is checked, not every pixel).
    ValueError
        Unsupported extension; a zarr store written by stainless with chunks missing.
    """
    file_path = Path(path)
    if file_path.is_dir() and is_image_path(file_path):
        try:
            array, axes, _ = open_zarr_array(file_path)
        except ValueError:
            raise
        except Exception as error:  # zarr raises many unrelated types for broken stores
            raise OSError(
                f"cannot read '{file_path}': not a readable zarr store ({error})"
            ) from error
        if axes is None:
            raise ValueError(f"'{file_path}' does not record its axes")
        shape = tuple(int(size) for size in array.shape)
        return ImageHeader(
            file_path, shape, np.dtype(str(array.dtype)), check_axes(axes, len(shape))
        )
    suffix = _suffix(file_path)
    if not file_path.is_file():
        raise OSError(f"'{file_path}' does not exist or is not a file")
    reader = _png_header if suffix in PNG_SUFFIXES else _tiff_header
    shape, dtype, axes = reader(file_path)
    return ImageHeader(file_path, shape, dtype, check_axes(axes, len(shape), f"'{file_path}'"))


def read_pixel_size(path: str | os.PathLike[str]) -> float | None:
    """An image's pixel size in µm (the mean of Y and X) from its metadata — OME-TIFF XML or
    zarr attributes — reading no pixels; None when it records none (PNG, plain TIFF)."""
    file_path = Path(path)
    if file_path.is_dir() and is_image_path(file_path):
        size = open_zarr_array(file_path)[2].pixel_size_um
    elif _suffix(file_path) in PNG_SUFFIXES:
        return None
    else:
        with quiet_tifffile(), tifffile.TiffFile(file_path) as tif:
            xml = tif.ome_metadata if tif.is_ome else None
        size = ome_metadata_of(xml).pixel_size_um if xml else None
    return None if size is None else float(sum(size) / 2)
