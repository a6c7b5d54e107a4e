"""Compiled kernel of the flows target: heat diffusion from each object's centre (numba).

Each object is a closed room: heat is injected at its centre pixel at every iteration and spreads
by averaging over the 3 × 3 neighbourhood, where neighbours outside the object count as zero
(Cellpose, [Stringer2021]). After ``2 × (height + width)`` iterations of the object's bounding
box the heat decreases monotonically from the centre to the border; its gradient is the flow.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray


@njit(cache=True, nogil=True, parallel=True)
def diffuse(
    labels: NDArray[np.int32],
    boxes: NDArray[np.int64],
    centres: NDArray[np.int64],
    iterations: NDArray[np.int64],
) -> NDArray[np.float64]:
    """Heat ``(Y, X)`` after diffusion inside each object.

    Objects do not exchange heat, so each one is diffused on its own, in a small dense copy of
    its bounding box (cache-friendly); the work is the sum over objects of iterations × box area.

    Parameters
    ----------
    labels : (Y, X) int32 ndarray
        Instance labels padded by one background pixel on every side.
    boxes : (N + 1, 4) int64 ndarray
        Each object's bounding box ``(y0, x0, y1, x1)``, inclusive (row 0 unused; an absent id
        has ``y1 < y0``).
    centres : (N + 1,) int64 ndarray
        Flat index of each object's centre pixel (index 0 unused).
    iterations : (N + 1,) int64 ndarray
        Diffusion iterations of each object.
    """
    height, width = labels.shape
    heat = np.zeros((height, width))
    for label in prange(1, centres.size):  # objects are independent: one per thread
        y0, x0, y1, x1 = boxes[label, 0], boxes[label, 1], boxes[label, 2], boxes[label, 3]
        if y1 < y0:
            continue
        rows, columns = y1 - y0 + 3, x1 - x0 + 3  # with a one-pixel frame
        inside = np.zeros((rows, columns), dtype=np.bool_)
        for y in range(1, rows - 1):
            for x in range(1, columns - 1):
                inside[y, x] = labels[y0 + y - 1, x0 + x - 1] == label
        local = np.zeros((rows, columns))
        spread = np.zeros((rows, columns))
        cy, cx = centres[label] // width - y0 + 1, centres[label] % width - x0 + 1
        for _ in range(iterations[label]):
            local[cy, cx] += 1.0
            for y in range(1, rows - 1):
                for x in range(1, columns - 1):
                    if inside[y, x]:
                        spread[y, x] = (
                            local[y - 1, x - 1]
                            + local[y - 1, x]
                            + local[y - 1, x + 1]
                            + local[y, x - 1]
                            + local[y, x]
                            + local[y, x + 1]
                            + local[y + 1, x - 1]
                            + local[y + 1, x]
                            + local[y + 1, x + 1]
                        ) / 9.0
            local, spread = spread, local
        for y in range(1, rows - 1):
            for x in range(1, columns - 1):
                if inside[y, x]:
                    heat[y0 + y - 1, x0 + x - 1] = local[y, x]
    return heat


@njit(cache=True, nogil=True, parallel=True)
def heat_gradient(
    labels: NDArray[np.int32], heat: NDArray[np.float64], pixels: NDArray[np.int64]
) -> NDArray[np.float32]:
    """Unit flows ``(2, Y, X)`` (y then x) of ``log(1 + heat)``, central differences inside
    each object (neighbours outside it count as zero); zero on background."""
    height, width = labels.shape
    flat = labels.ravel()
    log_heat = np.log1p(heat.ravel())
    flows = np.zeros((2, height * width), dtype=np.float32)
    for i in prange(pixels.size):
        p = pixels[i]
        label = flat[p]
        below = log_heat[p + width] if flat[p + width] == label else 0.0
        above = log_heat[p - width] if flat[p - width] == label else 0.0
        right = log_heat[p + 1] if flat[p + 1] == label else 0.0
        left = log_heat[p - 1] if flat[p - 1] == label else 0.0
        gy, gx = below - above, right - left
        norm = np.sqrt(gy * gy + gx * gx)
        if norm > 0:
            flows[0, p], flows[1, p] = gy / norm, gx / norm
    return flows.reshape(2, height, width)
