"""Acceptance check on real expert masks: ``stainless evaluate segmentation`` on the dense-tissue
test strips against perturbed copies equals an independent implementation at every threshold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stainless.cli.main import main
from stainless.data.perturb import perturb_labels
from stainless.io import read_labels, write_image
from stainless.metrics import DEFAULT_THRESHOLDS
from tests.metrics.reference import reference_counts


@pytest.mark.slow
def test_dense_tissue_scores_equal_an_independent_implementation(
    shared_data: Path, tmp_path: Path
) -> None:
    test_dir = shared_data / "dense-tissue" / "test"
    pred_dir = tmp_path / "pred"
    pred_dir.mkdir()
    truths = {}
    for seed, mask in enumerate(sorted(test_dir.glob("*_masks.png"))):
        name = mask.name.removesuffix("_masks.png")
        truths[name] = read_labels(mask).array
        perturbed = perturb_labels(truths[name], seed=seed)
        write_image(pred_dir / f"{name}_pred.tif", perturbed, axes="YX")
    out = tmp_path / "scores.json"
    argv = [
        "evaluate",
        "segmentation",
        "--pred",
        str(pred_dir),
        "--gt",
        str(test_dir / "*_masks.png"),
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    rows = {row["name"]: row for row in json.loads(out.read_text())["per_image"]}
    assert rows.keys() == truths.keys() and len(rows) == 7
    for name, truth in truths.items():
        pred = read_labels(pred_dir / f"{name}_pred.tif").array
        expected = reference_counts(truth, pred, list(DEFAULT_THRESHOLDS))
        for threshold, (tp, fp, fn) in zip(DEFAULT_THRESHOLDS, expected, strict=True):
            t = f"{threshold:.2f}"
            assert (rows[name][f"tp@{t}"], rows[name][f"fp@{t}"], rows[name][f"fn@{t}"]) == (
                tp,
                fp,
                fn,
            )
            assert rows[name][f"csi@{t}"] == pytest.approx(tp / (tp + fp + fn))
            assert rows[name][f"precision@{t}"] == pytest.approx(tp / (tp + fp))
            assert rows[name][f"f1@{t}"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
        assert 0.3 < rows[name]["csi@0.50"] < 0.95  # the perturbations really cost something
