"""Compiled kernel of the flows target: heat diffusion from each object's centre (numba).

Each object is a closed room: heat is injected at its centre pixel at every iteration and spreads
by averaging over the 3 × 3 neighbourhood, where neighbours outside the object count as zero
(Cellpose, [Stringer2021]). After ``2 × (height + width)`` iterations of the object's bounding
box the heat decreases monotonically from the centre to the border; its gradient is the flow.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray


@njit(cache=True, nogil=True)
def diffuse(
    labels: NDArray[np.int32],
    pixels: NDArray[np.int64],
    centres: NDArray[np.int64],
    iterations: NDArray[np.int64],
) -> NDArray[np.float64]:
    """Heat ``(Y, X)`` after diffusion inside each object.

    Parameters
    ----------
    labels : (Y, X) int32 ndarray
        Instance labels padded by one background pixel on every side.
    pixels : (P,) int64 ndarray
        Flat indices of the object pixels.
    centres : (N + 1,) int64 ndarray
        Flat index of each object's centre pixel (index 0 unused).
    iterations : (N + 1,) int64 ndarray
        Diffusion iterations of each object.
    """
    height, width = labels.shape
    flat = labels.ravel()
    heat = np.zeros(height * width)
    spread = np.zeros(height * width)
    rounds = iterations.max() if iterations.size else 0
    for step in range(rounds):
        for label in range(1, centres.size):
            if step < iterations[label]:
                heat[centres[label]] += 1.0
        for p in pixels:
            label = flat[p]
            if step >= iterations[label]:
                spread[p] = heat[p]
                continue
            total = 0.0
            for row in range(-1, 2):
                for column in range(-1, 2):
                    q = p + row * width + column
                    if flat[q] == label:
                        total += heat[q]
            spread[p] = total / 9.0
        for p in pixels:
            heat[p] = spread[p]
    return heat.reshape(height, width)


@njit(cache=True, nogil=True)
def heat_gradient(
    labels: NDArray[np.int32], heat: NDArray[np.float64], pixels: NDArray[np.int64]
) -> NDArray[np.float32]:
    """Unit flows ``(2, Y, X)`` (y then x) of ``log(1 + heat)``, central differences inside
    each object (neighbours outside it count as zero); zero on background."""
    height, width = labels.shape
    flat = labels.ravel()
    log_heat = np.log1p(heat.ravel())
    flows = np.zeros((2, height * width), dtype=np.float32)
    for p in pixels:
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
