"""Built-in models load by name offline, and ``stainless demo`` runs end to end on them."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from stainless.cli.main import main
from stainless.model_folder import read_segmentation_info, resolve_model
from stainless.zoo import get_model, list_models


def test_the_built_in_models_are_shipped_with_cards() -> None:
    names = [m.name for m in list_models()]
    assert names == ["cells", "cells-phase", "nuclei", "nuclei-fluorescence", "phase-to-dapi"]
    for model in list_models():
        assert model.licence and model.credit and model.held_out["scores"]
        assert 1e6 < model.size_bytes < 40e6  # float16 weights keep the wheel small
    assert "CC-BY-4.0" in get_model("phase-to-dapi").licence
    nuclei = get_model("nuclei-fluorescence")  # v2: the flows head won on DSB2018 validation
    assert nuclei.version == 2 and "flows" in nuclei.task and nuclei.changes
    cells = get_model("cells-phase")
    assert "MIT" in cells.licence and "Usiigaci" in cells.credit and "µm" in cells.pixel_size
    assert "cellpose cyto csi@0.50, same run" in cells.held_out["scores"]
    for name in ("cells-phase", "nuclei-fluorescence"):  # segment --diameter needs it
        assert read_segmentation_info(get_model(name).folder).object_diameter_px is not None


def test_names_resolve_and_unknown_names_are_refused(tmp_path: Path) -> None:
    assert resolve_model("nuclei-fluorescence") == get_model("nuclei-fluorescence").folder
    assert resolve_model(tmp_path) == tmp_path  # an existing folder wins
    with pytest.raises(ValueError, match="neither a model folder nor a built-in model"):
        resolve_model("cyto3")
    with pytest.raises(ValueError, match="does not exist"):
        resolve_model(tmp_path / "missing")


def test_models_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list"]) == 0
    listing = capsys.readouterr().out
    assert "nuclei-fluorescence" in listing and "phase-to-dapi" in listing and "MB" in listing
    assert main(["models", "info", "phase-to-dapi"]) == 0
    assert "Christiansen" in capsys.readouterr().out
    assert main(["models", "info", "cells-phase"]) == 0
    info = capsys.readouterr().out
    assert "pixel size:    0.867 µm" in info and "px across in the training" in info
    assert "planes:        exactly 1" in info
    assert main(["models", "info", "nope"]) == 2


def test_models_info_reads_a_trained_model_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "my-model"
    shutil.copytree(resolve_model("cells-phase"), folder, ignore=shutil.ignore_patterns("zoo.json"))
    assert main(["models", "info", str(folder)]) == 0
    info = capsys.readouterr().out
    assert f"folder:        {folder}" in info
    assert "stopped by" in info and "steps" in info
    assert "planes:        exactly 1" in info and "head:          flows" in info
    assert "validation:    csi@0.50 " in info
    assert main(["models", "info", str(tmp_path)]) == 2
    assert "is not a stainless model folder" in capsys.readouterr().err


def test_demo_writes_report_tiffs_overlays_and_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo-out"
    assert main(["demo", "--output", str(out), "--device", "cpu"]) == 0
    assert (out / "report.html").stat().st_size > 10_000  # figures are inlined
    for name in (
        "neurons_predicted_dapi.tif",
        "neurons_nuclei_from_predicted_dapi.tif",
        "neurons_overlay_real.png",
        "neurons_phase_predicted_real_dapi.png",
        "metrics.csv",
    ):
        assert (out / name).is_file()
    report = (out / "report.html").read_text()
    assert report.index("Pearson correlation") < report.index("<table>")  # the promise first
    with (out / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5
    dsb = [float(r["csi@0.50"]) for r in rows if r["sample"].startswith("DSB2018")]
    assert min(dsb) > 0.5  # the built-in nucleus model works on held-out images
    assert "report:" in capsys.readouterr().out
    assert main(["demo", "--output", str(out)]) == 2  # no silent overwrite


def test_built_in_models_work_by_name_in_segment_and_predict(tmp_path: Path) -> None:
    from stainless.demo import DEMO_DATA, NEURON_DAPI, NEURON_PHASE
    from stainless.io import read_image, read_labels

    out = tmp_path / "out"
    args = ["--input", str(NEURON_PHASE), "--output", str(out / "dapi")]
    assert main(["predict", "--model", "phase-to-dapi", *args, "--tile", "256"]) == 0
    predicted = read_image(out / "dapi" / "neurons_phase_dapi.ome.tif").array
    assert predicted.shape == (256, 256) and predicted.max() > 0
    image = next(p for p in sorted(DEMO_DATA.glob("dsb_*.png")) if "_masks" not in p.name)
    segment = ["segment", "--model", "nuclei-fluorescence", "--output", str(out / "labels")]
    assert main([*segment, "--input", str(image), str(NEURON_DAPI)]) == 0
    assert read_labels(out / "labels" / f"{image.stem}_labels.tif").array.max() > 5
