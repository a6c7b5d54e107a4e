"""A deliberately naive, independent implementation of instance matching, for cross-checks.

Loops over objects, builds the dense IoU matrix from boolean masks, and solves every threshold
with ``scipy.optimize.linear_sum_assignment`` — the textbook definition, sharing no code with
stainless.metrics.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def reference_iou_matrix(true_labels: np.ndarray, pred_labels: np.ndarray) -> np.ndarray:
    true_ids = [i for i in np.unique(true_labels) if i != 0]
    pred_ids = [i for i in np.unique(pred_labels) if i != 0]
    iou = np.zeros((len(true_ids), len(pred_ids)))
    for row, t in enumerate(true_ids):
        true_mask = true_labels == t
        for col, p in enumerate(pred_ids):
            pred_mask = pred_labels == p
            union = np.logical_or(true_mask, pred_mask).sum()
            iou[row, col] = np.logical_and(true_mask, pred_mask).sum() / union
    return iou


def reference_counts(
    true_labels: np.ndarray, pred_labels: np.ndarray, thresholds: list[float]
) -> list[tuple[int, int, int]]:
    """(TP, FP, FN) per threshold: maximum one-to-one matching among pairs with IoU >= t."""
    iou = reference_iou_matrix(true_labels, pred_labels)
    n_true, n_pred = iou.shape
    counts = []
    for threshold in thresholds:
        tp = 0
        if n_true and n_pred:
            rows, cols = linear_sum_assignment(-(iou >= threshold).astype(float))
            tp = int((iou[rows, cols] >= threshold).sum())
        counts.append((tp, n_pred - tp, n_true - tp))
    return counts
