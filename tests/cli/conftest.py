"""Label folders on disk for the CLI tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stainless.data.synthetic import make_synthetic_sample
from stainless.io import write_image


@pytest.fixture
def label_folders(tmp_path: Path) -> tuple[Path, Path]:
    """``gt/`` with ``<name>_masks.png`` and ``pred/`` with ``<name>_pred.tif`` for two images."""
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir()
    pred.mkdir()
    for seed in (1, 2):
        truth = make_synthetic_sample((64, 64), cell_radius_px=6, seed=seed).cell_labels
        shifted = np.roll(truth, 1, axis=0)
        write_image(gt / f"field{seed}_masks.png", truth, axes="YX")
        write_image(pred / f"field{seed}_pred.tif", shifted, axes="YX")
    return pred, gt
