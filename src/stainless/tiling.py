"""Sliding-window inference as pure functions on arrays: grid, blending weights, stitching.

Nothing here knows about models: ``predict_tiles`` is any function from a batch of tiles to a
batch of output tiles of the same spatial size. A pointwise predictor therefore stitches back to
exactly its pointwise result, whatever the tile size and overlap (tested).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

TilePredictor = Callable[[NDArray[np.float32]], NDArray[np.float32]]


def tile_starts(size: int, tile: int, overlap_fraction: float) -> list[int]:
    """Start offsets of tiles of length ``tile`` covering ``[0, size)`` with at least the given
    overlap; the last tile ends exactly at ``size``. Requires ``size >= tile``."""
    if not 0.0 <= overlap_fraction < 1.0:
        raise ValueError(f"overlap must be in [0, 1), got {overlap_fraction}")
    if size <= tile:
        return [0]
    stride = max(1, int(tile * (1.0 - overlap_fraction)))
    starts = list(range(0, size - tile, stride))
    starts.append(size - tile)
    return starts


def gaussian_weights(
    tile_shape: tuple[int, int], sigma_fraction: float = 0.125
) -> NDArray[np.float32]:
    """Blending weights peaking at the tile centre, σ = ``sigma_fraction`` × tile side (as in
    nnU-Net and MONAI), floored so that border pixels still count. Shape ``tile_shape``."""
    axes = []
    for side in tile_shape:
        coordinates = np.arange(side, dtype=np.float64) - (side - 1) / 2.0
        axes.append(np.exp(-0.5 * (coordinates / (sigma_fraction * side)) ** 2))
    weights = np.outer(axes[0], axes[1])
    weights /= weights.max()
    return np.maximum(weights, 1e-3).astype(np.float32)


def _pad_to(image: NDArray[np.float32], height: int, width: int) -> NDArray[np.float32]:
    pad_y, pad_x = height - image.shape[1], width - image.shape[2]
    if pad_y == 0 and pad_x == 0:
        return image
    mode = "reflect" if pad_y < image.shape[1] and pad_x < image.shape[2] else "symmetric"
    return np.pad(image, ((0, 0), (0, pad_y), (0, pad_x)), mode=mode)  # type: ignore[call-overload]


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _discard_margins(
    weights: NDArray[np.float64], y: int, x: int, image_shape: tuple[int, ...], margin: int
) -> NDArray[np.float64]:
    """Zero the weights within ``margin`` of the tile edges that lie inside the image."""
    if margin == 0:
        return weights
    out = weights.copy()
    tile_y, tile_x = weights.shape
    if y > 0:
        out[:margin] = 0
    if y + tile_y < image_shape[0]:
        out[-margin:] = 0
    if x > 0:
        out[:, :margin] = 0
    if x + tile_x < image_shape[1]:
        out[:, -margin:] = 0
    return out


def sliding_window(
    image: NDArray[np.float32],
    predict_tiles: TilePredictor,
    n_outputs: int,
    *,
    tile: int = 512,
    overlap_fraction: float = 0.5,
    batch_size: int = 4,
    size_multiple: int = 1,
    blend: str = "gaussian",
    margin_px: int = 0,
) -> NDArray[np.float32]:
    """Predict a whole image tile by tile and blend the overlapping tiles.

    Parameters
    ----------
    image : (C, Y, X) float32 ndarray
        Any size: images smaller than a tile, or whose sides are not multiples of
        ``size_multiple``, are padded by reflection and the output cropped back.
    predict_tiles : callable
        ``(B, C, t, t) float32 → (B, n_outputs, t, t) float32``.
    n_outputs : int
    tile : int
        Tile side; rounded up to a multiple of ``size_multiple``.
    overlap_fraction : float in [0, 1)
        Overlap of neighbouring tiles (0.5 by default; the [LightMyCells2024] used 0.8).
    batch_size : int
        Tiles per call; bounds memory together with ``tile``.
    size_multiple : int
        The model's required divisor of tile sides.
    blend : {"gaussian", "mean"}
        Weighting of overlapping predictions.
    margin_px : int
        Pixels at each tile edge that is not an image edge are discarded (weight 0). With a margin
        at least the model's receptive-field radius, tiled prediction equals whole-image
        prediction; requires ``margin_px <= tile * overlap_fraction / 2``.

    Returns
    -------
    (n_outputs, Y, X) float32 ndarray
    """
    if image.ndim != 3:
        raise ValueError(f"image must be (C, Y, X), got shape {image.shape}")
    if blend not in ("gaussian", "mean"):
        raise ValueError(f"blend must be 'gaussian' or 'mean', got {blend!r}")
    height, width = image.shape[1:]
    tile = _round_up(tile, size_multiple)
    tile = min(tile, _round_up(max(height, width), size_multiple))
    padded = _pad_to(
        image,
        max(_round_up(height, size_multiple), tile),
        max(_round_up(width, size_multiple), tile),
    )
    tile_y, tile_x = min(tile, padded.shape[1]), min(tile, padded.shape[2])
    # float64 products of float32 values are exact, so a constant region stitches back exactly.
    weights = (
        gaussian_weights((tile_y, tile_x))
        if blend == "gaussian"
        else np.ones((tile_y, tile_x), np.float32)
    ).astype(np.float64)
    accumulated = np.zeros((n_outputs, *padded.shape[1:]), dtype=np.float64)
    total_weight = np.zeros(padded.shape[1:], dtype=np.float64)
    stride = max(1, int(min(tile_y, tile_x) * (1.0 - overlap_fraction)))
    if margin_px < 0 or 2 * margin_px > min(tile_y, tile_x) - stride:
        raise ValueError(
            f"margin_px {margin_px} leaves gaps between {tile}-px tiles at overlap "
            f"{overlap_fraction}; use 0 <= margin_px <= tile * overlap / 2"
        )
    windows = [
        (y, x)
        for y in tile_starts(padded.shape[1], tile_y, overlap_fraction)
        for x in tile_starts(padded.shape[2], tile_x, overlap_fraction)
    ]
    for first in range(0, len(windows), batch_size):
        chunk = windows[first : first + batch_size]
        batch = np.stack([padded[:, y : y + tile_y, x : x + tile_x] for y, x in chunk])
        outputs = predict_tiles(batch)
        if outputs.shape != (len(chunk), n_outputs, tile_y, tile_x):
            raise ValueError(
                f"tile predictor returned shape {outputs.shape}; "
                f"expected {(len(chunk), n_outputs, tile_y, tile_x)}"
            )
        for (y, x), output in zip(chunk, outputs, strict=True):
            tile_weights = _discard_margins(weights, y, x, padded.shape[1:], margin_px)
            accumulated[:, y : y + tile_y, x : x + tile_x] += (
                output.astype(np.float64) * tile_weights
            )
            total_weight[y : y + tile_y, x : x + tile_x] += tile_weights
    np.divide(accumulated, total_weight, out=accumulated)  # in place: no second float64 copy
    return accumulated[:, :height, :width].astype(np.float32)


@dataclass(frozen=True)
class TilingOptions:
    """How a whole image is cut into tiles and recombined.

    ``tile`` side (px), ``overlap_fraction`` of a tile shared with its neighbour, ``batch_size``
    tiles per network call, ``tta`` averages the four quarter turns (and their mirror images with
    ``tta_flips``), ``margin_px`` of each tile edge is given no weight (context only).
    """

    tile: int = 512
    overlap_fraction: float = 0.5
    batch_size: int = 4
    tta: bool = False
    tta_flips: bool = False
    margin_px: int = 0


ViewCorrection = Callable[[NDArray[np.float32], int, bool], NDArray[np.float32]]
"""``(maps, quarter_turns, mirrored) -> maps``: fixes channels that are vectors, after the maps of
a turned/mirrored view have been turned back into place."""


def predict_tiled(
    image: NDArray[np.float32],
    predict_tiles: TilePredictor,
    n_out: int,
    size_multiple: int,
    options: TilingOptions,
    correct_view: ViewCorrection | None = None,
) -> NDArray[np.float32]:
    """Tiled prediction ``(n_out, Y, X)`` of ``image`` ``(C, Y, X)``; with ``options.tta`` the
    mean over the four quarter turns (and their mirror images with ``tta_flips``), each output
    turned back into place (and corrected by ``correct_view`` where channels are vectors)."""

    def run(view: NDArray[np.float32]) -> NDArray[np.float32]:
        return sliding_window(
            np.ascontiguousarray(view),
            predict_tiles,
            n_out,
            tile=options.tile,
            overlap_fraction=options.overlap_fraction,
            batch_size=options.batch_size,
            size_multiple=size_multiple,
            margin_px=options.margin_px,
        )

    if not options.tta:
        return run(image)
    total = np.zeros((n_out, *image.shape[1:]), dtype=np.float64)
    views = 0
    for flip in (False, True) if options.tta_flips else (False,):
        view = image[:, :, ::-1] if flip else image
        for k in range(4):
            output = np.rot90(run(np.rot90(view, k, axes=(1, 2))), -k, axes=(1, 2))
            output = output[:, :, ::-1] if flip else output
            if correct_view is not None:
                output = correct_view(output, k, flip)
            total += output
            views += 1
    return (total / views).astype(np.float32)
