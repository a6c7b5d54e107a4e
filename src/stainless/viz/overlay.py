"""The evaluation overlay of [Han2024], Fig. 4.

Ground-truth outlines in red, predictions matched to a ground-truth object (IoU ≥ 0.5) in
yellow, unmatched predictions (false positives) in green, over the grey image; a legend gives
the counts. Large images are shown downsampled (outlines are drawn at full resolution first,
then reduced with a maximum so that they stay visible).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from stainless.io.atomic import write_atomically
from stainless.metrics._overlap import overlap_table
from stainless.metrics.instance import matched_pairs
from stainless.viz.outlines import grey_to_rgb, label_borders

RED = (230, 40, 40)
YELLOW = (255, 220, 0)
GREEN = (40, 210, 60)


def _thicken(mask: NDArray[np.bool_], factor: int) -> NDArray[np.bool_]:
    """Dilate a border mask so that it survives ``factor``-fold downsampling."""
    if factor <= 1:
        return mask
    from scipy import ndimage as ndi

    return ndi.binary_dilation(mask, iterations=max(1, factor // 2))


def overlay_counts(
    pred: NDArray[np.integer], gt: NDArray[np.integer] | None, threshold: float = 0.5
) -> tuple[NDArray[np.bool_], dict[str, int]]:
    """Which prediction pixels belong to a true positive, and TP / FP / FN counts."""
    if gt is None:
        return np.zeros(pred.shape, dtype=bool), {"predicted": int(len(np.unique(pred)) - 1)}
    table = overlap_table(gt, pred)
    matched = matched_pairs(table, threshold)
    tp_ids = table.pred_ids[table.pair_pred[matched]]
    tp = len(matched)
    counts = {"tp": tp, "fp": table.n_pred - tp, "fn": table.n_true - tp}
    return np.isin(pred, tp_ids) & (pred > 0), counts


def render_overlay(
    image: NDArray[np.generic],
    pred: NDArray[np.integer],
    gt: NDArray[np.integer] | None = None,
    *,
    max_side: int = 2048,
    threshold: float = 0.5,
) -> tuple[NDArray[np.uint8], dict[str, int]]:
    """The overlay as an RGB array ``(y, x, 3)`` (downsampled so the longer side ≤ ``max_side``)
    and the counts (``tp``, ``fp``, ``fn``; or ``predicted`` without ground truth)."""
    if image.shape != pred.shape or (gt is not None and gt.shape != pred.shape):
        shapes = [image.shape, pred.shape] + ([gt.shape] if gt is not None else [])
        raise ValueError(f"image, prediction and ground truth differ in shape: {shapes}")
    factor = max(1, int(np.ceil(max(image.shape) / max_side)))
    tp_pixels, counts = overlay_counts(pred, gt, threshold)
    rgb = grey_to_rgb(image)
    pred_borders = label_borders(pred)
    layers = [(pred_borders & ~tp_pixels, GREEN if gt is not None else YELLOW)]
    layers.append((pred_borders & tp_pixels, YELLOW))
    if gt is not None:
        layers.append((label_borders(gt), RED))
    for mask, colour in layers:
        rgb[_thicken(mask, factor)] = colour
    return rgb[::factor, ::factor].copy(), counts


def save_overlay_png(
    rgb: NDArray[np.uint8], counts: dict[str, int], path: Path, title: str = ""
) -> Path:
    """Write the overlay with a legend (matplotlib, Agg) atomically to ``path`` (.png)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    def colour(rgb_255: tuple[int, int, int]) -> tuple[float, float, float]:
        return (rgb_255[0] / 255, rgb_255[1] / 255, rgb_255[2] / 255)

    zoom = max(1, int(np.ceil(512 / max(rgb.shape[:2]))))  # small images: enlarge to see
    rgb = np.repeat(np.repeat(rgb, zoom, axis=0), zoom, axis=1)
    height, width = rgb.shape[:2]
    legend_px = 40
    figure = plt.figure(figsize=(max(width, 640) / 100, (height + legend_px) / 100), dpi=100)
    axis = figure.add_axes((0, legend_px / (height + legend_px), 1, height / (height + legend_px)))
    axis.imshow(rgb, interpolation="nearest")
    axis.set_axis_off()
    if "tp" in counts:
        handles = [
            Patch(color=colour(RED), label=f"ground truth ({counts['tp'] + counts['fn']})"),
            Patch(color=colour(YELLOW), label=f"true positive ({counts['tp']})"),
            Patch(color=colour(GREEN), label=f"false positive ({counts['fp']})"),
        ]
    else:
        handles = [Patch(color=colour(YELLOW), label=f"predicted ({counts['predicted']})")]
    label = f"  {title}" if title else ""
    figure.legend(
        handles=handles,
        loc="lower center",
        ncol=len(handles),
        frameon=False,
        fontsize=9,
        title=label or None,
        title_fontsize=8,
    )
    try:
        write_atomically(path, lambda temporary: figure.savefig(temporary, format="png"))
    finally:
        plt.close(figure)
    return path
