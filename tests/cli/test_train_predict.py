"""``stainless train translation`` and ``stainless predict`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
import yaml

from stainless.cli.main import main
from stainless.io import read_image
from tests.training.conftest import (
    train_tiny_translation_model,
    translation_config,
    write_synthetic_pairs,
)


@pytest.fixture
def trained_model(tmp_path: Path) -> Path:
    return train_tiny_translation_model(tmp_path, modality_strategy="dynamic")


def test_predict_writes_uint16_ome_tiffs_for_every_target(
    trained_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "predicted"
    before = (tmp_path / "lf2.tif").read_bytes()
    argv = [
        "predict",
        "--model",
        str(trained_model),
        "--input",
        str(tmp_path / "lf2.tif"),
        "--output",
        str(out),
    ]
    assert main([*argv, "--modality", "phase", "--tta", "--tile", "32", "--overlap", "0.5"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["lf2_dapi.ome.tif", "lf2_membrane.ome.tif",
                                                     "lf2_run.json"]  # fmt: skip
    record = json.loads((out / "lf2_run.json").read_text())
    assert record["model"] == str(trained_model) and record["tta"] is True
    chosen = record["precision"]  # a trial on the first batch where the CPU has bf16 at all
    assert chosen["precision"] in ("bf16", "fp32")
    if chosen["decided_by"] == "timed trial":
        assert chosen["precision"] == "fp32" or chosen["agrees"] is True
    else:
        assert chosen["decided_by"] == "no bf16 on this device"
    image = read_image(out / "lf2_dapi.ome.tif")
    assert image.array.dtype == np.uint16 and image.array.shape == (64, 64)
    assert image.metadata.channel_names == ("dapi",)
    assert (tmp_path / "lf2.tif").read_bytes() == before  # the input is never modified
    assert main([*argv, "--modality", "phase", "--dtype", "float32", "--overwrite"]) == 0
    assert read_image(out / "lf2_dapi.ome.tif").array.dtype == np.float32


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_predict_bad_inputs_give_one_line_errors(
    trained_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["predict", "--model", str(trained_model), "--output", str(tmp_path / "o")]
    tifffile.imwrite(
        tmp_path / "two.tif", np.zeros((2, 64, 64), np.uint16), metadata={"axes": "CYX"}
    )
    _one_line_error(
        capsys, [*base, "--input", str(tmp_path / "two.tif"), "--modality", "phase"], "expects 1"
    )
    lf = str(tmp_path / "lf2.tif")
    _one_line_error(capsys, [*base, "--input", lf, "--modality", "xray"], "unknown modality 'xray'")
    _one_line_error(capsys, [*base, "--input", lf], "depends on the imaging modality")
    _one_line_error(capsys, [*base, "--input", str(tmp_path / "nope.tif")], "does not exist")
    bad_model = [
        "predict",
        "--model",
        str(tmp_path),
        "--input",
        lf,
        "--output",
        str(tmp_path / "o"),
    ]
    _one_line_error(capsys, bad_model, "is not a stainless model folder")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_train_refuses_an_invalid_config_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_synthetic_pairs(tmp_path, [0, 1, 2], size=32)
    raw = translation_config(tmp_path)
    raw["training"]["epoch"] = 3  # type: ignore[index]
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    _one_line_error(
        capsys,
        ["train", "translation", "--config", str(tmp_path / "c.yaml")],
        "training.epoch: Extra inputs",
    )
    assert not (tmp_path / "model").exists()
