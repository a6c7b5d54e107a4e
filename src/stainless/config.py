"""Configuration of training runs: pydantic models (unknown keys refused), loaded from YAML.

Every check that can fail before the work starts is made here, with a message that names the
field: a typo in a key, a missing file, inconsistent planes, an impossible crop size.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Modality = Literal["brightfield", "phase", "dic", "fluorescence"]
MODALITIES: tuple[str, ...] = ("brightfield", "phase", "dic", "fluorescence")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SampleConfig(_Strict):
    """One field of view: its label-free input planes and any of its fluorescence targets.

    ``inputs`` lists files in plane order; a file may hold one plane (YX) or several (CYX/ZYX,
    all used). ``targets`` maps a target name (``dapi``, ``membrane``...) to its file; any target
    may be absent. ``modality`` defaults to what the first input's OME channel name says
    (``Phase``, ``DIC``, ``Brightfield``...). ``region`` = (y0, x0, y1, x1) restricts the sample
    to a rectangle (pixels), e.g. to split one field spatially into training and test parts.
    """

    name: str | None = None
    inputs: list[Path] = Field(min_length=1)
    targets: dict[str, Path] = Field(default_factory=dict)
    modality: Modality | None = None
    region: tuple[int, int, int, int] | None = None

    @field_validator("region")
    @classmethod
    def _region_is_a_rectangle(
        cls, region: tuple[int, int, int, int] | None
    ) -> tuple[int, int, int, int] | None:
        if region is not None:
            y0, x0, y1, x1 = region
            if not (0 <= y0 < y1 and 0 <= x0 < x1):
                raise ValueError(
                    f"region must be (y0, x0, y1, x1) with y0 < y1 and x0 < x1, got {region}"
                )
        return region

    @property
    def label(self) -> str:
        """The sample's name, or its first input's file name."""
        return self.name or self.inputs[0].name


class DataConfig(_Strict):
    """Paired training data, normalisation and sampling."""

    samples: list[SampleConfig] = Field(default_factory=list)
    manifest: Path | None = None
    validation: list[SampleConfig] = Field(default_factory=list)
    targets: list[str] | None = None
    input_percentiles: tuple[float, float] = (1.0, 99.8)
    target_scaling: Literal["percentile", "uint16"] = "percentile"
    target_percentiles: tuple[float, float] = (2.0, 99.8)
    crop_size: int = Field(256, ge=16)
    flips: bool = True
    rotations: bool = True
    batch_size: int = Field(8, ge=1)
    crops_per_epoch: int = Field(512, ge=1)
    hide_target_fraction: float = Field(0.0, ge=0.0, lt=1.0)

    @field_validator("input_percentiles", "target_percentiles")
    @classmethod
    def _percentiles_ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not 0.0 <= value[0] < value[1] <= 100.0:
            raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got {value}")
        return value


class ModelConfig(_Strict):
    """Network and modality strategy."""

    architecture: Literal["unet", "pix2pix"] = "unet"
    width: int = Field(32, ge=4)
    depth: int = Field(4, ge=1, le=6)
    n_blocks: int = Field(9, ge=1)
    discriminator_width: int = Field(64, ge=4)
    modality_strategy: Literal["unified", "dynamic", "separate"] = "unified"
    modalities: list[str] = Field(default_factory=lambda: list(MODALITIES))

    @field_validator("modalities")
    @classmethod
    def _known_modalities(cls, value: list[str]) -> list[str]:
        unknown = [m for m in value if m not in MODALITIES]
        if unknown or not value or len(set(value)) != len(value):
            raise ValueError(
                f"modalities must be distinct values from {list(MODALITIES)}, got {value}"
            )
        return value

    @property
    def size_multiple(self) -> int:
        """Tile and crop sides must be multiples of this."""
        return 2**self.depth if self.architecture == "unet" else 8


class TrainingConfig(_Strict):
    """Optimisation (Light My Cells defaults: Adam 2e-4, betas 0.5/0.999, λ1 = 100, λ2 = 1).

    ``devices`` > 1 trains data-parallel (DDP) on that many GPUs.
    """

    epochs: int = Field(100, ge=1)
    decay_epochs: int | None = Field(None, ge=0)
    learning_rate: float = Field(2e-4, gt=0)
    betas: tuple[float, float] = (0.5, 0.999)
    lambda_l1: float = Field(100.0, ge=0)
    lambda_gan: float = Field(1.0, ge=0)
    outside_range_weight: float = Field(0.1, ge=0, le=1)
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    val_every_n_steps: int = Field(100, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    devices: int = Field(1, ge=1)

    @property
    def constant_epochs(self) -> int:
        """Epochs at the full learning rate before the linear decay to 0 (half by default)."""
        decay = self.epochs // 2 if self.decay_epochs is None else self.decay_epochs
        return max(self.epochs - decay, 0)


class TranslationConfig(_Strict):
    """Everything ``stainless train translation`` needs."""

    seed: int = 0
    output: Path
    data: DataConfig
    model: ModelConfig = Field(default_factory=lambda: ModelConfig.model_validate({}))
    training: TrainingConfig = Field(default_factory=lambda: TrainingConfig.model_validate({}))

    @model_validator(mode="after")
    def _consistent(self) -> TranslationConfig:
        if not self.data.samples and self.data.manifest is None:
            raise ValueError("data: give samples or a manifest")
        multiple = self.model.size_multiple
        if self.data.crop_size % multiple:
            raise ValueError(
                f"data.crop_size {self.data.crop_size} must be a multiple of {multiple} for "
                f"model.architecture '{self.model.architecture}' (depth {self.model.depth})"
            )
        if (
            self.training.decay_epochs is not None
            and self.training.decay_epochs > self.training.epochs
        ):
            raise ValueError("training.decay_epochs cannot exceed training.epochs")
        return self


def _resolve_path(value: Any, base: Path) -> Any:
    if isinstance(value, str | os.PathLike) and not Path(value).is_absolute():
        return os.path.normpath(base / value)
    return value


def _resolve_sample_paths(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    data = dict(raw.get("data") or {})
    for key in ("samples", "validation"):
        samples = []
        for sample in data.get(key) or []:
            sample = dict(sample)
            sample["inputs"] = [_resolve_path(p, base) for p in sample.get("inputs") or []]
            sample["targets"] = {
                n: _resolve_path(p, base) for n, p in (sample.get("targets") or {}).items()
            }
            samples.append(sample)
        if key in data:
            data[key] = samples
    if "manifest" in data:
        data["manifest"] = _resolve_path(data["manifest"], base)
    resolved = dict(raw)
    resolved["data"] = data
    if "output" in resolved:
        resolved["output"] = _resolve_path(resolved["output"], base)
    return resolved


def _format_validation_error(error: ValidationError, source: str) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        problems.append(f"{where}: {item['msg']}")
    return f"config '{source}' is invalid: " + "; ".join(problems)


def load_translation_config(path: str | os.PathLike[str], **overrides: Any) -> TranslationConfig:
    """Read, resolve and validate a translation config YAML file.

    Parameters
    ----------
    path : path-like
        The YAML file; relative paths inside it are relative to its folder.
    **overrides
        Top-level values replacing the file's (e.g. ``seed=3``, ``output=...``).

    Raises
    ------
    ValueError
        Unreadable YAML, unknown or invalid keys (all problems listed in one line), missing files.
    """
    config_path = Path(path)
    if not config_path.is_file():
        raise OSError(f"config '{config_path}' does not exist")
    try:
        raw = yaml.safe_load(config_path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"config '{config_path}' is not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise ValueError(f"config '{config_path}' must hold a mapping of settings")
    raw = _resolve_sample_paths(raw, config_path.parent.resolve())
    raw.update({key: value for key, value in overrides.items() if value is not None})
    try:
        config = TranslationConfig.model_validate(raw)
    except ValidationError as error:
        raise ValueError(_format_validation_error(error, str(config_path))) from error
    for sample in [*config.data.samples, *config.data.validation]:
        for file in [*sample.inputs, *sample.targets.values()]:
            if not file.exists():
                raise ValueError(
                    f"config '{config_path}': sample '{sample.label}' file '{file}' does not exist"
                )
    return config


def dump_config(config: BaseModel) -> str:
    """The config as YAML text (paths as strings), for saving inside a model folder."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
