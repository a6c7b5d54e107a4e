"""Image metadata beyond pixel values, and its OME-XML form (read and written via tifffile)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import tifffile


@dataclass(frozen=True)
class ImageMetadata:
    """What a microscope file says about its pixels beyond their values.

    Attributes
    ----------
    channel_names : tuple of str, optional
        One name per channel (``DAPI``, ``phase``...), in channel order.
    pixel_size_um : (float, float), optional
        Physical pixel size ``(y, x)`` in micrometres.
    z_step_um : float, optional
        Distance between focal planes in micrometres.
    """

    channel_names: tuple[str, ...] | None = None
    pixel_size_um: tuple[float, float] | None = None
    z_step_um: float | None = None


# OME stores sizes in micrometres unless PhysicalSize*Unit says otherwise.
_UNIT_TO_UM = {"µm": 1.0, "um": 1.0, "nm": 1e-3, "mm": 1e3, "m": 1e6, "Å": 1e-4}


def _size_um(pixels: dict[str, Any], axis: str) -> float | None:
    value = pixels.get(f"PhysicalSize{axis}")
    if value is None:
        return None
    unit = str(pixels.get(f"PhysicalSize{axis}Unit", "µm"))
    return float(value) * _UNIT_TO_UM.get(unit, 1.0)


def ome_metadata_of(ome_xml: str) -> ImageMetadata:
    """Channel names and pixel sizes of the first image in an OME-XML document."""
    document = tifffile.xml2dict(ome_xml)
    image = document.get("OME", {}).get("Image", {})
    if isinstance(image, list):
        image = image[0] if image else {}
    pixels = image.get("Pixels", {})
    channels = pixels.get("Channel", [])
    if isinstance(channels, dict):
        channels = [channels]
    names = [channel.get("Name") for channel in channels]
    channel_names = tuple(str(name) for name in names) if names and all(names) else None
    size_y, size_x = _size_um(pixels, "Y"), _size_um(pixels, "X")
    return ImageMetadata(
        channel_names=channel_names,
        pixel_size_um=(size_y, size_x) if size_y and size_x else None,
        z_step_um=_size_um(pixels, "Z"),
    )


def ome_write_metadata(
    axes: str, metadata: ImageMetadata, shape: tuple[int, ...]
) -> dict[str, Any]:
    """tifffile ``metadata=`` for an OME-TIFF with these axes, channel names and sizes."""
    result: dict[str, Any] = {"axes": axes}
    if metadata.channel_names is not None:
        n_channels = shape[axes.index("C")] if "C" in axes else 1
        if len(metadata.channel_names) != n_channels:
            raise ValueError(
                f"{len(metadata.channel_names)} channel names given for {n_channels} channels"
            )
        result["Channel"] = {"Name": list(metadata.channel_names)}
    if metadata.pixel_size_um is not None:
        result["PhysicalSizeY"], result["PhysicalSizeX"] = metadata.pixel_size_um
        result["PhysicalSizeYUnit"] = result["PhysicalSizeXUnit"] = "µm"
    if metadata.z_step_um is not None:
        result["PhysicalSizeZ"] = metadata.z_step_um
        result["PhysicalSizeZUnit"] = "µm"
    return result


_MODALITY_WORDS = {
    "brightfield": ("brightfield", "bright", "bf", "transmitted"),
    "phase": ("phase", "pc", "zernike"),
    "dic": ("dic", "nomarski"),
    "fluorescence": ("fluorescence", "fluo", "widefield"),
}


def modality_from_channel_names(names: tuple[str, ...] | None) -> str | None:
    """The modality an OME channel name announces (``"Phase contrast"`` → phase), if any."""
    for name in names or ():
        tokens = [t for t in re.split(r"[^a-z0-9]+", name.lower()) if t]
        for modality, words in _MODALITY_WORDS.items():
            if any(token in words or token.startswith(words[0]) for token in tokens):
                return modality
    return None
