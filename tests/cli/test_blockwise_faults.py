"""Blockwise and plate runs under faults: a re-run with another model or options, a worker lost,
a cluster with no workers left, SIGTERM on a plate, odd folders. Real subprocesses and real dask
schedulers and workers where a signal or a cluster is involved."""

from __future__ import annotations

import csv
import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from stainless.cli.main import main
from stainless.io import read_image
from tests.cli.test_blockwise_cli import _nuclei, _run_cli, _same_partition, _segment
from tests.conftest import fill_disk


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


def _limited_run(argv: list[str], memory_bytes: int) -> subprocess.CompletedProcess[str]:
    """``stainless ARGV`` in a subprocess whose address space is capped, so that a regression
    fails fast instead of making the machine swap."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))

    return subprocess.run([sys.executable, "-m", "stainless", *argv], capture_output=True,
                          text=True, timeout=300, preexec_fn=cap,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})  # fmt: skip


def test_a_whole_image_too_large_for_memory_is_refused_from_its_header(tmp_path: Path) -> None:
    import zarr

    big = tmp_path / "big.zarr"  # 20000² uint16, no chunk written: only the header exists
    zarr.create_array(str(big), shape=(20000, 20000), dtype="uint16", chunks=(2048, 2048),
                      fill_value=0, attributes={"axes": "YX"})  # fmt: skip
    output = tmp_path / "out"
    done = _limited_run(_segment(big, output), 8 << 30)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and "is 20000×20000 px: segment into TIFF would need about" in lines[0]
    assert "--output big.zarr" in lines[0]
    assert not output.exists()


def test_max_memory_sets_the_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _nuclei(tmp_path / "a.tif", (100, 100))
    assert main(_segment(source, tmp_path / "a", "--max-memory", "100M")) == 2
    lines = _stderr_lines(capsys)
    assert len(lines) == 1 and "more than the 0.1 GiB of --max-memory" in lines[0], lines
    assert not (tmp_path / "a").exists()
    assert main(_segment(source, tmp_path / "a", "--max-memory", "lots")) == 2
    assert "--max-memory must be a size such as 16G" in _stderr_lines(capsys)[0]
    assert main(_segment(source, tmp_path / "a", "--max-memory", "none")) == 0
    assert main(_segment(source, tmp_path / "b", "--max-memory", "4GiB")) == 0


# --- clusters that lose workers ---------------------------------------------------------------


def _dask(*argv: str, log: Path) -> subprocess.Popen[bytes]:
    """``python -m dask ARGV`` in its own process group, its output in ``log``."""
    with log.open("wb") as handle:
        return subprocess.Popen([sys.executable, "-m", "dask", *argv], stdout=handle,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[tuple[str, Callable[[], subprocess.Popen[bytes]]]]:
    """A real ``dask scheduler`` on 127.0.0.1, and a function that starts one more ``dask
    worker`` (one thread, no nanny: killing it removes it) and waits until it has joined."""
    file = tmp_path / "scheduler.json"
    processes = [_dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                       "--scheduler-file", str(file), log=tmp_path / "scheduler.log")]  # fmt: skip
    _wait_for(file.is_file, 60, "the scheduler")
    address = json.loads(file.read_text())["address"]

    def add_worker() -> subprocess.Popen[bytes]:
        log = tmp_path / f"worker{len(processes)}.log"
        processes.append(_dask("worker", address, "--nthreads", "1", "--no-nanny",
                               "--no-dashboard", log=log))  # fmt: skip
        _wait_for(lambda: "Registered to" in log.read_text(), 60, "a worker")
        return processes[-1]

    try:
        yield address, add_worker
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def _blocks_written(store: Path) -> int:
    scratch = store.with_name(store.name + ".partial") / "scratch" / "c"
    return sum(p.is_file() for p in scratch.rglob("*")) if scratch.is_dir() else 0


def _start_and_wait_for_blocks(argv: list[str], store: Path) -> subprocess.Popen[str]:
    """``stainless ARGV`` started in a subprocess, once it has written its first two blocks."""
    run = subprocess.Popen([sys.executable, "-m", "stainless", *argv], stderr=subprocess.PIPE,
                           text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})  # fmt: skip
    _wait_for(lambda: _blocks_written(store) >= 2, 180, "the first blocks")
    return run


def _slide(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A 640×640 slide (25 blocks of 128 px) and its labels from the whole-image path."""
    source = _nuclei(tmp_path / "slide.tif", (640, 640), seed=5)
    assert main(_segment(source, tmp_path / "tif")) == 0
    return source, read_image(tmp_path / "tif" / "slide_labels.tif").array


def test_a_worker_that_leaves_an_external_scheduler_loses_no_block(
    tmp_path: Path, scheduler: tuple[str, Callable[[], subprocess.Popen[bytes]]]
) -> None:
    address, add_worker = scheduler
    source, whole = _slide(tmp_path)
    doomed = add_worker()
    store = tmp_path / "slide.zarr"
    argv = _segment(source, store, "--block-size", "128", "--scheduler", address)
    run = _start_and_wait_for_blocks(argv, store)
    # a worker joins mid-run and the first one leaves: the job must reach the newcomer
    add_worker()
    os.killpg(doomed.pid, signal.SIGKILL)
    _, stderr = run.communicate(timeout=300)
    assert run.returncode == 0, stderr
    assert "left while segmenting blocks; its blocks are computed again" in stderr
    assert stderr.count("left while") == 1  # said once
    assert _same_partition(read_image(store).array, whole)


def test_a_cluster_without_workers_fails_in_one_line_and_the_rerun_finishes(
    tmp_path: Path, scheduler: tuple[str, Callable[[], subprocess.Popen[bytes]]]
) -> None:
    address, add_worker = scheduler
    source, whole = _slide(tmp_path)
    only = add_worker()
    store = tmp_path / "slide.zarr"
    argv = [*_segment(source, store, "--block-size", "128", "--scheduler", address),
            "--worker-timeout", "4"]  # fmt: skip
    run = _start_and_wait_for_blocks(argv, store)
    os.killpg(only.pid, signal.SIGKILL)
    _, stderr = run.communicate(timeout=300)
    lines = stderr.strip().splitlines()
    assert run.returncode == 2, stderr
    errors = [line for line in lines if "error" in line]
    assert len(errors) == 1 and errors[0] == lines[-1], lines
    assert "has had no workers for 4 s while segmenting blocks" in errors[0]
    assert "Traceback" not in stderr
    assert store.with_name("slide.zarr.partial").is_dir() and not store.exists()
    # workers again: the same command finishes, equal to the whole-image run
    add_worker()
    rerun = _run_cli(argv, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert _same_partition(read_image(store).array, whole)


def test_a_local_worker_killed_mid_run_changes_no_label(tmp_path: Path) -> None:
    import psutil

    source, whole = _slide(tmp_path)
    store = tmp_path / "slide.zarr"
    argv = _segment(source, store, "--block-size", "128", "--workers", "2")
    run = _start_and_wait_for_blocks(argv, store)
    children = psutil.Process(run.pid).children(recursive=True)
    workers = [p for p in children if "spawn_main" in " ".join(p.cmdline())]
    assert len(workers) == 2, [p.cmdline() for p in children]
    workers[0].kill()
    _, stderr = run.communicate(timeout=300)
    assert run.returncode == 0, stderr
    assert "left while" in stderr
    assert _same_partition(read_image(store).array, whole)


# --- signals, full disks, odd folders -----------------------------------------------------------


def test_sigterm_on_a_plate_writes_the_summary_and_the_rerun_resumes(tmp_path: Path) -> None:
    folder = tmp_path / "plate"
    folder.mkdir()
    for index in range(8):
        _nuclei(folder / f"B{index:02d}.tif", (300, 300), seed=index)
    output = tmp_path / "out"
    argv = _segment(folder, output, "--format", "ome-zarr", "--block-size", "512")
    run = subprocess.Popen([sys.executable, "-m", "stainless", *argv], stderr=subprocess.PIPE,
                           text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})  # fmt: skip
    _wait_for(lambda: (output / "B01.ome.zarr").is_dir(), 180, "two finished fields")
    run.send_signal(signal.SIGTERM)
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 128 + signal.SIGTERM, stderr
    last = stderr.strip().splitlines()[-1]
    assert "stopped by SIGTERM after" in last and "run the same command again to resume" in last
    rows = list(csv.DictReader((output / "summary.csv").open()))
    finished = [row["field"] for row in rows if row["status"] == "done"]
    assert len(finished) >= 2 and len(finished) < 8 and finished[:2] == ["B00", "B01"]
    assert all((output / f"{name}.ome.zarr").is_dir() for name in finished)
    # the rerun keeps the finished fields and does the rest, as an uninterrupted run would
    rerun = _run_cli(argv, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    rows = list(csv.DictReader((output / "summary.csv").open()))
    assert [row["status"] for row in rows].count("resumed") == len(finished)
    assert len(rows) == 8 and not list(output.glob("*.partial"))
    fresh = tmp_path / "fresh"
    assert main(_segment(folder, fresh, "--format", "ome-zarr", "--block-size", "512")) == 0
    for index in range(8):
        name = f"B{index:02d}.ome.zarr"
        assert np.array_equal(read_image(output / name).array, read_image(fresh / name).array)


def test_a_full_disk_under_a_blockwise_run_is_one_line(tmp_path: Path, small_disk: Path) -> None:
    source = _nuclei(tmp_path / "slide.tif", (640, 640), seed=5)
    fill_disk(small_disk, leave_bytes=40_000)
    store = small_disk / "slide.zarr"
    done = _run_cli(_segment(source, store, "--block-size", "128", "--workers", "2"), 300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and "No space left on device" in lines[0], lines
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]  # no half-written store


def test_a_full_disk_for_one_input_names_its_own_outputs(
    tmp_path: Path, small_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _nuclei(tmp_path / "a.tif", (600, 600), seed=2)
    fill_disk(small_disk, leave_bytes=200_000)  # the labels fit, the outline PNG does not
    assert main(_segment(source, small_disk / "out", "--outlines")) == 2
    lines = _stderr_lines(capsys)
    assert "No space left on device" in lines[-1] and "nothing was written" in lines[-1], lines
    assert "inputs before it" not in lines[-1]
    assert not (small_disk / "out").exists()


def test_output_folder_as_input_folder_skips_its_own_outputs(
    tmp_path: Path, plate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _segment(plate, plate, "--outlines")
    assert main(argv) == 0
    first = {p.name: p.read_bytes() for p in plate.glob("*_labels.tif")}
    assert sorted(first) == ["A01_labels.tif", "A02_labels.tif"]
    capsys.readouterr()
    assert main([*argv, "--overwrite"]) == 0
    assert (
        "skipped 4 file(s) in the output folder that this command wrote" in capsys.readouterr().err
    )
    assert sorted(p.name for p in plate.iterdir()) == [
        "A01.tif", "A01_labels.tif", "A01_outlines.png", "A02.tif", "A02_labels.tif",
        "A02_outlines.png",
    ]  # fmt: skip
    assert {p.name: p.read_bytes() for p in plate.glob("*_labels.tif")} == first


def test_a_broken_link_in_an_input_folder_is_named(
    tmp_path: Path, plate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (plate / "A03.tif").symlink_to(tmp_path / "moved-away.tif")
    assert main(_segment(plate, tmp_path / "out")) == 0
    err = capsys.readouterr().err
    assert f"warning: '{plate / 'A03.tif'}' is a broken link" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["A01_labels.tif",
                                                                    "A02_labels.tif"]  # fmt: skip
