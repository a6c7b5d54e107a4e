"""A deliberately naive, independent implementation of instance matching, for cross-checks.

Loops over ground-truth objects, builds the dense IoU matrix from their pixels, and solves every
threshold with ``scipy.optimize.linear_sum_assignment`` — the textbook definition, sharing no
code with stainless.metrics.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import find_objects
from scipy.optimize import linear_sum_assignment


def reference_iou_matrix(true_labels: np.ndarray, pred_labels: np.ndarray) -> np.ndarray:
    """Dense (n_true, n_pred) IoU matrix, one ground-truth object at a time."""
    true_ids = [int(i) for i in np.unique(true_labels) if i != 0]
    pred_ids, pred_areas = np.unique(pred_labels, return_counts=True)
    column = {int(p): c for c, p in enumerate(i for i in pred_ids if i != 0)}
    area_of = dict(zip(pred_ids.tolist(), pred_areas.tolist(), strict=True))
    boxes = find_objects(true_labels.astype(np.int64))
    iou = np.zeros((len(true_ids), len(column)))
    for row, t in enumerate(true_ids):
        box = boxes[t - 1]
        inside = true_labels[box] == t
        true_area = int(inside.sum())
        overlapping, intersections = np.unique(pred_labels[box][inside], return_counts=True)
        for p, intersection in zip(overlapping.tolist(), intersections.tolist(), strict=True):
            if p != 0:
                union = true_area + area_of[p] - intersection
                iou[row, column[p]] = intersection / union
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
