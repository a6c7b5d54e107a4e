"""Realistic segmentation errors applied to ground-truth labels, for tests, benchmarks and demos.

A predicted segmentation differs from the truth by missed objects, shrunken borders, merged
neighbours and split objects; its ids are arbitrary. :func:`perturb_labels` produces all five from
any instance label image, reproducibly, so that metrics can be checked on real masks without a
model.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi


def perturb_labels(
    labels: NDArray[np.integer],
    *,
    seed: int = 0,
    drop_fraction: float = 0.1,
    erode_fraction: float = 0.2,
    n_merges: int = 15,
    n_splits: int = 10,
) -> NDArray[np.uint32]:
    """Drop, erode, merge and split objects, then give them random non-consecutive ids.

    Parameters
    ----------
    labels : (Y, X) integer ndarray
        Instance labels, 0 = background; not modified.
    seed : int
        Seed of the random choices.
    drop_fraction : float
        Fraction of objects removed (false negatives).
    erode_fraction : float
        Fraction of the remaining objects that lose their one-pixel border.
    n_merges : int
        Pairs of horizontally touching objects fused into one.
    n_splits : int
        Objects cut in two at their median column.

    Returns
    -------
    (Y, X) uint32 ndarray
        The perturbed labels, ids drawn without replacement from 1..2**31.
    """
    rng = np.random.default_rng(seed)
    pred = labels.astype(np.int64)
    ids = np.unique(pred)[1:]
    dropped = rng.choice(ids, size=int(len(ids) * drop_fraction), replace=False)
    pred[np.isin(pred, dropped)] = 0
    ids = np.setdiff1d(ids, dropped)
    eroded = rng.choice(ids, size=int(len(ids) * erode_fraction), replace=False)
    border = (ndi.grey_dilation(pred, size=3) != pred) | (ndi.grey_erosion(pred, size=3) != pred)
    pred[border & np.isin(pred, eroded)] = 0

    left, right = pred[:, :-1], pred[:, 1:]
    touching = (left != right) & (left > 0) & (right > 0)
    pairs = np.unique(np.stack([left[touching], right[touching]], axis=1), axis=0)
    merges: dict[int, int] = {}
    for index in rng.choice(len(pairs), size=min(n_merges, len(pairs)), replace=False):
        keep, absorbed = pairs[index]
        merges.setdefault(int(absorbed), int(keep))
    lookup = np.arange(int(pred.max()) + 1)
    for absorbed, keep in merges.items():
        lookup[absorbed] = lookup[keep]
    pred = lookup[pred]

    next_id = int(pred.max()) + 1
    candidates = np.unique(pred)[1:]
    boxes = ndi.find_objects(pred)
    for object_id in rng.choice(candidates, size=min(n_splits, len(candidates)), replace=False):
        box = boxes[object_id - 1]
        inside = pred[box] == object_id
        columns = np.nonzero(inside)[1]
        right_half = inside & (np.arange(inside.shape[1])[None, :] > np.median(columns))
        pred[box][right_half] = next_id
        next_id += 1

    present = np.unique(pred)[1:]
    new_ids = rng.choice((1 << 31) - 1, size=present.size, replace=False) + 1
    renumber = np.zeros(int(pred.max()) + 1, dtype=np.uint32)
    renumber[present] = new_ids
    return renumber[pred]
