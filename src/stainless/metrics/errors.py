"""Where the instance errors are: unmatched objects classified as split, merged, missed or
spurious (the error analysis of the dense-tissue benchmark, [Han2024])."""

from __future__ import annotations

from collections import Counter

import numpy as np
from numpy.typing import NDArray

from stainless.metrics._labels import check_label_image, check_same_shape

ERROR_TYPES = ("true", "pred", "matched", "split", "merged", "missed", "spurious")
"""The counts :func:`error_types` returns."""


def error_types(
    truth: NDArray[np.integer], predicted: NDArray[np.integer], overlap: float = 0.5
) -> dict[str, int]:
    """Classify the unmatched objects of one image.

    A true object matches a prediction when their IoU exceeds 0.5. An unmatched true object is

    * **split** when two or more predictions lie mostly (≥ ``overlap`` of their area) inside it;
    * **merged** when a prediction covering most (≥ ``overlap``) of it also covers most of another
      true object;
    * **missed** otherwise (not found, or outlined too loosely).

    An unmatched prediction lying mostly (more than ``1 − overlap``) on background is **spurious**.

    Parameters
    ----------
    truth, predicted : (Y, X) integer ndarray
        Instance labels, 0 = background.
    overlap : float
        The area fraction that counts as "mostly", in (0, 1].

    Returns
    -------
    dict
        ``true``, ``pred``, ``matched`` (true objects matched) and the counts of each type.

    Examples
    --------
    >>> truth = np.zeros((4, 8), dtype=int); truth[:, :4], truth[:, 4:] = 1, 2
    >>> error_types(truth, (truth > 0).astype(int))["merged"]
    2
    """
    check_label_image(truth, "truth")
    check_label_image(predicted, "predicted")
    check_same_shape(truth, predicted)
    if not 0 < overlap <= 1:
        raise ValueError(f"overlap must be in (0, 1], got {overlap}")
    truth, predicted = truth.astype(np.int64), predicted.astype(np.int64)
    on_both = (truth > 0) & (predicted > 0)
    pairs, shared = np.unique(
        np.stack([truth[on_both], predicted[on_both]]), axis=1, return_counts=True
    )
    true_ids, true_areas = np.unique(truth[truth > 0], return_counts=True)
    pred_ids, pred_areas = np.unique(predicted[predicted > 0], return_counts=True)
    true_area = dict(zip(true_ids.tolist(), true_areas.tolist(), strict=True))
    pred_area = dict(zip(pred_ids.tolist(), pred_areas.tolist(), strict=True))
    fragments: Counter[int] = Counter()  # true id -> predictions lying mostly inside it
    covering: dict[int, list[int]] = {}  # true id -> predictions covering most of it
    cells_covered: Counter[int] = Counter()  # prediction -> true objects it covers most of
    on_objects: Counter[int] = Counter()  # prediction -> its pixels on true objects
    matched_true, matched_pred = set(), set()
    for (t, p), n in zip(pairs.T.tolist(), shared.tolist(), strict=True):
        on_objects[p] += n
        if n / (true_area[t] + pred_area[p] - n) > 0.5:
            matched_true.add(t)
            matched_pred.add(p)
        if n >= overlap * pred_area[p]:
            fragments[t] += 1
        if n >= overlap * true_area[t]:
            covering.setdefault(t, []).append(p)
            cells_covered[p] += 1
    counts = dict.fromkeys(ERROR_TYPES, 0)
    counts.update(true=len(true_area), pred=len(pred_area), matched=len(matched_true))
    for t in set(true_area) - matched_true:
        if fragments[t] >= 2:
            counts["split"] += 1
        elif any(cells_covered[p] >= 2 for p in covering.get(t, [])):
            counts["merged"] += 1
        else:
            counts["missed"] += 1
    counts["spurious"] = sum(
        1 for p in set(pred_area) - matched_pred if on_objects[p] < overlap * pred_area[p]
    )
    return counts
