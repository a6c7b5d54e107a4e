"""OME-Zarr (OME-NGFF 0.5, zarr v3) images written region by region, with a multiscale pyramid.

The store is built under ``<name>.partial`` and renamed into place only when every level and the
metadata are written, so a half-written store (an interrupted run) is never taken for a finished
one. Level 0 is written by many processes at once (one disjoint, chunk-aligned region each);
each further level halves Y and X (mean of 2 × 2 pixels for intensities, the top-left pixel for
labels, so ids stay ids). The NGFF metadata are written with the ``ome-zarr`` package.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import zarr
from numpy.typing import NDArray

SMALLEST_LEVEL = 512
"""Pyramid levels are added until the largest side is at most this."""


def partial_path(path: Path) -> Path:
    """Where the store ``path`` is built before it is renamed into place."""
    return path.with_name(path.name + ".partial")


def chunk_side(block: int) -> int:
    """Y/X chunk side of stores written by blocks of ``block`` px: a divisor of it, so that no
    two blocks write one chunk."""
    for side in (1024, 512, 256, 128, 64):
        if block % side == 0:
            return side
    return block


def level_shapes(shape_yx: tuple[int, int]) -> list[tuple[int, int]]:
    """(Y, X) of each pyramid level: halved (rounded up) until the largest side ≤ 512."""
    shapes = [shape_yx]
    while max(shapes[-1]) > SMALLEST_LEVEL:
        height, width = shapes[-1]
        shapes.append(((height + 1) // 2, (width + 1) // 2))
    return shapes


@dataclass(frozen=True)
class OmeZarrLayout:
    """What a store holds: ``channels`` (None for a label image ``(Y, X)``, else the channel
    names of a ``(C, Y, X)`` image), plane size, dtype, chunk side and pixel size (µm)."""

    path: Path
    shape_yx: tuple[int, int]
    dtype: str
    chunk: int
    channels: tuple[str, ...] | None = None
    pixel_size_um: tuple[float, float] | None = None

    @property
    def is_labels(self) -> bool:
        """A label image (one plane of ids)."""
        return self.channels is None

    def level_shape(self, level: int) -> tuple[int, ...]:
        """The array shape of pyramid ``level``."""
        yx = level_shapes(self.shape_yx)[level]
        return yx if self.channels is None else (len(self.channels), *yx)

    @property
    def n_levels(self) -> int:
        """How many pyramid levels the store has."""
        return len(level_shapes(self.shape_yx))


def start_store(path: Path, overwrite: bool = False) -> zarr.Group:
    """Refuse an existing output, clear a ``.partial`` store left by an interrupted run, and
    create an empty zarr v3 group under the ``.partial`` name.

    Raises
    ------
    FileExistsError
        The finished store exists and ``overwrite`` is not set.
    """
    if path.exists() and not overwrite:
        raise FileExistsError(f"output '{path}' exists; pass --overwrite to replace it")
    building = partial_path(path)
    if building.exists():  # left by an interrupted run: never trusted, rebuilt
        shutil.rmtree(building)
    return zarr.open_group(str(building), mode="w", zarr_format=3)


def add_levels(layout: OmeZarrLayout) -> None:
    """Create the empty pyramid arrays of ``layout`` in its store being built."""
    group = zarr.open_group(str(partial_path(layout.path)), mode="r+")
    for level in range(layout.n_levels):
        shape = layout.level_shape(level)
        chunks = tuple(min(size, layout.chunk) for size in shape[-2:])
        group.create_array(
            str(level),
            shape=shape,
            dtype=layout.dtype,
            chunks=chunks if layout.is_labels else (1, *chunks),
            fill_value=0,
            config={"write_empty_chunks": True},  # every chunk on disk: a missing one is damage
        )


def write_region(layout: OmeZarrLayout, level: int, y0: int, x0: int, pixels: NDArray[Any]) -> None:
    """Write ``pixels`` ``(Y', X')`` or ``(C, Y', X')`` at ``(y0, x0)`` of ``level``."""
    array = zarr.open_array(str(partial_path(layout.path) / str(level)), mode="r+")
    height, width = pixels.shape[-2:]
    array[..., y0 : y0 + height, x0 : x0 + width] = pixels.astype(layout.dtype, copy=False)


def read_region(
    layout: OmeZarrLayout, level: int, y0: int, y1: int, x0: int, x1: int
) -> NDArray[Any]:
    """Read ``[y0, y1) × [x0, x1)`` of ``level`` of the store being built."""
    array = zarr.open_array(str(partial_path(layout.path) / str(level)), mode="r")
    return np.asarray(array[..., y0:y1, x0:x1])


def downsample_region(layout: OmeZarrLayout, level: int, y0: int, x0: int, side: int) -> None:
    """Fill ``[y0, y0+side) × [x0, x0+side)`` of ``level`` (≥ 1) from twice that region of the
    level below: the top-left pixel of each 2 × 2 for labels, their mean for intensities."""
    height, width = layout.level_shape(level)[-2:]
    y1, x1 = min(y0 + side, height), min(x0 + side, width)
    below = read_region(layout, level - 1, 2 * y0, 2 * y1, 2 * x0, 2 * x1)
    if layout.is_labels:
        reduced = below[..., ::2, ::2]
    else:
        padded = np.pad(
            below.astype(np.float32),
            [(0, 0)] * (below.ndim - 2) + [(0, below.shape[-2] % 2), (0, below.shape[-1] % 2)],
            mode="edge",
        )
        reduced = 0.25 * (
            padded[..., ::2, ::2]
            + padded[..., 1::2, ::2]
            + padded[..., ::2, 1::2]
            + padded[..., 1::2, 1::2]
        )
        if np.issubdtype(np.dtype(layout.dtype), np.integer):
            reduced = np.rint(reduced)
    write_region(layout, level, y0, x0, reduced)


def pyramid_regions(layout: OmeZarrLayout, level: int, block: int) -> list[tuple[int, int, int]]:
    """``(y0, x0, side)`` chunk-aligned regions covering ``level`` (≥ 1), one task each."""
    height, width = layout.level_shape(level)[-2:]
    side = max(layout.chunk, (block >> level) // layout.chunk * layout.chunk)
    return [(y, x, side) for y in range(0, height, side) for x in range(0, width, side)]


def _axes(layout: OmeZarrLayout) -> list[dict[str, str]]:
    unit = {"unit": "micrometer"} if layout.pixel_size_um is not None else {}
    space = [{"name": name, "type": "space", **unit} for name in ("y", "x")]
    return space if layout.is_labels else [{"name": "c", "type": "channel"}, *space]


def finish_store(
    layout: OmeZarrLayout,
    name: str,
    overwrite: bool = False,
    attributes: dict[str, Any] | None = None,
) -> None:
    """Write the NGFF 0.5 metadata (axes, pixel size per level, channel names; ``image-label``
    for labels) and ``attributes`` (under ``stainless``: the run's metadata and summary), then
    rename the finished store into place."""
    from ome_zarr.format import FormatV05
    from ome_zarr.writer import write_multiscales_metadata

    building = partial_path(layout.path)
    group = zarr.open_group(str(building), mode="r+")
    pixel = layout.pixel_size_um or (1.0, 1.0)
    datasets = []
    for level in range(layout.n_levels):
        factor = 2.0**level
        scale = [pixel[0] * factor, pixel[1] * factor]
        datasets.append(
            {
                "path": str(level),
                "coordinateTransformations": [
                    {"type": "scale", "scale": scale if layout.is_labels else [1.0, *scale]}
                ],
            }
        )
    write_multiscales_metadata(group, datasets, fmt=FormatV05(), axes=_axes(layout), name=name)
    ome: dict[str, Any] = dict(group.attrs["ome"])  # type: ignore[arg-type]
    if layout.channels is not None:
        ome["omero"] = {"channels": [{"label": label, "active": True} for label in layout.channels]}
    else:
        ome["image-label"] = {"version": "0.5"}
    group.attrs["ome"] = ome
    if attributes is not None:
        group.attrs["stainless"] = attributes
    if layout.path.exists() and overwrite:
        shutil.rmtree(layout.path)
    building.rename(layout.path)
