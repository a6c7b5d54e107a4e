"""Label clean-up: every object comes out as one connected piece."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from stainless.postprocessing.decoders import labels_from_maps
from stainless.postprocessing.labels import clean_labels, split_disconnected


def _pieces_per_object(labels: np.ndarray) -> list[int]:
    return [
        int(ndi.label(labels == i, structure=np.ones((3, 3)))[1])
        for i in np.unique(labels)
        if i != 0
    ]


def test_one_id_over_separate_regions_becomes_one_object_per_region() -> None:
    labels = np.zeros((40, 40), dtype=np.uint16)
    labels[2:10, 2:10] = 7
    labels[20:30, 20:30] = 7  # the same id, far away
    labels[2:10, 25:35] = 3
    out = clean_labels(labels)
    assert _pieces_per_object(out) == [1, 1, 1]
    assert sorted(np.bincount(out.ravel())[1:]) == [64, 80, 100]


def test_fragments_of_an_object_fall_under_the_size_filter() -> None:
    labels = np.zeros((40, 40), dtype=np.uint16)
    labels[5:25, 5:25] = 1
    labels[30:32, 30:32] = 1  # a 4-pixel fragment of object 1
    out = clean_labels(labels, min_size_px=10)
    assert int(out.max()) == 1
    assert int(np.count_nonzero(out)) == 400


def test_objects_in_one_piece_are_returned_as_they_are() -> None:
    labels = np.zeros((20, 20), dtype=np.uint32)
    labels[1:5, 1:5] = 4
    labels[5:9, 5:9] = 9  # touches object 4 at a corner only: still its own object
    assert split_disconnected(labels) is labels


def test_a_flows_decoder_never_returns_an_object_in_pieces() -> None:
    # two blobs whose flows point at one sink between them: the paths join them into one id
    y, x = np.mgrid[0:48, 0:48].astype(np.float32)
    foreground = ((y - 24) ** 2 + (x - 10) ** 2 < 36) | ((y - 24) ** 2 + (x - 38) ** 2 < 36)
    flow_x = np.sign(24 - x)
    maps = np.stack([foreground.astype(np.float32), np.zeros_like(y), flow_x])
    labels = labels_from_maps(maps, "flows", {"flow_threshold": 0.0, "min_size_px": 0})
    assert int(labels.max()) == 2
    assert _pieces_per_object(labels) == [1, 1]
