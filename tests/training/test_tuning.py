"""Threshold tuning on validation images: the grid each head declares, minimum sizes included."""

from __future__ import annotations

import numpy as np

from stainless.data.targets import flows_target
from stainless.postprocessing.decoders import DECODERS
from stainless.training.tuning import mean_csi, tune_thresholds


def test_only_the_flows_grid_tries_larger_minimum_sizes() -> None:
    assert DECODERS["flows"].grid_around({"min_size_px": 10})["min_size_px"] == (10, 30, 60)
    assert "min_size_px" not in DECODERS["flows"].grid_around({"min_size_px": 0})
    assert "min_size_px" not in DECODERS["distance"].grid_around({"min_size_px": 10})


def test_tuning_drops_small_fragments_the_truth_does_not_have() -> None:
    yy, xx = np.mgrid[:96, :96]
    truth = np.zeros((96, 96), np.int32)
    for label, (cy, cx) in enumerate([(24, 24), (24, 70), (70, 40)], start=1):
        truth[(yy - cy) ** 2 + (xx - cx) ** 2 < 12**2] = label
    fragments = np.zeros_like(truth)  # 4 x 4 = 16 px specks of foreground, not cells
    for number, (y, x) in enumerate([(4, 46), (46, 4), (88, 88), (50, 88)], start=1):
        fragments[y : y + 4, x : x + 4] = number
    flows = flows_target(truth + np.where(fragments > 0, fragments + 10, 0))
    maps = np.concatenate([((truth + fragments) > 0)[None].astype(np.float32), flows])
    base = {"mask_threshold": 0.5, "flow_threshold": 0.4, "min_size_px": 10}
    best, score = tune_thresholds([maps], [truth], "flows", base)
    assert mean_csi([maps], [truth], "flows", base) < 1.0  # the specks count as false positives
    assert best["min_size_px"] >= 30
    assert score == 1.0
