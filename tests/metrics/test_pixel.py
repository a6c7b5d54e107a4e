"""Semantic metrics: confusion matrix, IoU, Dice, accuracy — hand-computed answers."""

from __future__ import annotations

import numpy as np
import pytest

from stainless.metrics import (
    binary_dice,
    binary_iou,
    confusion_matrix,
    pixel_accuracy,
    semantic_metrics,
)

# background 0 / nucleus 1 / cytoplasm 2 on six pixels
TRUE = np.array([[0, 0, 1, 1, 2, 2]])
PRED = np.array([[0, 1, 1, 1, 2, 0]])


def test_confusion_matrix_counts_true_rows_and_predicted_columns() -> None:
    expected = [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert confusion_matrix(TRUE, PRED, 3).tolist() == expected


def test_per_class_iou_dice_and_accuracy() -> None:
    m = semantic_metrics(
        TRUE, PRED, n_classes=3, class_names=["background", "nucleus", "cytoplasm"]
    )
    # background: |T∩P| = 1, |T| = 2, |P| = 2 -> IoU 1/3, Dice 1/2
    # nucleus:    |T∩P| = 2, |T| = 2, |P| = 3 -> IoU 2/3, Dice 4/5
    # cytoplasm:  |T∩P| = 1, |T| = 2, |P| = 1 -> IoU 1/2, Dice 2/3
    assert m["iou_background"] == pytest.approx(1 / 3)
    assert m["iou_nucleus"] == pytest.approx(2 / 3)
    assert m["iou_cytoplasm"] == pytest.approx(1 / 2)
    assert m["dice_nucleus"] == pytest.approx(4 / 5)
    assert m["mean_iou"] == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)
    assert m["mean_dice"] == pytest.approx((1 / 2 + 4 / 5 + 2 / 3) / 3)
    assert m["pixel_accuracy"] == pytest.approx(4 / 6)


def test_binary_scores_and_empty_conventions() -> None:
    truth = np.array([1, 1, 0, 0])
    pred = np.array([1, 0, 1, 0])
    assert binary_iou(truth, pred) == pytest.approx(1 / 3)
    assert binary_dice(truth, pred) == pytest.approx(1 / 2)
    empty = np.zeros(4)
    assert binary_iou(empty, empty) == 1.0 and binary_dice(empty, empty) == 1.0
    assert binary_iou(truth, empty) == 0.0
    assert (
        semantic_metrics(np.zeros((2, 2), int), np.zeros((2, 2), int), n_classes=2)["iou_class1"]
        == 1.0
    )
    assert pixel_accuracy(np.zeros((2, 2), dtype=np.int64)) == 1.0


def test_class_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="holds class 2 but only 2 classes"):
        confusion_matrix(TRUE, PRED, 2)
