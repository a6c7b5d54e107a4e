"""``stainless train segmentation --images --labels``: a first model without writing YAML."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stainless.cli.main import main
from stainless.config import load_segmentation_config
from stainless.data.synthetic import make_synthetic_sample
from stainless.io import write_image


def _cellpose_folder(folder: Path, count: int) -> Path:
    """``<i>_img.png`` + ``<i>_masks.png`` pairs in one folder (the Cellpose layout)."""
    folder.mkdir(parents=True, exist_ok=True)
    for seed in range(count):
        sample = make_synthetic_sample((64, 64), cell_radius_px=7, seed=seed)
        image = (sample.nuclear_stain * 250).astype(np.uint8)
        write_image(folder / f"field{seed}_img.png", image, axes="YX")
        write_image(folder / f"field{seed}_masks.png", sample.nucleus_labels, axes="YX")
    return folder


def _train(folder: Path, output: Path, *extra: str) -> list[str]:
    files = ["--images", str(folder), "--labels", str(folder), "--output", str(output)]
    return ["train", "segmentation", *files, "--max-steps", "2", "--no-progress", *extra]


def test_a_cellpose_folder_trains_on_every_image_and_validates_on_a_cut_of_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _cellpose_folder(tmp_path / "data", 6)
    assert main(_train(folder, tmp_path / "model")) == 0
    assert "the last 25 % of the columns of each of the 6 image(s)" in capsys.readouterr().out
    config = load_segmentation_config(tmp_path / "model" / "config.yaml")
    assert (len(config.data.samples), len(config.data.validation)) == (6, 0)
    assert config.data.validation_fraction == pytest.approx(0.25)
    assert config.model.head == "flows" and config.data.crop_size == 64
    assert all(s.inputs[0].name.endswith("_img.png") for s in config.data.samples)
    assert all(s.labels.name.endswith("_masks.png") for s in config.data.samples)


def test_validation_names_the_images_held_out_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _cellpose_folder(tmp_path / "data", 6)
    argv = _train(folder, tmp_path / "model", "--validation", "field3_img", "field5_img.png")
    assert main(argv) == 0
    assert "2 whole image(s) of 6 (field" in capsys.readouterr().out
    config = load_segmentation_config(tmp_path / "model" / "config.yaml")
    assert sorted(s.inputs[0].name for s in config.data.validation) == [
        "field3_img.png",
        "field5_img.png",
    ]
    assert len(config.data.samples) == 4 and config.data.validation_fraction == 0
    assert main(_train(folder, tmp_path / "other", "--validation", "field9")) == 2
    assert "--validation 'field9' is not one of the --images files" in capsys.readouterr().err


def test_many_images_hold_out_a_seeded_fifth_whole(tmp_path: Path) -> None:
    from stainless.config.recipe import segmentation_recipe

    pairs = [(tmp_path / f"{i}.png", tmp_path / f"{i}_masks.png") for i in range(20)]
    recipe = segmentation_recipe(pairs, tmp_path / "m", smallest_side=256, seed=3)
    assert (len(recipe["data"]["samples"]), len(recipe["data"]["validation"])) == (16, 4)
    again = segmentation_recipe(pairs, tmp_path / "m", smallest_side=256, seed=3)
    assert again["data"]["validation"] == recipe["data"]["validation"]


def test_few_images_validate_on_a_cut_of_each_and_an_init_is_fine_tuned(tmp_path: Path) -> None:
    folder = _cellpose_folder(tmp_path / "data", 2)
    argv = _train(folder, tmp_path / "model", "--init", "nuclei-fluorescence")
    assert main(argv) == 0
    config = load_segmentation_config(tmp_path / "model" / "config.yaml")
    assert config.data.validation_fraction == pytest.approx(0.25)  # 16 of 64 columns
    assert config.model.encoder_weights is not None
    assert config.model.encoder_weights.name == "nuclei-fluorescence"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("unpaired", "1 file(s) do not pair between --images and --labels: field9_img.png"),
        ("one object", "field0_masks.png' hold 1 object(s); training needs instance labels"),
        ("config too", "give either --config or --images/--labels, not both"),
    ],
)
def test_files_that_cannot_train_are_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: str, message: str
) -> None:
    folder = _cellpose_folder(tmp_path / "data", 3)
    argv = _train(folder, tmp_path / "model")
    if change == "unpaired":
        write_image(folder / "field9_img.png", np.zeros((64, 64), np.uint8), axes="YX")
    elif change == "one object":
        write_image(
            folder / "field0_masks.png", np.ones((64, 64), np.uint8), axes="YX", overwrite=True
        )
    else:
        argv += ["--config", str(folder / "x.yaml")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "model").exists()


def _rgb_folder(folder: Path) -> Path:
    """Three RGB cell images (nucleus in red, cytoplasm in green) with their cell masks."""
    folder.mkdir()
    for seed in range(3):
        sample = make_synthetic_sample((64, 64), cell_radius_px=7, seed=seed)
        rgb = np.zeros((64, 64, 3), np.uint8)
        rgb[..., 0] = sample.nuclear_stain * 250
        rgb[..., 1] = (sample.cell_labels > 0) * 120
        write_image(folder / f"cell{seed}_img.png", rgb, axes="YXC")
        write_image(folder / f"cell{seed}_masks.png", sample.cell_labels, axes="YX")
    return folder


@pytest.mark.parametrize(
    ("channels", "message"),
    [("5,1", "has 3 channel(s); channel 5 does not exist"), ("magenta,1", "no channel named")],
)
def test_channels_the_images_lack_are_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], channels: str, message: str
) -> None:
    folder = _rgb_folder(tmp_path / "rgb")
    assert main(_train(folder, tmp_path / "model", "--channels", channels)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "_img.png" in err[0], err
    assert not (tmp_path / "model").exists()


def test_channels_are_stored_and_a_grey_image_lacking_the_nucleus_still_segments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from stainless.model_folder import read_segmentation_info

    folder = _rgb_folder(tmp_path / "rgb")
    argv = _train(folder, tmp_path / "model", "--channels", "2,1")
    assert main(argv) == 0
    info = read_segmentation_info(tmp_path / "model")
    assert (info.channels, info.in_channels) == ([2, 1], 2)
    grey = tmp_path / "grey.png"
    write_image(
        grey,
        (make_synthetic_sample((64, 64), seed=7).cell_labels > 0).astype(np.uint8) * 120,
        axes="YX",
    )
    segment = ["segment", "--model", str(tmp_path / "model"), "--output", str(tmp_path / "out")]
    assert main([*segment, "--input", str(folder / "cell0_img.png"), str(grey)]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "cell0_img_labels.tif",
        "grey_labels.tif",
    ]
    capsys.readouterr()
    bad = [*segment, "--input", str(folder / "cell1_img.png"), "--channels", "5,1"]
    assert main([*bad, "--overwrite"]) == 2
    assert "has 3 channel(s); channel 5 does not exist" in capsys.readouterr().err


def test_the_training_objects_size_is_recorded_and_drives_diameter_and_fine_tuning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from stainless.data.object_size import median_object_diameter
    from stainless.io import read_image, read_labels
    from stainless.model_folder import read_segmentation_info

    folder = _cellpose_folder(tmp_path / "data", 2)
    assert main(_train(folder, tmp_path / "model")) == 0
    diameter = read_segmentation_info(tmp_path / "model").object_diameter_px
    training_labels = [read_labels(p).array[:, :48] for p in sorted(folder.glob("*_masks.png"))]
    assert diameter == pytest.approx(median_object_diameter(training_labels), rel=0.05)
    assert diameter is not None
    segment = ["segment", "--model", str(tmp_path / "model"), "--input", str(folder)]
    out = tmp_path / "out"
    assert main([*segment, "--output", str(out), "--diameter", str(2 * diameter)]) == 0
    labels = read_image(out / "field0_img_labels.tif").array
    assert labels.shape[-2:] == (64, 64)  # back at the image's own size
    assert main([*segment, "--output", str(tmp_path / "x"), "--diameter", "0.1"]) == 2
    assert "check the diameter is in pixels" in capsys.readouterr().err
    big = tmp_path / "big"  # the same fields magnified twice: objects twice as wide
    big.mkdir()
    for path in folder.iterdir():
        array = read_image(path).array.reshape(64, 64)
        write_image(big / path.name, np.kron(array, np.ones((2, 2), array.dtype)), axes="YX")
    init = ["--init", str(tmp_path / "model")]
    assert main(_train(big, tmp_path / "tuned", *init)) == 0
    assert "training at scale" in capsys.readouterr().out
    big_diameter = median_object_diameter(read_labels(p).array for p in big.glob("*_masks.png"))
    assert big_diameter is not None
    scale = load_segmentation_config(tmp_path / "tuned" / "config.yaml").data.scale
    assert scale == pytest.approx(diameter / big_diameter, rel=1e-3)
    assert 0.35 < scale < 0.6  # about half: the init saw objects half as wide


def test_images_of_different_object_sizes_are_each_brought_to_one_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    for seed, radius in enumerate((5, 5, 14, 14)):
        sample = make_synthetic_sample((96, 96), cell_radius_px=radius, seed=seed)
        image = (sample.nuclear_stain * 250).astype(np.uint8)
        write_image(folder / f"k{seed}_img.png", image, axes="YX")
        write_image(folder / f"k{seed}_masks.png", sample.nucleus_labels, axes="YX")
    assert main(_train(folder, tmp_path / "model")) == 0
    out = capsys.readouterr().out
    assert "each image is brought to objects of" in out, out
    config = load_segmentation_config(tmp_path / "model" / "config.yaml")
    assert config.data.object_diameter is not None and config.data.scale == 1.0
    info = json.loads((tmp_path / "model" / "model.json").read_text())
    assert info["one_diameter"] is True  # segment finds the size of each image


def test_transfer_weights_starts_the_flows_unet_from_a_translation_models_whole_unet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--transfer weights`` (issue 27): the built-in ``phase-to-dapi``'s weights start the
    recipe's flows U-Net on single-plane images; a segmentation --init is refused in one line."""
    from stainless.zoo import list_models

    folder = _cellpose_folder(tmp_path / "data", 2)
    argv = _train(folder, tmp_path / "model", "--init", "phase-to-dapi", "--transfer", "weights")
    assert main(argv) == 0
    config = load_segmentation_config(tmp_path / "model" / "config.yaml")
    pretext = {model.name: model.folder for model in list_models()}["phase-to-dapi"]
    assert (config.model.init, config.model.encoder_weights) == (None, pretext)
    assert (config.model.head, config.model.width, config.model.depth) == ("flows", 32, 4)
    info = json.loads((tmp_path / "model" / "model.json").read_text())
    assert (info["input_planes"], info["in_channels"], info["transfer"]) == ("fixed", 1, None)
    refused = _train(folder, tmp_path / "other", "--init", "nuclei", "--transfer", "weights")
    assert main(refused) == 2
    assert "--transfer weights needs a translation model as --init" in capsys.readouterr().err
