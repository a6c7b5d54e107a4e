"""Joining block-local labels: objects across block faces and corners become one object."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.draw import disk

from stainless.postprocessing.stitching import (
    block_pairs,
    core_labels,
    final_ids,
    id_dtype,
    line_pairs,
)
from stainless.tiling import block_grid


def _discs(shape: tuple[int, int], centres: list[tuple[int, int]], radius: int) -> np.ndarray:
    labels = np.zeros(shape, dtype=np.int32)
    for number, centre in enumerate(centres, start=1):
        rr, cc = disk(centre, radius, shape=shape)
        labels[rr, cc] = number
    return labels


def _stitch(truth: np.ndarray, block: int, halo: int, seed: int = 0) -> np.ndarray:
    """The blockwise pipeline with a perfect 'segmenter' that returns the truth of each
    extended window under ids shuffled per block (so nothing relies on ids agreeing)."""
    rng = np.random.default_rng(seed)
    blocks = block_grid(truth.shape, block, halo)
    cores, edges, counts = [], [], []
    for item in blocks:
        y0, y1, x0, x1 = item.extended
        window = truth[y0:y1, x0:x1]
        shuffled = np.concatenate([[0], rng.permutation(np.arange(1, truth.max() + 1)) + 7])
        core, found = core_labels(shuffled[window], item.core_in_extended)
        cores.append(core)
        edges.append(found)
        counts.append(int(core.max(initial=0)))
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    table = final_ids(sum(counts), block_pairs([b.index for b in blocks], edges, offsets))
    out = np.zeros(truth.shape, dtype=np.uint64)
    for item, core, offset in zip(blocks, cores, offsets, strict=True):
        y0, y1, x0, x1 = item.core
        out[y0:y1, x0:x1] = np.where(core > 0, table[core.astype(np.int64) + offset], 0)
    return out


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = np.unique(np.stack([a.ravel(), b.ravel()], axis=1), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def test_objects_across_block_corners_and_faces_are_joined() -> None:
    # discs centred on block corners (4 blocks each), on faces (2 blocks) and inside one block
    corners = [(64, 64), (64, 128), (128, 64), (128, 128), (192, 192)]
    faces = [(30, 64), (100, 128), (64, 170), (160, 128)]
    inside = [(30, 30), (100, 100), (220, 40)]
    truth = _discs((256, 250), corners + faces + inside, radius=9)
    joined = _stitch(truth, block=64, halo=24)
    assert _same_partition(truth, joined)
    assert int(joined.max()) == len(corners + faces + inside)  # ids 1..n, no gaps


def test_touching_neighbours_across_a_face_stay_apart() -> None:
    # two discs that touch exactly on the block face: one above it, one below
    truth = _discs((128, 128), [(55, 60), (73, 60)], radius=9)
    joined = _stitch(truth, block=64, halo=20)
    assert _same_partition(truth, joined)
    assert int(joined.max()) == 2


def test_one_disputed_pixel_does_not_join_neighbours() -> None:
    seen = np.array([1, 1, 1, 1, 1, 2, 2, 2, 2, 0], dtype=np.uint32)
    own = np.array([5, 5, 5, 5, 6, 6, 6, 6, 6, 0], dtype=np.uint32)  # pixel 4 disputed
    assert line_pairs(seen, own).tolist() == [[1, 5], [2, 6]]


def test_final_ids_number_components_in_order_and_keep_background() -> None:
    table = final_ids(5, np.array([[2, 4], [4, 5]], dtype=np.int64))
    assert table.tolist() == [0, 1, 2, 3, 2, 2]


@pytest.mark.parametrize(("largest", "dtype"), [(70_000, np.uint32), (2**32, np.uint64)])
def test_ids_use_uint64_only_when_uint32_overflows(largest: int, dtype: type) -> None:
    assert id_dtype(largest) == np.dtype(dtype)
    assert id_dtype(np.iinfo(np.uint32).max) == np.dtype(np.uint32)


def test_block_smaller_than_halo_is_refused() -> None:
    with pytest.raises(ValueError, match=r"halo .* must be smaller than the block"):
        block_grid((1000, 1000), 128, 200)


def test_edges_do_not_keep_the_block_alive() -> None:
    labels = np.arange(64 * 64, dtype=np.int32).reshape(64, 64) % 7
    _, edges = core_labels(labels, (8, 56, 8, 56))
    for line in [*edges.inner.values(), *edges.outer.values()]:
        assert line.base is None or line.base.size == line.size  # owns its data, not a view
