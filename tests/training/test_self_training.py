"""Self-training (ST++ and ST) on unlabelled images: every stage, resume, and the one-line
errors before any training starts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stainless.cli.main import main
from stainless.config import load_segmentation_config
from stainless.experiments.self_training import self_train
from stainless.io import read_labels, write_image
from tests.training.test_segmentation_training import write_config, write_segmentation_data


def _config(folder: Path, method: str = "st++", **data: Any) -> dict[str, Any]:
    def sample(seed: int) -> dict[str, Any]:
        return {"inputs": [f"img{seed}.tif"], "labels": f"nuc{seed}.tif"}

    return {
        "seed": 0, "output": "st",
        "data": {"samples": [sample(0), sample(1)], "validation": [sample(2)],
                 "crop_size": 32, "batch_size": 4, "crops_per_epoch": 12,
                 "unlabelled": "unlabelled", **data},
        "model": {"architecture": "unet", "width": 8, "depth": 2, "head": "flows"},
        "training": {"epochs": 3, "learning_rate": 0.01, "val_every_n_steps": 3},
        "postprocess": {"tune_on": "val", "min_size_px": 5},
        "self_training": {"method": method, "checkpoints": 3},
    }  # fmt: skip


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("self_training")
    write_segmentation_data(folder, [0, 1, 2, 10, 11, 12, 13])
    unlabelled = folder / "unlabelled"
    unlabelled.mkdir()
    for seed in (10, 11, 12, 13):
        shutil.copy(folder / f"img{seed}.tif", unlabelled / f"field{seed}.tif")
    return folder


@pytest.fixture(scope="module")
def st_plus_plus(data: Path) -> Path:
    config = load_segmentation_config(write_config(data, _config(data)))
    return self_train(config, progress=False)


def test_st_plus_plus_runs_every_stage(st_plus_plus: Path) -> None:
    root = st_plus_plus / "self-training"
    assert len(list((root / "1-supervised" / "snapshots").glob("*.safetensors"))) == 2
    reliability = json.loads((root / "reliability.json").read_text())
    assert len(reliability["reliability"]) == 4
    assert all(0.0 <= r <= 1.0 for r in reliability["reliability"])
    first = sorted(p.name for p in (root / "pseudo-labels" / "round-1").iterdir())
    second = sorted(p.name for p in (root / "pseudo-labels" / "round-2").iterdir())
    assert len(first) == 2 and len(second) == 2 and not set(first) & set(second)
    # the most reliable half is labelled first
    ranked = sorted(zip(reliability["reliability"], reliability["images"], strict=True),
                    key=lambda pair: -pair[0])  # fmt: skip
    assert {f"{name}_labels.tif" for _, name in ranked[:2]} == set(first)
    labels = read_labels(root / "pseudo-labels" / "round-1" / first[0]).array
    assert labels.shape == (64, 64)
    meta = json.loads((st_plus_plus / "meta.json").read_text())["self_training"]
    assert [s["stage"] for s in meta["stages"]] == ["1/3 supervised", "2/3 reliable", "3/3 all"]
    assert [s["pseudo_labelled"] for s in meta["stages"]] == [0, 2, 4]
    assert (root / "2-reliable" / "model.json").is_file()
    assert (st_plus_plus / "model.json").is_file()
    # the final training saw the pseudo-labelled images, marked for the strong augmentation
    final = load_segmentation_config(st_plus_plus / "config.yaml")
    assert sum(sample.pseudo for sample in final.data.samples) == 4


def test_a_finished_run_resumes_to_the_same_model_and_refuses_without_resume(
    data: Path, st_plus_plus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = (st_plus_plus / "weights.safetensors").read_bytes()
    config_file = data / "seg.yaml"
    assert main(["train", "segmentation", "--config", str(config_file), "--resume",
                 "--no-progress"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert err.count("finished earlier, kept") == 3 and "reliability: computed earlier" in err
    assert (st_plus_plus / "weights.safetensors").read_bytes() == weights
    assert main(["train", "segmentation", "--config", str(config_file), "--no-progress"]) == 2
    assert "pass --resume to continue it or --overwrite" in capsys.readouterr().err


def test_a_resume_with_other_unlabelled_images_is_refused(
    data: Path, st_plus_plus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(data)
    config["self_training"]["max_unlabelled"] = 3
    path = write_config(data, config, "other.yaml")
    assert main(["train", "segmentation", "--config", str(path), "--resume", "--no-progress"]) == 2
    assert "with another config or other unlabelled images" in capsys.readouterr().err


def test_a_plain_model_in_the_output_is_never_resumed_as_a_stage(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = _config(data)
    plain.update(output="plain")
    plain["data"] = {**plain["data"], "unlabelled": None}
    path = write_config(data, plain, "plain.yaml")
    assert main(["train", "segmentation", "--config", str(path), "--no-progress"]) == 0
    capsys.readouterr()
    config = {**_config(data), "output": "plain"}
    path = write_config(data, config, "onto_plain.yaml")
    assert main(["train", "segmentation", "--config", str(path), "--resume", "--no-progress"]) == 2
    assert "model folder" in capsys.readouterr().err
    assert not (data / "plain" / "self-training" / "1-supervised").exists()


def test_st_pseudo_labels_everything_once(data: Path) -> None:
    config = _config(data, method="st")
    config["output"] = "plain_st"
    folder = self_train(load_segmentation_config(write_config(data, config, "st.yaml")),
                        progress=False)  # fmt: skip
    root = folder / "self-training"
    assert len(list((root / "pseudo-labels" / "round-1").iterdir())) == 4
    assert not (root / "reliability.json").exists()
    meta = json.loads((folder / "meta.json").read_text())["self_training"]
    assert [s["pseudo_labelled"] for s in meta["stages"]] == [0, 4]


def _refused(data: Path, config: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> str:
    path = write_config(data, config, "bad.yaml")
    assert main(["train", "segmentation", "--config", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert not (data / config["output"]).exists()
    return err


def test_an_empty_unlabelled_folder_is_refused(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (data / "empty").mkdir(exist_ok=True)
    config = {**_config(data, unlabelled="empty"), "output": "never"}
    assert "data.unlabelled folder" in _refused(data, config, capsys)


def test_label_images_as_unlabelled_are_refused(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    masks = data / "masks"
    masks.mkdir(exist_ok=True)
    shutil.copy(data / "nuc10.tif", masks / "field10_masks.tif")
    config = {**_config(data, unlabelled="masks"), "output": "never"}
    assert "field10_masks.tif' is a label image" in _refused(data, config, capsys)
    config = {**_config(data, unlabelled="nuc1*.tif"), "output": "never"}  # nuc1: a labels file
    assert "nuc1.tif' is a label image" in _refused(data, config, capsys)


def test_images_of_another_plane_count_are_refused(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rgb = data / "rgb"
    rgb.mkdir(exist_ok=True)
    write_image(rgb / "colour.png", np.zeros((64, 64, 3), np.uint8), axes="YXC")
    config = {**_config(data, unlabelled="rgb"), "output": "never"}
    assert "colour.png' has 3 plane(s) but the labelled images have 1" in _refused(
        data, config, capsys
    )


def test_a_head_that_cannot_self_train_is_refused(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {**_config(data), "output": "never"}
    config["model"] = {**config["model"], "head": "semantic"}
    assert "model.head 'semantic' cannot self-train" in _refused(data, config, capsys)
