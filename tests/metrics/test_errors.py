"""Error types on hand-drawn cases whose answer is known by construction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stainless.cli.main import main
from stainless.io import write_image
from stainless.metrics import error_types


def two_cells() -> np.ndarray:
    truth = np.zeros((20, 40), dtype=np.int32)
    truth[2:18, 2:18] = 1
    truth[2:18, 20:38] = 2
    return truth


def test_a_perfect_prediction_has_no_error() -> None:
    counts = error_types(two_cells(), two_cells())
    assert counts == {
        "true": 2,
        "pred": 2,
        "matched": 2,
        "split": 0,
        "merged": 0,
        "missed": 0,
        "spurious": 0,
    }


def test_one_prediction_over_two_cells_is_two_merges() -> None:
    predicted = (two_cells() > 0).astype(np.int32)
    predicted[2:18, 18:20] = 1  # one blob over both
    counts = error_types(two_cells(), predicted)
    assert (counts["matched"], counts["merged"], counts["split"]) == (0, 2, 0)


def test_a_cell_cut_in_three_is_a_split() -> None:
    truth = two_cells()
    predicted = truth.copy()
    predicted[2:18, 2:8], predicted[2:18, 8:13], predicted[2:18, 13:18] = 3, 4, 5
    counts = error_types(truth, predicted)
    assert (counts["matched"], counts["split"], counts["merged"]) == (1, 1, 0)


def test_a_missing_cell_and_a_blob_on_background() -> None:
    truth = two_cells()
    predicted = np.where(truth == 1, 1, 0).astype(np.int32)
    background = np.zeros_like(truth)
    background[18:20, 0:10] = 1
    predicted[background > 0] = 7
    counts = error_types(truth, predicted)
    assert (counts["missed"], counts["spurious"], counts["pred"]) == (1, 1, 2)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="shape"):
        error_types(two_cells(), two_cells()[:10])
    with pytest.raises(ValueError, match="overlap"):
        error_types(two_cells(), two_cells(), overlap=0)


def test_evaluate_errors_adds_the_counts_and_their_totals(tmp_path: Path) -> None:
    truth = two_cells()
    merged = (truth > 0).astype(np.uint16)
    merged[2:18, 18:20] = 1
    write_image(tmp_path / "a_masks.tif", truth.astype(np.uint16), axes="YX")
    write_image(tmp_path / "a_pred.tif", merged, axes="YX")
    out = tmp_path / "scores.json"
    argv = ["evaluate", "segmentation", "--pred", str(tmp_path / "a_pred.tif")]
    argv += ["--gt", str(tmp_path / "a_masks.tif"), "--errors", "--output", str(out)]
    assert main(argv) == 0
    result = json.loads(out.read_text())
    assert result["per_image"][0]["merged"] == 2
    assert result["summary"]["merged_total"] == 2
    assert result["summary"]["n_true_total"] == 2
