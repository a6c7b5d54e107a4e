"""Augmentations that hide the modality (gamma, blur, channel dropout), absent planes kept
absent, and per-image draw weights (a manifest's ``weight`` column)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stainless.config import AugmentConfig, SegmentationDataConfig
from stainless.data.augment import gaussian_blur, photometric_augment, random_gamma
from stainless.data.segmentation import (
    LoadedSegmentationSample,
    SegmentationCrops,
    samples_from_segmentation_manifest,
)
from stainless.io.images import write_image


def ramp_patch() -> np.ndarray:
    return np.stack([np.tile(np.linspace(0, 1, 16, dtype=np.float32), (16, 1))] * 2)


def test_gamma_keeps_the_order_of_intensities_and_the_ends() -> None:
    patch = ramp_patch()
    curved = random_gamma(patch, np.random.default_rng(3))
    assert not np.allclose(curved, patch)
    assert (np.diff(curved[0, 0]) >= 0).all()
    assert curved[0, 0, 0] == 0 and np.isclose(curved[0, 0, -1], 1)


def test_blur_smooths_an_edge_and_keeps_the_mean() -> None:
    patch = np.zeros((1, 32, 32), np.float32)
    patch[:, :, 16:] = 1
    blurred = gaussian_blur(patch, 2.0)
    assert 0 < blurred[0, 16, 15] < 1 and np.isclose(blurred.mean(), patch.mean(), atol=1e-3)


def test_channel_dropout_zeroes_the_second_plane_on_about_that_share() -> None:
    augment = AugmentConfig(channel_dropout=0.5, intensity=True, gamma=True, blur=True)
    rng = np.random.default_rng(0)
    dropped = [
        not photometric_augment(ramp_patch() + 0.1, augment, rng)[1].any() for _ in range(200)
    ]
    assert 0.4 < np.mean(dropped) < 0.6
    first_plane = photometric_augment(ramp_patch(), augment, rng)[0]
    assert first_plane.any()  # the first (cytoplasm) plane is never dropped


def test_an_absent_plane_stays_zero_through_every_augmentation() -> None:
    patch = ramp_patch()
    patch[1] = 0  # no nucleus channel: zeros, as at prediction
    augment = AugmentConfig(intensity=True, invert=True, gamma=True, colour=True, blur=True)
    rng = np.random.default_rng(1)
    for _ in range(20):
        out = photometric_augment(patch, augment, rng)
        assert not out[1].any() and out[0].any()


def sample(name: str, value: float) -> LoadedSegmentationSample:
    labels = np.zeros((32, 32), np.int32)
    labels[8:20, 8:20] = 1
    inputs = np.full((1, 32, 32), value, np.float32)
    return LoadedSegmentationSample(name, inputs, labels, None, weight=9.0 if value else 1.0)


def test_weights_set_how_often_each_image_is_drawn() -> None:
    data = SegmentationDataConfig.model_validate(
        {"samples": [], "crop_size": 16, "crops_per_epoch": 300, "augment": {"flips": False}}
    )
    crops = SegmentationCrops([sample("light", 0.0), sample("heavy", 1.0)], "semantic", data)
    heavy = np.mean([float(crops[i]["input"].mean()) > 0.5 for i in range(len(crops))])
    assert 0.83 < heavy < 0.97  # 9 of 10 draws


def test_manifest_reads_weights_and_skips_a_blank_second_input(tmp_path: Path) -> None:
    for name in ("a.tif", "b.tif", "n.tif", "la.tif"):
        write_image(tmp_path / name, np.ones((8, 8), np.uint16), axes="YX")
    (tmp_path / "m.csv").write_text(
        "name,input,input2,labels,split,weight\n"
        "one,a.tif,n.tif,la.tif,train,3\n"
        "two,b.tif,,la.tif,train,\n"
    )
    one, two = samples_from_segmentation_manifest(tmp_path / "m.csv", "train")
    assert [p.name for p in one.inputs] == ["a.tif", "n.tif"] and one.weight == 3.0
    assert [p.name for p in two.inputs] == ["b.tif"] and two.weight == 1.0
