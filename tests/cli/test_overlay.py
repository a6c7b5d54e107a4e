"""``stainless overlay``: colours follow the matching, counts are right, big images shrink."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stainless.cli.main import main
from stainless.io import write_image
from stainless.viz.overlay import GREEN, RED, YELLOW, render_overlay


def squares() -> tuple[np.ndarray, np.ndarray]:
    gt = np.zeros((64, 64), np.uint16)
    gt[5:20, 5:20] = 3
    gt[30:45, 30:45] = 8  # missed
    pred = np.zeros_like(gt)
    pred[6:20, 5:20] = 1  # matches object 3
    pred[50:60, 5:15] = 2  # false positive
    return gt, pred


def test_colours_and_counts() -> None:
    gt, pred = squares()
    rgb, counts = render_overlay(np.zeros((64, 64)), pred, gt)
    assert counts == {"tp": 1, "fp": 1, "fn": 1}
    assert tuple(rgb[30, 30]) == RED  # border of the missed object
    assert tuple(rgb[50, 10]) == GREEN  # border of the false positive
    assert tuple(rgb[19, 10]) in (YELLOW, RED)  # matched prediction and its truth share a border
    assert (rgb[6, 6:19] == YELLOW).all(axis=1).any()


def test_large_images_are_downsampled() -> None:
    _, pred = squares()
    big = np.kron(pred, np.ones((40, 40), np.uint16))
    rgb, counts = render_overlay(np.zeros(big.shape), big, max_side=640)
    assert max(rgb.shape[:2]) <= 640 and counts == {"predicted": 2}
    assert (rgb == YELLOW).all(axis=2).any()  # thickened outlines survive the reduction


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt, pred = squares()
    for name, array in (("img.tif", gt * 100), ("pred.tif", pred), ("gt.tif", gt)):
        write_image(tmp_path / name, array, axes="YX")
    args = ["overlay", "--image", str(tmp_path / "img.tif"), "--pred", str(tmp_path / "pred.tif")]
    out = tmp_path / "overlay.png"
    assert main([*args, "--gt", str(tmp_path / "gt.tif"), "--out", str(out)]) == 0
    assert out.stat().st_size > 1000 and "tp 1, fp 1, fn 1" in capsys.readouterr().err
    assert main([*args, "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "x.jpg")]) == 2
    assert "must end in .png" in capsys.readouterr().err
