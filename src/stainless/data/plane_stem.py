"""Plane-count-free inputs for label-free models: any number of focal planes → a fixed number of
network channels.

Users have one phase or bright-field image per field, or a focus series of whatever length their
microscope takes; a network whose first layer expects exactly 13 planes refuses all of them. Two
conventions (``model.input_planes``):

* ``any`` — the **mean** of the percentile-normalised planes and their **spread** (standard
  deviation across planes at each pixel; 0 for one plane): two channels;
* ``resample`` — the series **resampled along z** to the training plane count K (linear
  interpolation between neighbouring planes; one plane is repeated K times): the network keeps
  all of a K-plane series' detail through focus ([Christiansen2018] feed the whole z-stack),
  where the mean and spread lose the order of the planes (measured on isl-neurons: issue 14).

Training draws a random contiguous run of planes per crop (a single plane with probability
``single_plane_fraction``), so one model serves a single plane and any focus series; prediction
uses every plane it is given (or those picked with ``--planes``).
"""

from __future__ import annotations

from dataclasses import dataclass

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


def resample_along_z(planes: NDArray[np.float32], count: int) -> NDArray[np.float32]:
    """A focus series resampled to ``count`` planes by linear interpolation along z.

    Parameters
    ----------
    planes : (C, Y, X) float32 ndarray
        C ≥ 1 planes in focus order.
    count : int
        Planes wanted (K).

    Returns
    -------
    (K, Y, X) float32 ndarray
        Plane k is taken at position ``k (C − 1) / (K − 1)`` of the series; one plane is
        repeated; a K-plane series is returned unchanged.
    """
    if planes.ndim != 3 or planes.shape[0] < 1:
        raise ValueError(f"expected planes of shape (C, Y, X) with C >= 1, got {planes.shape}")
    n = planes.shape[0]
    if n == count:
        return planes.astype(np.float32, copy=False)
    if n == 1:
        return np.repeat(planes.astype(np.float32, copy=False), count, axis=0)
    positions = np.linspace(0.0, n - 1.0, count)
    lower = np.clip(np.floor(positions).astype(int), 0, n - 2)
    weight = (positions - lower).astype(np.float32)[:, None, None]
    return ((1 - weight) * planes[lower] + weight * planes[lower + 1]).astype(np.float32)


@dataclass(frozen=True)
class PlaneStem:
    """How a model turns 1..N normalised planes into its input channels.

    Attributes
    ----------
    kind : {"any", "resample"}
        Mean and spread (:func:`plane_stem`), or resampled along z (:func:`resample_along_z`).
    planes : int
        For ``resample``: the channel count K (the training series' length).
    """

    kind: str
    planes: int = 0

    @property
    def channels(self) -> int:
        """The network's input channels."""
        return STEM_CHANNELS if self.kind == "any" else self.planes

    def __call__(self, planes: NDArray[np.float32]) -> NDArray[np.float32]:
        """``(C, Y, X)`` normalised planes → ``(channels, Y, X)``."""
        if self.kind == "any":
            return plane_stem(planes)
        return resample_along_z(planes, self.planes)


def stem_for(input_planes: str, planes: int) -> PlaneStem | None:
    """The stem of ``model.input_planes`` (None for ``fixed``) for a K = ``planes`` series."""
    if input_planes == "fixed":
        return None
    if input_planes not in ("any", "resample"):
        raise ValueError(f"input_planes must be fixed, any or resample, got {input_planes!r}")
    return PlaneStem(input_planes, planes)


class PlaneInputs:
    """How a model takes its planes (``input_planes``, ``in_channels``): a mixin of the model infos
    of :mod:`stainless.model_folder`."""

    input_planes: str
    in_channels: int

    @property
    def any_planes(self) -> bool:
        """The model takes any number of planes."""
        return self.input_planes != "fixed"

    def stem(self) -> PlaneStem | None:
        """How 1..N planes become the network's channels (None: taken as they are)."""
        return stem_for(self.input_planes, self.in_channels)

    def planes_wanted(self) -> int | None:
        """Planes an input must have: ``in_channels``, or None when any number will do."""
        return None if self.any_planes else self.in_channels


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
