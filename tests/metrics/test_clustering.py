"""ARI against scikit-learn; AJI against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from stainless.metrics import instance_metrics
from stainless.metrics._overlap import overlap_table
from stainless.metrics.clustering import adjusted_rand_index, aggregated_jaccard_index
from tests.metrics.test_instance import _perturbed_pair


@pytest.mark.parametrize("seed", range(5))
def test_ari_all_pixels_equals_scikit_learn(seed: int) -> None:
    truth, pred = _perturbed_pair(seed)
    expected = adjusted_rand_score(truth.ravel(), pred.ravel())
    assert adjusted_rand_index(overlap_table(truth, pred), foreground_only=False) == pytest.approx(
        expected, abs=1e-12
    )


@pytest.mark.parametrize("seed", range(5))
def test_ari_foreground_equals_scikit_learn_on_pixels_foreground_in_either(seed: int) -> None:
    truth, pred = _perturbed_pair(seed)
    keep = (truth > 0) | (pred > 0)
    expected = adjusted_rand_score(truth[keep], pred[keep])
    assert adjusted_rand_index(overlap_table(truth, pred), foreground_only=True) == pytest.approx(
        expected, abs=1e-12
    )


def test_ari_of_identical_and_empty_labelings_is_one() -> None:
    truth, _ = _perturbed_pair(1)
    assert instance_metrics(truth, truth)["ari"] == 1.0
    empty = np.zeros((5, 5), dtype=np.uint8)
    assert instance_metrics(empty, empty)["ari"] == 1.0
    assert instance_metrics(empty, empty)["ari_fg"] == 1.0


def test_aji_hand_computed_with_a_prediction_shared_by_two_objects() -> None:
    # truth A = 0-2 (3 px), B = 3-5 (3 px), C = 8-9 (2 px, missed); prediction P = 0-5 (6 px),
    # Q = 7 (1 px, false positive). A and B both pick P (IoU 0.5 each); C has no partner.
    # AJI = (3 + 3) / ((6 + 6) + 2 [C] + 1 [Q unused]) = 6 / 15  (Kumar et al. 2017, Algorithm 1)
    truth = np.array([[1, 1, 1, 2, 2, 2, 0, 0, 3, 3]], dtype=np.uint8)
    pred = np.array([[4, 4, 4, 4, 4, 4, 0, 5, 0, 0]], dtype=np.uint8)
    assert aggregated_jaccard_index(overlap_table(truth, pred)) == pytest.approx(6 / 15)
