"""Seeded synthetic microscopy with known ground truth, for unit tests and demos.

Cells are random ellipses; where two overlap, each pixel goes to the cell whose centre is nearer in
that cell's own elliptical metric, so clusters of touching cells form with clean shared borders,
as in dense cultures. Each cell holds one nucleus (a smaller ellipse inside it). From these labels
the generator renders

* a nuclear stain (DAPI-like): bright nuclei with per-cell intensity, texture and shot noise;
* a membrane stain (CellMask-like): bright cell borders;
* a label-free image: ``"phase"`` (dark cell bodies with bright halos, Zernike phase contrast) or
  ``"brightfield"`` (weak, defocused absorption contrast with texture).

Never use it for reported results: it is for tests, demos and debugging only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi

Modality = Literal["phase", "brightfield"]


@dataclass(frozen=True)
class SyntheticSample:
    """One synthetic field of view; all arrays are ``(Y, X)``.

    Attributes
    ----------
    label_free : float32 ndarray
        The label-free rendering (phase-like or bright-field-like), roughly in [0, 1].
    nuclear_stain, membrane_stain : float32 ndarray
        Fluorescence-like targets, roughly in [0, 1].
    cell_labels, nucleus_labels : uint16 ndarray
        Instance labels (0 = background); nucleus ``i`` lies inside cell ``i``.
    modality : str
    """

    label_free: NDArray[np.float32]
    nuclear_stain: NDArray[np.float32]
    membrane_stain: NDArray[np.float32]
    cell_labels: NDArray[np.uint16]
    nucleus_labels: NDArray[np.uint16]
    modality: str


def _place_ellipses(
    labels: NDArray[np.uint16],
    distance: NDArray[np.float64],
    centres: NDArray[np.float64],
    radii: NDArray[np.float64],
    angles: NDArray[np.float64],
    first_id: int = 1,
) -> None:
    """Paint ellipses into ``labels``; each pixel goes to the ellipse nearest in its own metric."""
    height, width = labels.shape
    for index, ((cy, cx), (ry, rx), angle) in enumerate(zip(centres, radii, angles, strict=True)):
        reach = int(np.ceil(max(ry, rx))) + 1
        y0, y1 = max(int(cy) - reach, 0), min(int(cy) + reach + 1, height)
        x0, x1 = max(int(cx) - reach, 0), min(int(cx) + reach + 1, width)
        if y0 >= y1 or x0 >= x1:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1]
        dy, dx = yy - cy, xx - cx
        cos, sin = np.cos(angle), np.sin(angle)
        u = (dy * cos + dx * sin) / ry
        v = (-dy * sin + dx * cos) / rx
        normalised = np.sqrt(u * u + v * v)
        window = distance[y0:y1, x0:x1]
        wins = (normalised < 1.0) & (normalised < window)
        window[wins] = normalised[wins]
        labels[y0:y1, x0:x1][wins] = first_id + index


def _normalise(image: NDArray[np.float64]) -> NDArray[np.float32]:
    low, high = np.percentile(image, [0.5, 99.9])
    return np.clip((image - low) / max(high - low, 1e-9), 0, 1).astype(np.float32)


def make_synthetic_sample(
    shape: tuple[int, int] = (256, 256),
    *,
    n_cells: int | None = None,
    cell_radius_px: float = 12.0,
    clustering: float = 0.5,
    modality: Modality = "phase",
    noise: float = 0.05,
    seed: int = 0,
) -> SyntheticSample:
    """Generate one field of view of cells with nuclei, stains and a label-free image.

    Parameters
    ----------
    shape : (int, int)
        ``(Y, X)`` size in pixels; any size.
    n_cells : int, optional
        Number of cells; default fills about a third of the area.
    cell_radius_px : float
        Mean cell radius in pixels (each cell varies ±30 %, with eccentricity).
    clustering : float in [0, 1]
        Fraction of cells placed next to another cell, so that they touch; the rest are placed
        uniformly (mostly separate).
    modality : {"phase", "brightfield"}
        Kind of label-free rendering.
    noise : float
        Standard deviation of additive Gaussian noise relative to the signal range.
    seed : int
        Seed of the random generator; same seed, same sample.

    Returns
    -------
    SyntheticSample
    """
    if len(shape) != 2 or min(shape) < 8:
        raise ValueError(f"shape must be (Y, X) with both >= 8, got {shape}")
    if not 0.0 <= clustering <= 1.0:
        raise ValueError(f"clustering must be in [0, 1], got {clustering}")
    if modality not in ("phase", "brightfield"):
        raise ValueError(f"modality must be 'phase' or 'brightfield', got {modality!r}")
    rng = np.random.default_rng(seed)
    height, width = shape
    if n_cells is None:
        n_cells = max(1, int(0.33 * height * width / (np.pi * cell_radius_px**2)))
    centres = np.empty((n_cells, 2))
    for i in range(n_cells):
        if i > 0 and rng.random() < clustering:
            anchor = centres[rng.integers(i)]
            direction = rng.uniform(0, 2 * np.pi)
            step = cell_radius_px * rng.uniform(1.4, 1.9)
            centres[i] = anchor + step * np.array([np.sin(direction), np.cos(direction)])
        else:
            centres[i] = rng.uniform(0, 1, 2) * (height, width)
    centres = np.clip(centres, 0, (height - 1, width - 1))
    radii = (
        cell_radius_px * rng.uniform(0.7, 1.3, (n_cells, 1)) * rng.uniform(0.75, 1.0, (n_cells, 2))
    )
    angles = rng.uniform(0, np.pi, n_cells)

    cells = np.zeros(shape, dtype=np.uint16)
    _place_ellipses(cells, np.full(shape, np.inf), centres, radii, angles)
    nuclei = np.zeros(shape, dtype=np.uint16)
    offsets = rng.normal(0, 0.15, (n_cells, 2)) * radii
    _place_ellipses(
        nuclei,
        np.full(shape, np.inf),
        centres + offsets,
        radii * rng.uniform(0.4, 0.55, (n_cells, 1)),
        angles,
    )
    nuclei[nuclei != cells] = 0  # a nucleus never leaves its own cell
    cells, nuclei = _drop_vanished(cells, nuclei)

    n_objects = int(cells.max())
    brightness = np.concatenate([[0.0], rng.uniform(0.5, 1.0, n_objects)])
    texture = ndi.gaussian_filter(rng.normal(size=shape), 1.5)
    texture /= max(float(np.abs(texture).max()), 1e-9)
    nuclear = brightness[nuclei] * (1 + 0.25 * texture) * (nuclei > 0)
    nuclear = ndi.gaussian_filter(nuclear, 1.0) + 0.05
    nuclear = rng.poisson(nuclear * 200) / 200.0
    borders = _borders(cells)
    membrane = ndi.gaussian_filter(borders.astype(float) * brightness[cells], 1.0) * 3 + 0.03
    membrane = rng.poisson(np.clip(membrane, 0, None) * 200) / 200.0

    inside = (cells > 0).astype(float)
    if modality == "phase":
        body = ndi.gaussian_filter(inside, 1.0) + 0.5 * ndi.gaussian_filter(
            (nuclei > 0).astype(float), 1.0
        )
        halo = ndi.gaussian_filter(inside, 4.0) - ndi.gaussian_filter(inside, 1.0)
        label_free = 1.0 - 0.6 * body + 1.5 * np.clip(-halo, 0, None) + 0.1 * texture * inside
    else:
        absorption = 0.15 * inside + 0.1 * (nuclei > 0) + 0.05 * borders + 0.05 * texture * inside
        label_free = 1.0 - ndi.gaussian_filter(absorption, 2.0)
    label_free = label_free + rng.normal(0, noise, shape)
    return SyntheticSample(
        label_free=_normalise(label_free),
        nuclear_stain=_normalise(nuclear + rng.normal(0, noise * 0.2, shape)),
        membrane_stain=_normalise(membrane + rng.normal(0, noise * 0.2, shape)),
        cell_labels=cells,
        nucleus_labels=nuclei,
        modality=modality,
    )


def _borders(labels: NDArray[np.uint16]) -> NDArray[np.bool_]:
    """Pixels of an object next to a pixel of another value (background or another object)."""
    grown = ndi.grey_dilation(labels, size=3)
    shrunk = ndi.grey_erosion(labels, size=3)
    return (labels > 0) & ((grown != labels) | (shrunk != labels))


def _drop_vanished(
    cells: NDArray[np.uint16], nuclei: NDArray[np.uint16]
) -> tuple[NDArray[np.uint16], NDArray[np.uint16]]:
    """Renumber cells 1..n consecutively (cells fully covered by neighbours vanish) and give each
    nucleus the number of its cell."""
    present = np.unique(cells)
    present = present[present > 0]
    lookup = np.zeros(int(cells.max()) + 1, dtype=np.uint16)
    lookup[present] = np.arange(1, present.size + 1)
    return lookup[cells], lookup[nuclei]
