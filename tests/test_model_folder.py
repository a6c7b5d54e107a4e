"""The model folder: written and read only through stainless.model_folder."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from stainless import model_folder
from stainless.config import SegmentationConfig


def _folder(tmp_path: Path) -> Path:
    config = SegmentationConfig.model_validate(
        {"output": str(tmp_path / "m"), "data": {"samples": [{"inputs": ["a"], "labels": "b"}]}}
    )
    info = model_folder.SegmentationModelInfo(
        head="distance",
        classes=2,
        in_channels=1,
        input_percentiles=(1.0, 99.8),
        size_multiple=16,
        thresholds={"mask_threshold": 0.5, "h": 0.3},
    )
    state = {"weight": torch.ones(2, 3)}
    return model_folder.save_model_folder(config.output, config, state, info, {"seed": 0})


def test_save_then_read_gives_back_what_was_written(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    assert model_folder.is_model_folder(folder)
    assert model_folder.read_segmentation_info(folder).thresholds["h"] == 0.3
    assert model_folder.read_segmentation_config(folder).output == folder
    assert torch.equal(model_folder.read_weights(folder)["weight"], torch.ones(2, 3))
    assert model_folder.read_meta(folder) == {"seed": 0}
    with pytest.raises(ValueError, match="is a segmentation model, not a translation model"):
        model_folder.read_translation_info(folder)


def test_update_replaces_the_info_and_merges_the_meta(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    info = model_folder.read_segmentation_info(folder)
    tuned = replace(info, thresholds={"mask_threshold": 0.4, "h": 0.1})
    model_folder.update_model_folder(folder, info=tuned, meta={"tuning": {"h": 0.1}})
    assert model_folder.read_segmentation_info(folder).thresholds["h"] == 0.1
    assert model_folder.read_meta(folder) == {"seed": 0, "tuning": {"h": 0.1}}
    with pytest.raises(ValueError, match="not a stainless model folder"):
        model_folder.update_model_folder(tmp_path, meta={})


def test_built_in_names_and_missing_folders(tmp_path: Path) -> None:
    assert model_folder.is_model_folder(model_folder.resolve_model("nuclei-fluorescence"))
    with pytest.raises(ValueError, match="neither a model folder nor a built-in model"):
        model_folder.resolve_model("no-such-model")
    with pytest.raises(ValueError, match="does not exist"):
        model_folder.resolve_model(tmp_path / "missing")
