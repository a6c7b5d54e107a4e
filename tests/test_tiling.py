"""Tiling invariants: pointwise exactness, tiled == whole image, odd and small images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stainless.tiling import gaussian_weights, sliding_window, tile_starts


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
