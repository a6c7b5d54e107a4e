"""Automatic object size: the size search finds the objects' diameter at any magnification."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile
from skimage.transform import rescale

from stainless.cli.main import main
from stainless.data.object_size import median_object_diameter
from stainless.data.synthetic import make_synthetic_sample
from stainless.inference.object_size import (
    estimate_diameter,
    native_diameter,
    plateau_crossing,
    preview,
)
from stainless.inference.segmenter import SegmentationPredictor
from stainless.io import read_image
from stainless.metrics.instance import match_instances, scores_from_counts
from stainless.model_folder import resolve_model


def _nuclei(scale: float) -> tuple[np.ndarray, np.ndarray]:
    sample = make_synthetic_sample((240, 240), n_cells=30, seed=4, cell_radius_px=14)
    image = rescale(sample.nuclear_stain * 4000, scale, order=1, preserve_range=True)
    labels = rescale(sample.nucleus_labels, scale, order=0, preserve_range=True,
                     anti_aliasing=False)  # fmt: skip
    return image.astype(np.float32)[None], labels.astype(np.int32)


def _csi(truth: np.ndarray, labels: np.ndarray) -> float:
    return float(scores_from_counts(match_instances(truth, labels, thresholds=[0.5]))["csi"][0])


@pytest.mark.parametrize("scale", [0.6, 1.0, 3.0])
def test_the_size_search_finds_the_diameter_at_any_magnification(scale: float) -> None:
    predictor = SegmentationPredictor.load("nuclei-fluorescence", "cpu")
    planes, truth = _nuclei(scale)
    true_px = median_object_diameter([truth])
    assert true_px is not None
    estimate = estimate_diameter(predictor, planes)
    assert estimate.converged
    assert abs(np.log(estimate.diameter_px / true_px)) < np.log(1.2), (estimate, true_px)
    native = native_diameter(predictor.info)
    at_auto = predictor.segment(planes, magnification=native / estimate.diameter_px)
    at_true = predictor.segment(planes, magnification=native / true_px)
    assert _csi(truth, at_auto) >= _csi(truth, at_true) - 0.05


def test_the_plateau_wins_over_the_fragment_fixed_point() -> None:
    # measured on a bbbc039 validation image at x3 (nuclei 89 px): fragments of 11-17 px where
    # the image is over-enlarged, whole nuclei of 83-87 px from a trial size of 57 px on
    scan = [(10.0, 11.5), (14.1, 14.3), (20.0, 17.1), (28.3, 29.8), (40.0, 57.1),
            (56.6, 83.2), (80.0, 83.7), (113.1, 86.5)]  # fmt: skip
    assert 80 < plateau_crossing(scan) < 90
    # without the plateau, the fragment fixed point is all there is
    assert 14 < plateau_crossing(scan[:3]) < 17


def test_a_scan_without_a_crossing_points_past_its_end() -> None:
    assert plateau_crossing([(10.0, 8.0), (20.0, 9.0)]) == pytest.approx(8.0)
    assert plateau_crossing([(10.0, 30.0), (20.0, 40.0)]) == pytest.approx(40.0)
    assert plateau_crossing([(10.0, 10.0)]) == pytest.approx(10.0)


def test_preview_is_the_central_crop() -> None:
    planes = np.arange(2 * 10 * 12).reshape(2, 10, 12)
    assert preview(planes, 4).shape == (2, 4, 4)
    assert preview(planes, 4)[0, 0, 0] == planes[0, 3, 4]
    assert preview(planes, 64).shape == planes.shape


def test_diameter_auto_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    planes, truth = _nuclei(2.5)
    source = tmp_path / "big.tif"
    tifffile.imwrite(source, planes[0].astype(np.uint16))
    argv = ["segment", "--model", "nuclei-fluorescence", "--input", str(source)]
    assert main([*argv, "--output", str(tmp_path / "auto"), "--diameter", "auto"]) == 0
    assert "big: object diameter" in capsys.readouterr().err
    labels = tifffile.imread(tmp_path / "auto" / "big_labels.tif")
    assert _csi(truth, labels) > 0.8
    # OME-Zarr output searches the same central crop: the same labels
    assert main([*argv, "--output", str(tmp_path / "auto.zarr"), "--diameter", "auto"]) == 0
    stored = read_image(tmp_path / "auto.zarr").array
    pairs = np.unique(np.stack([stored.ravel(), labels.ravel()]), axis=1).shape[1]
    assert pairs == len(np.unique(labels)) == len(np.unique(stored))  # the same partition


def test_diameter_auto_needs_a_model_that_records_its_object_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model"
    shutil.copytree(resolve_model(Path("nuclei-fluorescence")), model)
    info = json.loads((model / "model.json").read_text())
    info["object_diameter_px"] = None
    (model / "model.json").write_text(json.dumps(info))
    planes, _ = _nuclei(1.0)
    tifffile.imwrite(tmp_path / "a.tif", planes[0].astype(np.uint16))
    argv = ["segment", "--model", str(model), "--input", str(tmp_path / "a.tif"), "--output",
            str(tmp_path / "out"), "--diameter", "auto"]  # fmt: skip
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "does not record the diameter of its training objects" in lines[0]
    assert not (tmp_path / "out").exists()


def test_a_model_that_records_its_training_sizes_searches_near_them() -> None:
    from dataclasses import replace

    from stainless.inference.object_size import training_window

    predictor = SegmentationPredictor.load("nuclei-fluorescence", "cpu")
    assert training_window(predictor.info) is None  # the built-ins search the whole range
    planes, truth = _nuclei(1.0)
    true_px = median_object_diameter([truth])
    assert true_px is not None
    predictor.info = replace(predictor.info, training_diameters_px=(true_px * 0.8, true_px * 1.2))
    low, high = training_window(predictor.info) or (0.0, 0.0)
    assert (low, high) == pytest.approx((true_px * 0.4, true_px * 2.4))
    near = estimate_diameter(predictor, planes)
    assert all(low <= size <= high for size in near.tried_px)
    assert abs(np.log(near.diameter_px / true_px)) < np.log(1.2), (near, true_px)
    predictor.info = replace(predictor.info, training_diameters_px=(4 * true_px, 5 * true_px))
    far = estimate_diameter(predictor, planes)  # trained on far larger objects: kept near them
    assert far.diameter_px >= 2 * true_px
