"""zarr stores: plain arrays written by stainless, and OME-Zarr (NGFF) images, level 0."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import zarr
from numpy.typing import NDArray

from stainless.io.metadata import ImageMetadata

CHUNK_YX = 512


def _ngff_attributes(attributes: dict[str, Any]) -> dict[str, Any] | None:
    """The NGFF ``multiscales`` entry (NGFF 0.4 keeps it at the top, 0.5 under ``ome``)."""
    holder = attributes.get("ome", attributes)
    multiscales = holder.get("multiscales")
    return multiscales[0] if multiscales else None


def _ngff_channel_names(attributes: dict[str, Any]) -> tuple[str, ...] | None:
    """The channel labels of an NGFF image's ``omero`` entry, if any."""
    channels = attributes.get("ome", attributes).get("omero", {}).get("channels")
    return tuple(str(channel.get("label", "")) for channel in channels) if channels else None


def _ngff_pixel_size(multiscale: dict[str, Any], axes: str) -> tuple[float, ...] | None:
    transforms = multiscale["datasets"][0].get("coordinateTransformations", [])
    for transform in transforms:
        if transform.get("type") == "scale":
            return tuple(float(value) for value in transform["scale"][-len(axes) :])
    return None


ALL_CHUNKS_WRITTEN = "all_chunks_written"
"""Attribute of stores written by stainless: every chunk is on disk, so a missing one is damage."""


def _check_chunks(array: zarr.Array, path: Path, complete: bool) -> None:
    """Refuse (``complete``) or warn about chunks missing from ``array``'s store.

    zarr reads a missing chunk as the fill value, silently. Stores written by stainless hold
    every chunk, so a missing one is an error; other writers may legitimately skip chunks that
    equal the fill value, which is worth a warning naming the count.
    """
    missing = int(array.nchunks) - int(array.nchunks_initialized)
    if missing <= 0:
        return
    where = f"zarr array '{path}'" + (f" ({array.path})" if array.path else "")
    message = f"{where} is missing {missing} of {array.nchunks} chunks"
    if complete:
        raise ValueError(f"{message}; the store is damaged (they would read as zeros)")
    warnings.warn(f"{message}; they are read as the fill value {array.fill_value!r}", stacklevel=3)


def open_zarr_array(path: Path) -> tuple[zarr.Array, str | None, ImageMetadata]:
    """The image array of a zarr store (an OME-Zarr image's full-resolution level), its axes
    when the store records them (``None`` otherwise) and its metadata; no pixels are read, but
    missing chunks are checked (see :func:`_check_chunks`)."""
    node = zarr.open(str(path), mode="r")
    if isinstance(node, zarr.Group):
        multiscale = _ngff_attributes(dict(node.attrs))
        if multiscale is None:
            raise ValueError(f"zarr group '{path}' is not an OME-Zarr image (no 'multiscales')")
        level0 = node[multiscale["datasets"][0]["path"]]
        if not isinstance(level0, zarr.Array):
            raise ValueError(f"OME-Zarr '{path}' has no array at its first resolution level")
        _check_chunks(level0, path, complete=False)
        axes = "".join(axis["name"] for axis in multiscale.get("axes", [])).upper() or None
        scale = _ngff_pixel_size(multiscale, axes or "")
        pixel_size = (scale[axes.index("Y")], scale[axes.index("X")]) if scale and axes else None
        names = _ngff_channel_names(dict(node.attrs))
        return level0, axes, ImageMetadata(channel_names=names, pixel_size_um=pixel_size)
    attributes: dict[str, Any] = dict(node.attrs)
    _check_chunks(node, path, complete=bool(attributes.get(ALL_CHUNKS_WRITTEN)))
    names = attributes.get("channel_names")
    size = attributes.get("pixel_size_um")
    metadata = ImageMetadata(
        channel_names=tuple(names) if names else None,
        pixel_size_um=(float(size[0]), float(size[1])) if size else None,
        z_step_um=attributes.get("z_step_um"),
    )
    return node, attributes.get("axes"), metadata


def read_zarr(path: Path) -> tuple[NDArray[Any], str | None, ImageMetadata]:
    """Read a zarr array (or an OME-Zarr image's full-resolution level) into memory.

    Returns the pixels, the axes if the store records them (``None`` otherwise) and the metadata.

    Raises
    ------
    ValueError
        A store written by stainless with chunks missing (other stores get a warning).
    """
    array, axes, metadata = open_zarr_array(path)
    return np.asarray(array[...]), axes, metadata


def write_zarr(path: Path, array: NDArray[Any], axes: str, metadata: ImageMetadata) -> None:
    """Write ``array`` as a chunked zarr array recording its axes and metadata as attributes."""
    chunks = tuple(
        min(size, CHUNK_YX) if axis in "YX" else 1
        for axis, size in zip(axes, array.shape, strict=True)
    )
    attributes: dict[str, Any] = {"axes": axes, ALL_CHUNKS_WRITTEN: True}
    if metadata.channel_names is not None:
        attributes["channel_names"] = list(metadata.channel_names)
    if metadata.pixel_size_um is not None:
        attributes["pixel_size_um"] = list(metadata.pixel_size_um)
    if metadata.z_step_um is not None:
        attributes["z_step_um"] = metadata.z_step_um
    stored = zarr.create_array(
        store=str(path),
        shape=array.shape,
        dtype=array.dtype,
        chunks=chunks,
        attributes=attributes,
        config={"write_empty_chunks": True},  # every chunk on disk: a missing one is damage
    )
    stored[...] = array
