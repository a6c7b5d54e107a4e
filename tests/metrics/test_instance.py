"""Instance matching and the scores built on it: known answers, edge cases, invariances."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stainless.data.synthetic import make_synthetic_sample
from stainless.metrics import DEFAULT_THRESHOLDS, instance_metrics, match_instances
from stainless.metrics._overlap import overlap_table
from stainless.metrics.instance import matched_pairs
from tests.metrics.reference import reference_counts

# Two objects each side, drawn on one row so every count can be checked by eye:
#   truth: A = pixels 0-3, B = pixels 5-8;   prediction: P5 = pixels 0-2, P7 = pixels 5-9
#   IoU(A, P5) = 3/4 = 0.75,  IoU(B, P7) = 4/5 = 0.8,  no other overlap.
TRUE_ROW = np.array([[1, 1, 1, 1, 0, 2, 2, 2, 2, 0]], dtype=np.uint16)
PRED_ROW = np.array([[5, 5, 5, 0, 0, 7, 7, 7, 7, 7]], dtype=np.uint16)


def test_hand_computed_counts_and_scores() -> None:
    m = instance_metrics(TRUE_ROW, PRED_ROW, thresholds=[0.5, 0.75, 0.8, 0.85])
    assert (m["tp@0.50"], m["fp@0.50"], m["fn@0.50"]) == (2, 0, 0)
    assert (m["tp@0.75"], m["fp@0.75"], m["fn@0.75"]) == (2, 0, 0)  # IoU 0.75 >= 0.75 counts
    assert (m["tp@0.80"], m["fp@0.80"], m["fn@0.80"]) == (1, 1, 1)
    assert m["tp@0.85"] == 0
    assert m["csi@0.80"] == pytest.approx(1 / 3)  # TP / (TP + FP + FN)
    assert m["precision@0.80"] == pytest.approx(0.5)
    assert m["recall@0.80"] == pytest.approx(0.5)
    assert m["f1@0.80"] == pytest.approx(0.5)
    assert m["pq@0.50"] == pytest.approx((0.75 + 0.8) / 2)  # Kirillov et al.: ΣIoU / (TP+FP/2+FN/2)
    assert m["pq@0.80"] == pytest.approx(0.8 / (1 + 0.5 + 0.5))
    assert m["mean_matched_iou@0.50"] == pytest.approx(0.775)
    assert m["map_csi"] == pytest.approx((1 + 1 + 1 / 3 + 0) / 4)
    assert m["map_precision"] == pytest.approx((1 + 1 + 0.5 + 0) / 4)
    assert m["aji"] == pytest.approx((3 + 4) / (4 + 5))  # Kumar et al.: Σ|G∩S| / Σ|G∪S|


def test_split_object_matches_only_one_half_at_iou_exactly_half() -> None:
    truth = np.ones((1, 8), dtype=np.uint8)
    halves = np.array([[1, 1, 1, 1, 2, 2, 2, 2]], dtype=np.uint8)  # each half has IoU 0.5
    counts = match_instances(truth, halves, thresholds=[0.5, 0.55])
    assert counts.tp.tolist() == [1, 0]  # one-to-one: never two matches for one object
    assert counts.fp.tolist() == [1, 2]
    assert counts.fn.tolist() == [0, 1]


def test_merged_objects_match_once() -> None:
    truth = np.array([[1, 1, 1, 2, 2, 2]], dtype=np.uint8)
    merged = np.full((1, 6), 9, dtype=np.uint8)
    counts = match_instances(truth, merged, thresholds=[0.5])
    assert (counts.tp[0], counts.fp[0], counts.fn[0]) == (1, 0, 1)


def test_non_consecutive_ids_and_large_ids_give_the_same_scores() -> None:
    remapped_true = np.where(TRUE_ROW == 1, 70000, np.where(TRUE_ROW == 2, 3, 0)).astype(np.uint32)
    huge_pred = PRED_ROW.astype(np.int64) * 10**12
    assert instance_metrics(remapped_true, huge_pred) == instance_metrics(TRUE_ROW, PRED_ROW)


@pytest.mark.parametrize(
    ("truth_objects", "pred_objects", "expected"),
    [(0, 0, 1.0), (0, 1, 0.0), (1, 0, 0.0)],
)
def test_empty_images_give_defined_values(
    truth_objects: int, pred_objects: int, expected: float
) -> None:
    truth = np.zeros((6, 6), dtype=np.uint16)
    pred = np.zeros((6, 6), dtype=np.uint16)
    truth[1:3, 1:3] = truth_objects
    pred[2:4, 2:4] = pred_objects
    m = instance_metrics(truth, pred)
    assert all(not math.isnan(value) for value in m.values())
    for key in ("csi@0.50", "f1@0.50", "precision@0.50", "pq@0.50", "map_csi", "aji"):
        assert m[key] == expected, key
    assert m["n_true"] == truth_objects and m["n_pred"] == pred_objects


def test_min_size_filter_applies_to_both_sides() -> None:
    truth = np.zeros((10, 10), dtype=np.uint16)
    pred = np.zeros((10, 10), dtype=np.uint16)
    truth[0:5, 0:5] = 1
    truth[8, 8] = 2  # 1 px: filtered
    pred[0:5, 0:4] = 4
    pred[9, 0:2] = 6  # 2 px: filtered
    unfiltered = instance_metrics(truth, pred, thresholds=[0.5])
    filtered = instance_metrics(truth, pred, thresholds=[0.5], min_size_px=3)
    assert (unfiltered["n_true"], unfiltered["n_pred"], unfiltered["csi@0.50"]) == (2, 2, 1 / 3)
    assert (filtered["n_true"], filtered["n_pred"], filtered["csi@0.50"]) == (1, 1, 1.0)


def _perturbed_pair(seed: int, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic truth and a prediction shifted by a pixel, one object dropped, two merged."""
    sample = make_synthetic_sample((size, size), cell_radius_px=6, clustering=0.8, seed=seed)
    truth = sample.cell_labels
    pred = np.roll(truth, shift=(seed % 3) - 1, axis=1).astype(np.int32)
    if truth.max() >= 3:
        pred[pred == 1] = 0
        pred[pred == 3] = 2
    return truth, pred


@pytest.mark.parametrize("seed", range(6))
def test_counts_equal_an_independent_brute_force_implementation(seed: int) -> None:
    truth, pred = _perturbed_pair(seed)
    thresholds = [0.1, 0.3, 0.5, 0.7, 0.9]  # < 0.5 exercises the conflict solver
    counts = match_instances(truth, pred, thresholds=thresholds)
    got = list(zip(counts.tp.tolist(), counts.fp.tolist(), counts.fn.tolist(), strict=True))
    assert got == reference_counts(truth, pred, thresholds)


@pytest.mark.parametrize("seed", range(4))
def test_matching_is_one_to_one_at_thresholds_of_half_and_above(seed: int) -> None:
    truth, pred = _perturbed_pair(seed)
    table = overlap_table(truth, pred)
    for threshold in (0.5, *DEFAULT_THRESHOLDS[1:]):
        matches = matched_pairs(table, threshold)
        assert np.unique(table.pair_true[matches]).size == matches.size
        assert np.unique(table.pair_pred[matches]).size == matches.size


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), id_seed=st.integers(0, 10_000))
def test_permuting_label_ids_changes_no_metric(seed: int, id_seed: int) -> None:
    truth, pred = _perturbed_pair(seed, size=48)
    rng = np.random.default_rng(id_seed)
    # A random injective map of ids to new, non-consecutive values; 0 stays background.
    new_ids = np.concatenate(
        [[0], rng.choice(np.arange(1, 10**6), size=int(pred.max()), replace=False)]
    )
    permuted = new_ids[pred]
    original = instance_metrics(truth, pred)
    relabelled = instance_metrics(truth, permuted)
    assert relabelled.keys() == original.keys()
    for key, value in original.items():
        assert relabelled[key] == pytest.approx(value, abs=1e-12), key


def test_bad_inputs_are_refused_with_clear_messages() -> None:
    labels = np.zeros((4, 4), dtype=np.uint8)
    with pytest.raises(
        ValueError, match=r"prediction has shape \(4, 5\) but ground truth has \(4, 4\)"
    ):
        instance_metrics(labels, np.zeros((4, 5), dtype=np.uint8))
    with pytest.raises(ValueError, match="dtype float32"):
        instance_metrics(labels, np.zeros((4, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="negative"):
        instance_metrics(labels, -np.ones((4, 4), dtype=np.int16))
    with pytest.raises(ValueError, match=r"thresholds must lie in \(0, 1\]"):
        instance_metrics(labels, labels, thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match="min_size_px"):
        instance_metrics(labels, labels, min_size_px=-1)
