"""Maps → labels for every segmentation head: one decoder per head name.

The post-processing half of a head's declaration (the network half is
:data:`stainless.models.heads.HEADS`, the target half :data:`stainless.data.targets.TARGETS`):
how the activated maps become labels, and which thresholds are worth tuning on validation
images, over which grid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi

from stainless.postprocessing.flows import labels_from_flows
from stainless.postprocessing.instances import labels_from_distance, labels_from_hover
from stainless.postprocessing.labels import clean_labels

Thresholds = dict[str, float]
MASK_THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


@dataclass(frozen=True)
class Decoder:
    """How a head's activated maps ``(K, Y, X)`` become labels ``(Y, X)``.

    Attributes
    ----------
    decode : callable
        ``(maps, thresholds) -> labels``; thresholds absent from the dict take defaults.
    grid : dict of str → tuple of float
        The thresholds tuned on validation images and the values tried.
    tunable : callable
        ``classes -> `` whether tuning applies (a class map has no instances to score).
    min_size_factors : tuple of float
        Multiples of the configured ``min_size_px`` also tried (``(1.0,)``: not tuned).
    """

    decode: Callable[[NDArray[np.floating], Thresholds], NDArray[np.integer]]
    grid: dict[str, tuple[float, ...]]
    tunable: Callable[[int], bool] = lambda classes: True
    min_size_factors: tuple[float, ...] = (1.0,)

    def grid_around(self, base: Thresholds) -> dict[str, tuple[float, ...]]:
        """The tuning grid, with the minimum sizes derived from ``base["min_size_px"]``."""
        minimum = base.get("min_size_px", 0)
        sizes = tuple(sorted({round(minimum * f) for f in self.min_size_factors}))
        return {**self.grid, "min_size_px": sizes} if len(sizes) > 1 else dict(self.grid)


def _decode_semantic(maps: NDArray[np.floating], thresholds: Thresholds) -> NDArray[np.integer]:
    """One probability map → connected components; K class probabilities → class map (uint8)."""
    if maps.shape[0] > 1:
        return np.argmax(maps, axis=0).astype(np.uint8)
    components, _ = ndi.label(maps[0] > thresholds.get("mask_threshold", 0.5))
    return clean_labels(components, min_size_px=int(thresholds.get("min_size_px", 0)))


def _decode_distance(maps: NDArray[np.floating], thresholds: Thresholds) -> NDArray[np.integer]:
    """(distance, mask probability) → h-maxima watershed ([Bonte2022] §2.3.2)."""
    return labels_from_distance(
        maps[0],
        maps[1],
        mask_threshold=thresholds.get("mask_threshold", 0.5),
        h=thresholds.get("h", 0.3),
        min_size_px=int(thresholds.get("min_size_px", 0)),
    )


def _decode_hover(maps: NDArray[np.floating], thresholds: Thresholds) -> NDArray[np.integer]:
    """(background, foreground, horizontal, vertical) → marker watershed ([Graham2019])."""
    return labels_from_hover(
        maps[1],
        maps[2:4],
        threshold=thresholds.get("mask_threshold", 0.5),
        border_threshold=thresholds.get("border_threshold", 0.3),
        min_size_px=int(thresholds.get("min_size_px", 0)),
    )


def _decode_flows(maps: NDArray[np.floating], thresholds: Thresholds) -> NDArray[np.integer]:
    """(foreground probability, flow y, flow x) → paths to the sinks ([Stringer2021])."""
    return labels_from_flows(
        maps[0],
        maps[1:3],
        mask_threshold=thresholds.get("mask_threshold", 0.5),
        flow_threshold=thresholds.get("flow_threshold", 0.4),
        min_size_px=int(thresholds.get("min_size_px", 0)),
    )


DECODERS: dict[str, Decoder] = {
    "semantic": Decoder(
        _decode_semantic, {"mask_threshold": MASK_THRESHOLDS}, tunable=lambda classes: classes == 2
    ),
    "distance": Decoder(
        _decode_distance,
        {"mask_threshold": MASK_THRESHOLDS, "h": (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6)},
    ),
    "hover": Decoder(
        _decode_hover,
        {
            "mask_threshold": MASK_THRESHOLDS,
            "border_threshold": (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8),
        },
    ),
    "flows": Decoder(
        _decode_flows,
        {"mask_threshold": MASK_THRESHOLDS, "flow_threshold": (0.2, 0.4, 0.6, 0.8, 0.0)},
        # predicted flows leave small fragments at cell borders: larger minimum sizes are tried
        min_size_factors=(1.0, 3.0, 6.0),
    ),
}
"""Head name → its decoder and threshold grid."""


def labels_from_maps(
    maps: NDArray[np.floating], head: str, thresholds: Thresholds
) -> NDArray[np.integer]:
    """Labels from a segmentation head's activated maps.

    Parameters
    ----------
    maps : (K, Y, X) float ndarray
        semantic: 1 foreground probability, or K class probabilities; distance: (distance,
        mask probability); hover: (background, foreground probabilities, horizontal, vertical).
    head : str
        A key of :data:`DECODERS`.
    thresholds : dict
        ``mask_threshold``, ``h``, ``border_threshold``, ``min_size_px`` (as the head uses them).

    Returns
    -------
    (Y, X) ndarray
        Instance labels; for a semantic head with more than two classes, the class map (uint8).
    """
    if head not in DECODERS:
        raise ValueError(f"unknown head '{head}'; expected one of {sorted(DECODERS)}")
    return DECODERS[head].decode(maps, thresholds)
