"""The command line in-process: help, info, and every evaluate kind."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from stainless.cli.main import main
from stainless.data.synthetic import make_synthetic_sample
from stainless.io import read_labels, write_image
from stainless.metrics import instance_metrics


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "info" in out and "evaluate" in out


def test_info_reports_versions_devices_threads_and_bf16(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"stainless", "torch", "numpy", "lightning"} <= report["versions"].keys()
    assert "cpu" in report["torch_devices"]
    assert report["torch_threads"] >= 1
    assert isinstance(report["bf16_supported"]["cpu"], bool)


def test_evaluate_segmentation_writes_per_image_and_summary_json(
    label_folders: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pred, gt = label_folders
    out = tmp_path / "scores.json"
    assert (
        main(["evaluate", "segmentation", "--pred", str(pred), "--gt", str(gt), "--out", str(out)])
        == 0
    )
    table = capsys.readouterr().out
    assert "field1" in table and "mean" in table
    document = json.loads(out.read_text())
    rows = document["per_image"]
    assert [row["name"] for row in rows] == ["field1", "field2"]
    expected = instance_metrics(
        read_labels(gt / "field1_masks.png").array, read_labels(pred / "field1_pred.tif").array
    )
    for key in (
        "n_true",
        "n_pred",
        "csi@0.50",
        "f1@0.50",
        "precision@0.75",
        "map_csi",
        "map_precision",
        "ari",
        "aji",
        "pq@0.50",
    ):
        assert rows[0][key] == pytest.approx(expected[key]), key
    assert document["summary"]["csi@0.50"] == pytest.approx(
        (rows[0]["csi@0.50"] + rows[1]["csi@0.50"]) / 2
    )
    assert document["metadata"]["thresholds"][0] == 0.5
    assert "versions" in document["metadata"]


def test_evaluate_segmentation_csv_thresholds_and_min_size(
    label_folders: tuple[Path, Path], tmp_path: Path
) -> None:
    pred, gt = label_folders
    out = tmp_path / "scores.csv"
    args = ["evaluate", "segmentation", "--pred", str(pred), "--gt", str(gt), "--out", str(out)]
    assert main([*args, "--thresholds", "0.5", "0.75", "--min-size", "30"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [row["name"] for row in rows] == ["field1", "field2", "mean"]
    assert "csi@0.75" in rows[0] and "csi@0.55" not in rows[0]
    truth = read_labels(gt / "field1_masks.png").array
    prediction = read_labels(pred / "field1_pred.tif").array
    expected = instance_metrics(truth, prediction, thresholds=[0.5, 0.75], min_size_px=30)
    assert float(rows[0]["csi@0.75"]) == pytest.approx(expected["csi@0.75"])
    assert int(rows[0]["n_true"]) == expected["n_true"]


def test_evaluate_semantic_and_translation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = make_synthetic_sample((48, 48), seed=3)
    classes = (sample.cell_labels > 0).astype(np.uint8) + (sample.nucleus_labels > 0)
    write_image(tmp_path / "a_masks.png", classes, axes="YX")
    write_image(tmp_path / "a_pred.png", np.roll(classes, 1, axis=1), axes="YX")
    out = tmp_path / "semantic.json"
    args = ["--pred", str(tmp_path / "a_pred.png"), "--gt", str(tmp_path / "a_masks.png")]
    assert (
        main(
            [
                "evaluate",
                "semantic",
                *args,
                "--classes",
                "background",
                "nucleus",
                "cytoplasm",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    row = json.loads(out.read_text())["per_image"][0]
    assert 0 < row["iou_nucleus"] < 1 and 0 < row["mean_dice"] < 1

    write_image(tmp_path / "dapi.tif", sample.nuclear_stain, axes="YX")
    write_image(tmp_path / "dapi_pred.tif", sample.nuclear_stain * 0.9, axes="YX")
    out = tmp_path / "translation.json"
    args = [
        "--pred",
        str(tmp_path / "dapi_pred.tif"),
        "--gt",
        str(tmp_path / "dapi.tif"),
        "--out",
        str(out),
    ]
    assert main(["evaluate", "translation", *args]) == 0
    row = json.loads(out.read_text())["per_image"][0]
    assert row["pcc"] == pytest.approx(1.0) and row["mae"] > 0


def test_translation_mask_and_one_line_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = np.zeros((32, 32), np.float32)
    target[8:24, 8:24] = 1.0
    pred = target.copy()
    pred[:4, :4] = 5.0  # a large error outside the mask
    mask = np.zeros((32, 32), np.uint8)
    mask[8:24, 8:24] = 1
    write_image(tmp_path / "t.tif", target, axes="YX")
    write_image(tmp_path / "p.tif", pred, axes="YX")
    write_image(tmp_path / "m.png", mask, axes="YX")
    out = tmp_path / "t.json"
    argv = [
        "evaluate",
        "translation",
        "--pred",
        str(tmp_path / "p.tif"),
        "--gt",
        str(tmp_path / "t.tif"),
    ]
    assert main([*argv, "--mask", str(tmp_path / "m.png"), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["per_image"][0]["mae"] == 0.0

    cells = make_synthetic_sample((96, 96), clustering=0.0, n_cells=6, seed=0).cell_labels
    binary = (cells > 0).astype(np.uint8) * 255
    write_image(tmp_path / "b_masks.png", binary, axes="YX")
    write_image(tmp_path / "b_pred.png", binary, axes="YX")
    capsys.readouterr()
    argv = [
        "evaluate",
        "segmentation",
        "--pred",
        str(tmp_path / "b_pred.png"),
        "--gt",
        str(tmp_path / "b_masks.png"),
    ]
    assert main(argv) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("warning: labels '") for line in err)


def test_evaluate_group_by_adds_per_group_means(
    label_folders: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pred, gt = label_folders
    args = ["evaluate", "segmentation", "--pred", str(pred), "--gt", str(gt)]
    out = tmp_path / "scores.json"
    assert main([*args, "--group-by", r"field(\d)", "--output", str(out)]) == 0
    assert "mean 1 (1)" in capsys.readouterr().out
    document = json.loads(out.read_text())
    rows = {row["name"]: row for row in document["per_image"]}
    assert sorted(document["groups"]) == ["1", "2"]
    assert document["groups"]["2"]["csi@0.50"] == pytest.approx(rows["field2"]["csi@0.50"])
    table = tmp_path / "scores.csv"
    assert main([*args, "--group-by", "nomatch", "--output", str(table)]) == 0
    names = [row["name"] for row in csv.DictReader(table.open())]
    assert names == ["field1", "field2", "mean (no match)", "mean"]
    assert main([*args, "--group-by", "(unclosed"]) == 2
    assert "--group-by '(unclosed' is not a valid regular expression" in capsys.readouterr().err
