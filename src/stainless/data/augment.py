"""Augmentation: geometric (applied identically to an input and its targets) and photometric
(the input only)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi

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


def gaussian_blur(patch: NDArray[np.float32], sigma: float) -> NDArray[np.float32]:
    """Each plane of ``patch`` ``(C, Y, X)`` smoothed by a Gaussian of ``sigma`` px."""
    return np.stack([ndi.gaussian_filter(plane, sigma) for plane in patch]).astype(np.float32)


def random_gamma(patch: NDArray[np.float32], rng: np.random.Generator) -> NDArray[np.float32]:
    """An intensity curve ``clip(x, 0, 1) ** γ`` with log γ uniform in [log ½, log 2]: the same
    structures under a detector or stain of another response."""
    gamma = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
    return (np.clip(patch, 0.0, 1.0) ** gamma).astype(np.float32)


def photometric_augment(
    patch: NDArray[np.float32], augment: AugmentConfig, rng: np.random.Generator
) -> NDArray[np.float32]:
    """The normalised planes ``(C, Y, X)`` after the switched-on photometric augmentations, in
    this order: the planes after the first zeroed with probability ``channel_dropout``,
    contrast inversion on half of the crops (``invert``), an intensity curve (``gamma``),
    per-plane colour jitter (``colour``), a blur on half of the crops (``blur``), then contrast /
    brightness / noise (``intensity``). A plane that is all zeros (an absent channel, as
    :func:`stainless.io.channels.select_channels` feeds it) stays all zeros, as at prediction."""
    absent = np.logical_not(patch.reshape(len(patch), -1).any(axis=1))
    if augment.channel_dropout and len(patch) > 1 and rng.random() < augment.channel_dropout:
        absent[1:] = True
    if augment.invert and rng.random() < 0.5:
        patch = invert_contrast(patch)
    if augment.gamma:
        patch = random_gamma(patch, rng)
    if augment.colour:
        patch = jitter_colour(patch, rng)
    if augment.blur and rng.random() < 0.5:
        patch = gaussian_blur(patch, float(rng.uniform(0.5, 2.0)))
    if augment.intensity:
        patch = jitter_intensity(patch, rng)
    if absent.any():
        patch = patch.copy()
        patch[absent] = 0.0
    return patch
