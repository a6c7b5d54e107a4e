"""The built-in ``cells`` generalist: two inputs (cytoplasm or label-free, optional nucleus),
trained at one object size, so grey images go in with no option, multi-plane images pick their
channels, and the size of new images is found (on a real held-out image)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from stainless.cli.main import main
from stainless.io import read_input_planes, read_labels
from stainless.metrics.instance import instance_metrics
from stainless.model_folder import read_segmentation_info
from stainless.zoo import get_model

DSB_TEST_IMAGE = "0acd2c223d300ea55d0546797713851e818e5c697d073b7f4091b96ce0f3d2fe.png"
"""A dsb2018 test-split image (grey fluorescent nuclei, 256 x 256), never trained on."""


def test_the_card_states_the_channel_convention_and_the_left_out_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = get_model("cells")
    info = read_segmentation_info(model.folder)
    assert info.in_channels == 2 and info.channels == [1, 2] and info.one_diameter
    assert "--channels CYTO,NUCLEUS" in model.channels and "MIT" in model.licence
    assert model.leave_one_set_out is not None and model.held_out["scores"]
    assert main(["models", "info", "cells"]) == 0
    shown = capsys.readouterr().out
    assert "channel rule:" in shown and "left-out sets:" in shown and "dense-tissue" in shown
    assert "planes:        2 (an image lacking a channel below is fed zeros there)" in shown


def _segment(image: Path, out: Path, *options: str) -> np.ndarray:
    assert main(["segment", "--model", "cells", "--input", str(image), "--output", str(out),
                 "--device", "cpu", *options]) == 0  # fmt: skip
    return read_labels(next(out.glob(f"{image.stem}*.tif"))).array


def test_a_grey_image_needs_no_option_and_its_size_is_found(
    tmp_path: Path, shared_data: Path
) -> None:
    image = shared_data / "dsb2018" / "images" / DSB_TEST_IMAGE
    truth = read_labels(shared_data / "dsb2018" / "labels" / DSB_TEST_IMAGE).array
    labels = _segment(image, tmp_path / "out")
    assert instance_metrics(truth, labels, thresholds=[0.5])["csi@0.50"] >= 0.7


def test_an_absent_nucleus_channel_is_the_same_as_zeros_wherever_the_planes_lie(
    tmp_path: Path, shared_data: Path
) -> None:
    grey = read_input_planes([shared_data / "dsb2018" / "images" / DSB_TEST_IMAGE])[0][0]
    files = {"grey": grey, "zeros_second": np.stack([grey, 0 * grey]),
             "zeros_first": np.stack([0 * grey, grey])}  # fmt: skip
    for name, planes in files.items():
        tifffile.imwrite(tmp_path / f"{name}.tif", planes)
    at_size = ("--diameter", "19")
    reference = _segment(tmp_path / "grey.tif", tmp_path / "a", *at_size)
    assert reference.max() >= 5  # the image holds 9 nuclei
    second = _segment(tmp_path / "zeros_second.tif", tmp_path / "b", "--channels", "1,2", *at_size)
    swapped = _segment(tmp_path / "zeros_first.tif", tmp_path / "c", "--channels", "2,1", *at_size)
    np.testing.assert_array_equal(second, reference)
    np.testing.assert_array_equal(swapped, reference)
