"""Validation cut off each training image (``data.validation_fraction``)."""

from __future__ import annotations

from typing import TypeVar

from stainless.config import SampleConfig, SegmentationSampleConfig
from stainless.io import read_header

SampleType = TypeVar("SampleType", SampleConfig, SegmentationSampleConfig)


def _extent(sample: SampleConfig | SegmentationSampleConfig) -> tuple[int, int, int, int]:
    if sample.region is not None:
        return sample.region
    height, width = read_header(sample.inputs[0]).yx_shape  # YXC (RGB) images too
    return 0, 0, int(height), int(width)


def hold_out(
    samples: list[SampleType], fraction: float
) -> tuple[list[SampleType], list[SampleType]]:
    """Each sample cut in two: its first ``1 - fraction`` for training, the rest for validation.

    The cut runs across the longer side (the last columns of a wide image, the last rows of a
    tall one), inside the sample's ``region`` when it has one; the validation part is named
    ``<name>:val``. A fraction of 0 returns the samples and no validation.

    Parameters
    ----------
    samples : list of SampleConfig or SegmentationSampleConfig
    fraction : float
        In [0, 0.5).

    Returns
    -------
    (training, validation) : two lists of the same sample type
    """
    if not 0.0 <= fraction < 0.5:
        raise ValueError(f"validation_fraction must be in [0, 0.5), got {fraction}")
    if fraction == 0.0:
        return list(samples), []
    training, validation = [], []
    for sample in samples:
        y0, x0, y1, x1 = _extent(sample)
        if x1 - x0 >= y1 - y0:
            cut = x1 - max(round((x1 - x0) * fraction), 1)
            kept, held = (y0, x0, y1, cut), (y0, cut, y1, x1)
        else:
            cut = y1 - max(round((y1 - y0) * fraction), 1)
            kept, held = (y0, x0, cut, x1), (cut, x0, y1, x1)
        training.append(sample.model_copy(update={"region": kept}))
        validation.append(sample.model_copy(update={"region": held, "name": f"{sample.label}:val"}))
    return training, validation
