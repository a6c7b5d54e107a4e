"""The corrections folder of the correct-and-retrain loop: pairs stored as the training command
reads them, a correction of the same image replaced, refusals in one line, and a real
fine-tuning of a built-in on the folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stainless.data.object_size import median_object_diameter
from stainless.io import read_input_planes, read_labels
from stainless.training.corrections import (
    add_corrected_pair,
    corrected_images,
    fine_tune_on_corrections,
    safe_name,
)
from stainless.zoo import ZOO_ROOT

DEMO = ZOO_ROOT.parent / "demo_data"


def _two_cells() -> tuple[np.ndarray, np.ndarray]:
    masks = np.zeros((40, 48), np.uint16)
    masks[5:15, 5:15], masks[20:35, 25:40] = 1, 7
    planes = np.random.default_rng(0).random((2, 40, 48)).astype(np.float32)
    return planes, masks


def test_a_pair_is_stored_as_the_training_command_reads_it(tmp_path: Path) -> None:
    planes, masks = _two_cells()
    written = add_corrected_pair(tmp_path / "fixes", "field 3 / phase", planes, masks)
    assert written.name == "field_3_phase_masks.tif"
    assert corrected_images(tmp_path / "fixes") == ["field_3_phase"]
    stored = read_input_planes([tmp_path / "fixes" / "field_3_phase_img.tif"])[0]
    np.testing.assert_array_equal(stored, planes)
    np.testing.assert_array_equal(read_labels(written).array, masks)
    masks[masks == 7] = 0  # corrected again: the newer correction replaces the older
    add_corrected_pair(tmp_path / "fixes", "field 3 / phase", planes, masks)
    assert corrected_images(tmp_path / "fixes") == ["field_3_phase"]
    assert set(np.unique(read_labels(written).array)) == {0, 1}


def test_refusals_name_what_is_wrong(tmp_path: Path) -> None:
    planes, masks = _two_cells()
    with pytest.raises(ValueError, match="hold no object"):
        add_corrected_pair(tmp_path, "a", planes, np.zeros_like(masks))
    with pytest.raises(ValueError, match=r"are \(20, 48\), the image \(40, 48\)"):
        add_corrected_pair(tmp_path, "a", planes, masks[:20])
    with pytest.raises(ValueError, match="no usable file name"):
        safe_name("///")
    with pytest.raises(ValueError, match="holds no corrected image"):
        fine_tune_on_corrections(tmp_path, "nuclei-fluorescence", 1.0, tmp_path / "model")
    add_corrected_pair(tmp_path, "a", planes, masks)
    (tmp_path / "model").mkdir()
    with pytest.raises(FileExistsError, match="choose a new folder"):
        fine_tune_on_corrections(tmp_path, "nuclei-fluorescence", 1.0, tmp_path / "model")
    assert not any((tmp_path / "model").iterdir())


def test_a_built_in_is_fine_tuned_on_every_corrected_image(tmp_path: Path) -> None:
    from stainless.model_folder import read_segmentation_config, read_segmentation_info

    image = read_input_planes([DEMO / "dsb_10328b82.png"])[0][:1]
    truth = read_labels(DEMO / "dsb_10328b82_masks.png").array
    folder = tmp_path / "fixes"
    add_corrected_pair(folder, "first", image, truth)
    add_corrected_pair(folder, "second", image[:, ::-1].copy(), truth[::-1].copy())
    output = fine_tune_on_corrections(folder, "nuclei", 5.0, tmp_path / "tuned",
                                      seed=1, extra=["--max-steps", "2"])  # fmt: skip
    info = read_segmentation_info(output)
    assert info.in_channels == 1 and info.one_diameter  # trained at the init's object size ...
    true_px = median_object_diameter([truth])
    assert info.training_diameters_px is not None and true_px is not None
    smallest, largest = info.training_diameters_px  # ... and records the images' own sizes
    assert 0.85 * true_px < smallest <= largest < 1.15 * true_px
    trained_on = [sample.labels.name for sample in read_segmentation_config(output).data.samples]
    assert trained_on == ["first_masks.tif", "second_masks.tif"]
