"""A model trained with a colour convention takes grey and RGB images alike; one trained at one
object diameter finds the size of new images by itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile

from stainless.cli.main import main
from stainless.config import load_segmentation_config
from stainless.data.synthetic import make_synthetic_sample
from stainless.io import write_image
from stainless.training.segmentation import train_segmentation
from tests.training.test_segmentation_training import write_config


def _write_pair(folder: Path, seed: int, colour: bool) -> None:
    sample = make_synthetic_sample((64, 64), cell_radius_px=7, seed=seed)
    stain = (sample.nuclear_stain * 250).astype(np.uint8)
    if colour:  # dark purple nuclei on a pale background, as in H&E
        image = np.stack([255 - stain, 255 - stain // 2, 255 - stain // 3], axis=-1)
        write_image(folder / f"img{seed}.png", image.astype(np.uint8), axes="YXC")
    else:
        write_image(folder / f"img{seed}.png", stain, axes="YX")
    write_image(folder / f"nuc{seed}.png", sample.nucleus_labels.astype(np.uint16), axes="YX")


@pytest.fixture(scope="module")
def colour_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("colour")
    for seed, colour in ((0, False), (1, True), (2, False)):
        _write_pair(folder, seed, colour)
    sample = {"inputs": ["img{}.png"], "labels": "nuc{}.png"}
    config = {
        "seed": 0, "output": "model",
        "data": {
            "samples": [{k: (v.format(s) if isinstance(v, str) else [v[0].format(s)])
                         for k, v in sample.items()} for s in (0, 1)],
            "colour": "rgb", "object_diameter": 14, "crop_size": 32, "batch_size": 4,
            "crops_per_epoch": 8, "augment": {"invert": True, "colour": True},
        },
        "model": {"architecture": "unet", "width": 8, "depth": 2, "head": "flows"},
        "training": {"epochs": 1, "learning_rate": 0.01},
    }  # fmt: skip
    train_segmentation(load_segmentation_config(write_config(folder, config)), progress=False)
    return folder


def test_the_model_records_its_convention(colour_model: Path) -> None:
    info = json.loads((colour_model / "model" / "model.json").read_text())
    assert (info["colour"], info["in_channels"], info["one_diameter"]) == ("rgb", 3, True)
    assert info["object_diameter_px"] == 14


def test_grey_and_colour_images_are_both_segmented_at_the_size_found(
    colour_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = colour_model / "out"
    argv = ["segment", "--model", str(colour_model / "model"), "--output", str(out), "--input",
            str(colour_model / "img1.png"), str(colour_model / "img2.png")]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "img1: object diameter" in err and "found automatically" in err
    for name in ("img1", "img2"):
        assert tifffile.imread(out / f"{name}_labels.tif").shape == (64, 64)


def test_a_given_diameter_skips_the_search(
    colour_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["segment", "--model", str(colour_model / "model"), "--output",
            str(colour_model / "given"), "--input", str(colour_model / "img1.png"),
            "--diameter", "14"]  # fmt: skip
    assert main(argv) == 0
    assert "found automatically" not in capsys.readouterr().err


def test_an_image_of_two_channels_is_refused_in_one_line(
    colour_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two = colour_model / "two.tif"
    write_image(two, np.zeros((2, 64, 64), np.uint16), axes="CYX")
    argv = ["segment", "--model", str(colour_model / "model"), "--output",
            str(colour_model / "never"), "--input", str(two)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "two.tif' gives 2 planes but model" in err and "one grey plane or an RGB" in err
    assert len(err.splitlines()) == 1
    assert not (colour_model / "never").exists()
