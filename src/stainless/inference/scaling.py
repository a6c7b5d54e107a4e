"""Bringing an image to the pixel size a model was trained at."""

from __future__ import annotations

import numpy as np

MIN_RESCALING, MAX_RESCALING = 0.05, 8.0
"""Resampling factors outside this range are refused as a likely unit mistake (nm for µm)."""


def rescaling(image_pixel_um: float | None, model_pixel_um: float | None) -> float:
    """The magnification that brings an image's pixels to the model's: ``image / model`` (an
    image with 0.5 µm pixels for a model trained at 1 µm is shrunk by 2); 1 when either is
    unknown.

    Raises
    ------
    ValueError
        A pixel size that is not a finite number > 0, or a factor outside
        [:data:`MIN_RESCALING`, :data:`MAX_RESCALING`].
    """
    if image_pixel_um is None or model_pixel_um is None:
        return 1.0
    if not (np.isfinite(image_pixel_um) and image_pixel_um > 0):
        raise ValueError(f"pixel size must be a number > 0 (µm), got {image_pixel_um}")
    factor = image_pixel_um / model_pixel_um
    if not MIN_RESCALING <= factor <= MAX_RESCALING:
        raise ValueError(
            f"pixel size {image_pixel_um} µm is {factor:.3g}× the model's {model_pixel_um} µm; "
            f"outside {MIN_RESCALING}-{MAX_RESCALING}×, is the unit µm?"
        )
    return float(factor)
