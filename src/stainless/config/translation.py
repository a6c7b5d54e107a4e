"""The config of ``stainless train translation`` (in silico labelling)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from stainless.config._base import (
    MODALITIES,
    Modality,
    Percentiles,
    RunSettings,
    SampleBase,
    Strict,
)


class SampleConfig(SampleBase):
    """One field of view: its label-free input planes and any of its fluorescence targets.

    ``inputs`` lists files in plane order; a file may hold one plane (YX) or several (CYX/ZYX,
    all used). ``targets`` maps a target name (``dapi``, ``membrane``...) to its file; any target
    may be absent. ``modality`` defaults to what the first input's OME channel name says
    (``Phase``, ``DIC``, ``Brightfield``...). ``region`` = (y0, x0, y1, x1) restricts the sample
    to a rectangle (pixels), e.g. to split one field spatially into training and test parts.
    """

    targets: dict[str, Path] = Field(default_factory=dict)
    modality: Modality | None = None


class DataConfig(Strict):
    """Paired training data, normalisation and sampling.

    ``crops_per_epoch`` random crops of ``crop_size``² make one epoch; ``validation_fraction``
    holds out that fraction of each training image (its last columns, or rows when the image is
    taller than wide) as validation images, so one region per image is enough.
    ``single_plane_fraction``: with ``model.input_planes`` ``any`` or ``resample``, the share of
    training crops that see one plane (the others see a random run of 2..N planes).
    ``pixel_size_um``: the training images' pixel size, saved with the model so that
    ``predict`` can bring other images to it
    (unset: taken from the first input's metadata when it has one). ``gamma_range``: a random
    tone-curve change ``x^γ`` of each training crop's normalised inputs, γ log-uniform in the
    range (e.g. ``[0.7, 1.4]``), for cameras with another response.
    """

    samples: list[SampleConfig] = Field(default_factory=list)
    manifest: Path | None = None
    validation: list[SampleConfig] = Field(default_factory=list)
    validation_fraction: float = Field(0.0, ge=0.0, lt=0.5)
    targets: list[str] | None = None
    input_percentiles: Percentiles = (1.0, 99.8)
    target_scaling: Literal["percentile", "uint16"] = "percentile"
    target_percentiles: Percentiles = (2.0, 99.8)
    crop_size: int = Field(256, ge=16)
    flips: bool = True
    rotations: bool = True
    batch_size: int = Field(8, ge=1)
    crops_per_epoch: int = Field(512, ge=1)
    hide_target_fraction: float = Field(0.0, ge=0.0, lt=1.0)
    single_plane_fraction: float = Field(0.5, ge=0.0, le=1.0)
    gamma_range: tuple[float, float] | None = None
    pixel_size_um: float | None = Field(None, gt=0)

    @field_validator("gamma_range")
    @classmethod
    def _gamma_range(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not 0 < value[0] <= value[1]:
            raise ValueError(f"gamma_range must be [low, high] with 0 < low <= high, got {value}")
        return value


MULTI_MODALITY_STRATEGY = "dynamic"
"""``modality_strategy: auto`` for training data of several modalities: one translation model
for isl-neurons phase contrast + sephace bright field → DAPI, 800 steps each, held-out DAPI PCC
phase / bright field: unified 0.566 / 0.731, dynamic 0.633 / 0.713, separate (two networks,
twice the steps) 0.701 / 0.671 (``benchmarks/studies/modality_strategies.py``)."""


class ModelConfig(Strict):
    """Network and modality strategy.

    ``architecture``: the U-Net regressor (``width``, ``depth``), pix2pix's ResNet generator
    with its PatchGAN discriminators (``width``, ``n_blocks``; [LightMyCells2024]) or
    DeepLabv3+ (``width``; the same network as a segmentation model's, so its weights can start
    a DeepLabv3+ segmentation model: in silico labelling pretraining for that architecture).
    ``input_planes``: ``fixed`` feeds the planes as channels (the model then takes exactly as
    many planes as it was trained on); ``any`` feeds their mean and spread; ``resample`` feeds
    them resampled along z to the training plane count (one plane repeated). With ``any`` or
    ``resample`` the model takes one plane or a focus series of any length
    (:mod:`stainless.data.plane_stem`). ``modality_strategy`` ([LightMyCells2024]): ``unified``
    (one first layer for every modality), ``dynamic`` (the first layer's kernel generated from
    the modality), ``separate`` (one model per modality); ``auto`` = ``unified`` when the
    training samples share one modality, :data:`MULTI_MODALITY_STRATEGY` when they hold several
    (the one-network strategy measured best on phase contrast + bright field, issue 27).
    """

    architecture: Literal["unet", "pix2pix", "deeplabv3plus"] = "unet"
    input_planes: Literal["fixed", "any", "resample"] = "fixed"
    width: int = Field(32, ge=4)
    depth: int = Field(4, ge=1, le=6)
    n_blocks: int = Field(9, ge=1)
    discriminator_width: int = Field(64, ge=4)
    modality_strategy: Literal["auto", "unified", "dynamic", "separate"] = "auto"
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
        return {"unet": 2**self.depth, "pix2pix": 8}.get(self.architecture, 16)


class TrainingConfig(RunSettings):
    """Optimisation (Light My Cells defaults [LightMyCells2024]: Adam 2e-4, betas 0.5/0.999,
    λ1 = 100, λ2 = 1), plus the shared :class:`RunSettings`.

    ``pcc_weight``: the U-Net's loss adds ``pcc_weight · (1 − PCC)`` per present target, the PCC
    taken over the batch's pixels (a correlation-aware loss, as the Light My Cells entries that
    score PCC use). ``schedule``: ``linear_decay`` (constant learning rate, then linear to 0 over
    ``decay_epochs``) or ``warmup_cosine`` (warm-up, then a cosine that ends where the step or
    ``max_minutes`` budget ends, :mod:`stainless.training.schedule`).
    """

    epochs: int = Field(100, ge=1)
    learning_rate: float = Field(2e-4, gt=0)
    decay_epochs: int | None = Field(None, ge=0)
    betas: tuple[float, float] = (0.5, 0.999)
    lambda_l1: float = Field(100.0, ge=0)
    lambda_gan: float = Field(1.0, ge=0)
    outside_range_weight: float = Field(0.1, ge=0, le=1)
    pcc_weight: float = Field(0.0, ge=0)
    schedule: Literal["linear_decay", "warmup_cosine"] = "linear_decay"

    @property
    def constant_epochs(self) -> int:
        """Epochs at the full learning rate before the linear decay to 0 (half by default)."""
        decay = self.epochs // 2 if self.decay_epochs is None else self.decay_epochs
        return max(self.epochs - decay, 0)


class TranslationConfig(Strict):
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
