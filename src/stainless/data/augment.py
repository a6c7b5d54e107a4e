"""Augmentation: geometric (applied identically to an input and its targets) and photometric
(the input only)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from stainless.config import AugmentConfig
from stainless.data.colour import invert_contrast, jitter_colour


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


def jitter_intensity(patch: NDArray[np.float32], rng: np.random.Generator) -> NDArray[np.float32]:
    """Random contrast (×0.75–1.25 about 0.5), brightness (±0.1) and Gaussian noise (σ ≤ 0.03)."""
    contrast = rng.uniform(0.75, 1.25)
    brightness = rng.uniform(-0.1, 0.1)
    noise = rng.normal(0.0, rng.uniform(0.0, 0.03), size=patch.shape)
    return ((patch - 0.5) * contrast + 0.5 + brightness + noise).astype(np.float32)


def photometric_augment(
    patch: NDArray[np.float32], augment: AugmentConfig, rng: np.random.Generator
) -> NDArray[np.float32]:
    """The normalised planes ``(C, Y, X)`` after the switched-on photometric augmentations, in
    this order: contrast inversion on half of the crops (``invert``), per-plane colour jitter
    (``colour``), then contrast / brightness / noise (``intensity``)."""
    if augment.invert and rng.random() < 0.5:
        patch = invert_contrast(patch)
    if augment.colour:
        patch = jitter_colour(patch, rng)
    if augment.intensity:
        patch = jitter_intensity(patch, rng)
    return patch
