"""Tiling invariants: pointwise exactness, tiled == whole image, odd and small images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stainless.tiling import (
    TilingOptions,
    gaussian_weights,
    predict_tiled,
    sliding_window,
    tile_starts,
)


@pytest.mark.parametrize(
    ("shape", "tile", "overlap", "multiple"),
    [
        ((37, 101), 16, 0.5, 1),
        ((64, 64), 32, 0.25, 8),
        ((13, 9), 256, 0.5, 16),
        ((200, 150), 48, 0.8, 4),
    ],
)
def test_times_two_predictor_stitches_to_exactly_twice_the_image(
    shape: tuple[int, int], tile: int, overlap: float, multiple: int
) -> None:
    image = np.random.default_rng(0).random((2, *shape), dtype=np.float32)
    out = sliding_window(
        image, lambda b: 2 * b, 2, tile=tile, overlap_fraction=overlap, size_multiple=multiple
    )
    assert out.shape == image.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out, 2 * image)


def test_tiled_equals_whole_image_for_a_convolutional_model_with_a_margin() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 3, 3, padding=1)
    ).eval()

    def predict(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(batch)).numpy()

    image = np.random.default_rng(1).random((2, 75, 133), dtype=np.float32)
    whole = predict(image[None])[0]
    tiled = sliding_window(image, predict, 3, tile=32, overlap_fraction=0.5, margin_px=4)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)
    without_margin = sliding_window(image, predict, 3, tile=32, overlap_fraction=0.5)
    assert (
        np.abs(without_margin - whole).max() > 1e-3
    )  # borders differ: the margin is what fixes it


def test_grid_covers_the_image_and_ends_at_its_edge() -> None:
    assert tile_starts(100, 32, 0.5) == [0, 16, 32, 48, 64, 68]
    assert tile_starts(20, 32, 0.5) == [0]
    weights = gaussian_weights((16, 16))
    assert weights.max() == 1.0 and weights.min() > 0


def test_bad_tiling_arguments_are_refused() -> None:
    image = np.zeros((1, 32, 32), np.float32)
    with pytest.raises(ValueError, match="overlap must be in"):
        sliding_window(image, lambda b: b, 1, tile=16, overlap_fraction=1.0)
    with pytest.raises(ValueError, match="margin_px 6 leaves gaps"):
        sliding_window(image, lambda b: b, 1, tile=16, overlap_fraction=0.5, margin_px=6)
    with pytest.raises(ValueError, match="tile predictor returned shape"):
        sliding_window(image, lambda b: b[:, :1, :8], 1, tile=16)


def _context_dependent(batch: np.ndarray) -> np.ndarray:
    """A tile predictor whose output depends on the whole tile (its mean), like a network's
    receptive field: tiled differently, the values differ."""
    return (batch[:, :1] + batch[:, :1].mean(axis=(2, 3), keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("shape", [(300, 410), (97, 530), (64, 64)])
def test_a_window_is_predicted_exactly_as_in_the_whole_image(shape: tuple[int, int]) -> None:
    from stainless.tiling import block_grid, image_window, read_padded

    rng = np.random.default_rng(1)
    image = rng.random((2, *shape), dtype=np.float32)
    options = TilingOptions(tile=64, overlap_fraction=0.25, batch_size=3)
    whole = predict_tiled(image, _context_dependent, 1, 16, options)
    for block in block_grid(shape, 96, 20):
        window = image_window(shape, block.extended, options, 16)
        region = read_padded(
            lambda y0, y1, x0, x1: image[:, y0:y1, x0:x1], window.grid, window.region
        )
        part = predict_tiled(region, _context_dependent, 1, 16, options, window=window)
        y0, y1, x0, x1 = block.extended
        np.testing.assert_array_equal(part, whole[:, y0:y1, x0:x1])
    # tiled on its own, a window differs: the grid is what makes blockwise == whole image
    y0, y1, x0, x1 = block_grid(shape, 96, 20)[-1].extended
    alone = predict_tiled(image[:, y0:y1, x0:x1], _context_dependent, 1, 16, options)
    assert shape == (64, 64) or not np.array_equal(alone, whole[:, y0:y1, x0:x1])


def test_read_padded_matches_numpy_reflection() -> None:
    from stainless.tiling import read_padded, tile_grid

    image = np.arange(2 * 50 * 37, dtype=np.float32).reshape(2, 50, 37)
    grid = tile_grid((50, 37), 32, 0.5, 16)
    padded = np.pad(
        image, ((0, 0), (0, grid.padded[0] - 50), (0, grid.padded[1] - 37)), mode=grid.pad_mode
    )
    region = (16, grid.padded[0], 5, grid.padded[1])
    got = read_padded(lambda y0, y1, x0, x1: image[:, y0:y1, x0:x1], grid, region)
    np.testing.assert_array_equal(got, padded[:, 16:, 5:])
