"""The fast distance-map pipeline equals scikit-image's h_maxima + watershed reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from sklearn.metrics import adjusted_rand_score

from stainless.data.targets import distance_target
from stainless.postprocessing.decoders import labels_from_maps
from stainless.postprocessing.instances import labels_from_distance, labels_from_distance_skimage
from stainless.postprocessing.labels import fill_holes, relabel_sequential
from tests.postprocessing.test_round_trips import touching_disks


def random_maps(seed: int, size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Smooth random bumps (a network-like distance map) and a mask probability."""
    rng = np.random.default_rng(seed)
    bumps = ndi.gaussian_filter(rng.random((size, size)), rng.uniform(2, 6))
    bumps = (bumps - bumps.min()) / np.ptp(bumps)
    noise = rng.normal(0, 0.01, (size, size))
    mask = ndi.gaussian_filter((bumps > rng.uniform(0.3, 0.5)).astype(float), 1)
    return np.clip(bumps + noise, 0, None), mask


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("h", [0.02, 0.1, 0.3])
def test_equals_the_reference_on_random_maps(seed: int, h: float) -> None:
    distance, mask = random_maps(seed)
    fast = labels_from_distance(distance, mask, h=h)
    reference = labels_from_distance_skimage(distance, mask, h=h)
    assert fast.max() == reference.max()  # the same markers
    assert adjusted_rand_score(reference.ravel(), fast.ravel()) >= 0.99


@pytest.mark.parametrize("seed", range(4))
def test_equals_the_reference_on_exact_distance_targets_with_tied_peaks(seed: int) -> None:
    """Every object's peak is exactly 1.0: maxima of equal height must all be kept."""
    distance = distance_target(touching_disks(seed))
    fast = labels_from_distance(distance, h=0.3)
    reference = labels_from_distance_skimage(distance, h=0.3)
    assert fast.max() == reference.max()
    assert adjusted_rand_score(reference.ravel(), fast.ravel()) >= 0.99


def test_plateau_maximum_and_insignificant_bump() -> None:
    distance = np.zeros((9, 20))
    distance[2:7, 2:9] = 0.5
    distance[3:6, 3:8] = 1.0  # a plateau top
    distance[2:7, 11:18] = 0.5
    distance[4, 14] = 0.6  # a bump 0.1 above its surroundings: not a marker at h = 0.3
    labels = labels_from_distance(distance, h=0.3)
    assert labels.max() == 2  # the bump's object still exists: it is the global floor's maximum
    np.testing.assert_array_equal(labels > 0, distance > 0)
    assert labels_from_distance(distance, h=0.05).max() == 2


def test_no_significant_maximum_gives_no_object() -> None:
    distance = np.full((8, 8), 0.1)
    assert labels_from_distance(distance, h=0.5).max() == 0
    assert labels_from_distance(np.zeros((8, 8)), h=0.3).max() == 0


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="h must be > 0"):
        labels_from_distance(np.ones((4, 4)), h=0)
    with pytest.raises(ValueError, match=r"must be \(Y, X\)"):
        labels_from_distance(np.ones((2, 4, 4)))
    with pytest.raises(ValueError, match="mask has shape"):
        labels_from_distance(np.ones((4, 4)), np.ones((4, 5)))


def test_fill_holes_fills_only_holes_of_one_object() -> None:
    labels = np.zeros((20, 20), np.int32)
    labels[2:10, 2:10] = 4
    labels[4:6, 4:6] = 0  # a hole inside object 4
    labels[11:16, 2:8] = 9
    labels[11:16, 8:14] = 5
    labels[13, 7:9] = 0  # a gap between objects 9 and 5: enclosed, but by two objects
    labels[0, 15] = 0
    filled = fill_holes(labels)
    assert (filled[4:6, 4:6] == 4).all()
    assert (filled[13, 7:9] == 0).all()
    assert filled[0, 15] == 0 and filled.dtype == labels.dtype


def test_relabel_sequential_keeps_order_and_dtype() -> None:
    labels = np.array([[0, 7, 7], [300000, 0, 2]])
    out = relabel_sequential(labels)
    np.testing.assert_array_equal(out, [[0, 2, 2], [3, 0, 1]])
    assert out.dtype == np.uint16


def test_labels_from_maps_dispatches_on_the_head() -> None:
    labels = touching_disks(1)
    distance = distance_target(labels)
    maps = np.stack([distance, (labels > 0).astype(float)])
    out = labels_from_maps(maps, "distance", {"mask_threshold": 0.5, "h": 0.3})
    assert adjusted_rand_score(labels.ravel(), out.ravel()) >= 0.95
    semantic = labels_from_maps((labels > 0)[None].astype(float), "semantic", {})
    assert semantic.max() == ndi.label(labels > 0)[1]
    classes = labels_from_maps(np.stack([1 - maps[1], maps[1], 0 * maps[1]]), "semantic", {})
    np.testing.assert_array_equal(classes, labels > 0)
    with pytest.raises(ValueError, match="unknown head"):
        labels_from_maps(maps, "boxes", {})
