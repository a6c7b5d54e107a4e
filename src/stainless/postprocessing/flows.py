"""Instances from flows (Cellpose, [Stringer2021]): every foreground pixel follows the flow field
to the sink of its object; pixels whose paths end at the same sink form one object.

1. Each pixel above the foreground threshold takes Euler steps along the bilinearly interpolated
   flows (compiled, :func:`_follow`; a pixel stops once it no longer moves away from where it was
   ten steps before: it circles its sink).
2. The histogram of the end points has a peak at each sink: peaks of at least ``min_votes`` end
   points that are the maximum of their 5 × 5 neighbourhood are the seeds; every end point climbs
   the histogram (steepest ascent, compiled) to the seed of its peak.
3. Each pixel takes the id of the seed region its path ended in.
4. An object whose flows, computed again from its own mask, differ from the predicted ones by
   more than ``flow_threshold`` (mean squared error) is dropped, and so is one covering more than
   40 % of the image; then holes are filled and small objects removed.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray
from scipy import ndimage as ndi

from stainless.data.targets import flows_target
from stainless.postprocessing.labels import clean_labels

STEPS = 200
"""The most Euler steps a pixel takes (Cellpose's default)."""
MAX_AREA_FRACTION = 0.4
"""An object covering more of the image than this is dropped (as Cellpose does)."""


@njit(cache=True, nogil=True, parallel=True)
def _follow(
    flows: NDArray[np.float32], ys: NDArray[np.float32], xs: NDArray[np.float32], steps: int
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """End points of Euler paths from ``(ys, xs)`` along the bilinearly interpolated flows
    ``(2, Y, X)``; positions are kept inside the image."""
    height, width = flows.shape[1], flows.shape[2]
    end_y, end_x = ys.copy(), xs.copy()
    for n in prange(ys.size):  # paths are independent: one per thread
        y, x = float(ys[n]), float(xs[n])
        anchor_y, anchor_x = y, x
        for step in range(steps):
            y0, x0 = int(y), int(x)
            y1, x1 = min(y0 + 1, height - 1), min(x0 + 1, width - 1)
            fy, fx = y - y0, x - x0
            w00, w01 = (1 - fy) * (1 - fx), (1 - fy) * fx
            w10, w11 = fy * (1 - fx), fy * fx
            dy = (
                w00 * flows[0, y0, x0]
                + w01 * flows[0, y0, x1]
                + w10 * flows[0, y1, x0]
                + w11 * flows[0, y1, x1]
            )
            dx = (
                w00 * flows[1, y0, x0]
                + w01 * flows[1, y0, x1]
                + w10 * flows[1, y1, x0]
                + w11 * flows[1, y1, x1]
            )
            y = min(max(y + dy, 0.0), height - 1.0)
            x = min(max(x + dx, 0.0), width - 1.0)
            if step % 10 == 9:  # circling a sink: barely farther than ten steps ago
                if (y - anchor_y) ** 2 + (x - anchor_x) ** 2 < 1.0:
                    break
                anchor_y, anchor_x = y, x
        end_y[n], end_x[n] = y, x
    return end_y, end_x


def follow_flows(
    flows: NDArray[np.floating], foreground: NDArray[np.bool_], steps: int = STEPS
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """Start ``(ys, xs)`` and rounded end ``(ys, xs)`` of the paths of the foreground pixels."""
    ys, xs = np.nonzero(foreground)
    field = np.ascontiguousarray(flows, dtype=np.float32)
    end_y, end_x = _follow(field, ys.astype(np.float32), xs.astype(np.float32), steps)
    return ys, xs, np.rint(end_y).astype(np.intp), np.rint(end_x).astype(np.intp)


@njit(cache=True, nogil=True)
def _climb(votes: NDArray[np.int32], seeds: NDArray[np.int32]) -> NDArray[np.int32]:
    """Seed id ``(Y, X)`` of every pixel with votes: the seed its steepest ascent on the vote
    histogram reaches (0 when it reaches a peak that is not a seed). Pixel indices are int32
    (images up to 2³¹ pixels), which halves this step's memory on whole slides."""
    height, width = votes.shape
    flat_votes, flat_seeds = votes.ravel(), seeds.ravel()
    reached = np.full(height * width, -1, dtype=np.int32)
    result = np.zeros(height * width, dtype=np.int32)
    path = np.empty(height * width, dtype=np.int32)
    for start in range(height * width):
        if flat_votes[start] == 0 or reached[start] >= 0:
            continue
        length, p = 0, start
        while reached[p] < 0:
            path[length] = p
            length += 1
            y, x = p // width, p % width
            best, best_votes = p, flat_votes[p]
            for dy in range(-1, 2):
                for dx in range(-1, 2):
                    if 0 <= y + dy < height and 0 <= x + dx < width:
                        q = (y + dy) * width + x + dx
                        if flat_votes[q] > best_votes:
                            best, best_votes = q, flat_votes[q]
            if best == p:  # a peak (or a plateau pixel)
                reached[p] = p
                break
            p = best
        top = reached[p]
        for i in range(length):
            reached[path[i]] = top
            result[path[i]] = flat_seeds[top]
    return result.reshape(height, width)


def _sinks(
    end_y: NDArray[np.intp], end_x: NDArray[np.intp], shape: tuple[int, int], min_votes: int
) -> NDArray[np.int32]:
    """Seed id of every end point location ``(Y, X)``: peaks of the end-point histogram with at
    least ``min_votes`` votes that are the maximum of their 5 × 5 neighbourhood are the seeds;
    every end point climbs the histogram to its peak."""
    height, width = shape
    if height * width >= 2**31:
        raise ValueError(f"an image of {height} x {width} pixels is too large to decode at once")
    # int32 counts (at most one vote per pixel), not bincount's int64: 4 bytes a pixel fewer in
    # the histogram and in its maximum filter
    votes = np.bincount(end_y * width + end_x, minlength=height * width).astype(np.int32)
    votes = votes.reshape(shape)
    peaks = (votes >= ndi.maximum_filter(votes, size=5)) & (votes >= min_votes)
    seeds, _ = ndi.label(peaks, structure=np.ones((3, 3), dtype=bool))
    return _climb(votes, np.asarray(seeds, dtype=np.int32))


def _flow_errors(labels: NDArray[np.integer], flows: NDArray[np.floating]) -> NDArray[np.float64]:
    """Per object id, the mean over its pixels of the squared difference between the flows of
    its own mask and the predicted ones."""
    exact = flows_target(labels)
    exact -= flows  # in place: the squared error needs no (2, Y, X) temporaries
    np.square(exact, out=exact)
    error = exact.sum(axis=0)
    ids = labels.ravel()
    counts = np.maximum(np.bincount(ids), 1)
    return np.bincount(ids, weights=error.ravel()) / counts


def labels_from_flows(
    foreground: NDArray[np.floating],
    flows: NDArray[np.floating],
    *,
    mask_threshold: float = 0.5,
    flow_threshold: float = 0.4,
    min_size_px: int = 15,
    min_votes: int = 10,
    steps: int = STEPS,
) -> NDArray[np.integer]:
    """Objects from a foreground probability and unit flows (see the module docstring).

    Parameters
    ----------
    foreground : (Y, X) float ndarray
        Foreground probability.
    flows : (2, Y, X) float ndarray
        Flow field (y, x), unit length inside objects.
    mask_threshold : float
        Foreground where ``foreground > mask_threshold``.
    flow_threshold : float
        Largest mean squared flow error of a kept object; 0 keeps every object.
    min_size_px : int
        Objects smaller than this are removed.
    min_votes : int
        End points a sink needs to seed an object.
    steps : int
        The most Euler steps per pixel.

    Returns
    -------
    (Y, X) uint16/uint32 ndarray
        Sequentially numbered instance labels.
    """
    foreground = np.asarray(foreground)
    if flows.shape != (2, *foreground.shape):
        raise ValueError(
            f"flows have shape {flows.shape}; expected (2, {foreground.shape[0]}, "
            f"{foreground.shape[1]}) to match the foreground"
        )
    mask = foreground > mask_threshold
    labels = np.zeros(foreground.shape, dtype=np.int32)
    if mask.any():
        ys, xs, end_y, end_x = follow_flows(flows, mask, steps)
        sinks = _sinks(end_y, end_x, foreground.shape, min_votes)
        labels[ys, xs] = sinks[end_y, end_x]
        sizes = np.bincount(labels.ravel())
        too_big = sizes > MAX_AREA_FRACTION * labels.size
        too_big[0] = False
        labels[too_big[labels]] = 0
        if flow_threshold > 0 and labels.any():
            errors = _flow_errors(labels, np.asarray(flows, dtype=np.float32))
            labels[(errors > flow_threshold)[labels] & (labels > 0)] = 0
    return clean_labels(labels, min_size_px=min_size_px)
