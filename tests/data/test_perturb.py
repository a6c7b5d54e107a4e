"""perturb_labels: the promised errors happen, reproducibly, and the input is left alone."""

from __future__ import annotations

import numpy as np

from stainless.data.perturb import perturb_labels
from stainless.data.synthetic import make_synthetic_sample
from stainless.metrics import instance_metrics


def test_perturbation_is_seeded_and_leaves_the_input_alone() -> None:
    truth = make_synthetic_sample((96, 96), cell_radius_px=6, clustering=0.9, seed=0).cell_labels
    before = truth.copy()
    a = perturb_labels(truth, seed=1)
    np.testing.assert_array_equal(truth, before)
    np.testing.assert_array_equal(a, perturb_labels(truth, seed=1))
    assert not np.array_equal(a, perturb_labels(truth, seed=2))


def test_perturbation_drops_merges_splits_and_renumbers() -> None:
    truth = make_synthetic_sample((128, 128), cell_radius_px=6, clustering=0.9, seed=0).cell_labels
    pred = perturb_labels(truth, seed=3, drop_fraction=0.2, n_merges=3, n_splits=3)
    m = instance_metrics(truth, pred, thresholds=[0.5])
    assert m["fn@0.50"] >= int(0.2 * m["n_true"])  # dropped objects are missed
    assert m["fp@0.50"] >= 1  # split halves and merges cannot all match
    assert int(pred.max()) > 10 * int(truth.max())  # ids are no longer 1..n
    assert set(np.unique(pred[truth == 0]).tolist()) == {0}  # nothing grows into background
