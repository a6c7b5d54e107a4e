"""Image metrics: agreement with scikit-image / numpy where definitions coincide, known answers."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from stainless.data.synthetic import make_synthetic_sample
from stainless.metrics import (
    cosine_distance,
    euclidean_distance,
    mae,
    mse,
    pearson,
    psnr,
    ssim,
    translation_metrics,
)


@pytest.fixture
def image_pair() -> tuple[np.ndarray, np.ndarray]:
    sample = make_synthetic_sample((64, 80), seed=3)
    return sample.label_free.astype(np.float64), sample.nuclear_stain.astype(np.float64)


def test_ssim_equals_scikit_image_gaussian_ssim(image_pair: tuple[np.ndarray, np.ndarray]) -> None:
    pred, target = image_pair
    expected = structural_similarity(
        pred, target, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    assert ssim(pred, target, data_range=1.0) == pytest.approx(expected, abs=1e-10)
    assert ssim(target, target, data_range=1.0) == pytest.approx(1.0)


def test_ssim_requires_data_range_as_keyword() -> None:
    image = np.zeros((16, 16))
    with pytest.raises(TypeError):
        ssim(image, image, 1.0)  # type: ignore[misc]
    with pytest.raises(ValueError, match="data_range must be > 0"):
        ssim(image, image, data_range=0)


def test_known_answers_for_error_metrics() -> None:
    target = np.array([[0.0, 1.0], [2.0, 3.0]])
    pred = target + np.array([[1.0, -1.0], [0.0, 2.0]])
    assert mae(pred, target) == pytest.approx(1.0)  # (1 + 1 + 0 + 2) / 4
    assert mse(pred, target) == pytest.approx(1.5)  # (1 + 1 + 0 + 4) / 4
    assert psnr(pred, target, data_range=3.0) == pytest.approx(10 * np.log10(9 / 1.5))
    assert psnr(target, target, data_range=3.0) == float("inf")


def test_mask_restricts_every_metric_to_its_pixels() -> None:
    target = np.array([[0.0, 1.0], [2.0, 3.0]])
    pred = target + np.array([[1.0, -1.0], [0.0, 2.0]])
    mask = np.array([[True, True], [False, False]])
    assert mae(pred, target, mask=mask) == pytest.approx(1.0)
    assert mse(pred, target, mask=mask) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="mask selects no pixels"):
        mae(pred, target, mask=np.zeros((2, 2), dtype=bool))


def test_pearson_equals_numpy_and_is_zero_for_a_constant_image(
    image_pair: tuple[np.ndarray, np.ndarray],
) -> None:
    pred, target = image_pair
    assert pearson(pred, target) == pytest.approx(np.corrcoef(pred.ravel(), target.ravel())[0, 1])
    assert pearson(np.ones((4, 4)), target[:4, :4]) == 0.0


def test_light_my_cells_distances_known_answers() -> None:
    # After min-max scaling: a = [0, 0.5, 1], b = [1, 0.5, 0] (both already span their range).
    a = np.array([0.0, 5.0, 10.0])
    b = np.array([4.0, 2.0, 0.0])
    assert euclidean_distance(a, b) == pytest.approx(np.sqrt((1 + 0 + 1) / 3))
    assert cosine_distance(a, b) == pytest.approx(1 - 0.25 / 1.25)  # a·b = 0.25, |a||b| = 1.25
    assert euclidean_distance(a, 3 * a + 7) == pytest.approx(0.0)  # invariant to gain and offset
    assert cosine_distance(a, a) == pytest.approx(0.0)


def test_translation_metrics_returns_every_metric(
    image_pair: tuple[np.ndarray, np.ndarray],
) -> None:
    pred, target = image_pair
    scores = translation_metrics(pred, target)
    assert set(scores) == {
        "mae",
        "mse",
        "psnr",
        "ssim",
        "pcc",
        "euclidean_distance",
        "cosine_distance",
    }
    assert scores["ssim"] == pytest.approx(ssim(pred, target, data_range=float(np.ptp(target))))


def test_shape_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match=r"prediction has shape \(2, 3\) but target has \(2, 2\)"):
        mae(np.zeros((2, 3)), np.zeros((2, 2)))
