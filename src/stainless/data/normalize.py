"""Intensity normalisation of inputs and targets, and its inverse.

Inputs: each image (each plane) is scaled by its own percentiles, ``(x − p_low) / (p_high −
p_low)`` (default 1–99.8, as CARE and Cellpose do), so that acquisition gain does not matter.

Targets are scaled to [−1, 1] (the range of a tanh output) either by their own percentiles
(``percentile``) or by the fixed uint16 map ``x / 65535 · 2 − 1`` of [LightMyCells2024]
(``uint16``). Predictions are mapped back with :func:`unscale_target`, using statistics saved with
the model (for ``percentile``: the mean training percentiles, since an unstained image has none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

UINT16_MAX = 65535.0


def percentile_range(image: NDArray[np.generic], low: float, high: float) -> tuple[float, float]:
    """``(p_low, p_high)`` of ``image``; ``high`` is nudged above ``low`` for a flat image."""
    lo, hi = np.percentile(np.asarray(image, dtype=np.float64), [low, high])
    if hi <= lo:
        hi = lo + max(1.0, abs(lo) * 1e-6)  # 1.0 alone vanishes next to a huge lo
    return float(lo), float(hi)


def normalize_planes(
    planes: NDArray[np.generic],
    low: float,
    high: float,
    ranges: Sequence[tuple[float, float]] | None = None,
) -> NDArray[np.float32]:
    """Scale each plane of ``planes`` (C, Y, X) by its own percentiles; float32 (C, Y, X).

    With ``ranges`` (one ``(p_low, p_high)`` per plane, e.g. the percentiles of a whole slide
    from :func:`percentile_ranges` of a subsample) the planes are scaled by those instead, so
    that the blocks of one image share one scale.

    float64 planes are scaled in float64, so values beyond the float32 range (1e300, say) are
    normalised instead of overflowing to ±Inf.

    Raises
    ------
    ValueError
        A plane whose scaled values are not finite (NaN / ±Inf pixels; the readers refuse them
        first, naming the file).
    """
    if ranges is not None and len(ranges) != len(planes):
        raise ValueError(f"{len(ranges)} intensity ranges for {len(planes)} planes")
    out = np.empty(planes.shape, dtype=np.float32)
    for index, plane in enumerate(planes):
        lo, hi = percentile_range(plane, low, high) if ranges is None else ranges[index]
        working = np.float64 if plane.dtype == np.float64 else np.float32
        out[index] = (plane.astype(working) - lo) / (hi - lo)
        if not np.isfinite(out[index]).all():
            raise ValueError(
                f"input plane {index} holds non-finite values (NaN or ±Inf); replace them first"
            )
    return out


def percentile_ranges(
    planes: NDArray[np.generic], low: float, high: float
) -> list[tuple[float, float]]:
    """``(p_low, p_high)`` of each plane of ``planes`` (C, Y, X), as :func:`normalize_planes`
    would use them."""
    return [percentile_range(plane, low, high) for plane in planes]


@dataclass(frozen=True)
class TargetScale:
    """The map between raw target intensities and the network's [−1, 1] range.

    ``normalized = 2 (raw − low) / (high − low) − 1``; for ``uint16`` scaling low = 0 and
    high = 65535.
    """

    low: float
    high: float

    def apply(self, raw: NDArray[np.generic]) -> NDArray[np.float32]:
        """Raw intensities → network units."""
        return (2.0 * (raw.astype(np.float32) - self.low) / (self.high - self.low) - 1.0).astype(
            np.float32
        )

    def invert(self, normalized: NDArray[np.generic]) -> NDArray[np.float32]:
        """Network units → raw intensities."""
        return (
            (normalized.astype(np.float32) + 1.0) * 0.5 * (self.high - self.low) + self.low
        ).astype(np.float32)


def target_scale(
    image: NDArray[np.generic], scaling: str, percentiles: tuple[float, float]
) -> TargetScale:
    """The :class:`TargetScale` of one target image under ``scaling`` ('percentile' or 'uint16')."""
    if scaling == "uint16":
        return TargetScale(0.0, UINT16_MAX)
    if scaling == "percentile":
        return TargetScale(*percentile_range(image, *percentiles))
    raise ValueError(f"unknown target scaling '{scaling}'; expected 'percentile' or 'uint16'")


def to_uint16(raw: NDArray[np.generic]) -> NDArray[np.uint16]:
    """Round and clip raw intensities into uint16."""
    return np.clip(np.rint(raw), 0, UINT16_MAX).astype(np.uint16)
