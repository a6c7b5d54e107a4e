"""The strong augmentation that self-training puts on pseudo-labelled images only (ST++, Yang et
al. CVPR 2022; [Xue2022]): colour jitter, Gaussian blur and cut-out, on top of the usual
augmentation, so the re-trained model must reproduce its pseudo-labels from harder views of the
image instead of copying its own predictions.

Cut-out blanks a random box of the image *and* removes the objects under it from the labels
before the targets are computed (the network is never asked to find an object it cannot see).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from stainless.data.augment import gaussian_blur
from stainless.data.colour import jitter_colour

BLUR_PROBABILITY = 0.5
CUTOUT_PROBABILITY = 0.5


def strong_augment(
    patch: NDArray[np.float32], labels: NDArray[np.int32], rng: np.random.Generator
) -> tuple[NDArray[np.float32], NDArray[np.int32]]:
    """Strongly augmented planes ``(C, Y, X)`` (normalised) and their labels ``(Y, X)``.

    Colour jitter always (:func:`stainless.data.colour.jitter_colour`); a Gaussian blur of
    σ 0.5–1.5 px with probability 0.5; a cut-out box of 10–30 % of each side with probability
    0.5, filled with the patch's median and cleared in the labels.
    """
    patch = jitter_colour(patch, rng)
    if rng.random() < BLUR_PROBABILITY:
        sigma = float(rng.uniform(0.5, 1.5))
        patch = gaussian_blur(patch, sigma)
    if rng.random() < CUTOUT_PROBABILITY:
        height, width = labels.shape
        box_h = int(height * rng.uniform(0.1, 0.3))
        box_w = int(width * rng.uniform(0.1, 0.3))
        top = int(rng.integers(0, height - box_h + 1))
        left = int(rng.integers(0, width - box_w + 1))
        patch = patch.copy()
        labels = labels.copy()
        patch[:, top : top + box_h, left : left + box_w] = np.median(patch)
        labels[top : top + box_h, left : left + box_w] = 0
    return patch, labels
