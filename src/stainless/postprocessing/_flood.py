"""Compiled kernels of the fast distance-map watershed (numba).

Both kernels visit the foreground pixels once, in decreasing order of the map, with a union-find
(disjoint-set) forest:

* :func:`significant_maxima` computes the *dynamic* of every regional maximum — how far one must
  descend from it to reach a strictly higher pixel — while the components of the upper level sets
  merge (Grimaud 1992). A maximum is an h-maximum marker exactly when its dynamic exceeds ``h``;
  this is the set that scikit-image's ``h_maxima`` finds by morphological reconstruction, without
  the reconstruction's repeated propagation.
* :func:`flood` is the watershed by flooding from those markers in the same order: a component
  without a marker joins the first labelled component it meets (at its highest saddle), two
  labelled components never merge.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

_DY8 = np.array([-1, -1, -1, 0, 0, 1, 1, 1], dtype=np.int64)
_DX8 = np.array([-1, 0, 1, -1, 1, -1, 0, 1], dtype=np.int64)
_DY4 = np.array([-1, 0, 0, 1], dtype=np.int64)
_DX4 = np.array([0, -1, 1, 0], dtype=np.int64)


@njit(cache=True, nogil=True)
def _find(parent: NDArray[np.int32], node: int) -> int:
    root = node
    while parent[root] != root:
        root = parent[root]
    while parent[node] != root:  # path compression
        parent[node], node = root, parent[node]
    return root


@njit(cache=True, nogil=True)
def _ranks(order: NDArray[np.int64], size: int) -> NDArray[np.int32]:
    """Position of each pixel in ``order``; −1 for pixels not in it (background)."""
    rank = np.full(size, -1, dtype=np.int32)
    for i in range(order.size):
        rank[order[i]] = i
    return rank


@njit(cache=True, nogil=True)
def significant_maxima(
    values: NDArray[np.float64],
    order: NDArray[np.int64],
    width: int,
    floor: float,
    h: float,
) -> NDArray[np.bool_]:
    """Pixels of the regional maxima whose dynamic exceeds ``h`` (8-connectivity).

    Parameters
    ----------
    values : (Y·X,) float64
        The map, raveled; pixels outside the foreground hold ``floor``.
    order : (F,) int64
        Foreground pixel indices sorted by decreasing value (ties in raster order).
    width : int
        X size of the image.
    floor : float
        The value outside the foreground (every component finally merges at this level).
    h : float

    Returns
    -------
    (F,) bool
        For each pixel of ``order``, whether it belongs to a kept maximum.
    """
    n_fg = order.size
    height = values.size // width
    rank = _ranks(order, values.size)
    # all per-pixel state is indexed by rank (foreground only); a rank < i is already processed
    parent = np.arange(n_fg, dtype=np.int32)
    peak = np.empty(n_fg, dtype=np.float64)
    plateau = np.full(n_fg, -1, dtype=np.int32)  # id of the regional maximum a pixel belongs to
    first_max = np.full(n_fg, -1, dtype=np.int32)  # per root: its undecided maxima, linked
    last_max = np.full(n_fg, -1, dtype=np.int32)
    next_max = np.full(n_fg, -1, dtype=np.int32)
    dynamic = np.full(n_fg, np.inf)
    n_max = 0
    for i in range(n_fg):
        p = order[i]
        v = values[p]
        y, x = p // width, p % width
        peak[i] = v
        has_neighbour = False
        for k in range(8):
            yy, xx = y + _DY8[k], x + _DX8[k]
            if yy < 0 or yy >= height or xx < 0 or xx >= width:
                continue
            j = rank[yy * width + xx]
            if j < 0 or j >= i:
                continue
            has_neighbour = True
            if plateau[i] < 0 and plateau[j] >= 0 and values[order[j]] == v:
                plateau[i] = plateau[j]
            ri, rj = _find(parent, i), _find(parent, j)
            if ri == rj:
                continue
            if peak[rj] < peak[ri]:
                ri, rj = rj, ri
            # peak[rj] >= peak[ri]: ri joins rj; a strictly lower ri's maxima are decided here
            if peak[ri] < peak[rj]:
                m = first_max[ri]
                while m >= 0:
                    dynamic[m] = peak[ri] - v
                    m = next_max[m]
            elif first_max[ri] >= 0:  # equal peaks: both stay undecided
                if first_max[rj] < 0:
                    first_max[rj] = first_max[ri]
                else:
                    next_max[last_max[rj]] = first_max[ri]
                last_max[rj] = last_max[ri]
            first_max[ri] = -1
            parent[ri] = rj
        if not has_neighbour:  # nothing higher or equal around: a new regional maximum
            plateau[i] = n_max
            first_max[i] = n_max
            last_max[i] = n_max
            n_max += 1
    top = -np.inf
    for i in range(n_fg):
        if parent[i] == i:
            top = max(top, peak[i])
    for i in range(n_fg):
        if parent[i] == i and peak[i] < top:
            m = first_max[i]
            while m >= 0:
                dynamic[m] = peak[i] - floor
                m = next_max[m]
    keep = np.zeros(n_fg, dtype=np.bool_)
    for i in range(n_fg):
        keep[i] = plateau[i] >= 0 and dynamic[plateau[i]] > h
    return keep


@njit(cache=True, nogil=True)
def flood(
    values: NDArray[np.float64],
    order: NDArray[np.int64],
    width: int,
    markers: NDArray[np.int32],
) -> NDArray[np.int32]:
    """Watershed by flooding from ``markers`` (4-connectivity), foreground pixels in ``order``.

    A pixel joins the labelled neighbour component whose pixel is highest (the one a priority
    flood would have reached it from first); unlabelled neighbour components join it too.

    Parameters
    ----------
    values, order, width
        As :func:`significant_maxima`.
    markers : (F,) int32
        Marker id (> 0) of each pixel of ``order``, 0 elsewhere.

    Returns
    -------
    (F,) int32
        Label of each pixel of ``order``; 0 where no marker is reachable.
    """
    n_fg = order.size
    height = values.size // width
    rank = _ranks(order, values.size)
    parent = np.arange(n_fg, dtype=np.int32)
    label = markers.copy()  # meaningful at roots
    roots = np.empty(4, dtype=np.int32)
    for i in range(n_fg):
        p = order[i]
        y, x = p // width, p % width
        best_value = -np.inf
        best_root = -1
        n_roots = 0
        for k in range(4):
            yy, xx = y + _DY4[k], x + _DX4[k]
            if yy < 0 or yy >= height or xx < 0 or xx >= width:
                continue
            j = rank[yy * width + xx]
            if j < 0 or j >= i:
                continue
            r = _find(parent, j)
            roots[n_roots] = r
            n_roots += 1
            if label[r] > 0 and values[order[j]] > best_value:
                best_value, best_root = values[order[j]], r
        if label[i] == 0 and best_root >= 0:
            parent[i] = best_root
        own = _find(parent, i)
        for m in range(n_roots):
            r = _find(parent, roots[m])
            if r != own and (label[r] == 0 or label[r] == label[own]):
                parent[r] = own
    out = np.empty(n_fg, dtype=np.int32)
    for i in range(n_fg):
        out[i] = label[_find(parent, i)]
    return out
