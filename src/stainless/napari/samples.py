"""napari sample data: the images ``stainless demo`` ships (real, held out from training)."""

from __future__ import annotations

from typing import Any

from stainless.io import read_input_planes, read_labels
from stainless.zoo import ZOO_ROOT

DEMO = ZOO_ROOT.parent / "demo_data"


def nuclei_sample() -> list[tuple[Any, dict[str, Any], str]]:
    """A DSB2018 test image of fluorescent nuclei and its ground truth."""
    image = read_input_planes([DEMO / "dsb_10328b82.png"])[0][0]
    truth = read_labels(DEMO / "dsb_10328b82_masks.png").array
    return [(image, {"name": "dsb_10328b82"}, "image"),
            (truth, {"name": "dsb_10328b82 truth"}, "labels")]  # fmt: skip


def neurons_sample() -> list[tuple[Any, dict[str, Any], str]]:
    """A phase-contrast focus series of neurons (13 planes) and its DAPI stain."""
    phase = read_input_planes([DEMO / "neurons_phase.tif"])[0]
    dapi = read_input_planes([DEMO / "neurons_dapi.tif"])[0][0]
    return [(phase, {"name": "neurons phase"}, "image"),
            (dapi, {"name": "neurons DAPI", "colormap": "blue", "blending": "additive"},
             "image")]  # fmt: skip
