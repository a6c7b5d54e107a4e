"""Training end to end on synthetic data: learning, model folder round trip, resume, strategies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from stainless.config import SegmentationModelConfig, load_translation_config
from stainless.inference.predictor import PerModalityPredictor, TranslationPredictor, load_predictor
from stainless.io import read_image, read_input_planes
from stainless.metrics import pearson
from stainless.model_folder import read_meta
from stainless.models import build_segmentation_network, load_translation_network
from stainless.models.build import load_local_weights
from stainless.training.translation import train_translation
from tests.training.conftest import translation_config, write_synthetic_pairs


def test_a_tiny_unet_beats_the_identity_baseline_within_seconds(tmp_path: Path) -> None:
    write_synthetic_pairs(tmp_path, [0, 1, 2])
    raw = translation_config(tmp_path)
    raw["data"]["crops_per_epoch"] = 64  # type: ignore[index]
    raw["training"]["epochs"] = 4  # type: ignore[index]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    folder = train_translation(load_translation_config(path), progress=False)
    planes, _ = read_input_planes([tmp_path / "lf2.tif"])
    truth = read_image(tmp_path / "dapi2.tif").array.astype(np.float64)
    predicted = TranslationPredictor.load(folder, device="cpu").predict(planes)["dapi"]
    identity = pearson(planes[0], truth)
    learned = pearson(predicted, truth)
    assert learned > 0.6 and learned > identity + 0.3, (learned, identity)
    meta = read_meta(folder)
    assert meta["seed"] == 0 and meta["epochs"] == 4 and "pcc_dapi" in meta["validation"]


def test_model_folder_round_trip_gives_identical_output(synthetic_config: Path) -> None:
    config = load_translation_config(synthetic_config)
    folder = train_translation(config, progress=False)
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == [
        "config.yaml",
        "meta.json",
        "model.json",
        "weights.safetensors",
    ]
    first, info = load_translation_network(folder)
    second, _ = load_translation_network(folder)
    x = torch.randn(1, info.in_channels, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(first(x), second(x), rtol=0, atol=0)
    assert info.target_names == ["dapi", "membrane"]
    with pytest.raises(FileExistsError, match="pass --overwrite"):
        train_translation(config, progress=False)


def test_training_resumes_from_its_last_checkpoint(synthetic_config: Path) -> None:
    config = load_translation_config(synthetic_config)
    train_translation(config, progress=False)
    longer = config.model_copy(
        update={"training": config.training.model_copy(update={"epochs": 2})}
    )
    folder = train_translation(longer, resume=True, progress=False)
    meta = read_meta(folder)
    assert meta["epochs"] == 2 and meta["batches"] == 2 * 4  # 16 crops / batch 4, twice


def test_pix2pix_with_partial_labels_trains_and_predicts(tmp_path: Path) -> None:
    write_synthetic_pairs(tmp_path, [0, 1, 2], size=64)
    raw = translation_config(
        tmp_path, architecture="pix2pix", width=8, n_blocks=1, discriminator_width=8
    )
    raw["data"]["crop_size"] = 32  # type: ignore[index]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    folder = train_translation(load_translation_config(path), progress=False)
    planes, _ = read_input_planes([tmp_path / "lf2.tif"])
    outputs = TranslationPredictor.load(folder).predict(planes)
    assert set(outputs) == {"dapi", "membrane"} and outputs["dapi"].shape == (64, 64)
    assert all(np.isfinite(image).all() for image in outputs.values())


def test_separate_strategy_trains_one_model_per_modality(tmp_path: Path) -> None:
    write_synthetic_pairs(tmp_path, [0, 1, 2], size=64)
    raw = translation_config(tmp_path, modality_strategy="separate", input_planes="resample")
    raw["data"]["samples"][1]["modality"] = "brightfield"  # type: ignore[index]
    raw["data"]["samples"][1]["targets"]["membrane"] = "membrane1.tif"  # type: ignore[index]
    # a 3-plane phase validation image: only the phase model validates on it (and resamples to 3)
    raw["data"]["validation"][0]["inputs"] = ["lf2.tif"] * 3  # type: ignore[index]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    folder = train_translation(load_translation_config(path), progress=False)
    predictor = load_predictor(folder)
    assert isinstance(predictor, PerModalityPredictor)
    assert sorted(predictor.predictors) == ["brightfield", "phase"]
    planes_of = {m: p.info.trained_planes for m, p in predictor.predictors.items()}
    assert planes_of == {"brightfield": 1, "phase": 3}
    planes, _ = read_input_planes([tmp_path / "lf2.tif"])
    assert predictor.predict(planes, "brightfield")["dapi"].shape == (64, 64)
    with pytest.raises(ValueError, match="one model per modality"):
        predictor.predict(planes, "dic")


def test_series_of_different_lengths_train_one_resample_model(tmp_path: Path) -> None:
    """Phase with 2 planes beside bright field with 1 (issue 27's modality study): ``resample``
    brings both to the longest series; ``fixed`` refuses in one line and says what takes them."""
    write_synthetic_pairs(tmp_path, [0, 1, 2], size=64)
    raw = translation_config(tmp_path, input_planes="resample", modality_strategy="dynamic")
    raw["data"]["samples"][0]["inputs"] = ["lf0.tif", "lf0.tif"]  # type: ignore[index]
    raw["data"]["samples"][1]["modality"] = "brightfield"  # type: ignore[index]
    raw["data"]["crop_size"] = 32  # type: ignore[index]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    folder = train_translation(load_translation_config(path), progress=False)
    predictor = load_predictor(folder)
    assert isinstance(predictor, TranslationPredictor)
    assert (predictor.info.in_channels, predictor.info.trained_planes) == (2, 2)
    planes, _ = read_input_planes([tmp_path / "lf2.tif"])
    assert predictor.predict(planes, "brightfield")["dapi"].shape == (64, 64)
    raw["model"]["input_planes"] = "fixed"  # type: ignore[index]
    raw["output"] = "fixed"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ValueError, match=r"different numbers of input planes: \[1, 2\].*resample"):
        train_translation(load_translation_config(path), progress=False)


def test_auto_strategy_is_unified_for_one_modality_and_the_measured_winner_for_several(
    tmp_path: Path,
) -> None:
    """``modality_strategy: auto`` (the default, issue 27): one modality trains the unified
    model; phase beside bright field trains MULTI_MODALITY_STRATEGY (dynamic, measured)."""
    from stainless.config.translation import MULTI_MODALITY_STRATEGY
    from stainless.training.translation import with_modality_strategy

    write_synthetic_pairs(tmp_path, [0, 1, 2], size=64)
    raw = translation_config(tmp_path)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    config = load_translation_config(path)
    assert config.model.modality_strategy == "auto"
    one = with_modality_strategy(config, config.data.samples)
    assert one.model.modality_strategy == "unified"
    raw["data"]["samples"][1]["modality"] = "brightfield"  # type: ignore[index]
    path.write_text(yaml.safe_dump(raw))
    config = load_translation_config(path)
    two = with_modality_strategy(config, config.data.samples)
    assert two.model.modality_strategy == MULTI_MODALITY_STRATEGY == "dynamic"
    explicit = config.model_copy(
        update={"model": config.model.model_copy(update={"modality_strategy": "unified"})}
    )
    assert with_modality_strategy(explicit, config.data.samples) is explicit


def test_a_dynamic_deeplabv3plus_translation_model_starts_a_deeplabv3plus_segmentation(
    tmp_path: Path,
) -> None:
    write_synthetic_pairs(tmp_path, [0, 1, 2], size=64)
    raw = translation_config(
        tmp_path, architecture="deeplabv3plus", width=8, modality_strategy="dynamic"
    )
    raw["data"]["samples"][1]["modality"] = "brightfield"  # type: ignore[index]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    folder = train_translation(load_translation_config(path), progress=False)
    predictor = TranslationPredictor.load(folder, device="cpu")
    assert predictor.info.size_multiple == 16
    planes, _ = read_input_planes([tmp_path / "lf2.tif"])
    phase, brightfield = (predictor.predict(planes, m)["dapi"] for m in ("phase", "brightfield"))
    assert phase.shape == (64, 64) and np.isfinite(phase).all()
    assert not np.allclose(phase, brightfield)  # the first layer is generated per modality

    translation, _ = load_translation_network(folder)
    segmentation = build_segmentation_network(
        SegmentationModelConfig(architecture="deeplabv3plus", width=8, head="semantic", classes=3),
        in_channels=1,
    )
    with pytest.warns(UserWarning, match="start random"):  # the dynamic stem, the 2-target head
        load_local_weights(segmentation.backbone, folder)
    copied = segmentation.backbone.state_dict()
    for name, tensor in translation.state_dict().items():
        if not name.startswith(("stem.0.", "head.")):
            torch.testing.assert_close(copied[name], tensor, rtol=0, atol=0)
