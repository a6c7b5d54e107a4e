"""Instance labels segmented block by block, joined into one label image without seams.

Each block is segmented with a halo (context larger than the largest object) and only its core is
kept, its ids renumbered ``1..n``; block ``b``'s ids become globally unique by adding the count
of all blocks before it (so any number of objects fits, no decimal packing of block indices —
Cellpose's distributed mode packs block numbers into the id digits and overflows, cellpose#1046).

An object cut by a block face has a part in each core. Because each block also saw the pixels
just beyond its core (the halo), both blocks can say which of *their* objects lies on the other
side's first row or column. Those pairs are the edges of an overlap graph; a pair is kept when
the two ids cover the face line with IoU > 0.5, so a single disputed boundary pixel never joins
two neighbours. The connected components of the graph (``scipy.sparse.csgraph``) give every
global id its final id, in one relabel pass per block that needs only that block's slice of the
table (memory independent of the image size; the fault fixed in Cellpose PR #1481).

Everything here is pure numpy/scipy on arrays, testable with no model and no cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.sparse.csgraph import connected_components

SIDES = ("top", "bottom", "left", "right")
OPPOSITE = {"top": "bottom", "bottom": "top", "left": "right", "right": "left"}


@dataclass
class BlockEdges:
    """What a block knows about its four core edges, in its own core ids (0 = background).

    Attributes
    ----------
    inner : dict side → (L,) uint32 ndarray
        The core's first/last row (``top``/``bottom``) or column (``left``/``right``).
    outer : dict side → (L,) uint32 ndarray
        The block's own segmentation of the row/column just beyond that edge (from its halo),
        in core ids: 0 where an object has no pixel in the core. Absent at image edges.
    """

    inner: dict[str, NDArray[np.uint32]] = field(default_factory=dict)
    outer: dict[str, NDArray[np.uint32]] = field(default_factory=dict)


def _edge(array: NDArray[np.uint32], side: str) -> NDArray[np.uint32]:
    """A copy of one edge line: a view would keep the whole block's labels alive for as long
    as the edges are kept (on a worker, until the pass ends: 16 MB per 2048² block)."""
    line = {"top": array[0], "bottom": array[-1], "left": array[:, 0], "right": array[:, -1]}
    return line[side].copy()


def core_labels(
    extended: NDArray[np.integer], core: tuple[int, int, int, int]
) -> tuple[NDArray[np.uint32], BlockEdges]:
    """The core of a block's labels renumbered ``1..n``, and its :class:`BlockEdges`.

    Parameters
    ----------
    extended : (H, W) integer ndarray
        Labels of the block with its halo.
    core : (y0, y1, x0, x1)
        The core within ``extended``; an edge with no halo beyond it (an image edge) gets no
        ``outer`` line.

    Returns
    -------
    labels : (y1 - y0, x1 - x0) uint32 ndarray
    edges : BlockEdges
    """
    y0, y1, x0, x1 = core
    present = np.unique(extended[y0:y1, x0:x1])
    present = present[present > 0]
    table = np.zeros(int(extended.max(initial=0)) + 1, dtype=np.uint32)
    table[present] = np.arange(1, len(present) + 1, dtype=np.uint32)
    labels = table[extended[y0:y1, x0:x1]]
    edges = BlockEdges({side: _edge(labels, side) for side in SIDES})
    height, width = extended.shape
    beyond = {
        "top": (y0 > 0, lambda: extended[y0 - 1, x0:x1]),
        "bottom": (y1 < height, lambda: extended[y1, x0:x1]),
        "left": (x0 > 0, lambda: extended[y0:y1, x0 - 1]),
        "right": (x1 < width, lambda: extended[y0:y1, x1]),
    }
    for side, (has_halo, line) in beyond.items():
        if has_halo:
            edges.outer[side] = table[line()]
    return labels, edges


def line_pairs(
    seen: NDArray[np.uint32], own: NDArray[np.uint32], min_iou: float = 0.5
) -> NDArray[np.int64]:
    """Pairs ``(a, b)`` of ids that are one object on a face line: ``seen`` is one block's view
    of the line (ids ``a``), ``own`` the neighbour's labels there (ids ``b``); kept when the
    pixels of ``a`` and of ``b`` on the line overlap with IoU > ``min_iou``. ``(K, 2)``."""
    both = (seen > 0) & (own > 0)
    if not both.any():
        return np.zeros((0, 2), dtype=np.int64)
    pairs, overlap = np.unique(
        np.stack([seen[both], own[both]], axis=1), axis=0, return_counts=True
    )
    ids_a, count_a = np.unique(seen[seen > 0], return_counts=True)
    ids_b, count_b = np.unique(own[own > 0], return_counts=True)
    size_a = count_a[np.searchsorted(ids_a, pairs[:, 0])]
    size_b = count_b[np.searchsorted(ids_b, pairs[:, 1])]
    iou = overlap / (size_a + size_b - overlap)
    return pairs[iou > min_iou].astype(np.int64)


def face_pairs(
    first: BlockEdges, second: BlockEdges, side: str, offsets: tuple[int, int]
) -> NDArray[np.int64]:
    """Global id pairs joined across the face between ``first`` and its neighbour ``second``
    on its ``side`` (``bottom`` or ``right``); ``offsets`` are the two blocks' id offsets.
    ``(K, 2)`` int64."""
    facing = OPPOSITE[side]
    found = []
    if side in first.outer:
        found.append(line_pairs(first.outer[side], second.inner[facing]))
    if facing in second.outer:
        found.append(line_pairs(second.outer[facing], first.inner[side])[:, ::-1])
    pairs = np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)
    return pairs + np.asarray(offsets, dtype=np.int64)


def block_pairs(
    indices: Sequence[tuple[int, int]], edges: Sequence[BlockEdges], offsets: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Every face pair of a block grid: blocks at grid ``indices`` (row, column) with their
    :class:`BlockEdges` and id ``offsets``. ``(K, 2)`` int64 global ids."""
    where = {index: number for number, index in enumerate(indices)}
    pairs = [np.zeros((0, 2), dtype=np.int64)]
    for number, (row, column) in enumerate(indices):
        for side, neighbour in (("bottom", (row + 1, column)), ("right", (row, column + 1))):
            other = where.get(neighbour)
            if other is not None:
                ids = (int(offsets[number]), int(offsets[other]))
                pairs.append(face_pairs(edges[number], edges[other], side, ids))
    return np.concatenate(pairs)


def final_ids(n_ids: int, pairs: NDArray[np.int64]) -> NDArray[np.uint64]:
    """The final id of every global id ``0..n_ids`` (0 stays background): connected components
    of the graph whose edges are ``pairs``, numbered ``1..m`` in order of their smallest id.

    Returns
    -------
    (n_ids + 1,) uint64 ndarray
    """
    nodes = n_ids + 1
    graph = sparse.coo_matrix(
        (np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(nodes, nodes)
    )
    _, component = connected_components(graph, directed=False)
    # components are numbered in order of their smallest node, so background (node 0) gets 0
    return component.astype(np.uint64)


def id_dtype(largest_id: int) -> np.dtype:
    """uint32 while the ids fit, else uint64."""
    return np.dtype(np.uint32 if largest_id <= np.iinfo(np.uint32).max else np.uint64)
