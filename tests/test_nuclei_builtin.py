"""The built-in ``nuclei`` generalist: one grey-convention model trained at one object size, so
grey images (either polarity) and colour images go in as they are and the size is found."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stainless.inference.object_size import estimate_diameter
from stainless.inference.segmenter import SegmentationPredictor
from stainless.model_folder import read_segmentation_info
from stainless.zoo import get_model


def _discs(diameter: float, seed: int = 0) -> tuple[np.ndarray, int]:
    """A 256² grey image ``(Y, X)`` of bright blurred discs on a dark, noisy background, and how
    many discs it holds."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:256, :256]
    image = np.zeros((256, 256), np.float32)
    centres = [(y, x) for y in range(32, 256, 64) for x in range(32, 256, 64)]
    for y, x in centres:
        image[(yy - y) ** 2 + (xx - x) ** 2 <= (diameter / 2) ** 2] = 1.0
    image = gaussian_filter(image, 1.5) + rng.normal(0, 0.03, image.shape).astype(np.float32)
    return image, len(centres)


def test_the_card_says_what_to_pass() -> None:
    model = get_model("nuclei")
    info = read_segmentation_info(model.folder)
    assert info.colour == "grey" and info.one_diameter and info.object_diameter_px == 20.0
    assert info.planes_wanted() is None  # one grey plane or an RGB image, no --channels
    assert "RGB" in model.inputs and model.held_out["scores"]


@pytest.mark.parametrize("kind", ["bright", "dark", "rgb"])
def test_nuclei_are_found_in_grey_inverted_and_colour_images_at_another_size(kind: str) -> None:
    predictor = SegmentationPredictor.load(get_model("nuclei").folder, "cpu")
    image, count = _discs(diameter=36.0)
    if kind == "dark":  # bright-field-like: dark nuclei on a bright background
        image = 1.0 - image
    planes = image[None]
    if kind == "rgb":  # purple-ish nuclei on a pale background, as H&E
        pale = 1.0 - image
        planes = np.stack([0.9 * pale + 0.1, 0.6 * pale + 0.1, 0.8 * pale + 0.2])
    planes = predictor.input_planes(planes.astype(np.float32), None, Path("synthetic.tif"))
    found = estimate_diameter(predictor, planes).diameter_px
    labels = predictor.segment(planes, magnification=20.0 / found)
    assert 24 <= found <= 48  # the discs are 36 px across; the model was trained at 20
    assert abs(len(np.unique(labels[labels > 0])) - count) <= 2
