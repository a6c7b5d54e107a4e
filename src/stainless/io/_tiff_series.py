"""Which image of a TIFF file stainless reads: its one series. A file that holds several images
(a multi-page TIFF whose pages differ in size, several positions) is refused rather than read
from its first image only, silently; whole-slide formats keep their main image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

_SLIDE_FLAGS = ("is_svs", "is_ndpi", "is_scn", "is_bif", "is_qpi", "is_philips")
"""Whole-slide formats whose extra series are a label, a macro photo or a thumbnail."""


def image_series(tif: Any, path: Path) -> Any:
    """The series of ``tif`` (a ``tifffile.TiffFile``) that holds the image.

    Raises
    ------
    OSError
        The file holds no image.
    ValueError
        It holds several images (series), naming their shapes.
    """
    series = tif.series
    if not series:
        raise OSError(f"cannot read '{path}': corrupt or truncated TIFF file (no image)")
    if len(series) > 1 and not any(getattr(tif, flag, False) for flag in _SLIDE_FLAGS):
        shapes = ", ".join("×".join(str(n) for n in s.shape) for s in series[:4])
        more = ", …" if len(series) > 4 else ""
        raise ValueError(
            f"'{path}' holds {len(series)} images of different shapes or positions ({shapes}"
            f"{more}); stainless reads one image per file: save each as its own file"
        )
    return series[0]
