"""Whole-image agreement of two instance labelings: adjusted Rand index and aggregated Jaccard.

Both are computed from the sparse overlap table (:mod:`stainless.metrics._overlap`), so they cost
nothing beyond the matching pass.
"""

from __future__ import annotations

import numpy as np

from stainless.metrics._overlap import OverlapTable


def _sum_squares(values: np.ndarray) -> int:
    return int(np.dot(values.astype(np.int64), values.astype(np.int64)))


def adjusted_rand_index(table: OverlapTable, *, foreground_only: bool) -> float:
    """Adjusted Rand index (Hubert & Arabie 1985) between two labelings, pixels as samples.

    The dense-tissue benchmark [Han2024] reports it beside csi. With
    ``foreground_only=False`` every pixel is a sample and background is one more cluster on both
    sides (what ``sklearn.metrics.adjusted_rand_score`` gives on the flattened label images). With
    ``foreground_only=True`` the pixels that are background in *both* images are left out, so large
    empty areas cannot inflate the score.

    Computed in the pair-counting form used by scikit-learn,
    ``ARI = 2 (TP·TN − FN·FP) / ((TP + FN)(FN + TN) + (TP + FP)(FP + TN))``, where TP counts pixel
    pairs together in both labelings, etc., with exact integer arithmetic. When the labelings are
    identical as partitions (FN = FP = 0; e.g. both empty) the value is 1.0.

    Parameters
    ----------
    table : OverlapTable
    foreground_only : bool

    Returns
    -------
    float in [-0.5, 1]
    """
    intersections = table.pair_intersection
    true_only = table.true_areas - np.bincount(
        table.pair_true, weights=intersections, minlength=table.n_true
    ).astype(np.int64)
    pred_only = table.pred_areas - np.bincount(
        table.pair_pred, weights=intersections, minlength=table.n_pred
    ).astype(np.int64)
    both_background = (
        table.n_pixels
        - int(table.true_areas.sum())
        - int(table.pred_areas.sum())
        + int(intersections.sum())
    )
    n_samples = table.n_pixels - both_background if foreground_only else table.n_pixels
    true_background = table.n_pixels - int(table.true_areas.sum())
    pred_background = table.n_pixels - int(table.pred_areas.sum())
    kept_background = 0 if foreground_only else both_background
    # Sum of squared cell counts of the full contingency table, background row/column included.
    cells = (
        _sum_squares(intersections)
        + _sum_squares(true_only)
        + _sum_squares(pred_only)
        + kept_background**2
    )
    row_squares = (
        _sum_squares(table.true_areas) + (true_background - both_background + kept_background) ** 2
    )
    col_squares = (
        _sum_squares(table.pred_areas) + (pred_background - both_background + kept_background) ** 2
    )
    together_both = cells - n_samples
    together_pred_only = col_squares - cells
    together_true_only = row_squares - cells
    apart_both = n_samples**2 - together_pred_only - together_true_only - cells
    if together_pred_only == 0 and together_true_only == 0:
        return 1.0
    numerator = 2 * (together_both * apart_both - together_true_only * together_pred_only)
    denominator = (together_both + together_true_only) * (together_true_only + apart_both) + (
        together_both + together_pred_only
    ) * (together_pred_only + apart_both)
    return float(numerator / denominator)


def aggregated_jaccard_index(table: OverlapTable) -> float:
    """Aggregated Jaccard index (Kumar et al., IEEE TMI 2017), as used by HoVer-Net.

    Each ground-truth object G_i is paired with the predicted object S_j of highest IoU (a
    prediction may serve several ground-truth objects; ties go to the lower predicted id). Then
    ``AJI = Σ_i |G_i ∩ S_j(i)| / (Σ_i |G_i ∪ S_j(i)| + Σ_{S unused} |S|)``; a ground-truth object
    with no overlapping prediction adds its area to the denominator only.

    Returns 1.0 when both images are empty and 0.0 when exactly one is.

    Parameters
    ----------
    table : OverlapTable

    Returns
    -------
    float in [0, 1]
    """
    if table.n_true == 0 and table.n_pred == 0:
        return 1.0
    iou = table.pair_iou()
    # Best pair per ground-truth object: sort by object, then by IoU descending, then pred index.
    order = np.lexsort((table.pair_pred, -iou, table.pair_true))
    first = np.ones(order.size, dtype=bool)
    first[1:] = table.pair_true[order[1:]] != table.pair_true[order[:-1]]
    best = order[first]
    intersection = int(table.pair_intersection[best].sum())
    union = int(
        (
            table.true_areas[table.pair_true[best]]
            + table.pred_areas[table.pair_pred[best]]
            - table.pair_intersection[best]
        ).sum()
    )
    unmatched_true = np.ones(table.n_true, dtype=bool)
    unmatched_true[table.pair_true[best]] = False
    unused_pred = np.ones(table.n_pred, dtype=bool)
    unused_pred[table.pair_pred[best]] = False
    union += int(table.true_areas[unmatched_true].sum()) + int(table.pred_areas[unused_pred].sum())
    return intersection / union if union > 0 else 0.0
