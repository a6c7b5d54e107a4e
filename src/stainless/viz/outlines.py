"""Label outlines drawn over a grey image, as an RGB array ready to save as PNG."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def label_borders(labels: NDArray[np.integer]) -> NDArray[np.bool_]:
    """``(Y, X)`` bool: object pixels with a 4-neighbour of another value (inner borders)."""
    border = np.zeros(labels.shape, dtype=bool)
    differs_y = labels[1:, :] != labels[:-1, :]
    differs_x = labels[:, 1:] != labels[:, :-1]
    border[1:, :] |= differs_y
    border[:-1, :] |= differs_y
    border[:, 1:] |= differs_x
    border[:, :-1] |= differs_x
    return border & (labels > 0)


def grey_to_rgb(image: NDArray[np.generic]) -> NDArray[np.uint8]:
    """``(Y, X)`` image → ``(Y, X, 3)`` uint8, scaled between its 1st and 99.8th percentiles."""
    values = np.asarray(image, dtype=np.float32)
    low, high = np.percentile(values, [1.0, 99.8])
    scaled = np.clip((values - low) / max(float(high - low), 1e-6), 0, 1)
    return np.repeat((scaled * 255).astype(np.uint8)[..., None], 3, axis=2)


def draw_outlines(
    rgb: NDArray[np.uint8], labels: NDArray[np.integer], colour: tuple[int, int, int]
) -> NDArray[np.uint8]:
    """A copy of ``rgb`` ``(Y, X, 3)`` with the borders of ``labels`` ``(Y, X)`` in ``colour``."""
    out = rgb.copy()
    out[label_borders(labels)] = colour
    return out
