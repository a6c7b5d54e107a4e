"""Input conventions that let one network take grey and colour images alike, and the colour
augmentations that go with them (issue 24: one nucleus model for fluorescence, bright-field and
H&E).

``colour`` (``data.colour``, stored with the model and applied again at prediction):

* ``as_is`` — the planes as they are (the network takes exactly ``in_channels`` planes);
* ``grey`` — one plane: a grey image stays, an RGB(A) image becomes the mean of its red, green
  and blue;
* ``rgb`` — three planes: an RGB image stays (alpha dropped), a grey image is repeated three
  times.

Polarity (bright nuclei on dark in fluorescence, dark on bright in bright-field and H&E) is left
to the network: ``augment.invert`` shows it each crop in either polarity
(:func:`invert_contrast`), and ``augment.colour`` jitters each colour plane's gain and offset
(:func:`jitter_colour`), so stain and camera differences do not matter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Colour = Literal["as_is", "grey", "rgb"]
COLOUR_PLANES = {"grey": 1, "rgb": 3}
"""Planes the network takes under each convention (``as_is``: the model's ``in_channels``)."""


def apply_colour(planes: NDArray[np.generic], colour: str, source: Path) -> NDArray[np.generic]:
    """The planes ``(C', Y, X)`` the network takes from an image's planes ``(C, Y, X)`` under
    ``colour`` (see the module docstring).

    Raises
    ------
    ValueError
        Naming ``source`` when it is neither one grey plane nor an RGB(A) image.
    """
    if colour == "as_is":
        return planes
    count = planes.shape[0]
    if count not in (1, 3, 4):
        raise ValueError(
            f"input '{source}' has {count} planes; the model takes one grey plane or an RGB "
            "colour image (pick the channel with --channels)"
        )
    if colour == "grey":
        if count == 1:
            return planes
        return planes[:3].astype(np.float32).mean(axis=0, keepdims=True)
    if colour == "rgb":
        return np.repeat(planes, 3, axis=0) if count == 1 else planes[:3]
    raise ValueError(f"unknown colour convention '{colour}'; expected as_is, grey or rgb")


def invert_contrast(patch: NDArray[np.float32]) -> NDArray[np.float32]:
    """The normalised planes ``(C, Y, X)`` with bright and dark swapped, ``1 - x`` (percentile
    normalisation maps an image to about [0, 1], so the inverted image has the same range)."""
    return (1.0 - patch).astype(np.float32)


def jitter_colour(patch: NDArray[np.float32], rng: np.random.Generator) -> NDArray[np.float32]:
    """Per-plane gain (×0.8–1.2 about 0.5) and offset (±0.08): a stain or camera whose colour
    balance differs. ``patch``: normalised planes ``(C, Y, X)``."""
    count = patch.shape[0]
    gain = rng.uniform(0.8, 1.2, size=(count, 1, 1))
    offset = rng.uniform(-0.08, 0.08, size=(count, 1, 1))
    return ((patch - 0.5) * gain + 0.5 + offset).astype(np.float32)
