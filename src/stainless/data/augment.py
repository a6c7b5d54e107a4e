"""Geometric augmentation applied identically to an input and its targets."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def random_dihedral(
    arrays: list[NDArray[np.floating]], rng: np.random.Generator, *, flips: bool, rotations: bool
) -> list[NDArray[np.floating]]:
    """Apply one random flip and/or 90° rotation to every ``(C, Y, X)`` array in ``arrays``.

    Flips and quarter turns lose nothing (no interpolation), which matters for microscopy: the
    [Han2024] found arbitrary-angle rotation hurt segmentation.
    """
    k = int(rng.integers(4)) if rotations else 0
    flip = bool(rng.integers(2)) if flips else False
    out = []
    for array in arrays:
        if flip:
            array = array[:, :, ::-1]
        if k:
            array = np.rot90(array, k, axes=(1, 2))
        out.append(np.ascontiguousarray(array))
    return out
