"""Bad input: one line on stderr, exit code 2, no traceback, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stainless.cli.main import main
from stainless.io import write_image


def _assert_clean_failure(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    assert message in err[0], err[0]


def _evaluate(pred: Path, gt: Path, out: Path) -> list[str]:
    return ["evaluate", "segmentation", "--pred", str(pred), "--gt", str(gt), "--out", str(out)]


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_image(tmp_path / "gt.png", np.zeros((8, 8), np.uint8), axes="YX")
    out = tmp_path / "out.json"
    _assert_clean_failure(
        capsys,
        _evaluate(tmp_path / "nope.png", tmp_path / "gt.png", out),
        "nope.png' does not exist",
    )
    assert not out.exists()


def test_corrupt_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_image(tmp_path / "gt.png", np.zeros((32, 32), np.uint8), axes="YX")
    (tmp_path / "pred.png").write_bytes((tmp_path / "gt.png").read_bytes()[:30])
    out = tmp_path / "out.json"
    _assert_clean_failure(
        capsys, _evaluate(tmp_path / "pred.png", tmp_path / "gt.png", out), "corrupt or truncated"
    )
    assert not out.exists()


def test_shape_mismatch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_image(tmp_path / "a_masks.png", np.zeros((8, 8), np.uint8), axes="YX")
    write_image(tmp_path / "a_pred.png", np.zeros((8, 9), np.uint8), axes="YX")
    out = tmp_path / "out.json"
    message = "prediction 'a_pred.png' has shape (8, 9) but ground truth 'a_masks.png' has (8, 8)"
    _assert_clean_failure(
        capsys, _evaluate(tmp_path / "a_pred.png", tmp_path / "a_masks.png", out), message
    )
    assert not out.exists()


def test_float_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_image(tmp_path / "gt.tif", np.zeros((8, 8), np.uint8), axes="YX")
    write_image(tmp_path / "pred.tif", np.zeros((8, 8), np.float32), axes="YX")
    out = tmp_path / "out.json"
    _assert_clean_failure(
        capsys,
        _evaluate(tmp_path / "pred.tif", tmp_path / "gt.tif", out),
        "dtype float32; expected integers",
    )
    assert not out.exists()


def test_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pred").mkdir()
    (tmp_path / "gt").mkdir()
    write_image(tmp_path / "gt" / "a_masks.png", np.zeros((8, 8), np.uint8), axes="YX")
    out = tmp_path / "out.json"
    _assert_clean_failure(
        capsys, _evaluate(tmp_path / "pred", tmp_path / "gt", out), "holds no image file"
    )
    assert not out.exists()


def test_existing_output_is_not_overwritten(
    label_folders: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pred, gt = label_folders
    out = tmp_path / "scores.json"
    out.write_text("keep me")
    _assert_clean_failure(capsys, _evaluate(pred, gt, out), "pass --overwrite")
    assert out.read_text() == "keep me"
    assert main([*_evaluate(pred, gt, out), "--overwrite"]) == 0
    assert out.read_text() != "keep me"


def test_debug_shows_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["--debug", *_evaluate(tmp_path / "a.png", tmp_path / "b.png", tmp_path / "o.json")])
        == 2
    )
    assert "Traceback" in capsys.readouterr().err


def test_real_subprocess_exit_code_and_single_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "stainless",
            *_evaluate(tmp_path / "x.png", tmp_path / "y.png", tmp_path / "o.json"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr
    assert not (tmp_path / "o.json").exists()


def test_a_bug_is_reported_as_one_with_exit_code_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from stainless.cli import info

    def broken(args: object) -> int:
        raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")

    monkeypatch.setattr(info, "run", broken)
    assert main(["info"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert "internal error (a bug in stainless): TypeError" in err[0]
    assert "--debug" in err[0]
    assert main(["--debug", "info"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_out_is_still_accepted_for_output(tmp_path: Path) -> None:
    labels = np.zeros((8, 8), dtype=np.uint16)
    labels[2:6, 2:6] = 1
    write_image(tmp_path / "a_masks.tif", labels, axes="YX")
    write_image(tmp_path / "a_pred.tif", labels, axes="YX")
    for flag, name in (("--output", "new.json"), ("--out", "old.json")):
        argv = _evaluate(tmp_path / "a_pred.tif", tmp_path / "a_masks.tif", tmp_path / name)
        argv[-2] = flag
        assert main(argv) == 0
        assert (tmp_path / name).is_file()


def test_bad_set_overrides_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("output: m\ndata: {samples: [{inputs: [x.tif], labels: y.tif}]}\n")
    argv = ["train", "segmentation", "--config", str(config)]
    _assert_clean_failure(capsys, [*argv, "--set", "training.epochs"], "--set expects KEY=VALUE")
    _assert_clean_failure(
        capsys, [*argv, "--set", "training.epochs=zero"], "training.epochs: Input should be"
    )
