"""napari reader of stainless outputs: label images (``*_labels.tif``, label OME-Zarr stores)
as Labels layers and OME-TIFF / OME-Zarr images (predicted stains) as one Image layer per
channel, each at the pixel size its metadata record."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

LayerData = tuple[Any, dict[str, Any], str]


def get_reader(path: str | list[str]) -> Callable[[str], list[LayerData]] | None:
    """The reader for one stainless output path, or None (napari then asks other readers)."""
    if not isinstance(path, str):
        return None
    name = path.rstrip("/").lower()
    if name.endswith((".zarr", ".ome.tif", ".ome.tiff")) or name.endswith("_labels.tif"):
        return read_output
    return None


def read_output(path: str) -> list[LayerData]:
    """The layers of one output; a file stainless cannot read gives napari's error message."""
    from stainless.io import read_image, read_labels

    source = Path(path)
    labels_like = "labels" in source.name.lower()
    image = read_labels(source) if labels_like else read_image(source, allow_non_finite=True)
    size = image.metadata.pixel_size_um  # (y, x) µm
    scale = {"scale": tuple(float(s) for s in size)} if size else {}
    if labels_like:
        return [(image.array, {"name": source.name, **scale}, "labels")]
    array, axes = image.array, image.axes
    if axes.endswith("YX") and len(axes) == 3:  # CYX or ZYX: one layer per plane
        names = image.metadata.channel_names or [f"{source.name} {i}" for i in range(len(array))]
        return [(plane, {"name": str(n), "blending": "additive", **scale}, "image")
                for plane, n in zip(array, names, strict=False)]  # fmt: skip
    return [(array, {"name": source.name, **scale}, "image")]
