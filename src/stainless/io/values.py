"""The one policy on pixel values every reader applies: real and finite, or refused (issue 12)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray


def check_pixel_values(array: NDArray[Any], path: Path) -> None:
    """``ValueError`` naming ``path`` when its pixels are complex or not all finite.

    stainless refuses NaN and ±Inf pixels instead of guessing what they stand for: one NaN makes
    the percentile normalisation NaN and the whole prediction silently empty (issue 12). Integer
    images are always finite and are not scanned.
    """
    if np.iscomplexobj(array):
        raise ValueError(
            f"'{path}' holds complex-valued pixels ({array.dtype}); expected real values"
        )
    if not np.issubdtype(array.dtype, np.floating):
        return
    finite = np.isfinite(array)
    bad = int(finite.size - np.count_nonzero(finite))
    if bad:
        raise ValueError(
            f"'{path}' holds {bad} non-finite pixel(s) (NaN or ±Inf) of {array.size}; "
            "replace them (e.g. by the background value) before using the image"
        )
