"""Cells seeded by nuclei (``segment --nuclei-seeded``) and the warnings of fine-tuning at
object sizes the init cannot reach."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stainless.cli.main import main
from stainless.data.synthetic import make_synthetic_sample
from stainless.inference.nuclei_seeded import cells_from_seeds
from stainless.io import read_image, write_image
from tests.cli.test_train_from_files import _rgb_folder as rgb_folder


def test_each_nucleus_seeds_one_cell_split_where_the_probability_dips() -> None:
    probability = np.zeros((20, 40), np.float32)
    probability[4:16, 2:38] = 0.9
    probability[4:16, 19:21] = 0.55  # the dip between two touching cells
    probability[4:16, 30:38] = 0.9
    nuclei = np.zeros((20, 40), np.int32)
    nuclei[8:12, 6:10], nuclei[8:12, 24:28] = 1, 2  # no nucleus in columns 30-37: no own cell
    cells = cells_from_seeds(probability, nuclei, mask_threshold=0.5)
    assert int(cells.max()) == 2
    assert cells[10, 8] != cells[10, 26] and cells[10, 8] > 0 and cells[10, 26] > 0
    left = np.nonzero(cells == cells[10, 8])[1]
    assert 17 <= left.max() <= 21  # the boundary lies at the dip
    assert (cells[nuclei > 0] > 0).all()


def _rgb_folder(folder: Path) -> Path:
    """RGB cells (nucleus in red, cytoplasm in green) with their cell masks, and the red planes
    alone with their nucleus masks (``nuc<i>_img.png``)."""
    rgb_folder(folder)
    for seed in range(2):
        sample = make_synthetic_sample((64, 64), cell_radius_px=7, seed=seed)
        red = read_image(folder / f"cell{seed}_img.png").array.reshape(64, 64, 3)[..., 0]
        write_image(folder / f"nuc{seed}_img.png", np.ascontiguousarray(red), axes="YX")
        write_image(folder / f"nuc{seed}_masks.png", sample.nucleus_labels, axes="YX")
    return folder


def _train(images: list[Path], output: Path, *extra: str) -> list[str]:
    folder = output.parent / f"{output.name}-data"
    folder.mkdir()
    for image in images:
        (folder / image.name).symlink_to(image)
        masks = image.with_name(image.name.replace("_img", "_masks"))
        (folder / masks.name).symlink_to(masks)
    files = ["--images", str(folder), "--labels", str(folder), "--output", str(output)]
    return ["train", "segmentation", *files, "--max-steps", "2", "--no-progress", *extra]


def test_nuclei_seeded_cells_need_a_nucleus_channel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _rgb_folder(tmp_path / "rgb")
    cells_model, nuclei_model = tmp_path / "cells", tmp_path / "nuclei"
    assert main(_train(sorted(data.glob("cell*_img.png")), cells_model, "--channels", "2,1")) == 0
    assert main(_train(sorted(data.glob("nuc*_img.png")), nuclei_model)) == 0
    segment = ["segment", "--model", str(cells_model), "--nuclei-seeded",
               "--nuclei-model", str(nuclei_model), "--diameter", "14"]  # fmt: skip
    out = tmp_path / "out"
    assert main([*segment, "--input", str(data / "cell0_img.png"), "--output", str(out)]) == 0
    labels = read_image(out / "cell0_img_labels.tif").array
    assert labels.shape[-2:] == (64, 64)
    capsys.readouterr()
    grey = ["--input", str(data / "nuc0_img.png"), "--output", str(tmp_path / "grey")]
    assert main([*segment, *grey]) == 2
    error = capsys.readouterr().err
    assert "nuc0_img.png': --nuclei-seeded needs a nucleus channel" in error
    assert not (tmp_path / "grey").exists() or not any((tmp_path / "grey").iterdir())
    nuclei_only = ["segment", "--model", str(nuclei_model), "--nuclei-seeded", *grey]
    assert main(nuclei_only) == 2
    assert "needs a cell model with two inputs" in capsys.readouterr().err


def test_fine_tuning_on_objects_far_beyond_the_inits_size_is_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _rgb_folder(tmp_path / "rgb")
    nuclei_model = tmp_path / "nuclei"
    assert main(_train(sorted(data.glob("nuc*_img.png")), nuclei_model)) == 0
    huge = tmp_path / "huge"  # the same nuclei 5 times as wide
    huge.mkdir()
    for path in sorted(data.glob("nuc*")):
        array = read_image(path).array.reshape(64, 64)
        write_image(huge / path.name, np.kron(array, np.ones((5, 5), array.dtype)), axes="YX")
    argv = _train(sorted(huge.glob("*_img.png")), tmp_path / "tuned", "--init", str(nuclei_model))
    assert main(argv) == 0  # trained at the nearest size it can reach, and said so
    assert "beyond x4 of the init model's" in capsys.readouterr().err
