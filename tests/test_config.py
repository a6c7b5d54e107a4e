"""Config validation: every problem named before any work starts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stainless.config import load_translation_config
from tests.training.conftest import translation_config, write_synthetic_pairs


def _write(tmp_path: Path, raw: dict[str, object]) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_valid_config_resolves_paths_relative_to_its_file(tmp_path: Path) -> None:
    write_synthetic_pairs(tmp_path, [0, 1, 2], size=32)
    config = load_translation_config(_write(tmp_path, translation_config(tmp_path)), seed=5)
    assert config.seed == 5
    assert config.data.samples[0].inputs == [tmp_path / "lf0.tif"]
    assert config.output == tmp_path / "model"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["model"].update(widht=8), r"model\.widht: Extra inputs are not permitted"),
        (lambda c: c["data"].update(crop_size=50), "crop_size 50 must be a multiple of 4"),
        (lambda c: c["data"]["samples"][0].update(modality="xray"), "modality"),
        (
            lambda c: c["data"]["samples"][0].update(inputs=["missing.tif"]),
            r"file '.*missing\.tif' does not exist",
        ),
        (lambda c: c["data"].update(input_percentiles=[99, 1]), "percentiles must satisfy"),
        (lambda c: c["model"].update(modalities=["phase", "phase"]), "modalities must be distinct"),
    ],
)
def test_invalid_configs_are_refused_with_the_field_named(
    tmp_path: Path, change: object, message: str
) -> None:
    write_synthetic_pairs(tmp_path, [0, 1, 2], size=32)
    raw = translation_config(tmp_path)
    change(raw)  # type: ignore[operator]
    with pytest.raises(ValueError, match=message):
        load_translation_config(_write(tmp_path, raw))


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("data: [unclosed")
    with pytest.raises(ValueError, match=r"bad.yaml:1:16' is not valid YAML: .*expected ','"):
        load_translation_config(tmp_path / "bad.yaml")
    (tmp_path / "twice.yaml").write_text("seed: 0\noutput: a\nseed: 1\n")
    with pytest.raises(ValueError, match=r"twice.yaml:3:1' .* key 'seed' is given twice"):
        load_translation_config(tmp_path / "twice.yaml")
    with pytest.raises(OSError, match="does not exist"):
        load_translation_config(tmp_path / "none.yaml")


def test_set_null_on_the_command_line_clears_a_key() -> None:
    import argparse

    from stainless.cli.train import _run_overrides

    raw = {"output": "m", "data": {"samples": [{"inputs": ["a.tif"], "labels": "b.tif"}]},
           "training": {"max_minutes": 10}}  # fmt: skip
    from stainless.config.loading import apply_overrides

    cleared = argparse.Namespace(set=["training.max_minutes=null"], seed=None, output=None,
                                 max_minutes=None, max_steps=479)  # fmt: skip
    applied = apply_overrides(raw, _run_overrides(cleared))
    assert applied["training"] == {"max_minutes": None, "max_steps": 479}
    untouched = argparse.Namespace(set=[], seed=None, output=None, max_minutes=None,
                                   max_steps=None)  # fmt: skip
    assert apply_overrides(raw, _run_overrides(untouched))["training"] == {"max_minutes": 10}
