"""``stainless export --format bioimageio``: a spec-0.5 package that bioimage.io's own validator
(``bioimageio.core``, offline) passes, with both weight formats reproducing the test output, and
one-line refusals of what it cannot package."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import yaml

from stainless.cli.main import main


def test_the_cells_package_passes_bioimageio_test_offline(tmp_path: Path) -> None:
    from bioimageio.core import test_model

    package = tmp_path / "cells.zip"
    assert (
        main(["export", "--model", "cells", "--format", "bioimageio", "--output", str(package)])
        == 0
    )
    with zipfile.ZipFile(package) as archive:
        rdf = yaml.safe_load(archive.read("rdf.yaml"))
        names = set(archive.namelist())
    assert rdf["format_version"].startswith("0.5.")
    assert set(rdf["weights"]) == {"onnx", "pytorch_state_dict", "torchscript"}
    assert rdf["weights"]["torchscript"]["parent"] == "pytorch_state_dict"
    assert rdf["inputs"][0]["preprocessing"][1]["id"] == "scale_range"
    assert not any("github_user" in author for author in rdf["authors"])
    assert {"README.md", "cover.png", "architecture.py", "test_input.npy"} <= names
    summary = test_model(package)  # the validator on the file written, IO checks on
    assert summary.status == "passed", [d.name for d in summary.details if d.status == "failed"]
    tested = {d.name for d in summary.details if d.status == "passed"}
    assert any("onnx" in name for name in tested) and any("pytorch" in name for name in tested)
    assert any("torchscript" in name for name in tested)


def test_a_trained_model_needs_a_sample_and_a_licence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from stainless.zoo import ZOO_ROOT, get_model

    folder = tmp_path / "my-model"
    folder.mkdir()
    for file in get_model("nuclei-fluorescence").folder.iterdir():
        if file.name != "zoo.json":  # a trained folder: no card
            (folder / file.name).write_bytes(file.read_bytes())
    argv = ["export", "--model", str(folder), "--format", "bioimageio",
            "--output", str(tmp_path / "p.zip")]  # fmt: skip
    assert main(argv) == 2
    assert "needs --sample IMAGE" in capsys.readouterr().err
    sample = ZOO_ROOT.parent / "demo_data" / "dsb_10328b82.png"
    assert main([*argv, "--sample", str(sample)]) == 2
    assert "needs --licence SPDX-ID" in capsys.readouterr().err
    assert not (tmp_path / "p.zip").exists()
