"""Clean-up of label images: size filter, holes, edge objects, sequential ids."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi


def remove_small_objects(labels: NDArray[np.integer], min_size_px: int) -> NDArray[np.integer]:
    """Set objects smaller than ``min_size_px`` pixels to background.

    The dense-tissue benchmark ([Han2024], Table 5) filters both ground truth and prediction
    this way before matching. Returns ``labels`` itself when nothing is removed; never modifies it.

    Parameters
    ----------
    labels : (..., Y, X) integer ndarray
        Instance labels, 0 = background.
    min_size_px : int
        Smallest object size kept, in pixels.
    """
    if min_size_px <= 1 or labels.size == 0:
        return labels
    flat = np.ravel(labels)
    max_id = int(flat.max())
    if max_id <= (1 << 26):
        areas = np.bincount(flat, minlength=max_id + 1)
        too_small = areas < min_size_px
        too_small[0] = False
        if not too_small.any():
            return labels
        return np.where(too_small[labels], 0, labels).astype(labels.dtype, copy=False)
    values, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    keep = (counts >= min_size_px) | (values == 0)
    return np.where(keep[inverse], flat, 0).reshape(labels.shape).astype(labels.dtype, copy=False)


def relabel_sequential(labels: NDArray[np.integer]) -> NDArray[np.integer]:
    """Renumber objects 1..n in increasing order of their ids; 0 stays background.

    Returns uint16 when n < 65536, else uint32.
    """
    flat = np.ravel(labels)
    max_id = int(flat.max(initial=0))
    if max_id <= (1 << 26):  # a lookup table: one pass, no sort
        present = np.bincount(flat, minlength=max_id + 1) > 0
        present[0] = False
        n = int(present.sum())
        table = np.cumsum(present).astype(np.uint16 if n < 65536 else np.uint32)
        table[0] = 0
        return table[labels]
    ids = np.unique(flat)
    ids = ids[ids != 0]
    out = np.zeros(labels.shape, dtype=np.uint16 if ids.size < 65536 else np.uint32)
    inside = labels != 0
    out[inside] = np.searchsorted(ids, labels[inside]) + 1
    return out


def fill_holes(labels: NDArray[np.integer]) -> NDArray[np.integer]:
    """Fill background holes enclosed by a single object (a hole bordered by several objects is
    left alone). ``(Y, X)`` in, same shape and dtype out; vectorised over all objects."""
    background_ids, _ = ndi.label(labels == 0)
    outside = np.unique(
        np.concatenate(
            [background_ids[0], background_ids[-1], background_ids[:, 0], background_ids[:, -1]]
        )
    )
    enclosed = np.ones(int(background_ids.max()) + 1, dtype=bool)
    enclosed[outside] = False
    enclosed[0] = False
    if not enclosed.any():
        return labels
    holes = enclosed[background_ids]
    hole_ids = np.where(holes, background_ids, 0)
    # pairs (hole, neighbouring object) over the 4-neighbourhood
    pairs = []
    for a, b in (
        (np.s_[1:, :], np.s_[:-1, :]),
        (np.s_[:-1, :], np.s_[1:, :]),
        (np.s_[:, 1:], np.s_[:, :-1]),
        (np.s_[:, :-1], np.s_[:, 1:]),
    ):
        touching = (hole_ids[a] > 0) & (labels[b] != 0)
        pairs.append(np.stack([hole_ids[a][touching], labels[b][touching].astype(np.int64)]))
    unique = np.unique(np.concatenate(pairs, axis=1), axis=1)
    holes_seen, counts = np.unique(unique[0], return_counts=True)
    single = holes_seen[counts == 1]
    fill = np.zeros(int(hole_ids.max()) + 1, dtype=np.int64)
    fill[unique[0][np.isin(unique[0], single)]] = unique[1][np.isin(unique[0], single)]
    out = labels.copy()
    out[holes] = fill[hole_ids[holes]].astype(labels.dtype)
    return out


def split_disconnected(labels: NDArray[np.integer]) -> NDArray[np.integer]:
    """Give every connected piece of an object its own id.

    A decoder can hand one id to separate regions (flows: pixels of two regions whose paths end
    in one sink); such an "object" is several objects to a user and to the matching of
    :mod:`stainless.metrics.instance`. Pieces touch along an edge or a corner (full
    connectivity). Returns ``labels`` itself when every object is in one piece.

    Parameters
    ----------
    labels : (..., Y, X) integer ndarray
        Instance labels, 0 = background.

    Returns
    -------
    (..., Y, X) ndarray
        The same objects, each piece numbered on its own (ids not sequential; int32/int64).
    """
    from skimage.measure import label

    pieces, n_pieces = label(labels, background=0, connectivity=labels.ndim, return_num=True)
    return labels if n_pieces == _count_objects(labels) else pieces


def _count_objects(labels: NDArray[np.integer]) -> int:
    """How many distinct non-zero ids ``labels`` holds."""
    flat = np.ravel(labels)
    if int(flat.max(initial=0)) <= (1 << 26):
        return int(np.count_nonzero(np.bincount(flat)[1:]))
    return int(np.count_nonzero(np.unique(flat)))


def remove_edge_objects(labels: NDArray[np.integer]) -> NDArray[np.integer]:
    """Set objects touching the image border to background."""
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    border = border[border != 0]
    if border.size == 0:
        return labels
    return np.where(np.isin(labels, border), 0, labels).astype(labels.dtype)


def clean_labels(
    labels: NDArray[np.integer],
    *,
    min_size_px: int = 0,
    holes: bool = True,
    drop_edges: bool = False,
) -> NDArray[np.integer]:
    """Hole filling, one id per connected piece (:func:`split_disconnected`), size filter
    (which drops the small fragments), optional edge removal, then sequential ids."""
    if holes:
        labels = fill_holes(labels)
    labels = split_disconnected(labels)
    labels = remove_small_objects(labels, min_size_px)
    if drop_edges:
        labels = remove_edge_objects(labels)
    return relabel_sequential(labels)
