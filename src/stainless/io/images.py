"""Reading and writing microscopy images: TIFF, OME-TIFF, PNG and zarr, with explicit axes.

Every image carries an axes string over the letters ``T C Z Y X`` (plus ``S`` — samples — only
inside tifffile, which we map to ``C``). Pixel values are returned exactly as stored: label images
keep their integer dtype and values.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import imagecodecs
import numpy as np
import tifffile
from numpy.typing import NDArray

from stainless.io._tiff_series import image_series
from stainless.io._zarr import read_zarr, write_zarr
from stainless.io.atomic import write_atomically
from stainless.io.metadata import ImageMetadata, ome_metadata_of, ome_write_metadata
from stainless.io.values import check_pixel_values

VALID_AXES = frozenset("TCZYX")
TIFF_SUFFIXES = (".tif", ".tiff")
PNG_SUFFIXES = (".png",)
ZARR_SUFFIXES = (".ome.zarr", ".zarr")
SUPPORTED_SUFFIXES = (".ome.tif", ".ome.tiff", *TIFF_SUFFIXES, *PNG_SUFFIXES, *ZARR_SUFFIXES)
_TIFFFILE_AXES = {"T": "T", "C": "C", "Z": "Z", "Y": "Y", "X": "X", "S": "C"}
_WRITABLE_DTYPES = (
    np.uint8,
    np.uint16,
    np.uint32,
    np.int32,
    np.float32,
    np.float64,
    np.int16,
    np.bool_,
)

ChannelSelector = int | str | Sequence[int | str] | None


@dataclass(frozen=True)
class Image:
    """A pixel array with its axes and metadata.

    Attributes
    ----------
    array : ndarray
        Pixel values as stored, dims ordered as ``axes``.
    axes : str
        One letter per dimension from ``TCZYX``, e.g. ``"YX"``, ``"CYX"``, ``"ZCYX"``.
    metadata : ImageMetadata
    path : Path, optional
        The file it was read from.
    """

    array: NDArray[Any]
    axes: str
    metadata: ImageMetadata = field(default_factory=ImageMetadata)
    path: Path | None = None


def check_axes(axes: str, ndim: int, name: str = "image") -> str:
    """Validate an axes string against an array's dimensionality; return it upper-cased.

    Raises
    ------
    ValueError
        If a letter is not one of ``TCZYX``, repeats, ``Y``/``X`` are missing, or the length
        differs from ``ndim``.
    """
    axes = axes.upper()
    unknown = sorted(set(axes) - VALID_AXES)
    if unknown:
        raise ValueError(f"{name}: axes '{axes}' has letters {unknown}; use only T, C, Z, Y, X")
    if len(set(axes)) != len(axes):
        raise ValueError(f"{name}: axes '{axes}' repeats a letter")
    if "Y" not in axes or "X" not in axes:
        raise ValueError(f"{name}: axes '{axes}' must contain Y and X")
    if len(axes) != ndim:
        raise ValueError(f"{name} has {ndim} dimensions but axes '{axes}' names {len(axes)}")
    return axes


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in SUPPORTED_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    raise ValueError(
        f"'{path}' has an unsupported extension; expected one of {', '.join(SUPPORTED_SUFFIXES)}"
    )


def _guess_axes(file_axes: str, shape: tuple[int, ...], path: Path) -> str:
    mapped = "".join(_TIFFFILE_AXES.get(letter, "?") for letter in file_axes)
    if "?" not in mapped and len(set(mapped)) == len(mapped):
        return mapped
    if len(shape) == 2:
        return "YX"
    if len(shape) == 3 and mapped[1:] == "YX":
        guess = "C" if shape[0] <= 4 else "Z"
        warnings.warn(
            f"'{path}' does not say what its first axis is; read as '{guess}YX' "
            f"(pass axes= to choose)",
            stacklevel=3,
        )
        return guess + "YX"
    raise ValueError(
        f"'{path}' has axes '{file_axes}' (shape {shape}) that stainless cannot interpret; "
        "pass axes= explicitly, e.g. axes='ZCYX'"
    )


@contextmanager
def quiet_tifffile() -> Iterator[None]:
    """tifffile logs what it finds wrong with a broken file; stainless raises one error naming
    the file instead, so the log line would be a second, rawer message."""
    logger = logging.getLogger("tifffile")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _read_tiff(path: Path) -> tuple[NDArray[Any], str, ImageMetadata]:
    """Pixels, tifffile's axes letters and OME metadata of a TIFF's image series."""
    with quiet_tifffile(), tifffile.TiffFile(path) as tif:
        series = image_series(tif, path)
        ome_xml = tif.ome_metadata if tif.is_ome else None
        metadata = ome_metadata_of(ome_xml) if ome_xml else ImageMetadata()
        return series.asarray(), series.axes, metadata


def _read_png(path: Path) -> tuple[NDArray[Any], str, ImageMetadata]:
    array = imagecodecs.png_decode(path.read_bytes())
    return array, "YX" if array.ndim == 2 else "YXS", ImageMetadata()


def _select_channels(image: Image, channel: ChannelSelector) -> Image:
    if channel is None:
        return image
    if "C" not in image.axes:
        if channel in (0, -1):  # the one channel of a single-channel image
            return image
        raise ValueError(
            f"'{image.path}' has one channel (axes '{image.axes}'); channel {channel!r} "
            "does not exist"
        )
    c_axis = image.axes.index("C")
    n_channels = image.array.shape[c_axis]
    names = image.metadata.channel_names
    single = isinstance(channel, int | str)
    wanted: list[int | str] = [channel] if isinstance(channel, int | str) else list(channel)
    indices: list[int] = []
    for item in wanted:
        if isinstance(item, str):
            if not names or item not in names:
                raise ValueError(f"'{image.path}' has no channel named '{item}'; channels: {names}")
            indices.append(names.index(item))
        elif -n_channels <= item < n_channels:
            indices.append(item % n_channels)
        else:
            raise ValueError(
                f"'{image.path}' has {n_channels} channels; channel {item} does not exist"
            )
    array = np.take(image.array, indices, axis=c_axis)
    kept_names = tuple(names[i] for i in indices) if names else None
    axes = image.axes
    if single:
        array = np.squeeze(array, axis=c_axis)
        axes = axes.replace("C", "")
        kept_names = None
    metadata = ImageMetadata(kept_names, image.metadata.pixel_size_um, image.metadata.z_step_um)
    return Image(array, axes, metadata, image.path)


def is_image_path(path: Path) -> bool:
    """True for an image file with a supported extension, or a zarr store (a folder whose name
    ends with ``.zarr`` or that holds ``.zarray``, ``.zgroup`` or ``zarr.json``)."""
    if path.is_dir():
        markers = (".zarray", ".zgroup", "zarr.json")
        return path.name.lower().endswith(ZARR_SUFFIXES) or any(
            (path / marker).is_file() for marker in markers
        )
    return path.is_file() and path.name.lower().endswith(SUPPORTED_SUFFIXES)


def read_image(
    path: str | os.PathLike[str],
    *,
    axes: str | None = None,
    channel: ChannelSelector = None,
    allow_non_finite: bool = False,
) -> Image:
    """Read a TIFF, OME-TIFF or PNG file.

    Parameters
    ----------
    path : path-like
        ``.tif``/``.tiff`` (OME-TIFF when it carries OME-XML), ``.png`` (8- or 16-bit), or a
        ``.zarr`` folder (written by stainless, or an OME-Zarr image: full resolution is read).
    axes : str, optional
        The file's axes, e.g. ``"ZCYX"``; overrides what the file says. Without it, the axes come
        from OME/ImageJ/tifffile metadata, ``YX`` for 2-D, ``YXC`` for RGB(A) PNG.
    channel : int, str or sequence of them, optional
        Keep only these channels, by index or by OME channel name. A single int or str drops the
        channel axis. Channel 0 (or -1) of a single-channel image is the image itself.
    allow_non_finite : bool
        Return NaN / ±Inf pixels as stored instead of refusing them.

    Returns
    -------
    Image
        ``array`` holds the stored values in the stored dtype.

    Raises
    ------
    OSError
        Missing, unreadable, corrupt or truncated file.
    ValueError
        Unsupported extension, axes that do not fit the data, complex pixels, or NaN / ±Inf
        pixels (unless ``allow_non_finite``; the message gives their count).
    """
    file_path = Path(path)
    image = _read_any(file_path, axes)
    if not allow_non_finite:
        check_pixel_values(image.array, file_path)
    return _select_channels(image, channel)


def _read_any(file_path: Path, axes: str | None) -> Image:
    if file_path.is_dir() and is_image_path(file_path):
        return _read_zarr_image(file_path, axes)
    suffix = _suffix(file_path)
    if suffix in ZARR_SUFFIXES:
        return _read_zarr_image(file_path, axes)
    if not file_path.is_file():
        raise OSError(f"'{file_path}' does not exist or is not a file")
    reader = _read_png if suffix in PNG_SUFFIXES else _read_tiff
    try:
        array, stored_axes, metadata = reader(file_path)
    except Exception as error:  # tifffile and imagecodecs raise many unrelated types
        raise OSError(
            f"cannot read '{file_path}': corrupt or truncated {suffix} file ({error})"
        ) from error
    chosen = axes or _guess_axes(stored_axes, array.shape, file_path)
    image_axes = check_axes(chosen, array.ndim, f"'{file_path}'")
    return Image(array, image_axes, metadata, file_path)


def _read_zarr_image(path: Path, axes: str | None) -> Image:
    if not path.is_dir():
        raise OSError(f"'{path}' does not exist or is not a zarr folder")
    try:
        array, stored_axes, metadata = read_zarr(path)
    except ValueError:
        raise
    except Exception as error:  # zarr raises many unrelated types for broken stores
        raise OSError(f"cannot read '{path}': not a readable zarr store ({error})") from error
    chosen = axes or stored_axes
    if chosen is None:
        raise ValueError(f"'{path}' does not record its axes; pass axes=, e.g. axes='CYX'")
    return Image(array, check_axes(chosen, array.ndim, f"'{path}'"), metadata, path)


def _check_writable(array: NDArray[Any], axes: str, path: Path) -> None:
    check_axes(axes, array.ndim, f"array for '{path}'")
    if not any(array.dtype == dtype for dtype in _WRITABLE_DTYPES):
        raise ValueError(f"cannot write dtype {array.dtype} to '{path}'")


def _png_array(array: NDArray[Any], axes: str, path: Path) -> NDArray[Any]:
    if array.dtype not in (np.uint8, np.uint16, np.bool_):
        raise ValueError(
            f"PNG '{path}' can hold uint8 or uint16 pixels, not {array.dtype}; write a .tif instead"
        )
    if array.dtype == np.bool_:
        array = array.astype(np.uint8)
    if axes == "YX":
        return array
    if axes in ("CYX", "YXC"):
        channels = array if axes == "YXC" else np.moveaxis(array, 0, -1)
        if channels.shape[-1] in (1, 3, 4):
            return np.ascontiguousarray(channels)
    raise ValueError(
        f"PNG '{path}' holds YX or 1/3/4-channel images, not axes '{axes}' of shape {array.shape}"
    )


def write_image(
    path: str | os.PathLike[str],
    array: NDArray[Any],
    *,
    axes: str,
    metadata: ImageMetadata | None = None,
    overwrite: bool = False,
    compression: Literal["zlib", "zstd", "none"] = "zlib",
) -> Path:
    """Write an image atomically (temporary file, then rename) as TIFF, OME-TIFF, PNG or zarr.

    Parameters
    ----------
    path : path-like
        ``.ome.tif`` writes OME-TIFF (axes, channel names, pixel size kept); ``.tif`` a TIFF whose
        axes tifffile reads back; ``.png`` an 8- or 16-bit PNG (``YX``, or ``YXC``/``CYX`` with
        1, 3 or 4 channels); ``.zarr`` a chunked zarr array with axes and metadata as attributes.
    array : ndarray
        Pixels, dims ordered as ``axes``; written in their own dtype.
    axes : str
        E.g. ``"YX"``, ``"CYX"``, ``"TCZYX"``.
    metadata : ImageMetadata, optional
        Channel names and physical sizes (kept by OME-TIFF only).
    overwrite : bool
        Replace an existing file; otherwise ``FileExistsError``.
    compression : {"zlib", "zstd", "none"}
        Lossless TIFF compression (via imagecodecs).

    Returns
    -------
    Path
        The written file.
    """
    file_path = Path(path)
    suffix = _suffix(file_path)
    array = np.asarray(array)
    axes = axes.upper()
    _check_writable(array, axes, file_path)
    if file_path.exists() and not overwrite:
        raise FileExistsError(
            f"'{file_path}' exists; pass overwrite=True (--overwrite) to replace it"
        )
    if not file_path.parent.is_dir():
        raise OSError(f"cannot write '{file_path}': folder '{file_path.parent}' does not exist")
    metadata = metadata or ImageMetadata()
    if suffix in ZARR_SUFFIXES:
        return write_atomically(
            file_path, lambda temporary: write_zarr(temporary, array, axes, metadata)
        )

    def write_file(temporary: Path) -> None:
        if suffix in PNG_SUFFIXES:
            temporary.write_bytes(imagecodecs.png_encode(_png_array(array, axes, file_path)))
            return
        options: dict[str, Any] = {"compression": None if compression == "none" else compression}
        if axes.endswith("YX") and array.ndim > 2:  # planes, not an RGB picture
            options["photometric"] = "minisblack"
        if suffix.startswith(".ome"):
            ome = ome_write_metadata(axes, metadata, array.shape)
            tifffile.imwrite(temporary, array, ome=True, metadata=ome, **options)
        else:
            tifffile.imwrite(temporary, array, metadata={"axes": axes}, **options)

    return write_atomically(file_path, write_file)


def project_z(image: Image, method: Literal["max", "mean", "min", "sum"] = "max") -> Image:
    """Project a z-stack along Z (maximum-intensity projection by default).

    Parameters
    ----------
    image : Image
        With a ``Z`` axis, e.g. axes ``ZYX`` or ``ZCYX``.
    method : {"max", "mean", "min", "sum"}

    Returns
    -------
    Image
        Without the ``Z`` axis; "max"/"min" keep the dtype, "mean" gives float32, "sum" float64.
    """
    if "Z" not in image.axes:
        name = f"'{image.path}'" if image.path else "image"
        raise ValueError(f"{name} has no Z axis (axes '{image.axes}')")
    z_axis = image.axes.index("Z")
    if method == "max":
        projected = image.array.max(axis=z_axis)
    elif method == "min":
        projected = image.array.min(axis=z_axis)
    elif method == "mean":
        projected = image.array.mean(axis=z_axis, dtype=np.float64).astype(np.float32)
    elif method == "sum":
        projected = image.array.sum(axis=z_axis, dtype=np.float64)
    else:
        raise ValueError(f"unknown projection '{method}'; expected max, mean, min or sum")
    metadata = ImageMetadata(image.metadata.channel_names, image.metadata.pixel_size_um, None)
    return Image(projected, image.axes.replace("Z", ""), metadata, image.path)
