"""Trainings under faults: two trainings into one folder, a full disk while checkpointing, a
truncated checkpoint given to --resume. Real subprocesses and a real size-limited filesystem."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from stainless.cli.main import main
from stainless.model_folder import CHECKPOINTS, WEIGHTS, last_checkpoint, read_meta
from stainless.training._checkpoints import AtomicCheckpointIO, checkpoint_problem
from stainless.training._claim import LOCK_NAME, OutputClaim
from tests.conftest import fill_disk
from tests.training.test_segmentation_training import (
    segmentation_config,
    write_config,
    write_segmentation_data,
)

REPOSITORY = Path(__file__).resolve().parents[2]


def _command(config: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "stainless", "train", "segmentation", "--config", str(config),
            "--no-progress", *extra]  # fmt: skip


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPOSITORY), "OMP_NUM_THREADS": "1",
            "PYTHONWARNINGS": "ignore"}  # fmt: skip


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.strip().splitlines() if line.strip()]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    write_segmentation_data(tmp_path, [0, 1, 2])
    return tmp_path


def test_a_second_training_into_the_same_folder_is_refused(data: Path) -> None:
    config = segmentation_config()
    config["training"].update({"epochs": 100_000, "progress_every_s": 0.2})
    first_config = write_config(data, config)
    log = data / "first.log"
    with log.open("w") as handle:
        first = subprocess.Popen(
            _command(first_config)[:-1],
            stdout=handle, stderr=subprocess.STDOUT, env=_environment(),
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while "ETA" not in log.read_text() and time.monotonic() < deadline:
                assert first.poll() is None, log.read_text()
                time.sleep(0.2)
            # the second run: a real process, the same --output, a budget that would finish
            second = subprocess.run(
                _command(first_config, "--max-steps", "2", "--overwrite"),
                capture_output=True, text=True, env=_environment(), timeout=120,
            )  # fmt: skip
        finally:
            first.send_signal(signal.SIGTERM)
            first.wait(timeout=60)
    lines = _error_lines(second.stderr)
    assert second.returncode == 2, second.stderr
    assert len(lines) == 1 and "is being written by another training (pid" in lines[0], lines
    assert f"pid {first.pid}" in lines[0]
    model = data / "seg"
    assert not (model / WEIGHTS).exists()  # neither run wrote a model
    assert last_checkpoint(model).is_file()  # the first run's checkpoint, from its SIGTERM
    assert not (model / LOCK_NAME).exists()  # released by the first run's clean stop
    # once the first run is gone, the folder can be resumed from its checkpoint
    assert main(["train", "segmentation", "--config", str(first_config), "--resume",
                 "--max-steps", "3", "--no-progress"]) == 0  # fmt: skip
    assert read_meta(model)["stopped_by"] == "max_steps"


def test_a_killed_training_does_not_lock_its_folder(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from stainless.training._claim import OutputClaim; "
         "claim = OutputClaim(Path(sys.argv[1])).__enter__(); print('held', flush=True); "
         "time.sleep(600)", str(tmp_path / "model")],
        stdout=subprocess.PIPE, text=True, env=_environment(),
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    busy = OutputClaim(tmp_path / "model")
    with pytest.raises(FileExistsError, match="another training"), busy:
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    with OutputClaim(tmp_path / "model"):  # the kernel released the dead holder's lock
        assert (tmp_path / "model" / LOCK_NAME).is_file()
    assert not (tmp_path / "model" / LOCK_NAME).exists()
    with OutputClaim(tmp_path / "new" / "model"):
        pass
    assert not (tmp_path / "new").exists()  # created by the claim and left empty: removed


def test_a_model_written_by_someone_else_meanwhile_is_not_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    with OutputClaim(folder) as claim:
        claim.check_unchanged()
        (folder / WEIGHTS).write_bytes(b"another process's model")
        with pytest.raises(FileExistsError, match="changed by another process"):
            claim.check_unchanged()


def test_a_full_disk_keeps_the_last_good_checkpoint_and_resume_continues(
    data: Path, small_disk: Path
) -> None:
    config = segmentation_config()
    config["output"] = str(small_disk / "seg")
    config["training"].update({"epochs": 2})
    path = write_config(data, config)
    assert main(["train", "segmentation", "--config", str(path), "--no-progress"]) == 0
    model = small_disk / "seg"
    last = last_checkpoint(model)
    good = last.read_bytes()
    assert checkpoint_problem(last) is None
    # more epochs on a full disk: the first checkpoint of the resumed run cannot be written
    config["training"]["epochs"] = 6
    path = write_config(data, config)
    filler = fill_disk(small_disk, leave_bytes=len(good) // 3)
    failed = subprocess.run(_command(path, "--resume"), capture_output=True, text=True,
                            env=_environment(), timeout=300)  # fmt: skip
    lines = _error_lines(failed.stderr)
    assert failed.returncode == 2, failed.stderr
    assert len(lines) == 1 and "could not write checkpoint" in lines[0], lines
    assert "No space left on device" in lines[0]
    assert last.read_bytes() == good  # the previous checkpoint, whole
    assert not [p.name for p in (model / CHECKPOINTS).iterdir() if p.name.startswith(".tmp-")]
    # space again: --resume continues from the kept checkpoint and finishes the 6 epochs
    filler.unlink()
    assert main(["train", "segmentation", "--config", str(path), "--resume", "--no-progress"]) == 0
    assert read_meta(model)["epochs"] >= 5
    assert torch.load(last, weights_only=True)["epoch"] >= 5


def test_resume_from_a_truncated_checkpoint_names_the_last_good_one(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(data, segmentation_config())
    argv = ["train", "segmentation", "--config", str(path), "--no-progress"]
    assert main(argv) == 0
    last = last_checkpoint(data / "seg")
    others = [p for p in last.parent.glob("*.ckpt") if p != last]
    assert len(others) == 1  # the epoch checkpoint beside last.ckpt
    whole = last.read_bytes()
    last.write_bytes(whole[: len(whole) // 2])  # as an old full disk left it
    capsys.readouterr()
    assert main([*argv, "--resume"]) == 2
    lines = _error_lines(capsys.readouterr().err)
    assert len(lines) == 1, lines
    assert f"checkpoint '{last}' is unreadable" in lines[0]
    assert f"the last good checkpoint is '{others[0]}'" in lines[0]
    others[0].unlink()
    assert main([*argv, "--resume"]) == 2
    assert "no good checkpoint is left" in capsys.readouterr().err


def test_a_checkpoint_that_outgrows_the_disk_leaves_the_previous_one_whole(
    small_disk: Path,
) -> None:
    """Lightning's own writer truncates the old file here (it copies a temp file from another
    filesystem over it); ours fails before touching it."""
    target = small_disk / "last.ckpt"
    writer = AtomicCheckpointIO()
    writer.save_checkpoint({"weights": torch.zeros(100_000)}, target)  # 0.4 MB
    before = target.read_bytes()
    fill_disk(small_disk, leave_bytes=200_000)
    with pytest.raises(OSError, match=r"could not write checkpoint .*No space left on device"):
        writer.save_checkpoint({"weights": torch.zeros(300_000)}, target)  # 1.2 MB
    assert target.read_bytes() == before
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "last.ckpt"]
