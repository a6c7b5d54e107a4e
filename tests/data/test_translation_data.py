"""Loading paired samples, balanced crops, partial labels, manifests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from stainless.config import DataConfig, SampleConfig, load_translation_config
from stainless.data.augment import random_dihedral
from stainless.data.translation import (
    TrainingCrops,
    load_sample,
    samples_from_manifest,
    target_names_of,
)
from stainless.io import ImageMetadata, modality_from_channel_names, write_image
from tests.training.conftest import translation_config, write_synthetic_pairs


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    write_synthetic_pairs(tmp_path, [0, 1, 2], size=64)
    path = tmp_path / "config.yaml"
    raw = translation_config(tmp_path)
    raw["data"]["samples"][0]["region"] = [0, 0, 64, 40]  # type: ignore[index]
    path.write_text(yaml.safe_dump(raw))
    return path


def test_samples_load_normalised_with_regions_and_missing_targets(config_path: Path) -> None:
    config = load_translation_config(config_path)
    names = target_names_of(config.data.samples, None)
    assert names == ["dapi", "membrane"]
    first = load_sample(config.data.samples[0], names, config.data, config.model.modalities)
    second = load_sample(config.data.samples[1], names, config.data, config.model.modalities)
    assert first.inputs.shape == (1, 64, 40) and first.targets.shape == (2, 64, 40)
    assert first.present.tolist() == [True, True] and second.present.tolist() == [True, False]
    assert not second.targets[1].any() and second.scales[1] is None
    assert np.percentile(first.targets[0], 2) == pytest.approx(-1.0, abs=1e-3)  # percentile scaling
    assert first.modality == config.model.modalities.index("phase")


def test_crops_balance_targets_and_can_hide_them(config_path: Path) -> None:
    config = load_translation_config(config_path)
    names = ["dapi", "membrane"]
    samples = [
        load_sample(s, names, config.data, config.model.modalities) for s in config.data.samples
    ]
    crops = TrainingCrops(samples, 32, 40, seed=0)
    # Odd crops serve "membrane", which only sample "a" has: every odd crop must include it.
    assert all(bool(crops[i]["present"][1]) for i in range(1, 40, 2))
    item = crops[0]
    assert item["input"].shape == (1, 32, 32) and item["target"].shape == (2, 32, 32)
    hidden = TrainingCrops(samples, 32, 300, hide_target_fraction=0.5, seed=1)
    present = np.array([hidden[i]["present"][0].item() for i in range(300)])
    assert 0.35 < present.mean() < 0.65
    with pytest.raises(ValueError, match=r"smaller than data\.crop_size 96"):
        TrainingCrops(samples, 96, 4)


def test_dihedral_augmentation_moves_inputs_and_targets_together() -> None:
    rng = np.random.default_rng(0)
    image = rng.random((1, 8, 8))
    for _ in range(8):
        a, b = random_dihedral([image, image * 2], rng, flips=True, rotations=True)
        np.testing.assert_array_equal(b, 2 * a)
    same = random_dihedral([image], rng, flips=False, rotations=False)[0]
    np.testing.assert_array_equal(same, image)


def test_manifest_with_an_empty_target_cell_is_a_partial_label(tmp_path: Path) -> None:
    write_synthetic_pairs(tmp_path, [0, 1], size=32)
    manifest = tmp_path / "samples.csv"
    manifest.write_text(
        "name,input_phase,target_dapi,target_membrane,modality\n"
        "a,lf0.tif,dapi0.tif,membrane0.tif,phase\n"
        "b,lf1.tif,dapi1.tif,,brightfield\n"
    )
    samples = samples_from_manifest(manifest)
    assert [s.label for s in samples] == ["a", "b"]
    assert set(samples[1].targets) == {"dapi"} and samples[1].modality == "brightfield"
    assert samples[0].inputs == [tmp_path / "lf0.tif"]


def test_modality_comes_from_the_config_or_the_ome_channel_name(tmp_path: Path) -> None:
    assert modality_from_channel_names(("Phase contrast",)) == "phase"
    assert modality_from_channel_names(("BF",)) == "brightfield"
    assert modality_from_channel_names(("DIC 40x",)) == "dic"
    assert (
        modality_from_channel_names(("BFP", "GFP")) is None
    )  # fluorescent proteins, not modalities
    image = np.zeros((1, 32, 32), np.uint16)
    write_image(
        tmp_path / "in.ome.tif", image, axes="CYX", metadata=ImageMetadata(channel_names=("DIC",))
    )
    write_image(tmp_path / "plain.tif", image[0], axes="YX")
    write_image(tmp_path / "t.tif", image[0], axes="YX")
    data = DataConfig(crop_size=16)
    named = SampleConfig(inputs=[tmp_path / "in.ome.tif"], targets={"t": tmp_path / "t.tif"})
    modalities = ["phase", "dic"]
    assert load_sample(named, ["t"], data, modalities, require_modality=True).modality == 1
    anonymous = SampleConfig(inputs=[tmp_path / "plain.tif"], targets={"t": tmp_path / "t.tif"})
    assert load_sample(anonymous, ["t"], data, modalities).modality == 0  # unified: not needed
    with pytest.raises(ValueError, match="no modality given"):
        load_sample(anonymous, ["t"], data, modalities, require_modality=True)
