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


class SegmentationSampleConfig(_Strict):
    """One annotated image: label-free or fluorescence input planes and instance labels.

    ``labels`` holds the objects to segment (nuclei, cells; 0 = background). ``cells`` is the
    cell label image of a 3-class (background / nucleus / cytoplasm) model, whose ``labels`` are
    then the nuclei. ``region`` = (y0, x0, y1, x1) restricts the sample to a rectangle.
    """

    name: str | None = None
    inputs: list[Path] = Field(min_length=1)
    labels: Path
    cells: Path | None = None
    region: tuple[int, int, int, int] | None = None

    _region_is_a_rectangle = field_validator("region")(
        SampleConfig._region_is_a_rectangle.__func__  # type: ignore[attr-defined]
    )

    @property
    def label(self) -> str:
        """The sample's name, or its first input's file name."""
        return self.name or self.inputs[0].name


class AugmentConfig(_Strict):
    """Training augmentations, each switchable (the dense-tissue paper found rotation hurt).

    ``scaling`` = (min, max) zoom factor, ``rotation`` = any angle, ``intensity`` = random
    contrast/brightness/gamma of the normalised input.
    """

    flips: bool = True
    rot90: bool = True
    rotation: bool = False
    scaling: tuple[float, float] | None = None
    intensity: bool = False

    @field_validator("scaling")
    @classmethod
    def _scaling_range(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not 0 < value[0] <= value[1]:
            raise ValueError(f"scaling must be (min, max) with 0 < min <= max, got {value}")
        return value


class SegmentationDataConfig(_Strict):
    """Annotated images, sampling and augmentation.

    Samples come from ``samples`` or from a ``manifest`` CSV (columns ``input*``, ``labels``,
    optional ``cells``, ``name`` and ``split``; rows whose split is ``split`` train, rows whose
    split is ``validation_split`` validate). ``max_images`` keeps the first K training images
    (few-shot experiments). ``scale`` magnifies the images before the network sees them, in
    training and in prediction (2: cells of 15 px are seen as 30 px, Cellpose's working size);
    labels and post-processing stay at the original pixel size.
    """

    samples: list[SegmentationSampleConfig] = Field(default_factory=list)
    validation: list[SegmentationSampleConfig] = Field(default_factory=list)
    manifest: Path | None = None
    split: str = "train"
    validation_split: str | None = "val"
    max_images: int | None = Field(None, ge=1)
    input_percentiles: tuple[float, float] = (1.0, 99.8)
    crop_size: int = Field(256, ge=16)
    batch_size: int = Field(8, ge=1)
    crops_per_epoch: int = Field(512, ge=1)
    class_balanced: bool = True
    augment: AugmentConfig = Field(default_factory=lambda: AugmentConfig.model_validate({}))
    scale: float = Field(1.0, ge=0.25, le=4.0)

    _percentiles_ordered = field_validator("input_percentiles")(
        DataConfig._percentiles_ordered.__func__  # type: ignore[attr-defined]
    )


class SegmentationModelConfig(_Strict):
    """Backbone, head and (optionally) the translation model it starts from.

    Heads: ``semantic`` (``classes`` 2 → one sigmoid map, 3 → softmax over background / nucleus /
    cytoplasm), ``distance`` (normalised distance + mask logits), ``hover`` (foreground logits
    pair + horizontal/vertical maps). ``init`` = a translation model folder whose U-Net starts the
    training; ``init_target`` picks its output (default: its first target).
    """

    architecture: Literal["unet", "tiramisu", "tiramisu103", "deeplabv3plus"] = "unet"
    width: int = Field(32, ge=4)
    depth: int = Field(4, ge=1, le=6)
    head: Literal["semantic", "distance", "hover"] = "distance"
    classes: Literal[2, 3] = 2
    init: Path | None = None
    init_target: str | None = None
    shifted_sigmoid_alpha: float = Field(10.0, gt=0)
    encoder_weights: Path | None = None

    @property
    def size_multiple(self) -> int:
        """Tile and crop sides must be multiples of this."""
        if self.architecture == "unet":
            return int(2**self.depth)
        return 32 if self.architecture.startswith("tiramisu") else 16


class SegmentationTrainingConfig(_Strict):
    """Optimisation and losses.

    ``semantic_loss``: class-weighted cross-entropy (``ce``), soft Dice (``dice``), soft Jaccard
    (``jaccard``) or ``ce+dice``. ``class_weights``: per-class CE weights, or ``balanced``
    (inverse class frequency of the training labels). ``distance_alpha``: weight of the mask BCE
    against the distance MSE; by default the ratio of the two losses on the first batch (ISL
    pretraining paper, eq. 2). ``freeze_epochs``: epochs during which a translation-initialised
    body stays frozen and only the new head learns.
    """

    epochs: int = Field(50, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-5, ge=0)
    semantic_loss: Literal["ce", "dice", "jaccard", "ce+dice"] = "ce+dice"
    class_weights: list[float] | Literal["balanced"] | None = None
    distance_alpha: float | None = Field(None, gt=0)
    freeze_epochs: int = Field(0, ge=0)
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    val_every_n_steps: int = Field(100, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    devices: int = Field(1, ge=1)


class PostprocessConfig(_Strict):
    """Maps → labels. ``tune_on: val`` searches ``mask_threshold`` and ``h`` on the validation
    images after training (best mean csi@0.5) and stores them in the model folder."""

    mask_threshold: float = Field(0.5, gt=0, lt=1)
    h: float = Field(0.3, gt=0)
    border_threshold: float = Field(0.3, gt=0, lt=1)
    min_size_px: int = Field(10, ge=0)
    tune_on: Literal["val"] | None = None


class SegmentationConfig(_Strict):
    """Everything ``stainless train segmentation`` needs."""

    seed: int = 0
    output: Path
    data: SegmentationDataConfig
    model: SegmentationModelConfig = Field(
        default_factory=lambda: SegmentationModelConfig.model_validate({})
    )
    training: SegmentationTrainingConfig = Field(
        default_factory=lambda: SegmentationTrainingConfig.model_validate({})
    )
    postprocess: PostprocessConfig = Field(
        default_factory=lambda: PostprocessConfig.model_validate({})
    )

    @model_validator(mode="after")
    def _consistent(self) -> SegmentationConfig:
        if not self.data.samples and self.data.manifest is None:
            raise ValueError("data: give samples or a manifest")
        # with model.init the translation model's own multiple is checked when it is loaded
        multiple = 1 if self.model.init is not None else self.model.size_multiple
        if self.data.crop_size % multiple:
            raise ValueError(
                f"data.crop_size {self.data.crop_size} must be a multiple of {multiple} for "
                f"model.architecture '{self.model.architecture}'"
            )
        if self.model.init is not None and self.model.architecture != "unet":
            raise ValueError("model.init (a translation model) needs model.architecture 'unet'")
        weights = self.training.class_weights
        if isinstance(weights, list) and len(weights) != self.model.classes:
            raise ValueError(
                f"training.class_weights has {len(weights)} values for {self.model.classes} classes"
            )
        if self.postprocess.tune_on == "val" and not (
            self.data.validation or (self.data.manifest and self.data.validation_split)
        ):
            raise ValueError("postprocess.tune_on 'val' needs validation images")
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
            if "targets" in sample:
                sample["targets"] = {
                    n: _resolve_path(p, base) for n, p in (sample.get("targets") or {}).items()
                }
            for key_of_file in ("labels", "cells"):
                if sample.get(key_of_file) is not None:
                    sample[key_of_file] = _resolve_path(sample[key_of_file], base)
            samples.append(sample)
        if key in data:
            data[key] = samples
    if "manifest" in data:
        data["manifest"] = _resolve_path(data["manifest"], base)
    resolved = dict(raw)
    resolved["data"] = data
    if "output" in resolved:
        resolved["output"] = _resolve_path(resolved["output"], base)
    model = dict(raw.get("model") or {})
    for key in ("init", "encoder_weights"):
        if model.get(key) is not None:
            model[key] = _resolve_path(model[key], base)
    if model:
        resolved["model"] = model
    return resolved


def _format_validation_error(error: ValidationError, source: str) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        problems.append(f"{where}: {item['msg']}")
    return f"config '{source}' is invalid: " + "; ".join(problems)


def _read_config_file(config_path: Path, overrides: dict[str, Any]) -> dict[str, Any]:
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
    return raw


def _check_files_exist(config_path: Path, named_files: list[tuple[str, Path]]) -> None:
    for owner, file in named_files:
        if not file.exists():
            raise ValueError(f"config '{config_path}': {owner} file '{file}' does not exist")


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
    raw = _read_config_file(config_path, overrides)
    try:
        config = TranslationConfig.model_validate(raw)
    except ValidationError as error:
        raise ValueError(_format_validation_error(error, str(config_path))) from error
    _check_files_exist(
        config_path,
        [
            (f"sample '{sample.label}'", file)
            for sample in [*config.data.samples, *config.data.validation]
            for file in [*sample.inputs, *sample.targets.values()]
        ],
    )
    return config


def load_segmentation_config(path: str | os.PathLike[str], **overrides: Any) -> SegmentationConfig:
    """Read, resolve and validate a segmentation config YAML file.

    ``overrides`` replace top-level values; a dotted key (``model.init``) replaces a nested one.
    Raises ``ValueError`` naming every problem, as :func:`load_translation_config`.
    """
    config_path = Path(path)
    top = {k: v for k, v in overrides.items() if "." not in k}
    raw = _read_config_file(config_path, top)
    for dotted, value in overrides.items():
        if "." in dotted and value is not None:
            section, key = dotted.split(".", 1)
            raw[section] = {**(raw.get(section) or {}), key: value}
    try:
        config = SegmentationConfig.model_validate(raw)
    except ValidationError as error:
        raise ValueError(_format_validation_error(error, str(config_path))) from error
    files = [
        (f"sample '{sample.label}'", file)
        for sample in [*config.data.samples, *config.data.validation]
        for file in [*sample.inputs, sample.labels, *([sample.cells] if sample.cells else [])]
    ]
    if config.data.manifest is not None:
        files.append(("data.manifest", config.data.manifest))
    if config.model.init is not None:
        files.append(("model.init", config.model.init))
    _check_files_exist(config_path, files)
    return config


def dump_config(config: BaseModel) -> str:
    """The config as YAML text (paths as strings), for saving inside a model folder."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
