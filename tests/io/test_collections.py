"""Finding samples: Cellpose-style folders, manifests, the DSB layout, pairing by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stainless.io import (
    list_dsb_samples,
    pair_by_name,
    pair_folder,
    read_dsb_labels,
    read_manifest,
    write_image,
)
from stainless.io.collections import read_segmentation_sample


def _touch_image(path: Path, value: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, np.full((8, 8), value, np.uint8), axes="YX")
    return path


def test_pair_folder_pairs_img_and_masks_and_reports_unpaired(tmp_path: Path) -> None:
    for name in (
        "a_img.png",
        "a_masks.png",
        "b_img.tif",
        "b_masks.tif",
        "c_img.png",
        "d_masks.png",
    ):
        _touch_image(tmp_path / name)
    with pytest.warns(UserWarning, match="2 unpaired file"):
        collection = pair_folder(tmp_path)
    assert [s.name for s in collection.samples] == ["a", "b"]
    assert collection.samples[1].inputs == (tmp_path / "b_img.tif",)
    assert collection.samples[1].targets == (tmp_path / "b_masks.tif",)
    assert [p.name for p in collection.unpaired] == ["c_img.png", "d_masks.png"]


def test_pair_folder_with_other_suffixes(tmp_path: Path) -> None:
    _touch_image(tmp_path / "x.png")
    _touch_image(tmp_path / "x_labels.png")
    collection = pair_folder(tmp_path, image_suffix="", mask_suffix="_labels")
    assert [s.name for s in collection.samples] == ["x"]


def test_empty_and_missing_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="holds no image file"):
        pair_folder(tmp_path)
    with pytest.raises(OSError, match="does not exist"):
        pair_folder(tmp_path / "nope")


def test_manifest_resolves_relative_paths_and_names_bad_rows(tmp_path: Path) -> None:
    _touch_image(tmp_path / "in" / "p1.png")
    _touch_image(tmp_path / "out" / "d1.png")
    manifest = tmp_path / "samples.csv"
    manifest.write_text("name,input_phase,target_dapi\nfield1,in/p1.png,out/d1.png\n")
    collection = read_manifest(manifest)
    assert collection.samples[0].name == "field1"
    assert collection.samples[0].inputs == (tmp_path / "in" / "p1.png",)
    assert collection.samples[0].targets == (tmp_path / "out" / "d1.png",)
    manifest.write_text("input_phase,target_dapi\nin/p1.png,out/missing.png\n")
    with pytest.raises(ValueError, match=r"row 2: '.*missing\.png' does not exist"):
        read_manifest(manifest)
    manifest.write_text("image,mask\nin/p1.png,out/d1.png\n")
    with pytest.raises(ValueError, match="expected input column"):
        read_manifest(manifest)


def test_dsb_layout_merges_binary_masks_into_labels(tmp_path: Path) -> None:
    sample = tmp_path / "abc"
    _touch_image(sample / "images" / "abc.png")
    first = np.zeros((8, 8), np.uint8)
    first[0:2, 0:2] = 255
    second = np.zeros((8, 8), np.uint8)
    second[5:8, 5:8] = 255
    (sample / "masks").mkdir()
    write_image(sample / "masks" / "m1.png", first, axes="YX")
    write_image(sample / "masks" / "m2.png", second, axes="YX")
    (tmp_path / "no_masks" / "images").mkdir(parents=True)
    with pytest.warns(UserWarning, match="1 unpaired"):
        collection = list_dsb_samples(tmp_path)
    assert [s.name for s in collection.samples] == ["abc"]
    labels = read_dsb_labels(collection.samples[0].targets[0])
    assert labels.dtype == np.uint16
    assert sorted(np.unique(labels).tolist()) == [0, 1, 2]
    assert int(labels[0, 0]) == 1 and int(labels[7, 7]) == 2


def test_pair_by_name_strips_known_suffixes(tmp_path: Path) -> None:
    preds = [
        _touch_image(tmp_path / "p" / n) for n in ("a_cp_masks.png", "b_pred.tif", "z_pred.png")
    ]
    truths = [_touch_image(tmp_path / "g" / n) for n in ("a_masks.png", "b_masks.png")]
    with pytest.warns(UserWarning, match="1 unpaired"):
        collection = pair_by_name(preds, truths)
    assert [(s.name, s.inputs[0].name, s.targets[0].name) for s in collection.samples] == [
        ("a", "a_cp_masks.png", "a_masks.png"),
        ("b", "b_pred.tif", "b_masks.png"),
    ]


def test_segmentations_of_cellpose_layout_images_pair_with_their_masks(tmp_path: Path) -> None:
    # `stainless segment` on x_img.png writes x_img_labels.tif; it must pair with x_masks.png
    preds = [_touch_image(tmp_path / "p" / n) for n in ("x_img_labels.tif", "y_img_labels.tif")]
    truths = [_touch_image(tmp_path / "g" / n) for n in ("x_masks.png", "y_masks.png")]
    collection = pair_by_name(preds, truths)
    assert [s.name for s in collection.samples] == ["x", "y"]


def test_reading_a_sample_checks_image_and_label_shapes(tmp_path: Path) -> None:
    write_image(tmp_path / "a_img.tif", np.zeros((2, 16, 16), np.uint16), axes="CYX")
    write_image(tmp_path / "a_masks.png", np.ones((16, 16), np.uint16), axes="YX")
    write_image(tmp_path / "b_img.png", np.zeros((16, 16), np.uint8), axes="YX")
    write_image(tmp_path / "b_masks.png", np.ones((16, 12), np.uint16), axes="YX")
    first, second = pair_folder(tmp_path).samples
    image, labels = read_segmentation_sample(first)
    assert image.axes == "CYX" and labels.array.shape == (16, 16)
    with pytest.raises(
        ValueError,
        match=r"labels 'b_masks.png' have shape \(16, 12\) but image 'b_img.png' has \(16, 16\)",
    ):
        read_segmentation_sample(second)
