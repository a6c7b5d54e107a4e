"""How ``--input`` values become named samples (``predict``, ``segment``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stainless.cli._inputs import find_inputs, named_samples
from stainless.cli.main import main
from stainless.data.synthetic import make_synthetic_sample
from stainless.io import write_image


def _planes(folder: Path, stem: str, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / f"{stem}_z{z:02d}.png" for z in range(count)]
    for file in files:
        write_image(file, np.zeros((16, 16), np.uint8), axes="YX")
    return files


def test_the_planes_of_one_sample_are_named_by_folder_and_common_stem(tmp_path: Path) -> None:
    first = _planes(tmp_path / "set2", "bf", 6)
    second = _planes(tmp_path / "set3", "bf", 6)
    assert [s[0] for s in find_inputs(first, 6)] == ["set2_bf"]
    assert [s[0] for s in find_inputs(second, 6)] == ["set3_bf"]  # no longer both "bf"
    assert [s[0] for s in named_samples(find_inputs(first, 6), "well_A1")] == ["well_A1"]


def test_name_is_refused_for_several_samples_or_a_path(tmp_path: Path) -> None:
    files = _planes(tmp_path / "set2", "bf", 2)
    with pytest.raises(ValueError, match="--name names one sample, but --input gives 2"):
        named_samples(find_inputs(files, 1), "x")
    with pytest.raises(ValueError, match="--name must be a plain file name"):
        named_samples(find_inputs(files[:1], 1), "../x")


def test_segment_writes_under_the_given_name(tmp_path: Path) -> None:
    sample = make_synthetic_sample((64, 64), cell_radius_px=6, seed=1)
    write_image(tmp_path / "img.tif", (sample.nuclear_stain * 60000).astype(np.uint16), axes="YX")
    argv = ["segment", "--model", "nuclei-fluorescence", "--input", str(tmp_path / "img.tif")]
    assert main([*argv, "--output", str(tmp_path / "out"), "--name", "well_A1"]) == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["well_A1_labels.tif"]
