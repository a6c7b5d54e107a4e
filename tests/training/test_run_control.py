"""A training a user can steer: step and time budgets, progress lines in logs, SIGTERM/SIGINT
leave a resumable checkpoint and a non-zero exit, validation cut off the training images."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from stainless.cli.main import main
from stainless.config import load_segmentation_config
from stainless.data.segmentation import training_and_validation_samples
from stainless.inference.segmenter import SegmentationPredictor
from stainless.model_folder import last_checkpoint, read_meta
from tests.training.test_segmentation_training import (
    segmentation_config,
    write_config,
    write_segmentation_data,
)

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture
def seg_folder(tmp_path: Path) -> Path:
    write_segmentation_data(tmp_path, [0, 1, 2])
    return tmp_path


def test_max_steps_stops_early_and_writes_a_usable_model(seg_folder: Path) -> None:
    config = segmentation_config()
    config["training"]["epochs"] = 50  # 200 steps unless the budget stops the run
    path = write_config(seg_folder, config)
    argv = ["train", "segmentation", "--config", str(path), "--max-steps", "3", "--no-progress"]
    assert main(argv) == 0
    meta = read_meta(seg_folder / "seg")
    assert meta["batches"] == 3
    assert meta["stopped_by"] == "max_steps"
    assert meta["tuning"]["on"] == "val"  # tuned as after a last epoch
    predictor = SegmentationPredictor.load(seg_folder / "seg", device="cpu")
    labels = predictor.segment(np.random.default_rng(0).random((1, 48, 48), dtype=np.float32))
    assert labels.shape == (48, 48)


def test_max_minutes_stops_at_the_budget_and_writes_the_model(seg_folder: Path) -> None:
    config = segmentation_config()
    config["training"]["epochs"] = 100_000  # hours, unless the budget stops the run
    config["data"]["crops_per_epoch"] = 4  # one step an epoch: the budget covers one epoch
    path = write_config(seg_folder, config)
    started = time.monotonic()
    argv = ["train", "segmentation", "--config", str(path), "--max-minutes", "0.05"]
    assert main([*argv, "--no-progress"]) == 0
    assert time.monotonic() - started < 60
    meta = read_meta(seg_folder / "seg")
    assert meta["stopped_by"] == "max_minutes"
    assert 0 < meta["batches"] < 100_000 * 4
    assert (seg_folder / "seg" / "weights.safetensors").is_file()
    assert "csi@0.50" in meta["tuning"]


def _training_command(config: Path) -> list[str]:
    return [sys.executable, "-m", "stainless", "train", "segmentation", "--config", str(config)]


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPOSITORY), "OMP_NUM_THREADS": "1"}


def test_progress_lines_appear_in_a_log_and_sigterm_leaves_a_resumable_checkpoint(
    seg_folder: Path,
) -> None:
    config = segmentation_config()
    config["training"].update({"epochs": 100_000, "progress_every_s": 0.2})
    path = write_config(seg_folder, config)
    log = seg_folder / "train.log"
    with log.open("w") as handle:  # not a terminal: plain progress lines, as under nohup
        process = subprocess.Popen(
            _training_command(path), stdout=handle, stderr=subprocess.STDOUT, env=_environment()
        )
        deadline = time.monotonic() + 120
        while "ETA" not in log.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    output = log.read_text()
    assert "step " in output and "loss " in output and "elapsed " in output
    assert code == 128 + signal.SIGTERM, output
    assert "SIGTERM" in output and "--resume" in output
    assert last_checkpoint(seg_folder / "seg").is_file()
    assert not (seg_folder / "seg" / "weights.safetensors").exists()
    checkpoint = torch.load(last_checkpoint(seg_folder / "seg"), weights_only=True)
    before = checkpoint["stainless_run"]
    assert before["training_seconds"] > 0 and before["validation_scores"]
    # resume with a step budget: continues from the checkpoint and writes the model; its
    # meta.json counts the time before the interruption and keeps the validation scores
    argv = ["train", "segmentation", "--config", str(path), "--resume", "--no-progress"]
    assert main([*argv, "--max-steps", "6"]) == 0
    meta = json.loads((seg_folder / "seg" / "meta.json").read_text())
    assert meta["stopped_by"] == "max_steps"
    assert meta["training_seconds"] >= before["training_seconds"]
    assert meta["validation"]


def test_sigint_exits_130_with_a_checkpoint(seg_folder: Path) -> None:
    config = segmentation_config()
    config["training"].update({"epochs": 100_000, "progress_every_s": 0.2})
    path = write_config(seg_folder, config)
    process = subprocess.Popen(
        _training_command(path), stderr=subprocess.PIPE, text=True, env=_environment()
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        assert line or process.poll() is None
        if "ETA" in line:
            break
    process.send_signal(signal.SIGINT)
    rest = process.stderr.read()
    assert process.wait(timeout=60) == 130, rest
    assert "SIGINT" in rest
    assert last_checkpoint(seg_folder / "seg").is_file()


def test_validation_fraction_cuts_each_training_image(seg_folder: Path) -> None:
    config = segmentation_config()
    config["data"]["validation"] = []
    config["data"]["validation_fraction"] = 0.25
    config["postprocess"]["tune_on"] = "val"
    loaded = load_segmentation_config(write_config(seg_folder, config))
    training, validation = training_and_validation_samples(loaded.data)
    assert [s.region for s in training] == [(0, 0, 64, 48), (0, 0, 64, 48)]
    assert [s.region for s in validation] == [(0, 48, 64, 64), (0, 48, 64, 64)]
    assert [s.label for s in validation] == ["img0.tif:val", "img1.tif:val"]
    config["training"]["epochs"] = 1
    path = write_config(seg_folder, config)
    assert main(["train", "segmentation", "--config", str(path), "--no-progress"]) == 0
    assert read_meta(seg_folder / "seg")["tuning"]["images"] == 2


def test_validation_fraction_out_of_range_is_refused(seg_folder: Path) -> None:
    config = segmentation_config()
    config["data"]["validation_fraction"] = 0.6
    with pytest.raises(ValueError, match=r"data.validation_fraction"):
        load_segmentation_config(write_config(seg_folder, config))


def test_auto_precision_is_the_faster_of_two_timed_steps() -> None:
    from stainless.device import faster_in_bf16, lightning_precision

    calls: list[bool] = []

    def bf16_is_slow(use_bf16: bool) -> None:
        calls.append(use_bf16)
        time.sleep(0.02 if use_bf16 else 0.0)

    assert not faster_in_bf16(bf16_is_slow)
    assert calls.count(True) == calls.count(False) == 3  # a warm-up and two timed calls each
    assert faster_in_bf16(lambda use_bf16: time.sleep(0.0 if use_bf16 else 0.02))
    assert lightning_precision("fp32", "cpu", bf16_is_slow) == "32-true"
    assert lightning_precision("bf16", "cpu", bf16_is_slow) == "bf16-mixed"
    assert lightning_precision("auto", "cpu", None) == "32-true"


def test_the_chosen_precision_is_in_the_metadata(seg_folder: Path) -> None:
    config = segmentation_config()
    path = write_config(seg_folder, config)
    assert main(["train", "segmentation", "--config", str(path), "--max-steps", "2"]) == 0
    assert read_meta(seg_folder / "seg")["precision"] in ("bf16-mixed", "32-true")
