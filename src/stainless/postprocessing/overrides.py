"""Checked overrides of a model's tuned post-processing settings (``segment --mask-threshold``
and friends, the napari Segment widget's threshold boxes)."""

from __future__ import annotations

import math


def threshold_overrides(
    min_size: float | None = None,
    mask_threshold: float | None = None,
    h: float | None = None,
    flow_threshold: float | None = None,
) -> dict[str, float]:
    """The settings given (None: keep the model's tuned value), keyed as in ``model.json``.

    Raises
    ------
    ValueError
        A value out of its range, named as on the command line.
    """
    overrides: dict[str, float] = {}
    if min_size is not None:
        if min_size < 0:
            raise ValueError(f"--min-size must be >= 0, got {min_size}")
        overrides["min_size_px"] = min_size
    if mask_threshold is not None:
        if not 0 < mask_threshold < 1:
            raise ValueError(f"--mask-threshold must be in (0, 1), got {mask_threshold}")
        overrides["mask_threshold"] = mask_threshold
    if h is not None:
        if not (math.isfinite(h) and h > 0):
            raise ValueError(f"--h must be a finite number > 0, got {h}")
        overrides["h"] = h
    if flow_threshold is not None:
        if not (math.isfinite(flow_threshold) and flow_threshold >= 0):
            raise ValueError(f"--flow-threshold must be a finite number >= 0, got {flow_threshold}")
        overrides["flow_threshold"] = flow_threshold
    return overrides
