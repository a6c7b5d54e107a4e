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


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


@dataclass(frozen=True)
class TileGrid:
    """The tiles a whole image of ``shape`` (Y, X) is cut into: the image is padded to
    ``padded`` (reflection, or ``symmetric`` where the padding exceeds the image) and tiles of
    ``tile`` (Y, X) start at ``starts_y`` × ``starts_x`` of the padded image."""

    shape: tuple[int, int]
    padded: tuple[int, int]
    tile: tuple[int, int]
    starts_y: tuple[int, ...]
    starts_x: tuple[int, ...]

    @property
    def pad_mode(self) -> str:
        """``np.pad`` mode of the padding."""
        fits = all(p - s < s for p, s in zip(self.padded, self.shape, strict=True))
        return "reflect" if fits else "symmetric"

    def region(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """The padded-image region ``(y0, y1, x0, x1)`` that the tiles overlapping ``box``
        (image pixels) cover."""
        y0, y1, x0, x1 = box
        ys = [y for y in self.starts_y if y < y1 and y + self.tile[0] > y0]
        xs = [x for x in self.starts_x if x < x1 and x + self.tile[1] > x0]
        return ys[0], ys[-1] + self.tile[0], xs[0], xs[-1] + self.tile[1]


def tile_grid(
    shape: tuple[int, int], tile: int, overlap_fraction: float, size_multiple: int = 1
) -> TileGrid:
    """The :class:`TileGrid` of an image of ``shape``: tiles of side ``tile`` (rounded up to a
    multiple of ``size_multiple``, shrunk to the image), the image padded to a multiple of
    ``size_multiple`` and at least one tile."""
    height, width = shape
    tile = _round_up(tile, size_multiple)
    tile = min(tile, _round_up(max(height, width), size_multiple))
    padded = (
        max(_round_up(height, size_multiple), tile),
        max(_round_up(width, size_multiple), tile),
    )
    tile_yx = (min(tile, padded[0]), min(tile, padded[1]))
    return TileGrid(
        shape,
        padded,
        tile_yx,
        tuple(tile_starts(padded[0], tile_yx[0], overlap_fraction)),
        tuple(tile_starts(padded[1], tile_yx[1], overlap_fraction)),
    )


def _source_index(start: int, stop: int, size: int, mode: str) -> NDArray[np.intp]:
    """Image rows (or columns) of padded rows ``start..stop-1``, as ``np.pad`` reflects them
    (periodically when the padding is longer than the image)."""
    index = np.arange(start, stop)
    if mode == "reflect":
        period = max(1, 2 * size - 2)
        folded = index % period
        return np.where(folded < size, folded, period - folded)
    folded = index % (2 * size)
    return np.where(folded < size, folded, 2 * size - 1 - folded)


def read_padded(
    read: Callable[[int, int, int, int], NDArray[np.generic]],
    grid: TileGrid,
    region: tuple[int, int, int, int],
) -> NDArray[np.generic]:
    """The padded image over ``region`` (padded-image pixels), from ``read(y0, y1, x0, x1)``
    (the image's planes ``(C, y1-y0, x1-x0)``); equal to ``np.pad`` of the whole image."""
    rows = _source_index(region[0], region[1], grid.shape[0], grid.pad_mode)
    columns = _source_index(region[2], region[3], grid.shape[1], grid.pad_mode)
    y0, x0 = int(rows.min()), int(columns.min())
    planes = read(y0, int(rows.max()) + 1, x0, int(columns.max()) + 1)
    return planes[:, rows - y0][:, :, columns - x0]


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


@dataclass(frozen=True)
class ImageWindow:
    """Part of a larger image, tiled exactly as the whole image would be (blockwise runs):
    the tiles of the whole image's ``grid`` that overlap ``box`` (image pixels, ``(y0, y1, x0,
    x1)``), with planes given over the padded-image ``region`` (``grid.region(box)``)."""

    grid: TileGrid
    box: tuple[int, int, int, int]

    @property
    def region(self) -> tuple[int, int, int, int]:
        """The padded-image region the planes must cover."""
        return self.grid.region(self.box)


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
    window: ImageWindow | None = None,
) -> NDArray[np.float32]:
    """Predict a whole image tile by tile and blend the overlapping tiles.

    Parameters
    ----------
    image : (C, Y, X) float32 ndarray
        Any size: images smaller than a tile, or whose sides are not multiples of
        ``size_multiple``, are padded by reflection and the output cropped back. With
        ``window``: the padded planes over ``window.region`` only.
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
    window : ImageWindow, optional
        Predict only ``window.box`` of a larger image, with the tiles (and so the values) the
        whole image would get there; the grid must be this function's for the whole image.

    Returns
    -------
    (n_outputs, Y, X) float32 ndarray
        With ``window``: ``(n_outputs, y1 - y0, x1 - x0)`` of its box.
    """
    if image.ndim != 3:
        raise ValueError(f"image must be (C, Y, X), got shape {image.shape}")
    if blend not in ("gaussian", "mean"):
        raise ValueError(f"blend must be 'gaussian' or 'mean', got {blend!r}")
    if window is None:
        whole = image
        grid = tile_grid((whole.shape[1], whole.shape[2]), tile, overlap_fraction, size_multiple)
        window = ImageWindow(grid, (0, grid.shape[0], 0, grid.shape[1]))
        image = read_padded(  # type: ignore[assignment]
            lambda y0, y1, x0, x1: whole[:, y0:y1, x0:x1], grid, window.region
        )
    grid, region = window.grid, window.region
    tile_y, tile_x = grid.tile
    # float64 products of float32 values are exact, so a constant region stitches back exactly.
    weights = (
        gaussian_weights((tile_y, tile_x))
        if blend == "gaussian"
        else np.ones((tile_y, tile_x), np.float32)
    ).astype(np.float64)
    stride = max(1, int(min(tile_y, tile_x) * (1.0 - overlap_fraction)))
    if margin_px < 0 or 2 * margin_px > min(tile_y, tile_x) - stride:
        raise ValueError(
            f"margin_px {margin_px} leaves gaps between {tile}-px tiles at overlap "
            f"{overlap_fraction}; use 0 <= margin_px <= tile * overlap / 2"
        )
    ry0, ry1, rx0, rx1 = region
    accumulated = np.zeros((n_outputs, ry1 - ry0, rx1 - rx0), dtype=np.float64)
    total_weight = np.zeros((ry1 - ry0, rx1 - rx0), dtype=np.float64)
    windows = [
        (y, x)
        for y in grid.starts_y
        if ry0 <= y and y + tile_y <= ry1
        for x in grid.starts_x
        if rx0 <= x and x + tile_x <= rx1
    ]
    for first in range(0, len(windows), batch_size):
        chunk = windows[first : first + batch_size]
        batch = np.stack(
            [image[:, y - ry0 : y - ry0 + tile_y, x - rx0 : x - rx0 + tile_x] for y, x in chunk]
        )
        outputs = predict_tiles(batch)
        if outputs.shape != (len(chunk), n_outputs, tile_y, tile_x):
            raise ValueError(
                f"tile predictor returned shape {outputs.shape}; "
                f"expected {(len(chunk), n_outputs, tile_y, tile_x)}"
            )
        for (y, x), output in zip(chunk, outputs, strict=True):
            tile_weights = _discard_margins(weights, y, x, grid.padded, margin_px)
            y -= ry0
            x -= rx0
            accumulated[:, y : y + tile_y, x : x + tile_x] += (
                output.astype(np.float64) * tile_weights
            )
            total_weight[y : y + tile_y, x : x + tile_x] += tile_weights
    y0, y1, x0, x1 = window.box
    box = (slice(y0 - ry0, y1 - ry0), slice(x0 - rx0, x1 - rx0))
    kept = accumulated[:, box[0], box[1]]
    np.divide(kept, total_weight[box], out=kept)  # in place: no second float64 copy
    return kept.astype(np.float32)


@dataclass(frozen=True)
class TilingOptions:
    """How a whole image is cut into tiles and recombined.

    ``tile`` side (px), ``overlap_fraction`` of a tile shared with its neighbour, ``batch_size``
    tiles per network call, ``tta`` averages the four quarter turns (and their mirror images with
    ``tta_flips``), ``margin_px`` of each tile edge is given no weight (context only).
    """

    tile: int = 512
    overlap_fraction: float = 0.25
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
    window: ImageWindow | None = None,
) -> NDArray[np.float32]:
    """Tiled prediction ``(n_out, Y, X)`` of ``image`` ``(C, Y, X)``; with ``options.tta`` the
    mean over the four quarter turns (and their mirror images with ``tta_flips``), each output
    turned back into place (and corrected by ``correct_view`` where channels are vectors).
    With ``window`` (no test-time augmentation), ``image`` is the padded region of a larger
    image and the window's box is predicted as in the whole image (see :func:`sliding_window`).
    """
    if window is not None and options.tta:
        raise ValueError("test-time augmentation of an image window is not supported")

    def run(view: NDArray[np.float32]) -> NDArray[np.float32]:
        return sliding_window(
            view if window is not None else np.ascontiguousarray(view),
            predict_tiles,
            n_out,
            tile=options.tile,
            overlap_fraction=options.overlap_fraction,
            batch_size=options.batch_size,
            size_multiple=size_multiple,
            margin_px=options.margin_px,
            window=window,
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


def image_window(
    shape: tuple[int, int],
    box: tuple[int, int, int, int],
    options: TilingOptions,
    size_multiple: int,
) -> ImageWindow:
    """The :class:`ImageWindow` of ``box`` in an image of ``shape`` tiled with ``options``."""
    return ImageWindow(tile_grid(shape, options.tile, options.overlap_fraction, size_multiple), box)


@dataclass(frozen=True)
class Block:
    """One block of a blockwise run: its ``core`` (written) and ``extended`` window (core plus
    halo, clipped to the image; read and computed), both ``(y0, y1, x0, x1)`` in image pixels,
    and its ``index`` (row, column) in the block grid."""

    index: tuple[int, int]
    core: tuple[int, int, int, int]
    extended: tuple[int, int, int, int]

    @property
    def core_in_extended(self) -> tuple[int, int, int, int]:
        """The core in the coordinates of the extended window."""
        y0, y1, x0, x1 = self.core
        ey, _, ex, _ = self.extended
        return y0 - ey, y1 - ey, x0 - ex, x1 - ex


def block_grid(shape_yx: tuple[int, int], block: int, halo: int) -> list[Block]:
    """Blocks of side ``block`` covering an image of ``shape_yx`` row by row, each extended by
    ``halo`` pixels of context on every side that is not an image edge.

    Raises
    ------
    ValueError
        ``halo`` negative or not smaller than ``block`` (a halo wider than the block it serves
        reads more context than pixels; use a larger ``--block-size``).
    """
    if block < 64:
        raise ValueError(f"--block-size must be >= 64 px, got {block}")
    if not 0 <= halo < block:
        raise ValueError(
            f"the halo ({halo} px) must be smaller than the block ({block} px); "
            "use a larger --block-size or a smaller --halo"
        )
    height, width = shape_yx
    blocks = []
    for row, y0 in enumerate(range(0, height, block)):
        for column, x0 in enumerate(range(0, width, block)):
            y1, x1 = min(y0 + block, height), min(x0 + block, width)
            extended = (
                max(0, y0 - halo),
                min(height, y1 + halo),
                max(0, x0 - halo),
                min(width, x1 + halo),
            )
            blocks.append(Block((row, column), (y0, y1, x0, x1), extended))
    return blocks
