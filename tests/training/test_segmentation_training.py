"""train segmentation → model folder → segment, transfer from a translation model, tuning,
few-shot experiment, and the one-line errors of the segmentation commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from scipy import ndimage as ndi

from stainless.cli.main import main
from stainless.config import load_segmentation_config
from stainless.data.synthetic import make_synthetic_sample
from stainless.inference.segmenter import SegmentationPredictor
from stainless.io import read_image, read_labels, write_image
from stainless.training.segmentation import train_segmentation
from tests.training.conftest import translation_config, write_synthetic_pairs


def _refuse_constant(constant: str) -> None:
    raise AssertionError(f"meta.json holds {constant}, which is not JSON")


def write_segmentation_data(folder: Path, seeds: list[int], size: int = 64) -> None:
    """``img<seed>.tif`` (nuclear stain), ``nuc<seed>.tif`` and ``cell<seed>.tif`` labels."""
    folder.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        sample = make_synthetic_sample((size, size), cell_radius_px=7, seed=seed)
        write_image(
            folder / f"img{seed}.tif", (sample.nuclear_stain * 60000).astype(np.uint16), axes="YX"
        )
        write_image(folder / f"nuc{seed}.tif", sample.nucleus_labels, axes="YX")
        write_image(folder / f"cell{seed}.tif", sample.cell_labels, axes="YX")


def segmentation_config(**model: Any) -> dict[str, Any]:
    def sample(seed: int) -> dict[str, Any]:
        return {
            "inputs": [f"img{seed}.tif"],
            "labels": f"nuc{seed}.tif",
            "cells": f"cell{seed}.tif",
        }

    return {
        "seed": 0,
        "output": "seg",
        "data": {
            "samples": [sample(0), sample(1)],
            "validation": [sample(2)],
            "crop_size": 32,
            "batch_size": 4,
            "crops_per_epoch": 16,
            "augment": {"rotation": True, "scaling": [0.8, 1.25], "intensity": True},
        },
        "model": {"architecture": "unet", "width": 8, "depth": 2, "head": "distance", **model},
        "training": {"epochs": 2, "learning_rate": 0.01, "val_every_n_steps": 2},
        "postprocess": {"tune_on": "val", "min_size_px": 5},
    }


@pytest.fixture
def seg_folder(tmp_path: Path) -> Path:
    write_segmentation_data(tmp_path, [0, 1, 2])
    return tmp_path


def write_config(folder: Path, config: dict[str, Any], name: str = "seg.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize(
    ("architecture", "head", "classes"),
    [
        ("unet", "distance", 2),
        ("unet", "hover", 2),
        ("unet", "flows", 2),
        ("tiramisu", "semantic", 3),
        ("deeplabv3plus", "semantic", 2),
    ],
)
def test_train_save_segment(seg_folder: Path, architecture: str, head: str, classes: int) -> None:
    config = segmentation_config(architecture=architecture, head=head, classes=classes)
    config["data"]["crop_size"] = 32
    if classes == 3:
        config["postprocess"]["tune_on"] = None
        config["training"]["class_weights"] = "balanced"
    path = write_config(seg_folder, config)
    assert main(["train", "segmentation", "--config", str(path), "--no-progress"]) == 0
    model = seg_folder / "seg"
    info = json.loads((model / "model.json").read_text())
    meta = json.loads((model / "meta.json").read_text(), parse_constant=_refuse_constant)
    assert info["kind"] == "segmentation" and info["head"] == head
    assert meta["seed"] == 0 and meta["data"]["training"] == ["img0.tif", "img1.tif"]
    if classes == 2:
        assert meta["tuning"]["on"] == "val"  # thresholds tuned and stored
        assert info["thresholds"]["mask_threshold"] == meta["tuning"]["mask_threshold"]
    out = seg_folder / "out"
    args = ["segment", "--model", str(model), "--input", str(seg_folder / "img2.tif")]
    assert main([*args, "--output", str(out), "--outlines"]) == 0
    labels = read_labels(out / "img2_labels.tif").array
    assert labels.shape == (64, 64) and labels.dtype == np.uint16
    assert (out / "img2_outlines.png").is_file()
    # same output as the Python API with the stored thresholds
    predictor = SegmentationPredictor.load(model, device="cpu")
    from stainless.io import read_image

    planes = read_image(seg_folder / "img2.tif").array[None]
    np.testing.assert_array_equal(predictor.segment(planes), labels)


def test_resume_and_no_silent_overwrite(seg_folder: Path) -> None:
    path = write_config(seg_folder, segmentation_config())
    config = load_segmentation_config(path)
    train_segmentation(config, progress=False)
    with pytest.raises(FileExistsError, match="--overwrite"):
        train_segmentation(config, progress=False)
    longer = load_segmentation_config(path, **{"training.epochs": 3})
    train_segmentation(longer, resume=True, progress=False)
    meta = json.loads((seg_folder / "seg" / "meta.json").read_text())
    assert meta["epochs"] == 3 and meta["batches"] == 12  # 2 epochs restored + 1 more


@pytest.fixture
def translation_model(tmp_path: Path) -> Path:
    """A tiny phase → DAPI/membrane translation model trained on synthetic data."""
    write_synthetic_pairs(tmp_path, [0, 1, 2], size=64)
    config = translation_config(tmp_path)
    config["data"]["crop_size"] = 32
    config["output"] = "translation"
    path = write_config(tmp_path, config, "translation.yaml")
    assert main(["train", "translation", "--config", str(path), "--no-progress"]) == 0
    return tmp_path / "translation"


@pytest.mark.parametrize("head", ["semantic", "distance"])
def test_transfer_from_a_translation_model(
    tmp_path: Path, translation_model: Path, head: str
) -> None:
    for seed in (0, 1, 2):  # phase-like inputs: the translation model's input modality
        sample = make_synthetic_sample((64, 64), cell_radius_px=8, seed=seed)
        write_image(
            tmp_path / f"img{seed}.tif", (sample.label_free * 60000).astype(np.uint16), axes="YX"
        )
        write_image(tmp_path / f"nuc{seed}.tif", sample.nucleus_labels, axes="YX")
        write_image(tmp_path / f"cell{seed}.tif", sample.cell_labels, axes="YX")
    config = segmentation_config(head=head, init_target="dapi")
    config["training"]["freeze_epochs"] = 1
    path = write_config(tmp_path, config)
    args = ["train", "segmentation", "--config", str(path), "--init", str(translation_model)]
    assert main([*args, "--max-images", "1", "--no-progress"]) == 0
    info = json.loads((tmp_path / "seg" / "model.json").read_text())
    assert info["transfer"]["target_names"] == ["dapi", "membrane"]
    assert info["transfer"]["target_index"] == 0
    meta = json.loads((tmp_path / "seg" / "meta.json").read_text())
    assert meta["data"]["training"] == ["img0.tif"]  # --max-images 1
    # the segmentation folder alone rebuilds the network (the translation folder is not needed)
    import shutil

    shutil.rmtree(translation_model)
    predictor = SegmentationPredictor.load(tmp_path / "seg", device="cpu")
    assert predictor.segment(np.ones((1, 64, 64), np.float32) * 100).shape == (64, 64)


def test_frozen_body_does_not_change_during_freeze_epochs(
    tmp_path: Path, translation_model: Path
) -> None:
    from safetensors.torch import load_file

    write_segmentation_data(tmp_path, [0, 1, 2])
    config = segmentation_config(head="distance", init_target="membrane")
    config["training"]["freeze_epochs"] = 5  # longer than the training: body stays as loaded
    config["postprocess"]["tune_on"] = None
    path = write_config(tmp_path, config)
    assert (
        main(
            [
                "train",
                "segmentation",
                "--config",
                str(path),
                "--init",
                str(translation_model),
                "--no-progress",
            ]
        )
        == 0
    )
    before = load_file(str(translation_model / "weights.safetensors"))
    after = load_file(str(tmp_path / "seg" / "weights.safetensors"))
    body = {k.removeprefix("body."): v for k, v in after.items() if k.startswith("body.")}
    assert body.keys() == before.keys()
    assert all(np.array_equal(body[k].numpy(), before[k].numpy()) for k in before)
    adapter = [k for k in after if k.startswith("adapter.")]
    assert adapter  # the new Conv-BN-ReLU head exists and was trained


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": {"init": "nowhere"}}, "nowhere' is neither a model folder nor a built-in"),
        ({"data": {"samples": [{"inputs": ["img0.tif"], "labels": "missing.tif"}]}}, "missing.tif"),
        ({"data": {"crop_size": 30}}, "multiple of 4"),
        ({"model": {"head": "boxes"}}, "model.head"),
        ({"training": {"class_weights": [1.0]}}, "class_weights has 1 values for 2 classes"),
    ],
)
def test_bad_segmentation_configs_give_one_line_errors(
    seg_folder: Path, capsys: pytest.CaptureFixture[str], change: dict[str, Any], message: str
) -> None:
    config = segmentation_config()
    for section, values in change.items():
        config[section] = {**config[section], **values}
    path = write_config(seg_folder, config)
    assert main(["train", "segmentation", "--config", str(path)]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_segment_refuses_wrong_planes_and_existing_outputs(
    seg_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = segmentation_config()
    config["training"]["epochs"] = 1
    config["postprocess"]["tune_on"] = None
    path = write_config(seg_folder, config)
    assert main(["train", "segmentation", "--config", str(path), "--no-progress"]) == 0
    two_planes = seg_folder / "two.tif"
    write_image(two_planes, np.zeros((2, 64, 64), np.uint16), axes="CYX")
    model = str(seg_folder / "seg")
    assert (
        main(
            [
                "segment",
                "--model",
                model,
                "--input",
                str(two_planes),
                "--output",
                str(seg_folder / "o"),
            ]
        )
        == 2
    )
    assert "gives 2 channels but model" in capsys.readouterr().err
    args = [
        "segment",
        "--model",
        model,
        "--input",
        str(seg_folder / "img0.tif"),
        "--output",
        str(seg_folder / "o"),
    ]
    assert main(args) == 0
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (
        main(["segment", "--model", str(seg_folder), "--input", str(two_planes), "--output", "x"])
        == 2
    )
    assert "not a stainless model folder" in capsys.readouterr().err


def test_local_encoder_weights_initialise_the_backbone(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    from stainless.config import SegmentationModelConfig
    from stainless.models import build_segmentation_network, load_local_weights

    config = SegmentationModelConfig(width=8, depth=2)
    source = build_segmentation_network(config, 1).backbone
    save_file(
        {k: v.contiguous() for k, v in source.state_dict().items()}, str(tmp_path / "w.safetensors")
    )
    torch.save({"state_dict": source.state_dict()}, tmp_path / "w.pt")
    for file in ("w.safetensors", "w.pt"):
        target = build_segmentation_network(config, 1).backbone
        load_local_weights(target, tmp_path / file)
        for key, value in source.state_dict().items():
            assert torch.equal(target.state_dict()[key], value)
    trained = tmp_path / "model"  # a trained segmentation model folder: fine-tuned as a whole
    trained_network = build_segmentation_network(config, 1)
    trained.mkdir()
    save_file(
        {k: v.contiguous() for k, v in trained_network.state_dict().items()},
        str(trained / "weights.safetensors"),
    )
    (trained / "model.json").write_text("{}")
    target = build_segmentation_network(config, 1).backbone
    load_local_weights(target, trained)
    for key, value in trained_network.backbone.state_dict().items():
        assert torch.equal(target.state_dict()[key], value)
    with pytest.raises(ValueError, match="not a model folder"):
        load_local_weights(target, tmp_path)
    torch.save({"other": torch.zeros(3)}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="no tensor matches"):
        load_local_weights(build_segmentation_network(config, 1).backbone, tmp_path / "bad.pt")


def test_hover_test_time_augmentation_turns_offsets_back() -> None:
    """An ideal HoVer 'network' seen through all eight views gives back the exact maps."""
    from stainless.data.targets import hover_target
    from stainless.inference.predictor import TilingOptions
    from stainless.inference.segmenter import SegmentationPredictor
    from stainless.model_folder import SegmentationModelInfo

    labels = np.zeros((32, 32), int)
    labels[4:14, 6:26] = 1
    labels[18:30, 2:12] = 2

    class IdealHover(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            maps = []
            for image in x[:, 0].numpy():
                objects, _ = ndi.label(image > 0.5)
                logits = np.stack([(image <= 0.5) * 20.0 - 10, (image > 0.5) * 20.0 - 10])
                maps.append(np.concatenate([logits, hover_target(objects)]))
            return torch.from_numpy(np.stack(maps).astype(np.float32))

    info = SegmentationModelInfo("hover", 2, 1, (0.0, 100.0), 1, {})
    predictor = SegmentationPredictor(IdealHover(), info, device="cpu", precision="fp32")
    planes = (labels > 0)[None].astype(np.float32)
    options = TilingOptions(tile=32, tta=True, tta_flips=True)
    maps = predictor.predict_maps(planes, options)
    np.testing.assert_allclose(maps[2:], hover_target(labels), atol=1e-5)


def test_retune_stores_thresholds_without_training(seg_folder: Path) -> None:
    config = segmentation_config()
    config["training"]["epochs"] = 1
    config["postprocess"]["tune_on"] = None
    path = write_config(seg_folder, config)
    assert main(["train", "segmentation", "--config", str(path), "--no-progress"]) == 0
    weights = (seg_folder / "seg" / "weights.safetensors").read_bytes()
    assert (
        "tuning" not in json.loads((seg_folder / "seg" / "meta.json").read_text())
        or not (json.loads((seg_folder / "seg" / "meta.json").read_text())["tuning"])
    )
    assert main(["train", "segmentation", "--config", str(path), "--retune"]) == 0
    meta = json.loads((seg_folder / "seg" / "meta.json").read_text())
    info = json.loads((seg_folder / "seg" / "model.json").read_text())
    assert meta["tuning"]["images"] == 1
    assert info["thresholds"]["h"] == meta["tuning"]["h"]
    assert (seg_folder / "seg" / "weights.safetensors").read_bytes() == weights  # not retrained


def test_segmentation_runs_in_float32_unless_bf16_is_asked() -> None:
    from stainless.config import SegmentationModelConfig
    from stainless.model_folder import SegmentationModelInfo
    from stainless.models import build_segmentation_network

    network = build_segmentation_network(SegmentationModelConfig(width=8, depth=2), 1)
    info = SegmentationModelInfo("distance", 2, 1, (1.0, 99.8), 4, {})
    assert not SegmentationPredictor(network, info, device="cpu").use_bf16
    assert SegmentationPredictor(network, info, device="cpu", precision="bf16").use_bf16


def test_a_magnifying_model_sees_large_cells_and_returns_maps_at_pixel_size(
    seg_folder: Path,
) -> None:
    config = segmentation_config()
    config["data"]["scale"] = 2.0
    config["training"]["epochs"] = 1
    path = write_config(seg_folder, config)
    assert main(["train", "segmentation", "--config", str(path), "--no-progress"]) == 0
    assert json.loads((seg_folder / "seg" / "model.json").read_text())["input_scale"] == 2.0
    predictor = SegmentationPredictor.load(seg_folder / "seg", device="cpu")
    seen: list[tuple[int, ...]] = []
    forward = predictor.maps._predict_tiles
    predictor.maps._predict_tiles = lambda batch: (seen.append(batch.shape), forward(batch))[1]  # type: ignore[method-assign]
    planes = np.random.default_rng(0).random((1, 50, 70), dtype=np.float32)
    maps = predictor.predict_maps(planes)
    assert maps.shape == (2, 50, 70)  # distance and mask at the image's own pixel size
    assert seen and seen[0][2:] >= (100, 140)  # the network saw the image magnified twice


def test_magnified_training_crops_show_cells_twice_as_large(seg_folder: Path) -> None:
    from stainless.data.segmentation import SegmentationCrops, load_segmentation_sample

    config = load_segmentation_config(write_config(seg_folder, segmentation_config()))
    sample = load_segmentation_sample(config.data.samples[0], config.data.input_percentiles)
    areas = {}
    for scale in (1.0, 2.0):
        augment = {"flips": False, "rot90": False, "rotation": False, "scaling": None}
        data = config.data.model_copy(
            update={"scale": scale, "augment": config.data.augment.model_copy(update=augment)}
        )
        crops = SegmentationCrops([sample], "semantic", data, seed=0)
        masks = [crops[i]["target"].numpy() > 0 for i in range(len(crops))]
        areas[scale] = np.mean([ndi.label(m)[0].max() / max(m.sum(), 1) for m in masks])
    # objects per foreground pixel falls about fourfold when every object is twice as wide
    assert areas[2.0] < areas[1.0] / 2.5


def test_resampling_keeps_pixels_in_place() -> None:
    from stainless.data.resample import resample_planes

    labels = np.arange(12, dtype=np.int32).reshape(1, 3, 4)
    magnified = resample_planes(labels, 2.0, order=0)
    assert magnified.shape == (1, 6, 8) and magnified.dtype == np.int32
    np.testing.assert_array_equal(magnified[0, ::2, ::2], labels[0])
    back = resample_planes(magnified, shape=(3, 4), order=0)
    np.testing.assert_array_equal(back, labels)


def test_a_flows_model_trains_on_an_image_without_objects(seg_folder: Path) -> None:
    empty = np.zeros((64, 64), dtype=np.uint16)
    write_image(seg_folder / "nuc1.tif", empty, axes="YX", overwrite=True)
    config = segmentation_config(head="flows")
    config["training"]["epochs"] = 1
    path = write_config(seg_folder, config)
    assert main(["train", "segmentation", "--config", str(path), "--no-progress"]) == 0
    predictor = SegmentationPredictor.load(seg_folder / "seg", device="cpu")
    assert predictor.info.head == "flows" and "flow_threshold" in predictor.info.thresholds


def test_init_with_a_built_in_segmentation_model_fine_tunes_it(seg_folder: Path) -> None:
    config = segmentation_config()
    for key in ("architecture", "width", "depth", "head"):
        del config["model"][key]
    config["postprocess"]["tune_on"] = None
    config["training"]["learning_rate"] = 1e-5
    path = write_config(seg_folder, config)
    argv = ["train", "segmentation", "--config", str(path), "--init", "nuclei-fluorescence"]
    assert main([*argv, "--max-steps", "2", "--no-progress"]) == 0
    saved = load_segmentation_config(seg_folder / "seg" / "config.yaml")
    assert (saved.model.head, saved.model.width, saved.model.init) == ("flows", 32, None)
    assert saved.model.encoder_weights is not None
    assert saved.model.encoder_weights.name == "nuclei-fluorescence"
    predictor = SegmentationPredictor.load(seg_folder / "seg", device="cpu")
    image = read_image(seg_folder / "img2.tif").array.astype(np.float32)[None]
    assert predictor.segment(image).max() > 3  # starts from a working nucleus model


def test_a_resample_translation_init_takes_single_plane_images(seg_folder: Path) -> None:
    """ISL pretraining on a focus series, fine-tuned on one plane (issue 27: the built-in
    ``phase-to-dapi``, 13 planes, for Usiigaci's single phase images): the series is resampled
    to the pretext network's 13 planes in training and in prediction."""
    config = segmentation_config(head="flows")
    config["postprocess"]["tune_on"] = None
    path = write_config(seg_folder, config)
    argv = ["train", "segmentation", "--config", str(path), "--init", "phase-to-dapi"]
    assert main([*argv, "--max-steps", "1", "--max-images", "1", "--no-progress"]) == 0
    info = json.loads((seg_folder / "seg" / "model.json").read_text())
    assert (info["input_planes"], info["in_channels"]) == ("resample", 13)
    predictor = SegmentationPredictor.load(seg_folder / "seg", device="cpu")
    assert predictor.segment(np.ones((1, 64, 64), np.float32) * 100).shape == (64, 64)
