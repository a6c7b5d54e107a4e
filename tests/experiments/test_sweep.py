"""stainless experiment sweep: task × variant × K × init × seed, resumable, one CSV row a run."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from stainless.cli.main import main
from stainless.experiments.sweep import append_row, load_sweep_config, read_rows, run_config
from tests.training.test_segmentation_training import (
    segmentation_config,
    write_config,
    write_segmentation_data,
)


@pytest.fixture
def seg_folder(tmp_path: Path) -> Path:
    write_segmentation_data(tmp_path, [0, 1, 2])
    config = segmentation_config()
    config["data"]["validation"] = []
    config["postprocess"]["tune_on"] = None
    config["training"]["epochs"] = 1
    write_config(tmp_path, config)
    return tmp_path


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_a_sweep_writes_rows_resumes_and_plots(seg_folder: Path) -> None:
    experiment = {
        "csv": "sweep.csv",
        "runs": "runs",
        "tasks": {"nuclei": "seg.yaml"},
        "k": [1, "all"],
        "seeds": [0, 1],
        "test": [{"inputs": ["img2.tif"], "labels": "nuc2.tif"}],
        "tile": 64,
    }
    path = write_config(seg_folder, experiment, "sweep.yaml")
    assert main(["experiment", "sweep", "--config", str(path)]) == 0
    rows = _rows(seg_folder / "sweep.csv")
    assert [(r["k"], r["seed"], r["variant"]) for r in rows] == [
        ("1", "0", "baseline"),
        ("1", "1", "baseline"),
        ("all", "0", "baseline"),
        ("all", "1", "baseline"),
    ]
    assert all(0 <= float(r["iou"]) <= 1 and float(r["training_seconds"]) > 0 for r in rows)
    assert (seg_folder / "sweep.png").stat().st_size > 1000
    assert not any((seg_folder / "runs").iterdir())  # models are not kept
    assert main(["experiment", "sweep", "--config", str(path)]) == 0  # resume: nothing to redo
    assert len(_rows(seg_folder / "sweep.csv")) == 4


def test_variants_override_the_task_config_and_validation_pairs_follow(seg_folder: Path) -> None:
    experiment: dict[str, Any] = {
        "csv": "sweep.csv",
        "runs": "runs",
        "tasks": {"nuclei": "seg.yaml"},
        "k": [1],
        "seeds": [0],
        "subset": "first",
        "pair_validation": True,
        "variants": {"baseline": {}, "small crops": {"data.crop_size": 16, "model.depth": 1}},
        "test": [{"inputs": ["img2.tif"], "labels": "nuc2.tif"}],
        "min_size_px": [20],
    }
    config = segmentation_config()
    config["data"]["validation"] = [
        {"inputs": ["img1.tif"], "labels": "nuc1.tif"},
        {"inputs": ["img0.tif"], "labels": "nuc0.tif"},
    ]
    write_config(seg_folder, config)
    sweep = load_sweep_config(write_config(seg_folder, experiment, "sweep.yaml"))
    run = run_config(sweep, "nuclei", "small crops", 1, "random", 0, seg_folder / "r")
    assert (run.data.crop_size, run.model.depth) == (16, 1)
    assert [s.labels.name for s in run.data.samples] == ["nuc0.tif"]
    assert [s.labels.name for s in run.data.validation] == ["nuc1.tif"]  # its own pair
    assert main(["experiment", "sweep", "--config", str(seg_folder / "sweep.yaml")]) == 0
    rows = _rows(seg_folder / "sweep.csv")
    assert [r["variant"] for r in rows] == ["baseline", "small crops"]
    assert all(r["csi@0.50_min20"] != "" for r in rows)


def test_rows_of_an_older_csv_count_as_baseline_and_new_columns_widen_it(tmp_path: Path) -> None:
    path = tmp_path / "old.csv"
    path.write_text("task,k,init,seed,iou,training_seconds\nnuclei,1,random,0,0.5,3.0\n")
    append_row(
        path,
        {
            "task": "nuclei",
            "variant": "v",
            "k": 2,
            "init": "random",
            "seed": 0,
            "iou": 0.6,
            "ari": 0.7,
            "training_seconds": 4.0,
        },
    )
    rows = read_rows(path)
    assert [(r["variant"], r["k"], r["ari"]) for r in rows] == [
        ("baseline", "1", ""),
        ("v", "2", "0.7"),
    ]


def test_a_segmentation_model_init_is_fine_tuned_whole_and_a_translation_one_starts_the_unet(
    seg_folder: Path,
) -> None:
    from stainless.zoo import list_models

    built_in = {model.name: model.folder for model in list_models()}
    (seg_folder / "pretext").mkdir()
    (seg_folder / "pretext" / "weights.safetensors").write_bytes(b"")
    (seg_folder / "pretext" / "model.json").write_text('{"kind": "translation"}')
    config = segmentation_config()
    for key in ("architecture", "width", "depth", "head"):
        del config["model"][key]  # taken from the model that is fine-tuned
    write_config(seg_folder, config)
    experiment = {
        "csv": "sweep.csv",
        "runs": "runs",
        "tasks": {"nuclei": "seg.yaml"},
        "inits": {
            "generalist": str(built_in["nuclei-fluorescence"]),
            "isl": "pretext",
            "random": None,
        },
        "k": [1],
        "test": [{"inputs": ["img2.tif"], "labels": "nuc2.tif"}],
    }
    sweep = load_sweep_config(write_config(seg_folder, experiment, "sweep.yaml"))
    runs = {
        init: run_config(sweep, "nuclei", "baseline", 1, init, 0, seg_folder / "r")
        for init in ("generalist", "isl", "random")
    }
    fine_tuned = runs["generalist"].model
    assert fine_tuned.encoder_weights == built_in["nuclei-fluorescence"]
    assert (fine_tuned.init, fine_tuned.head, fine_tuned.width) == (None, "flows", 32)
    assert runs["isl"].model.init == seg_folder / "pretext"
    assert runs["isl"].model.encoder_weights is None
    assert (runs["random"].model.init, runs["random"].model.encoder_weights) == (None, None)
    assert runs["random"].model.head == "distance"


def test_fine_tuning_refuses_an_architecture_that_differs_from_the_init_model(
    seg_folder: Path,
) -> None:
    from stainless.config import load_segmentation_config

    path = write_config(seg_folder, segmentation_config(init="nuclei-fluorescence"))
    with pytest.raises(ValueError, match=r"model.width 8 \(the init model has 32\)"):
        load_segmentation_config(path)


def test_a_manifest_task_gives_its_split_rows_and_a_test_manifest_its_test_rows(
    seg_folder: Path,
) -> None:
    from stainless.experiments.sweep import load_test_images

    (seg_folder / "manifest.csv").write_text(
        "name,input,labels,split\n"
        "a,img0.tif,nuc0.tif,train\nb,img1.tif,nuc1.tif,train\n"
        "c,img2.tif,nuc2.tif,val\nd,img2.tif,nuc2.tif,test\n"
    )
    config = segmentation_config()
    del config["data"]["samples"], config["data"]["validation"]
    config["data"].update(manifest="manifest.csv", split="train", validation_split="val")
    write_config(seg_folder, config)
    experiment = {
        "csv": "sweep.csv",
        "runs": "runs",
        "tasks": {"nuclei": "seg.yaml"},
        "inits": {"random": None, "built-in": "nuclei-fluorescence"},
        "k": [1],
        "subset": "first",
        "test_manifest": "manifest.csv",
    }
    sweep = load_sweep_config(write_config(seg_folder, experiment, "sweep.yaml"))
    run = run_config(sweep, "nuclei", "baseline", 1, "random", 0, seg_folder / "r")
    assert [s.labels.name for s in run.data.samples] == ["nuc0.tif"]
    assert [s.labels.name for s in run.data.validation] == ["nuc2.tif"]
    assert run.data.manifest is None
    assert [name for name, _, _ in load_test_images(sweep)] == ["d"]
    assert sweep.inits["built-in"] is not None and sweep.inits["built-in"].name == (
        "nuclei-fluorescence"
    )
    with pytest.raises(ValueError, match="test_manifest"):
        load_sweep_config(
            write_config(seg_folder, {**experiment, "test_manifest": None}, "bad.yaml")
        )


def test_fine_tuning_takes_the_init_models_scale_and_channels_unless_set(
    seg_folder: Path,
) -> None:
    import json

    from stainless.config import fine_tuning, load_segmentation_config
    from stainless.zoo import get_model

    source = get_model("nuclei-fluorescence").folder
    init = seg_folder / "init"
    init.mkdir()
    for file in source.iterdir():
        (init / file.name).symlink_to(file)
    info = json.loads((source / "model.json").read_text())
    (init / "model.json").unlink()
    (init / "model.json").write_text(
        json.dumps({**info, "input_scale": 0.5, "channels": ["green"]})
    )
    config = segmentation_config()
    for key in ("architecture", "width", "depth", "head"):
        del config["model"][key]
    config["model"]["init"] = str(init)
    tuned = fine_tuning(load_segmentation_config(write_config(seg_folder, config)))
    assert (tuned.data.scale, tuned.data.channels) == (0.5, ["green"])
    config["data"]["scale"] = 1.0
    kept = fine_tuning(load_segmentation_config(write_config(seg_folder, config)))
    assert kept.data.scale == 1.0


def test_the_summary_table_gives_mean_and_std_over_seeds_in_k_order() -> None:
    from stainless.experiments.sweep import summary_table

    def row(k: str, init: str, seed: int, csi: float) -> dict[str, str]:
        keys = {"task": "t", "variant": "v", "k": k, "init": init, "seed": str(seed)}
        return {**keys, "csi@0.50": str(csi), "iou": "0.5", "training_seconds": "10"}

    rows = [row("5", "random", 0, 0.5), row("1", "random", 0, 0.2), row("1", "random", 1, 0.4)]
    rows.append(row("1", "built-in", 0, 0.7))
    lines = summary_table(rows).splitlines()
    assert lines[2] == "| t | v | 1 | random | 0.300 ± 0.100 | 0.500 ± 0.000 | 2 | 10.0 |"
    assert [line.split(" | ")[2:4] for line in lines[3:]] == [["1", "built-in"], ["5", "random"]]


def test_score_inits_adds_the_untouched_init_once(seg_folder: Path) -> None:
    trained = seg_folder / "trained"
    seg = str(seg_folder / "seg.yaml")
    assert main(["train", "segmentation", "--config", seg, "--output", str(trained)]) == 0
    experiment = {
        "csv": "sweep.csv",
        "runs": "runs",
        "tasks": {"nuclei": "seg.yaml"},
        "inits": {"trained": "trained", "random": None},
        "k": [1],
        "seeds": [0],
        "score_inits": True,
        "test": [{"inputs": ["img2.tif"], "labels": "nuc2.tif"}],
        "tile": 64,
    }
    path = write_config(seg_folder, experiment, "sweep.yaml")
    assert main(["experiment", "sweep", "--config", str(path)]) == 0
    rows = _rows(seg_folder / "sweep.csv")
    assert (rows[0]["variant"], rows[0]["k"], rows[0]["init"]) == ("untouched", "0", "trained")
    assert sorted((r["variant"], r["k"], r["init"]) for r in rows[1:]) == [
        ("baseline", "1", "random"),
        ("baseline", "1", "trained"),
    ]
    assert float(rows[0]["training_seconds"]) == 0 and 0 <= float(rows[0]["csi@0.50"]) <= 1
    assert main(["experiment", "sweep", "--config", str(path)]) == 0  # resumed: not again
    assert len(_rows(seg_folder / "sweep.csv")) == 3


def test_weight_inits_start_the_task_network_with_a_translation_models_whole_unet(
    seg_folder: Path,
) -> None:
    """``weight_inits`` (issue 27): the built-in ``phase-to-dapi``'s every tensor starts the
    task's own flows U-Net, its 13-plane first layer summed for one plane; random is the same
    network with fresh weights."""
    import torch

    from stainless.models import load_translation_network
    from stainless.models.build import build_network
    from stainless.zoo import list_models

    pretext = {model.name: model.folder for model in list_models()}["phase-to-dapi"]
    config = segmentation_config(head="flows", width=32, depth=4)
    write_config(seg_folder, config)
    experiment: dict[str, Any] = {
        "csv": "sweep.csv",
        "runs": "runs",
        "tasks": {"nuclei": "seg.yaml"},
        "inits": {"isl": str(pretext), "random": None},
        "weight_inits": ["isl"],
        "k": [1],
        "test": [{"inputs": ["img2.tif"], "labels": "nuc2.tif"}],
    }
    sweep = load_sweep_config(write_config(seg_folder, experiment, "sweep.yaml"))
    isl = run_config(sweep, "nuclei", "baseline", 1, "isl", 0, seg_folder / "r")
    assert (isl.model.init, isl.model.encoder_weights) == (None, pretext)
    network, body, _ = build_network(isl, 1)
    assert body is None  # an ordinary segmentation network, not the 1-map adapter
    source, _ = load_translation_network(pretext)
    expected, copied = source.state_dict(), network.backbone.state_dict()  # type: ignore[union-attr]
    assert torch.allclose(
        copied["stem.conv.weight"], expected["stem.conv.weight"].sum(1, True), atol=1e-3
    )
    decoder = [key for key in expected if key != "stem.conv.weight"]
    assert all(torch.equal(copied[key], expected[key]) for key in decoder)
    random = run_config(sweep, "nuclei", "baseline", 1, "random", 0, seg_folder / "r")
    assert (random.model.init, random.model.encoder_weights, random.model.width) == (None, None, 32)
    experiment["weight_inits"] = ["random"]
    with pytest.raises(ValueError, match=r"weight_inits \['random'\] must name inits"):
        load_sweep_config(write_config(seg_folder, experiment, "sweep.yaml"))
