"""The config of ``stainless train segmentation`` (semantic and instance heads)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from stainless.config._base import Percentiles, RunSettings, SampleBase, Strict


class SegmentationSampleConfig(SampleBase):
    """One annotated image: label-free or fluorescence input planes and instance labels.

    ``labels`` holds the objects to segment (nuclei, cells; 0 = background). ``cells`` is the
    cell label image of a 3-class (background / nucleus / cytoplasm) model, whose ``labels`` are
    then the nuclei. ``region`` = (y0, x0, y1, x1) restricts the sample to a rectangle.
    ``pseudo``: the labels are a model's pseudo-labels (self-training), so the crops of this
    image get the strong augmentation (:mod:`stainless.data.strong_augment`). ``weight``: how
    often the image is drawn for a crop relative to the others (a manifest's ``weight`` column;
    balances sets of very different image counts).
    """

    labels: Path
    cells: Path | None = None
    pseudo: bool = False
    weight: float = Field(default=1.0, gt=0)


class AugmentConfig(Strict):
    """Training augmentations, each switchable ([Han2024] found rotation hurt).

    ``scaling`` = (min, max) zoom factor, ``rotation`` = any angle, ``intensity`` = random
    contrast, brightness and noise of the normalised input, ``invert`` = bright and dark swapped
    on half of the crops, ``colour`` = a random gain and offset per input plane
    (:mod:`stainless.data.colour`), ``gamma`` = a random intensity curve x^γ (γ 0.5–2),
    ``blur`` = a Gaussian blur (σ 0.5–2 px) on half of the crops, ``channel_dropout`` = the
    probability that the planes after the first (a cell model's nucleus channel) are zeroed, so
    the model also works without them. The last three remove modality cues for a generalist
    (issue 25). An absent plane (all zeros, as the model sees a missing channel) stays zeros.
    """

    flips: bool = True
    rot90: bool = True
    rotation: bool = False
    scaling: tuple[float, float] | None = None
    intensity: bool = False
    invert: bool = False
    colour: bool = False
    gamma: bool = False
    blur: bool = False
    channel_dropout: float = Field(0.0, ge=0.0, le=1.0)

    @field_validator("scaling")
    @classmethod
    def _scaling_range(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not 0 < value[0] <= value[1]:
            raise ValueError(f"scaling must be (min, max) with 0 < min <= max, got {value}")
        return value


class SegmentationDataConfig(Strict):
    """Annotated images, sampling and augmentation.

    Samples come from ``samples`` or from a ``manifest`` CSV (columns ``input*``, ``labels``,
    optional ``cells``, ``name`` and ``split``; rows whose split is ``split`` train, rows whose
    split is ``validation_split`` validate). ``max_images`` keeps the first K training images
    (few-shot experiments). ``scale`` magnifies the images before the network sees them, in
    training and in prediction (2: cells of 15 px are seen as 30 px, Cellpose's working size);
    labels and post-processing stay at the original pixel size. ``crops_per_epoch`` random
    crops of ``crop_size``² make one epoch; ``validation_fraction`` holds out that fraction of
    each training image (its last columns, or rows when the image is taller than wide) as
    validation images, so one region per image is enough. ``channels`` picks the network's
    inputs from each image, Cellpose-style (``[2, 1]``: cytoplasm in green, nucleus in red;
    names or 1-based indices, 0 = absent; see :mod:`stainless.io.channels`); it is stored with
    the model and applied again at prediction. ``input_planes`` ``any`` (mean and spread) or
    ``resample`` (along z to the training plane count) feeds the network a random run of each
    crop's planes (one plane on ``single_plane_fraction`` of the crops;
    :mod:`stainless.data.plane_stem`), so the model takes one plane or a focus series of any
    length; unset, it follows the translation model in ``model.init`` (else ``fixed``).
    ``pixel_size_um``: the training images' pixel size, saved with the model (unset: from the
    first image's metadata, if any). ``colour``: ``grey`` (one plane; RGB images averaged) or
    ``rgb`` (three planes; grey images repeated) lets one network take grey and colour images
    (:mod:`stainless.data.colour`; stored with the model). ``object_diameter`` (px): each
    image is resampled so that the median equivalent diameter of its objects becomes this
    ([Stringer2021]'s training at one diameter), for a model of many sources whose objects
    differ in size; such a model finds the size of new images itself (``segment --diameter
    auto`` is its default). ``unlabelled``: images without labels (a folder, a quoted glob or
    a manifest CSV with ``input*`` columns) for self-training (:class:`SelfTrainingConfig`).
    """

    samples: list[SegmentationSampleConfig] = Field(default_factory=list)
    validation: list[SegmentationSampleConfig] = Field(default_factory=list)
    manifest: Path | None = None
    split: str = "train"
    validation_split: str | None = "val"
    max_images: int | None = Field(None, ge=1)
    validation_fraction: float = Field(0.0, ge=0.0, lt=0.5)
    input_percentiles: Percentiles = (1.0, 99.8)
    crop_size: int = Field(256, ge=16)
    batch_size: int = Field(8, ge=1)
    crops_per_epoch: int = Field(512, ge=1)
    class_balanced: bool = True
    augment: AugmentConfig = Field(default_factory=lambda: AugmentConfig.model_validate({}))
    scale: float = Field(1.0, ge=0.25, le=4.0)
    channels: list[int | str] | None = None
    input_planes: Literal["fixed", "any", "resample"] | None = None
    single_plane_fraction: float = Field(0.5, ge=0.0, le=1.0)
    pixel_size_um: float | None = Field(None, gt=0)
    colour: Literal["as_is", "grey", "rgb"] = "as_is"
    object_diameter: float | None = Field(None, ge=4.0, le=200.0)
    unlabelled: Path | None = None

    @field_validator("channels")
    @classmethod
    def _some_channel(cls, channels: list[int | str] | None) -> list[int | str] | None:
        if channels is not None:
            from stainless.io.channels import check_channels

            check_channels(channels)
        return channels


class SegmentationModelConfig(Strict):
    """Backbone, head and (optionally) the translation model it starts from.

    Heads: ``semantic`` (``classes`` 2 → one sigmoid map, 3 → softmax over background / nucleus /
    cytoplasm), ``distance`` (normalised distance + mask logits), ``hover`` (foreground logits
    pair + horizontal/vertical maps). ``init`` = a translation model folder whose U-Net starts the
    training; ``init_target`` picks its output (default: its first target).
    ``encoder_weights``: a local weight file, or a trained segmentation model folder of the same
    architecture and head to fine-tune (a generalist body, as Cellpose users fine-tune ``cyto``),
    or a translation model folder of the same network (a U-Net, or DeepLabv3+ of the same
    ``width``): its whole network starts this one (every
    tensor of matching name and shape, the first layer summed when the images have one plane), so
    the head reads its last feature maps where ``init`` feeds the head its one output map.
    """

    architecture: Literal["unet", "tiramisu", "tiramisu103", "deeplabv3plus"] = "unet"
    width: int = Field(32, ge=4)
    depth: int = Field(4, ge=1, le=6)
    head: str = "distance"
    classes: Literal[2, 3] = 2
    init: Path | None = None
    init_target: str | None = None
    shifted_sigmoid_alpha: float = Field(10.0, gt=0)
    encoder_weights: Path | None = None

    @field_validator("head")
    @classmethod
    def _declared_head(cls, head: str) -> str:
        from stainless.models.heads import HEADS  # the heads' registry (imports torch)

        if head not in HEADS:
            raise ValueError(f"unknown head '{head}'; expected one of {sorted(HEADS)}")
        return head

    @property
    def size_multiple(self) -> int:
        """Tile and crop sides must be multiples of this."""
        if self.architecture == "unet":
            return int(2**self.depth)
        return 32 if self.architecture.startswith("tiramisu") else 16


class SegmentationTrainingConfig(RunSettings):
    """Optimisation and losses, plus the shared :class:`RunSettings`.

    ``semantic_loss``: class-weighted cross-entropy (``ce``), soft Dice (``dice``), soft Jaccard
    (``jaccard``) or ``ce+dice``. ``class_weights``: per-class CE weights, or ``balanced``
    (inverse class frequency of the training labels). ``distance_alpha``: weight of the mask BCE
    against the distance MSE; by default the ratio of the two losses on the first batch
    ([Bonte2022], eq. 2). ``freeze_epochs``: epochs during which a translation-initialised body
    stays frozen and only the new head learns. ``optimizer``: Adam, or AdamW (decoupled weight
    decay, Loshchilov & Hutter 2019). The learning rate warms up linearly over ``warmup_steps``,
    then decays by a cosine to ``final_lr_fraction`` × ``learning_rate`` exactly when the run's
    budget (epochs, ``max_steps`` or ``max_minutes``, whichever ends it) is spent.
    """

    epochs: int = Field(50, ge=1)
    optimizer: Literal["adam", "adamw"] = "adam"
    weight_decay: float = Field(1e-5, ge=0)
    warmup_steps: int = Field(0, ge=0)
    final_lr_fraction: float = Field(0.05, ge=0, le=1)
    semantic_loss: Literal["ce", "dice", "jaccard", "ce+dice"] = "ce+dice"
    class_weights: list[float] | Literal["balanced"] | None = None
    distance_alpha: float | None = Field(None, gt=0)
    freeze_epochs: int = Field(0, ge=0)


class PostprocessConfig(Strict):
    """Maps → labels. ``tune_on: val`` searches the head's thresholds (``mask_threshold`` and
    ``h``, ``border_threshold`` or ``flow_threshold``) on the validation images after training
    (best mean csi@0.5) and stores them in the model folder."""

    mask_threshold: float = Field(0.5, gt=0, lt=1)
    h: float = Field(0.3, gt=0)
    border_threshold: float = Field(0.3, gt=0, lt=1)
    flow_threshold: float = Field(0.4, ge=0)
    min_size_px: int = Field(10, ge=0)
    tune_on: Literal["val"] | None = None


class SelfTrainingConfig(Strict):
    """Self-training on ``data.unlabelled`` (ST++, Yang et al., CVPR 2022, as used by
    [Xue2022]; :mod:`stainless.experiments.self_training`).

    ``method``: ``st++`` — supervised training saving ``checkpoints`` snapshots along the way
    (the last is the final model); each unlabelled image's reliability is the mean instance
    csi@0.50 of the earlier snapshots' labels against the final model's; the most reliable
    ``reliable_fraction`` are pseudo-labelled and trained on with the labelled images (strong
    augmentation on the pseudo-labelled only), the rest pseudo-labelled by that model, and
    everything trained on once more. ``st``: pseudo-label every unlabelled image with the
    supervised model and train once on everything (the baseline). Each training stage runs with
    the ``training`` budget; ``warm_start`` starts a stage from the previous stage's weights
    (ST++ re-initialises: ``false``). ``max_unlabelled`` uses the first N unlabelled images.
    """

    method: Literal["st++", "st"] = "st++"
    checkpoints: int = Field(3, ge=2, le=10)
    reliable_fraction: float = Field(0.5, gt=0.0, lt=1.0)
    warm_start: bool = True
    max_unlabelled: int | None = Field(None, ge=1)


SELF_TRAINING_HEADS = ("flows", "distance", "hover")
"""Heads whose labels can be pseudo-labels (instance heads)."""


class SegmentationConfig(Strict):
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
    self_training: SelfTrainingConfig = Field(
        default_factory=lambda: SelfTrainingConfig.model_validate({})
    )

    @model_validator(mode="after")
    def _consistent(self) -> SegmentationConfig:
        if self.data.unlabelled is not None and self.model.head not in SELF_TRAINING_HEADS:
            raise ValueError(
                f"data.unlabelled: model.head '{self.model.head}' cannot self-train (its output "
                f"is not instance labels); use one of {', '.join(SELF_TRAINING_HEADS)}"
            )
        if not self.data.samples and self.data.manifest is None:
            raise ValueError("data: give samples or a manifest")
        # with model.init the translation model's own multiple is checked when it is loaded
        multiple = 1 if self.model.init is not None else self.model.size_multiple
        if self.data.crop_size % multiple:
            raise ValueError(
                f"data.crop_size {self.data.crop_size} must be a multiple of {multiple} for "
                f"model.architecture '{self.model.architecture}'"
            )
        from stainless.models.heads import HEADS  # the heads' registry (imports torch)

        if self.model.classes not in HEADS[self.model.head].classes:
            raise ValueError(
                f"model.head '{self.model.head}' supports model.classes "
                f"{list(HEADS[self.model.head].classes)}, not {self.model.classes}"
            )
        if self.model.init is not None and self.model.architecture != "unet":
            raise ValueError("model.init (a translation model) needs model.architecture 'unet'")
        weights = self.training.class_weights
        if isinstance(weights, list) and len(weights) != self.model.classes:
            raise ValueError(
                f"training.class_weights has {len(weights)} values for {self.model.classes} classes"
            )
        if self.postprocess.tune_on == "val" and not (
            self.data.validation
            or self.data.validation_fraction > 0
            or (self.data.manifest and self.data.validation_split)
        ):
            raise ValueError("postprocess.tune_on 'val' needs validation images")
        return self
