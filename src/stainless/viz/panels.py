"""Images side by side with titles: the label-free input, the predicted and the real stain."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from stainless.data.normalize import percentile_range
from stainless.io.atomic import write_atomically


def save_panels_png(panels: Sequence[tuple[str, NDArray[np.generic]]], path: Path) -> Path:
    """Write grey ``(Y, X)`` images side by side, each under its title, to ``path`` (.png,
    matplotlib Agg, atomically); each image is shown over its own percentile range."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    height, width = panels[0][1].shape
    side = 3.4
    figure, axes = plt.subplots(
        1, len(panels), figsize=(side * len(panels), side * height / width + 0.5), dpi=100
    )
    for axis, (title, image) in zip(np.atleast_1d(axes), panels, strict=True):
        low, high = percentile_range(image, 1.0, 99.8)  # robust to a few hot pixels
        axis.imshow(image, cmap="gray", vmin=low, vmax=high, interpolation="nearest")
        axis.set_title(title, fontsize=10)
        axis.set_axis_off()
    figure.tight_layout()
    try:
        write_atomically(path, lambda temporary: figure.savefig(temporary, format="png"))
    finally:
        plt.close(figure)
    return path
