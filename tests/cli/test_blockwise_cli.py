"""``predict``/``segment`` into OME-Zarr: whole slides on a dask cluster, plates, bad input."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from stainless.cli.main import main
from stainless.data.synthetic import make_synthetic_sample
from stainless.io import read_image


def _nuclei(path: Path, shape: tuple[int, int] = (300, 330), seed: int = 3) -> Path:
    sample = make_synthetic_sample(shape, n_cells=shape[0] * shape[1] // 1600, seed=seed,
                                   cell_radius_px=9)  # fmt: skip
    tifffile.imwrite(path, (sample.nuclear_stain * 4000).astype(np.uint16))
    return path


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = np.unique(np.stack([a.ravel(), b.ravel()], axis=1), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def _run_cli(argv: list[str], timeout: int) -> subprocess.CompletedProcess[str]:
    """``stainless ARGV`` as a real subprocess (its own dask cluster, real sockets)."""
    command = [sys.executable, "-m", "stainless", *argv]
    environment = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env=environment)  # fmt: skip


def _segment(source: Path, output: Path, *extra: str) -> list[str]:
    return ["segment", "--model", "nuclei-fluorescence", "--input", str(source),
            "--output", str(output), "--tile", "128", "--overlap", "0.25", *extra]  # fmt: skip


def test_slide_on_a_local_cluster_matches_the_tiff_path(tmp_path: Path) -> None:
    """A real subprocess: a LocalCluster of 2 worker processes, 9 blocks."""
    source = _nuclei(tmp_path / "slide.tif")
    store = tmp_path / "slide_labels.zarr"
    argv = _segment(source, store, "--block-size", "128", "--workers", "2")
    done = _run_cli(argv, timeout=300)
    assert done.returncode == 0, done.stderr
    assert main(_segment(source, tmp_path / "tif")) == 0
    whole = read_image(tmp_path / "tif" / "slide_labels.tif").array
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    node = next(iter(Reader(parse_url(str(store)))()))
    blockwise = np.asarray(node.data[0])
    assert [axis["name"] for axis in node.metadata["axes"]] == ["y", "x"]
    assert blockwise.dtype == np.uint32 and _same_partition(blockwise, whole)
    assert "n_objects" in done.stderr


def test_translation_store_has_targets_as_channels_and_a_pyramid(tmp_path: Path) -> None:
    sample = make_synthetic_sample((700, 600), seed=2)
    source = tmp_path / "phase.tif"
    tifffile.imwrite(source, (sample.label_free * 30000).astype(np.uint16))
    store = tmp_path / "dapi.ome.zarr"
    argv = ["predict", "--model", "phase-to-dapi", "--input", str(source), "--output",
            str(store), "--block-size", "1024", "--pixel-size", "0.5"]  # fmt: skip
    assert main(argv) == 0
    image = read_image(store)  # OME-NGFF 0.5, level 0
    assert image.axes == "CYX" and image.array.shape[1:] == (700, 600)
    assert image.metadata.channel_names is not None and image.metadata.channel_names[0] == "dapi"
    assert image.metadata.pixel_size_um == (0.5, 0.5)
    level1 = read_image(store / "1", axes="CYX").array
    assert level1.shape[1:] == (350, 300)


def test_plate_is_resumable_and_skips_a_corrupt_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plate = tmp_path / "plate"
    plate.mkdir()
    for index in range(3):
        _nuclei(plate / f"A0{index + 1}.tif", (160, 170), seed=index)
    (plate / "A04.tif").write_bytes(b"II*\x00 not a tiff")
    output = tmp_path / "out"
    argv = _segment(plate, output, "--format", "ome-zarr", "--block-size", "256")
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert "A04: skipped" in err and "1 of 4 field(s) failed" in err
    rows = list(csv.DictReader((output / "summary.csv").open()))
    assert [row["status"] for row in rows] == ["done", "done", "done", rows[3]["status"]]
    assert rows[3]["status"].startswith("failed") and float(rows[0]["n_objects"]) > 3
    labels = read_image(output / "A01.ome.zarr").array
    assert float(rows[0]["n_objects"]) == len(np.unique(labels)) - 1
    assert float(rows[0]["mean_area_px"]) == pytest.approx((labels > 0).sum() / labels.max())
    assert not (output / "A04.ome.zarr").exists()
    # an interrupted field: its half-written store is redone, finished fields are kept
    (output / "A02.ome.zarr").rename(output / "A02.ome.zarr.partial")
    (plate / "A04.tif").unlink()
    stamp = (output / "A01.ome.zarr" / "zarr.json").stat().st_mtime_ns
    assert main(argv) == 0
    rows = list(csv.DictReader((output / "summary.csv").open()))
    assert [row["status"] for row in rows] == ["resumed", "done", "resumed"]
    assert (output / "A01.ome.zarr" / "zarr.json").stat().st_mtime_ns == stamp
    assert (output / "A02.ome.zarr").is_dir() and not (output / "A02.ome.zarr.partial").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--block-size", "128", "--halo", "200"], "--halo (200 px) must be >= 0 and smaller"),
        (["--block-size", "32"], "--block-size must be >= 64"),
        (["--workers", "0"], "--workers must be >= 1"),
    ],
)
def test_bad_blockwise_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    source = _nuclei(tmp_path / "a.tif", (100, 100))
    assert main(_segment(source, tmp_path / "a.zarr", *extra)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not any(tmp_path.glob("a.zarr*"))


def test_existing_store_is_not_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _nuclei(tmp_path / "a.tif", (100, 100))
    store = tmp_path / "a.zarr"
    store.mkdir()
    (store / "keep.txt").write_text("mine")
    assert main(_segment(source, store)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a.zarr' exists; pass --overwrite" in err[0], err
    assert (store / "keep.txt").read_text() == "mine"
    assert main(_segment(source, store, "--overwrite")) == 0
    assert not (store / "keep.txt").exists()


def test_unreachable_scheduler_is_one_line(tmp_path: Path) -> None:
    source = _nuclei(tmp_path / "a.tif", (200, 200))
    argv = _segment(source, tmp_path / "a.zarr", "--block-size", "128", "--scheduler",
                    "tcp://127.0.0.1:9")  # fmt: skip
    done = _run_cli(argv, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "dask scheduler 'tcp://127.0.0.1:9' does not answer" in lines[0]
    assert not any(tmp_path.glob("a.zarr*"))
