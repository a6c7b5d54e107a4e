"""Instance segmentation metrics: one-to-one matching by IoU and the scores built on it.

Matching follows the convention of StarDist and Cellpose: a ground-truth object and a predicted
object may be paired when their IoU is at least the threshold; among all one-to-one pairings the one
with the most pairs is taken (ties broken by the larger total IoU). Matched pairs are true positives
(TP), unmatched predictions false positives (FP), unmatched ground truth false negatives (FN).

For thresholds >= 0.5 an object can overlap at most one partner by IoU > 0.5, so the pairing is
read off the sparse overlap table directly; only the rare conflicts (IoU exactly 0.5, or thresholds
below 0.5) go to an assignment solver, and only for the objects involved.

Conventions for empty images: a ratio whose denominator is 0 is 1.0 when both images are empty
(nothing to find, nothing found) and 0.0 otherwise. No metric returns NaN or raises on empty input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from stainless.metrics._labels import check_label_image, check_same_shape
from stainless.metrics._overlap import OverlapTable, overlap_table
from stainless.metrics.clustering import adjusted_rand_index, aggregated_jaccard_index
from stainless.postprocessing.labels import remove_small_objects

DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
"""IoU thresholds 0.50, 0.55, ..., 0.95 (the COCO / Cellpose / [Bonte2022] range)."""


@dataclass(frozen=True)
class MatchCounts:
    """Matching outcome at each IoU threshold.

    Attributes
    ----------
    thresholds : (T,) float64 ndarray
    tp, fp, fn : (T,) int64 ndarray
        True positives, false positives, false negatives at each threshold.
    matched_iou_sum : (T,) float64 ndarray
        Sum of the IoU of the matched pairs (for panoptic quality and mean matched IoU).
    n_true, n_pred : int
        Objects in ground truth and prediction (after any size filter).
    """

    thresholds: NDArray[np.float64]
    tp: NDArray[np.int64]
    fp: NDArray[np.int64]
    fn: NDArray[np.int64]
    matched_iou_sum: NDArray[np.float64]
    n_true: int
    n_pred: int


def _check_thresholds(thresholds: Sequence[float]) -> NDArray[np.float64]:
    values = np.asarray(thresholds, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("at least one IoU threshold is required")
    if np.any(~np.isfinite(values)) or np.any(values <= 0) or np.any(values > 1):
        raise ValueError(f"IoU thresholds must lie in (0, 1], got {values.tolist()}")
    return values


def _resolve_conflicts(
    candidates: NDArray[np.int64],
    pair_true: NDArray[np.int64],
    pair_pred: NDArray[np.int64],
    iou: NDArray[np.float64],
) -> NDArray[np.int64]:
    """Maximum-cardinality, then maximum-IoU, one-to-one subset of candidate pairs.

    Candidates are split into connected components of the bipartite graph; components that are a
    single edge are kept as they are, the rest are solved together by ``linear_sum_assignment``.
    """
    rows = pair_true[candidates]
    cols = pair_pred[candidates]
    row_ids, row_index = np.unique(rows, return_inverse=True)
    col_ids, col_index = np.unique(cols, return_inverse=True)
    n_rows, n_cols = row_ids.size, col_ids.size
    graph = coo_matrix(
        (np.ones(candidates.size), (row_index, n_rows + col_index)),
        shape=(n_rows + n_cols, n_rows + n_cols),
    )
    _, component = connected_components(graph, directed=False)
    edges_per_component = np.bincount(component[row_index], minlength=n_rows + n_cols)
    simple = edges_per_component[component[row_index]] == 1
    hard = ~simple
    if not hard.any():
        return candidates
    hard_rows, sub_row = np.unique(row_index[hard], return_inverse=True)
    hard_cols, sub_col = np.unique(col_index[hard], return_inverse=True)
    # Every candidate counts 1 (cardinality first); its IoU, scaled below 1 in total, breaks ties.
    cost = np.zeros((hard_rows.size, hard_cols.size))
    cost[sub_row, sub_col] = -1.0 - iou[candidates[hard]] / (2.0 * candidates.size)
    assigned_rows, assigned_cols = linear_sum_assignment(cost)
    chosen = cost[assigned_rows, assigned_cols] < 0
    lookup = np.full((hard_rows.size, hard_cols.size), -1, dtype=np.int64)
    lookup[sub_row, sub_col] = candidates[hard]
    return np.concatenate(
        [candidates[simple], lookup[assigned_rows[chosen], assigned_cols[chosen]]]
    )


def matched_pairs(table: OverlapTable, threshold: float) -> NDArray[np.int64]:
    """Indices (into the table's pair arrays) of the one-to-one matches at ``threshold``.

    Parameters
    ----------
    table : OverlapTable
        From :func:`stainless.metrics._overlap.overlap_table`.
    threshold : float
        Pairs need IoU >= threshold.

    Returns
    -------
    (n_matched,) int64 ndarray
    """
    iou = table.pair_iou()
    return _matched_pairs(table, iou, threshold)


def _matched_pairs(
    table: OverlapTable, iou: NDArray[np.float64], threshold: float
) -> NDArray[np.int64]:
    candidates = np.flatnonzero(iou >= threshold)
    if candidates.size == 0:
        return candidates
    true_degree = np.bincount(table.pair_true[candidates], minlength=table.n_true)
    pred_degree = np.bincount(table.pair_pred[candidates], minlength=table.n_pred)
    if true_degree.max() <= 1 and pred_degree.max() <= 1:
        return candidates
    return _resolve_conflicts(candidates, table.pair_true, table.pair_pred, iou)


def count_matches(
    table: OverlapTable, thresholds: Sequence[float] = DEFAULT_THRESHOLDS
) -> MatchCounts:
    """TP / FP / FN and matched IoU at each threshold, from an overlap table.

    Parameters
    ----------
    table : OverlapTable
    thresholds : sequence of float in (0, 1]

    Returns
    -------
    MatchCounts
    """
    values = _check_thresholds(thresholds)
    iou = table.pair_iou()
    tp = np.zeros(values.size, dtype=np.int64)
    iou_sum = np.zeros(values.size, dtype=np.float64)
    for i, threshold in enumerate(values):
        matches = _matched_pairs(table, iou, float(threshold))
        tp[i] = matches.size
        iou_sum[i] = float(iou[matches].sum())
    return MatchCounts(
        thresholds=values,
        tp=tp,
        fp=table.n_pred - tp,
        fn=table.n_true - tp,
        matched_iou_sum=iou_sum,
        n_true=table.n_true,
        n_pred=table.n_pred,
    )


def prepare_label_pair(
    true_labels: ArrayLike,
    pred_labels: ArrayLike,
    *,
    min_size_px: int = 0,
) -> tuple[NDArray[np.integer], NDArray[np.integer]]:
    """Validate two instance label images and apply the optional size filter to both."""
    if min_size_px < 0:
        raise ValueError(f"min_size_px must be >= 0, got {min_size_px}")
    true_array = check_label_image(true_labels, "ground truth")
    pred_array = check_label_image(pred_labels, "prediction")
    check_same_shape(true_array, pred_array)
    return remove_small_objects(true_array, min_size_px), remove_small_objects(
        pred_array, min_size_px
    )


def match_instances(
    true_labels: ArrayLike,
    pred_labels: ArrayLike,
    *,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    min_size_px: int = 0,
) -> MatchCounts:
    """Match predicted to ground-truth objects one-to-one by IoU at each threshold.

    Parameters
    ----------
    true_labels, pred_labels : (..., Y, X) integer array-like
        Instance labels (0 = background), same shape; ids need not be consecutive.
    thresholds : sequence of float in (0, 1]
        IoU thresholds; default 0.50:0.05:0.95.
    min_size_px : int
        Objects smaller than this (pixels) are removed from both sides first ([Han2024],
        Table 5). 0 keeps everything.

    Returns
    -------
    MatchCounts
    """
    true_array, pred_array = prepare_label_pair(true_labels, pred_labels, min_size_px=min_size_px)
    return count_matches(overlap_table(true_array, pred_array), thresholds)


def _ratio(
    numerator: NDArray[np.generic], denominator: NDArray[np.generic], both_empty: bool
) -> NDArray[np.float64]:
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    fallback = 1.0 if both_empty else 0.0
    out = np.full(num.shape, fallback)
    np.divide(num, den, out=out, where=den > 0)
    return out


def scores_from_counts(counts: MatchCounts) -> dict[str, NDArray[np.float64]]:
    """Per-threshold scores from match counts.

    Returns a dict of ``(T,)`` arrays:

    * ``precision`` = TP / (TP + FP) — [Bonte2022]'s "AP" at one threshold (Bayoudh et al.).
    * ``recall`` = TP / (TP + FN).
    * ``f1`` = 2 TP / (2 TP + FP + FN).
    * ``csi`` = TP / (TP + FP + FN), the critical success index, which Cellpose
      [Stringer2021] and the dense-tissue benchmark [Han2024] call "average precision".
    * ``pq`` = sum IoU(matched) / (TP + FP/2 + FN/2), panoptic quality (Kirillov et al. 2019).
    * ``mean_matched_iou`` = sum IoU(matched) / TP (PQ's segmentation quality).
    """
    both_empty = counts.n_true == 0 and counts.n_pred == 0
    tp, fp, fn = counts.tp, counts.fp, counts.fn
    return {
        "precision": _ratio(tp, tp + fp, both_empty),
        "recall": _ratio(tp, tp + fn, both_empty),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn, both_empty),
        "csi": _ratio(tp, tp + fp + fn, both_empty),
        "pq": _ratio(counts.matched_iou_sum, tp + 0.5 * fp + 0.5 * fn, both_empty),
        "mean_matched_iou": _ratio(counts.matched_iou_sum, tp, both_empty),
    }


def threshold_key(metric: str, threshold: float) -> str:
    """Name of a thresholded metric, e.g. ``threshold_key("csi", 0.5) == "csi@0.50"``."""
    return f"{metric}@{threshold:.2f}"


def instance_metrics(
    true_labels: ArrayLike,
    pred_labels: ArrayLike,
    *,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    min_size_px: int = 0,
) -> dict[str, float]:
    """Every instance metric the papers report, for one pair of label images.

    Parameters
    ----------
    true_labels, pred_labels : (..., Y, X) integer array-like
        Instance labels (0 = background), same shape; ids need not be consecutive.
    thresholds : sequence of float in (0, 1]
        IoU thresholds for the matched metrics; default 0.50:0.05:0.95.
    min_size_px : int
        Remove objects smaller than this from both sides first (0 = keep all).

    Returns
    -------
    dict of str to float
        Counts are ints: ``n_true``, ``n_pred``, and ``tp@t``, ``fp@t``, ``fn@t`` for every
        threshold t; ratios are floats: ``precision@t``, ``recall@t``, ``f1@t``, ``csi@t``,
        ``pq@t``, ``mean_matched_iou@t`` (t with two decimals);
        ``map_csi`` and ``map_precision`` (means over the thresholds; the latter is [Bonte2022]'s
        mAP); ``aji`` (Kumar et al. 2017); ``ari`` (all pixels, background is one cluster) and
        ``ari_fg`` (pixels foreground in either image).
    """
    true_array, pred_array = prepare_label_pair(true_labels, pred_labels, min_size_px=min_size_px)
    table = overlap_table(true_array, pred_array)
    counts = count_matches(table, thresholds)
    scores = scores_from_counts(counts)
    result: dict[str, float] = {"n_true": counts.n_true, "n_pred": counts.n_pred}
    for i, threshold in enumerate(counts.thresholds):
        result[threshold_key("tp", threshold)] = int(counts.tp[i])
        result[threshold_key("fp", threshold)] = int(counts.fp[i])
        result[threshold_key("fn", threshold)] = int(counts.fn[i])
        for name, values in scores.items():
            result[threshold_key(name, threshold)] = float(values[i])
    result["map_csi"] = float(scores["csi"].mean())
    result["map_precision"] = float(scores["precision"].mean())
    result["aji"] = aggregated_jaccard_index(table)
    result["ari"] = adjusted_rand_index(table, foreground_only=False)
    result["ari_fg"] = adjusted_rand_index(table, foreground_only=True)
    return result
