"""A plane-count-free input for label-free models: any number of focal planes → two channels.

Users have one phase or bright-field image per field, or a focus series of whatever length their
microscope takes; a network whose first layer expects exactly 13 planes refuses all of them. Models
trained with ``model.input_planes: any`` see instead

* channel 0, the **mean** of the percentile-normalised planes (for one plane: the plane itself);
* channel 1, their **spread**, the standard deviation across planes at each pixel (0 for one
  plane): how much the pixel changes through focus — the halo and phase detail that a focus
  series adds over a single plane ([Christiansen2018] feed the whole z-stack for this reason).

Training draws a random contiguous run of planes per crop (a single plane with probability
``single_plane_fraction``), so one model serves a single plane and any focus series; prediction
uses every plane it is given (or those picked with ``--planes``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

STEM_CHANNELS = 2
"""Channels of the stem: mean and spread."""


def plane_stem(planes: NDArray[np.float32]) -> NDArray[np.float32]:
    """Mean and spread of normalised planes.

    Parameters
    ----------
    planes : (C, Y, X) float32 ndarray
        Percentile-normalised planes, C ≥ 1.

    Returns
    -------
    (2, Y, X) float32 ndarray
        ``[mean over C, standard deviation over C]``.
    """
    if planes.ndim != 3 or planes.shape[0] < 1:
        raise ValueError(f"expected planes of shape (C, Y, X) with C >= 1, got {planes.shape}")
    stem = np.empty((STEM_CHANNELS, *planes.shape[1:]), dtype=np.float32)
    np.mean(planes, axis=0, out=stem[0])
    if planes.shape[0] > 1:
        np.std(planes, axis=0, out=stem[1])
    else:
        stem[1] = 0.0
    return stem


def random_plane_run(n_planes: int, rng: np.random.Generator, single_fraction: float) -> slice:
    """A random contiguous run of planes: one plane with probability ``single_fraction``, else a
    run of 2..``n_planes`` planes (uniform length, uniform start).

    Parameters
    ----------
    n_planes : int
        Planes available (≥ 1).
    rng : numpy Generator
    single_fraction : float
        In [0, 1].

    Returns
    -------
    slice
        Indices into the plane axis.
    """
    if n_planes == 1 or rng.random() < single_fraction:
        length = 1
    else:
        length = int(rng.integers(2, n_planes + 1))
    start = int(rng.integers(n_planes - length + 1))
    return slice(start, start + length)
