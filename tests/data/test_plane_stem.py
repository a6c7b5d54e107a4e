"""The plane-count-free input (mean and spread of 1..N planes) and its training draws."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stainless.data.plane_stem import (
    STEM_CHANNELS,
    plane_stem,
    random_plane_run,
    resample_along_z,
    stem_for,
)
from stainless.inference.scaling import rescaling
from stainless.losses import masked_pcc_loss


def test_the_stem_of_one_plane_is_the_plane_and_no_spread() -> None:
    plane = np.random.default_rng(0).random((1, 8, 9), dtype=np.float32)
    stem = plane_stem(plane)
    assert stem.shape == (STEM_CHANNELS, 8, 9)
    np.testing.assert_array_equal(stem[0], plane[0])
    assert not stem[1].any()


def test_the_stem_of_a_series_is_its_mean_and_standard_deviation() -> None:
    planes = np.random.default_rng(1).random((5, 4, 4), dtype=np.float32)
    stem = plane_stem(planes)
    np.testing.assert_allclose(stem[0], planes.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(stem[1], planes.std(axis=0), rtol=1e-5)
    with pytest.raises(ValueError, match=r"\(C, Y, X\)"):
        plane_stem(planes[0])


def test_resampling_along_z_keeps_a_full_series_and_interpolates_others() -> None:
    planes = np.arange(3, dtype=np.float32)[:, None, None] * np.ones((3, 2, 2), np.float32)
    assert resample_along_z(planes, 3) is planes or np.array_equal(
        resample_along_z(planes, 3), planes
    )
    five = resample_along_z(planes, 5)
    np.testing.assert_allclose(five[:, 0, 0], [0.0, 0.5, 1.0, 1.5, 2.0])
    one = resample_along_z(planes[1:2], 4)
    assert one.shape == (4, 2, 2) and np.all(one == 1.0)  # a single plane is repeated
    stem = stem_for("resample", 13)
    assert stem is not None and stem.channels == 13 and stem(planes).shape == (13, 2, 2)
    any_stem = stem_for("any", 13)
    assert any_stem is not None and any_stem.channels == STEM_CHANNELS
    assert stem_for("fixed", 13) is None
    with pytest.raises(ValueError, match="fixed, any or resample"):
        stem_for("mean", 13)


def test_plane_runs_are_contiguous_and_single_as_often_as_asked() -> None:
    rng = np.random.default_rng(2)
    runs = [random_plane_run(13, rng, 0.5) for _ in range(2000)]
    lengths = np.array([run.stop - run.start for run in runs])
    assert all(0 <= run.start < run.stop <= 13 for run in runs)
    assert 0.45 < (lengths == 1).mean() < 0.55
    assert lengths.max() == 13  # the whole series is drawn too
    assert random_plane_run(1, rng, 0.0) == slice(0, 1)


def test_pcc_loss_is_zero_for_a_gain_and_offset_and_ignores_absent_targets() -> None:
    target = torch.randn(2, 2, 8, 8)
    present = torch.tensor([[True, False], [True, False]])
    pred = target * 3 + 1
    pred[:, 1] = torch.randn(2, 8, 8)  # absent target: any prediction
    assert float(masked_pcc_loss(pred, target, present)) == pytest.approx(0.0, abs=1e-5)
    assert float(masked_pcc_loss(-pred, target, present)) == pytest.approx(2.0, abs=1e-5)
    none = torch.zeros(2, 2, dtype=torch.bool)
    assert float(masked_pcc_loss(pred, target, none)) == 0.0


def test_rescaling_brings_an_image_to_the_models_pixel_size() -> None:
    assert rescaling(0.5, 1.0) == 0.5  # finer pixels: shrink
    assert rescaling(None, 1.0) == 1.0 and rescaling(0.5, None) == 1.0
    with pytest.raises(ValueError, match="> 0"):
        rescaling(0.0, 1.0)
    with pytest.raises(ValueError, match="is the unit µm"):
        rescaling(650.0, 0.65)  # nm given for µm
