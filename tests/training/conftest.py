"""A tiny synthetic in silico labelling data set on disk, with its config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from stainless.data.synthetic import make_synthetic_sample
from stainless.io import write_image


def write_synthetic_pairs(folder: Path, seeds: list[int], size: int = 96) -> None:
    """``lf<seed>.tif`` (phase-like), ``dapi<seed>.tif``, ``membrane<seed>.tif`` (uint16)."""
    folder.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        sample = make_synthetic_sample((size, size), cell_radius_px=8, seed=seed)
        for name, image in (
            ("lf", sample.label_free),
            ("dapi", sample.nuclear_stain),
            ("membrane", sample.membrane_stain),
        ):
            write_image(folder / f"{name}{seed}.tif", (image * 60000).astype(np.uint16), axes="YX")


def translation_config(folder: Path, **model: object) -> dict[str, object]:
    """A small config: two training samples (one without membrane), one validation sample."""
    return {
        "seed": 0,
        "output": "model",
        "data": {
            "samples": [
                {
                    "name": "a",
                    "modality": "phase",
                    "inputs": ["lf0.tif"],
                    "targets": {"dapi": "dapi0.tif", "membrane": "membrane0.tif"},
                },
                {
                    "name": "b",
                    "modality": "phase",
                    "inputs": ["lf1.tif"],
                    "targets": {"dapi": "dapi1.tif"},
                },
            ],
            "validation": [
                {
                    "name": "c",
                    "modality": "phase",
                    "inputs": ["lf2.tif"],
                    "targets": {"dapi": "dapi2.tif"},
                }
            ],
            "crop_size": 48,
            "batch_size": 4,
            "crops_per_epoch": 16,
        },
        "model": {"architecture": "unet", "width": 8, "depth": 2, **model},
        "training": {"epochs": 1, "val_every_n_steps": 4, "learning_rate": 0.003},
    }


@pytest.fixture
def synthetic_config(tmp_path: Path) -> Path:
    write_synthetic_pairs(tmp_path, [0, 1, 2])
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(translation_config(tmp_path)))
    return path


def train_tiny_translation_model(folder: Path, **model: object) -> Path:
    """Train the tiny translation model of :func:`translation_config` (64² images, 32² crops)
    in ``folder`` with ``stainless train translation``; return its model folder."""
    from stainless.cli.main import main

    write_synthetic_pairs(folder, [0, 1, 2], size=64)
    raw = translation_config(folder, **model)
    raw["data"]["crop_size"] = 32  # type: ignore[index]
    (folder / "config.yaml").write_text(yaml.safe_dump(raw))
    argv = ["train", "translation", "--config", str(folder / "config.yaml"), "--no-progress"]
    assert main(argv) == 0
    return folder / "model"
