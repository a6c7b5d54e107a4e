"""Post-processing thresholds tuned on validation images (as StarDist does after training).

The network runs once per validation image; only the post-processing is repeated for each point
of a small grid, and the point with the best mean csi@0.5 (TP / (TP + FP + FN)) wins.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from stainless.metrics import match_instances
from stainless.postprocessing.decoders import DECODERS, labels_from_maps


def mean_csi(
    maps: Sequence[NDArray[np.float32]],
    truths: Sequence[NDArray[np.integer]],
    head: str,
    thresholds: dict[str, float],
    iou: float = 0.5,
) -> float:
    """Mean over images of csi at ``iou`` for labels post-processed with ``thresholds``."""
    scores = []
    for image_maps, truth in zip(maps, truths, strict=True):
        counts = match_instances(
            truth, labels_from_maps(image_maps, head, thresholds), thresholds=[iou]
        )
        denominator = counts.tp[0] + counts.fp[0] + counts.fn[0]
        scores.append(counts.tp[0] / denominator if denominator else 1.0)
    return float(np.mean(scores))


def tune_thresholds(
    maps: Sequence[NDArray[np.float32]],
    truths: Sequence[NDArray[np.integer]],
    head: str,
    base: dict[str, float],
) -> tuple[dict[str, float], float]:
    """The grid point (merged into ``base``) with the best mean csi@0.5, and that score.

    Parameters
    ----------
    maps : list of (K, Y, X) float32 ndarray
        Activated maps of the validation images.
    truths : list of (Y, X) integer ndarray
        Their instance labels.
    head : str
    base : dict
        The untuned thresholds (kept for the keys not in the grid).
    """
    grid = DECODERS[head].grid_around(base)  # declared with the head's decoder
    best, best_score = dict(base), -1.0
    for values in itertools.product(*grid.values()):
        candidate = {**base, **dict(zip(grid.keys(), values, strict=True))}
        score = mean_csi(maps, truths, head, candidate)
        if score > best_score:
            best, best_score = candidate, score
    return best, best_score
