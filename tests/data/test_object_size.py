"""Object diameters as Cellpose's ``diameter``: 2 sqrt(area / pi), median over objects."""

from __future__ import annotations

import numpy as np
import pytest

from stainless.data.object_size import median_object_diameter, object_diameters
from stainless.model_folder import SegmentationModelInfo


def test_diameters_are_those_of_discs_of_equal_area() -> None:
    labels = np.zeros((40, 40), np.uint16)
    labels[0:10, 0:10] = 1  # area 100
    labels[20:40, 20:40] = 5  # area 400 (ids need not be consecutive)
    expected = 2 * np.sqrt(np.array([100, 400]) / np.pi)
    np.testing.assert_allclose(object_diameters(labels), expected)
    small = np.zeros((8, 8), np.uint16)
    small[0:2, 0:2] = 1  # area 4
    median = median_object_diameter([labels, small])
    assert median == pytest.approx(2 * np.sqrt(100 / np.pi))
    assert median_object_diameter([np.zeros((4, 4), np.uint16)]) is None


def _info(diameter: float | None, scale: float = 0.5) -> SegmentationModelInfo:
    return SegmentationModelInfo(
        head="flows",
        classes=2,
        in_channels=1,
        input_percentiles=(1.0, 99.8),
        size_multiple=16,
        thresholds={},
        input_scale=scale,
        object_diameter_px=diameter,
    )


def test_a_diameter_sets_the_scale_that_brings_objects_to_the_training_size() -> None:
    assert _info(40.0).at_diameter(80.0, "m").input_scale == pytest.approx(0.25)
    assert _info(40.0).at_diameter(20.0, "m").input_scale == pytest.approx(1.0)
    with pytest.raises(ValueError, match="does not record the diameter"):
        _info(None).at_diameter(30.0, "old-model")
    with pytest.raises(ValueError, match="finite number > 0"):
        _info(40.0).at_diameter(0.0, "m")
    with pytest.raises(ValueError, match="check the diameter is in pixels"):
        _info(40.0).at_diameter(0.5, "m")  # x40: a unit mistake (µm for px?)
