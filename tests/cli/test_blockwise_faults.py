"""Blockwise and plate runs under faults: a re-run with another model or options, a worker lost,
a cluster with no workers left, SIGTERM on a plate, odd folders. Real subprocesses and real dask
schedulers and workers where a signal or a cluster is involved."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from stainless.cli.main import main
from stainless.io import read_image
from tests.cli.test_blockwise_cli import _nuclei, _segment


def _stderr_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.strip().splitlines() if line.strip()]


@pytest.fixture
def plate(tmp_path: Path) -> Path:
    folder = tmp_path / "plate"
    folder.mkdir()
    for index in range(2):
        _nuclei(folder / f"A0{index + 1}.tif", (160, 170), seed=index)
    return folder


def test_a_plate_rerun_with_another_model_or_option_is_refused(
    tmp_path: Path, plate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    argv = _segment(plate, output, "--format", "ome-zarr", "--block-size", "256")
    assert main(argv) == 0
    stamps = {p.name: (p / "zarr.json").stat().st_mtime_ns for p in output.glob("*.ome.zarr")}
    capsys.readouterr()
    # the same run again: both fields are kept, and said to be
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "A01: resumed" in err and "A02: resumed" in err
    # another option that changes the result, another model: refused before any work
    for extra, difference in (
        (["--min-size", "500"], 'thresholds: {} → {"min_size_px": 500}'),
        (["--model", "cells-phase"], 'model: "nuclei-fluorescence" → "cells-phase"'),
        (["--tile", "256"], "tile: 128 → 256"),
    ):
        assert main([*argv, *extra]) == 2
        lines = _stderr_lines(capsys)
        assert len(lines) == 1, lines
        assert "A01: the finished store" in lines[0] and difference in lines[0], lines
        assert "(and 1 more field(s))" in lines[0] and "--overwrite" in lines[0]
    after = {p.name: (p / "zarr.json").stat().st_mtime_ns for p in output.glob("*.ome.zarr")}
    assert after == stamps
    # --overwrite redoes them, equal to a fresh run with that option
    assert main([*argv, "--tile", "256", "--overwrite"]) == 0
    fresh = tmp_path / "fresh"
    assert main([*_segment(plate, fresh, "--format", "ome-zarr", "--block-size", "256"),
                 "--tile", "256"]) == 0  # fmt: skip
    for name in ("A01", "A02"):
        redone = read_image(output / f"{name}.ome.zarr").array
        assert redone.max() > 3
        assert np.array_equal(redone, read_image(fresh / f"{name}.ome.zarr").array)
    rows = list(csv.DictReader((output / "summary.csv").open()))
    assert [row["status"] for row in rows] == ["done", "done"]


def test_a_store_from_retrained_weights_under_the_same_name_is_refused(
    tmp_path: Path, plate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from stainless.model_folder import resolve_model

    model = tmp_path / "my-nuclei"
    shutil.copytree(resolve_model(Path("nuclei-fluorescence")), model)
    output = tmp_path / "out"
    argv = [*_segment(plate, output, "--format", "ome-zarr", "--block-size", "256")]
    argv[argv.index("nuclei-fluorescence")] = str(model)
    assert main(argv) == 0
    weights = model / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")  # "retrained"
    capsys.readouterr()
    assert main(argv) == 2
    lines = _stderr_lines(capsys)
    assert len(lines) == 1 and "model_sha256: " in lines[0], lines
