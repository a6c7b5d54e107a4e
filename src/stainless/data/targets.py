"""Training targets derived from label images (the mirror of :mod:`stainless.postprocessing`).

* foreground: 1 inside any object;
* three classes: background 0 / nucleus 1 / cytoplasm 2 ([Brightfield3Class2019]);
* distance: per-object Euclidean distance to the object's border, normalised to 1 at each
  object's centre ([Bonte2022], after [Naylor2019]);
* HoVer: horizontal and vertical distances of each pixel to its object's centre of mass,
  normalised to [−1, 1] per object (HoVer-Net [Graham2019]).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi


def foreground_target(labels: NDArray[np.integer]) -> NDArray[np.float32]:
    """``(Y, X)`` float32, 1 where ``labels > 0``."""
    return (labels > 0).astype(np.float32)


def three_class_target(
    nucleus_labels: NDArray[np.integer], cell_labels: NDArray[np.integer]
) -> NDArray[np.uint8]:
    """Background 0, nucleus 1, cytoplasm 2 (cell but not nucleus); ``(Y, X)`` uint8."""
    if nucleus_labels.shape != cell_labels.shape:
        raise ValueError(
            f"nucleus labels {nucleus_labels.shape} and cell labels {cell_labels.shape} "
            "differ in shape"
        )
    classes = np.where(cell_labels > 0, 2, 0).astype(np.uint8)
    classes[nucleus_labels > 0] = 1
    return classes


def distance_target(labels: NDArray[np.integer]) -> NDArray[np.float32]:
    """Per-object distance to the border, divided by the object's maximum; ``(Y, X)`` in [0, 1].

    Touching objects are separated: each object's distance is computed on its own mask.
    """
    out = np.zeros(labels.shape, dtype=np.float32)
    for index, box in enumerate(ndi.find_objects(labels), start=1):
        if box is None:
            continue
        padded_box = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in box)
        inside = labels[padded_box] == index
        distance = ndi.distance_transform_edt(np.pad(inside, 1))[1:-1, 1:-1]
        peak = distance[inside].max()
        out[padded_box][inside] = distance[inside] / peak
    return out


def hover_target(labels: NDArray[np.integer]) -> NDArray[np.float32]:
    """Horizontal and vertical maps ``(2, Y, X)``: (x − x̄) and (y − ȳ) of each object pixel,
    divided by the object's largest absolute value, so each lies in [−1, 1]; 0 on background."""
    out = np.zeros((2, *labels.shape), dtype=np.float32)
    foreground = labels > 0
    if not foreground.any():
        return out
    ids = labels[foreground]
    max_id = int(ids.max())
    counts = np.bincount(ids, minlength=max_id + 1).astype(np.float64)
    counts[counts == 0] = 1
    ys, xs = np.nonzero(foreground)
    for channel, coordinate in ((0, xs), (1, ys)):
        centre = np.bincount(ids, weights=coordinate, minlength=max_id + 1) / counts
        offset = coordinate - centre[ids]
        scale = np.zeros(max_id + 1)
        np.maximum.at(scale, ids, np.abs(offset))
        scale[scale == 0] = 1
        out[channel][foreground] = offset / scale[ids]
    return out


def _semantic_target(
    labels: NDArray[np.integer], cells: NDArray[np.integer] | None
) -> NDArray[np.float32]:
    """Foreground ``(1, Y, X)``, or with ``cells`` the class index ``(1, Y, X)``."""
    if cells is not None:
        return three_class_target(labels, cells)[None].astype(np.float32)
    return foreground_target(labels)[None]


def _distance_target(
    labels: NDArray[np.integer], cells: NDArray[np.integer] | None
) -> NDArray[np.float32]:
    """(distance, foreground) ``(2, Y, X)``."""
    return np.stack([distance_target(labels), foreground_target(labels)])


def _hover_target(
    labels: NDArray[np.integer], cells: NDArray[np.integer] | None
) -> NDArray[np.float32]:
    """(foreground, horizontal, vertical) ``(3, Y, X)``."""
    return np.concatenate([foreground_target(labels)[None], hover_target(labels)])


TargetBuilder = Callable[[NDArray[np.integer], NDArray[np.integer] | None], NDArray[np.float32]]


def _flows_target(
    labels: NDArray[np.integer], cells: NDArray[np.integer] | None
) -> NDArray[np.float32]:
    """(foreground, flow y, flow x) ``(3, Y, X)``."""
    return np.concatenate([foreground_target(labels)[None], flows_target(labels)])


TARGETS: dict[str, TargetBuilder] = {
    "semantic": _semantic_target,
    "distance": _distance_target,
    "hover": _hover_target,
    "flows": _flows_target,
}
"""Head name → ``(labels, cells or None) -> (T, Y, X) float32`` training target (the data half of
a head's declaration; see :data:`stainless.models.heads.HEADS`)."""


def make_target(
    head: str, labels: NDArray[np.integer], cells: NDArray[np.integer] | None
) -> NDArray[np.float32]:
    """The training target ``(T, Y, X)`` float32 of ``head`` for instance ``labels`` (and
    ``cells`` for a 3-class semantic model)."""
    if head not in TARGETS:
        raise ValueError(f"unknown head '{head}'; expected one of {sorted(TARGETS)}")
    return TARGETS[head](labels, cells)


MAX_DIFFUSION_STEPS = 1000
"""Cap on the diffusion iterations of one object (an object 500 px across reaches it)."""


def flows_target(labels: NDArray[np.integer]) -> NDArray[np.float32]:
    """Unit flows ``(2, Y, X)`` (y, x) pointing along each object's heat gradient towards its
    centre, the object pixel nearest its centroid (Cellpose, [Stringer2021]); 0 on background and
    at the centres.

    Heat diffuses from the centre inside the object only, for ``2 × (height + width)`` of its
    bounding box iterations, at most :data:`MAX_DIFFUSION_STEPS` (compiled:
    :mod:`stainless.data._diffusion`).
    """
    from stainless.data._diffusion import diffuse, heat_gradient

    height, width = labels.shape
    padded = np.zeros((height + 2, width + 2), dtype=np.int32)
    padded[1:-1, 1:-1] = labels
    pixels = np.flatnonzero(padded)
    if pixels.size == 0:
        return np.zeros((2, height, width), dtype=np.float32)
    ids = padded.ravel()[pixels].astype(np.int64)
    n = int(ids.max())
    ys, xs = np.divmod(pixels, width + 2)
    counts = np.maximum(np.bincount(ids, minlength=n + 1), 1)
    cy = np.bincount(ids, weights=ys, minlength=n + 1) / counts
    cx = np.bincount(ids, weights=xs, minlength=n + 1) / counts
    distance = (ys - cy[ids]) ** 2 + (xs - cx[ids]) ** 2
    nearest = np.full(n + 1, np.inf)
    np.minimum.at(nearest, ids, distance)
    candidates = np.flatnonzero(distance <= nearest[ids])  # ties: the first pixel in raster order
    objects, first = np.unique(ids[candidates], return_index=True)
    centres = np.zeros(n + 1, dtype=np.int64)
    centres[objects] = pixels[candidates[first]]
    boxes = np.zeros((n + 1, 4), dtype=np.int64)
    boxes[:, :2], boxes[:, 2:] = np.iinfo(np.int64).max, -1
    for axis, coordinate in enumerate((ys, xs)):
        np.minimum.at(boxes[:, axis], ids, coordinate)
        np.maximum.at(boxes[:, axis + 2], ids, coordinate)
    extent = np.maximum(boxes[:, 2] - boxes[:, 0] + 1, 0) + np.maximum(
        boxes[:, 3] - boxes[:, 1] + 1, 0
    )
    iterations = np.minimum(2 * extent, MAX_DIFFUSION_STEPS)
    heat = diffuse(padded, boxes, centres, iterations)
    flows = heat_gradient(padded, heat, pixels)
    flows.reshape(2, -1)[:, centres[1:][centres[1:] > 0]] = 0.0  # the sink itself has no direction
    return flows[:, 1:-1, 1:-1]
