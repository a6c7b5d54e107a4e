"""labels → targets → post-processing → labels, up to relabelling (the design's mirror pairs)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from stainless.data.targets import (
    distance_target,
    foreground_target,
    hover_target,
    three_class_target,
)
from stainless.metrics import instance_metrics
from stainless.postprocessing.instances import labels_from_distance, labels_from_hover
from stainless.postprocessing.labels import clean_labels, relabel_sequential


def touching_disks(seed: int, size: int = 160, n: int = 12) -> np.ndarray:
    """Disks of radius 9–14 px in a chain-like cluster: each new centre lies 1.6–1.9 radii from an
    earlier one and no closer than that to any other, so neighbours touch (overlaps go to the
    nearer centre) without cutting each other into crescents."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    centres: list[np.ndarray] = [np.array([size / 2, size / 2])]
    radii = [rng.uniform(9, 14)]
    while len(centres) < n:
        radius = rng.uniform(9, 14)
        anchor = centres[int(rng.integers(len(centres)))]
        angle = rng.uniform(0, 2 * np.pi)
        candidate = anchor + rng.uniform(1.6, 1.9) * radius * np.array(
            [np.sin(angle), np.cos(angle)]
        )
        gaps = [
            np.hypot(*(candidate - c)) / max(r, radius) for c, r in zip(centres, radii, strict=True)
        ]
        far_enough = min(gaps) >= 1.6
        if far_enough and np.all((candidate > 15) & (candidate < size - 15)):
            centres.append(candidate)
            radii.append(radius)
    labels = np.zeros((size, size), np.int32)
    best = np.full((size, size), np.inf)
    for index, (centre, radius) in enumerate(zip(centres, radii, strict=True), start=1):
        distance = np.hypot(yy - centre[0], xx - centre[1]) / radius
        wins = (distance < 1) & (distance < best)
        labels[wins] = index * 7  # non-consecutive ids
        best[wins] = distance[wins]
    return labels


@pytest.mark.parametrize("seed", range(4))
def test_touching_disks_survive_the_distance_round_trip(seed: int) -> None:
    labels = touching_disks(seed)
    recovered = labels_from_distance(distance_target(labels))
    assert adjusted_rand_score(labels.ravel(), recovered.ravel()) >= 0.95
    # h-maxima may still split a disk bitten by two neighbours; most objects come back whole.
    assert instance_metrics(labels, recovered)["csi@0.50"] >= 0.8


@pytest.mark.parametrize("seed", range(4))
def test_touching_disks_survive_the_hover_round_trip(seed: int) -> None:
    labels = touching_disks(seed)
    recovered = labels_from_hover(foreground_target(labels), hover_target(labels))
    assert adjusted_rand_score(labels.ravel(), recovered.ravel()) >= 0.95


def test_target_values_and_ranges() -> None:
    labels = touching_disks(0)
    distance = distance_target(labels)
    assert distance.max() == 1.0 and distance[labels == 0].max() == 0.0
    for object_id in np.unique(labels)[1:]:
        assert distance[labels == object_id].max() == pytest.approx(1.0)  # normalised per object
    hover = hover_target(labels)
    assert hover.shape == (2, *labels.shape) and np.abs(hover).max() <= 1.0
    assert hover[:, labels == 0].max() == 0.0
    nuclei = np.zeros_like(labels)
    nuclei[labels > 0] = 1
    nuclei[::2] = 0
    classes = three_class_target(nuclei, labels)
    assert set(np.unique(classes).tolist()) == {0, 1, 2}
    assert np.all(classes[labels == 0] == 0)


def test_label_clean_up() -> None:
    labels = np.zeros((10, 10), np.int64)
    labels[1:5, 1:5] = 40
    labels[2, 2] = 0  # a hole
    labels[7, 7] = 90  # 1 px
    labels[0:3, 8:10] = 5  # touches the border
    cleaned = clean_labels(labels, min_size_px=2, drop_edges=True)
    assert cleaned.dtype == np.uint16
    assert sorted(np.unique(cleaned).tolist()) == [0, 1]
    assert cleaned[2, 2] == 1  # the hole is filled
    assert relabel_sequential(np.array([[0, 9, 3]])).tolist() == [[0, 2, 1]]
