"""Input colour conventions and the colour augmentations (one network for grey and colour
images), and training at one object diameter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stainless.config import SegmentationDataConfig
from stainless.data.colour import apply_colour, invert_contrast, jitter_colour
from stainless.data.segmentation import (
    LoadedSegmentationSample,
    SegmentationCrops,
    at_network_size,
    at_object_diameter,
)

SOURCE = Path("field.png")


def test_grey_takes_the_mean_of_red_green_and_blue() -> None:
    rgb = np.stack([np.full((4, 5), v, np.uint8) for v in (30, 60, 90)])
    grey = apply_colour(rgb, "grey", SOURCE)
    assert grey.shape == (1, 4, 5)
    np.testing.assert_allclose(grey, 60.0)
    rgba = np.concatenate([rgb, np.full((1, 4, 5), 255, np.uint8)])
    np.testing.assert_allclose(apply_colour(rgba, "grey", SOURCE), 60.0)  # alpha ignored
    one = np.ones((1, 4, 5), np.uint16)
    assert apply_colour(one, "grey", SOURCE) is one


def test_rgb_repeats_a_grey_plane_and_drops_alpha() -> None:
    grey = np.arange(20, dtype=np.uint16).reshape(1, 4, 5)
    rgb = apply_colour(grey, "rgb", SOURCE)
    assert rgb.shape == (3, 4, 5)
    assert all(np.array_equal(plane, grey[0]) for plane in rgb)
    rgba = np.zeros((4, 4, 5), np.uint8)
    assert apply_colour(rgba, "rgb", SOURCE).shape == (3, 4, 5)


@pytest.mark.parametrize("colour", ["grey", "rgb"])
def test_other_plane_counts_are_refused_naming_the_file(colour: str) -> None:
    with pytest.raises(ValueError, match=r"'field.png' has 2 planes; the model takes one grey"):
        apply_colour(np.zeros((2, 4, 4)), colour, SOURCE)


def test_as_is_leaves_the_planes_alone() -> None:
    planes = np.zeros((2, 4, 4))
    assert apply_colour(planes, "as_is", SOURCE) is planes


def test_inversion_swaps_bright_and_dark_within_the_range() -> None:
    patch = np.array([[[0.0, 0.25, 1.0]]], np.float32)
    np.testing.assert_allclose(invert_contrast(patch), [[[1.0, 0.75, 0.0]]])


def test_colour_jitter_changes_each_plane_differently() -> None:
    patch = np.tile(np.linspace(0, 1, 16, dtype=np.float32), (3, 16, 1))
    jittered = jitter_colour(patch, np.random.default_rng(0))
    assert jittered.dtype == np.float32
    differences = [float(np.abs(jittered[c] - patch[c]).mean()) for c in range(3)]
    assert len({round(d, 6) for d in differences}) == 3
    assert max(differences) < 0.2


def _sample(radius: int) -> LoadedSegmentationSample:
    yy, xx = np.mgrid[:96, :96]
    labels = np.zeros((96, 96), np.int32)
    for number, (y, x) in enumerate([(24, 24), (24, 72), (72, 24), (72, 72)], start=1):
        labels[(yy - y) ** 2 + (xx - x) ** 2 <= radius**2] = number
    inputs = (labels > 0).astype(np.float32)[None]
    return LoadedSegmentationSample("discs", inputs, labels, None)


def test_each_image_is_brought_to_the_training_diameter() -> None:
    sample = at_object_diameter(_sample(radius=10), 10.0)
    assert sample.zoom == pytest.approx(10.0 / 20.9, rel=0.05)
    seen = at_network_size(sample, 1.0)
    diameters = 2 * np.sqrt(np.bincount(seen.labels.ravel())[1:] / np.pi)
    np.testing.assert_allclose(diameters, 10.0, rtol=0.1)
    empty = LoadedSegmentationSample("empty", np.zeros((1, 8, 8), np.float32),
                                     np.zeros((8, 8), np.int32), None)  # fmt: skip
    assert at_object_diameter(empty, 10.0).zoom == 1.0


def test_crops_are_inverted_on_about_half_and_zoomed_to_the_diameter() -> None:
    data = SegmentationDataConfig.model_validate({
        "samples": [], "crop_size": 32, "crops_per_epoch": 200, "class_balanced": False,
        "augment": {"flips": False, "rot90": False, "invert": True},
    })  # fmt: skip
    sample = at_object_diameter(_sample(radius=10), 10.0)
    crops = SegmentationCrops([sample], "semantic", data, seed=1)
    means, areas = [], []
    for index in range(len(crops)):
        crop = crops[index]
        foreground = crop["target"][0].numpy() > 0.5
        inside = crop["input"][0].numpy()[foreground]
        if inside.size > 30:
            means.append(float(inside.mean()))
            areas.append(int(foreground.sum()))
    inverted = np.mean([m < 0.5 for m in means])
    assert 0.35 < inverted < 0.65  # objects dark on bright on about half of the crops
    assert max(areas) < 1.3 * np.pi * 5**2 * 4  # objects of ~10 px, not ~21 px


def test_the_strong_augmentation_clears_the_labels_it_cuts_out() -> None:
    from stainless.data.strong_augment import strong_augment

    sample = _sample(radius=10)
    seen_cut = False
    for seed in range(20):
        patch, labels = strong_augment(sample.inputs.copy(), sample.labels.copy(),
                                       np.random.default_rng(seed))  # fmt: skip
        assert patch.shape == sample.inputs.shape and patch.dtype == np.float32
        assert set(np.unique(labels)) <= set(np.unique(sample.labels))
        removed = (sample.labels > 0) & (labels == 0)
        if removed.any():
            seen_cut = True
            # where an object was cleared, the image is one flat value (the cut-out box)
            assert np.ptp(patch[0][removed]) < 1e-6
    assert seen_cut
