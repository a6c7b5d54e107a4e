"""The config of ``stainless experiment sweep``: task × K × init × seed × variant."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from stainless.config._base import Strict
from stainless.config.segmentation import SegmentationSampleConfig

SWEEP_PATHS: tuple[str, ...] = (
    "csv",
    "runs",
    "tasks.*",
    "inits.*",
    "test.*.inputs.*",
    "test.*.labels",
    "test_manifest",
)
"""Where a sweep config names files (relative to the YAML file)."""
_RANDOM_ONLY: dict[str, Path | None] = {"random": None}


class SweepConfig(Strict):
    """A resumable grid of segmentation trainings, each scored on held-out images.

    ``tasks`` maps a name to a segmentation config; ``inits`` maps a name to a translation model
    folder (its U-Net starts the run, ``model.init``), a trained segmentation model folder or
    built-in name of the same architecture (fine-tuned whole, ``model.encoder_weights``) or
    ``null`` (random weights); ``k`` lists training-image counts (``all`` = every sample of the
    task), taken from a seeded permutation of the task's samples (``subset: permutation``, so
    seeds differ in data as well as weights) or in config order (``subset: first``); with
    ``pair_validation`` the task's ``validation`` list holds one image per training image, and
    the K chosen images bring theirs (a task whose config reads a ``manifest`` takes its
    ``split`` rows as samples and its ``validation_split`` rows as validation images).
    ``variants`` maps a name to dotted config overrides (``{"data.crop_size": 256}``);
    ``min_size_px`` adds scores with ground truth and prediction filtered to objects of at least
    that many pixels. The held-out images are those of ``test`` and the ``test_split`` rows of
    ``test_manifest`` (a CSV as a segmentation ``data.manifest``). Every run appends one row to
    ``csv``; rerunning skips the rows already there. ``score_inits``: each init that is a trained
    segmentation model is also scored untouched (a row with ``k`` 0 and variant ``untouched``),
    the baseline a fine-tuning must beat. ``weight_inits`` names inits whose weights start the
    task's own network (``model.encoder_weights``: every tensor of the same name and shape, the
    first layer adapted to the plane count) instead of ``model.init``: for a translation model,
    its whole U-Net with the 32 feature maps of its last layer reaching the head, where
    ``model.init`` feeds the head its one output map ([Bonte2022]'s adapter), and the random
    init (``null``) is then the same network with fresh weights.
    """

    csv: Path
    runs: Path
    tasks: dict[str, Path] = Field(min_length=1)
    inits: dict[str, Path | None] = Field(default_factory=lambda: _RANDOM_ONLY.copy(), min_length=1)
    k: list[int | Literal["all"]] = Field(min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    variants: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {"baseline": dict[str, Any]()}, min_length=1
    )
    subset: Literal["permutation", "first"] = "permutation"
    pair_validation: bool = False
    test: list[SegmentationSampleConfig] = Field(default_factory=list)
    test_manifest: Path | None = None
    test_split: str = "test"
    min_size_px: list[int] = Field(default_factory=list)
    tile: int = Field(512, ge=16)
    overlap_fraction: float = Field(0.5, ge=0.0, lt=1.0)
    keep_models: bool = False
    score_inits: bool = False
    weight_inits: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_test_images(self) -> SweepConfig:
        if not self.test and self.test_manifest is None:
            raise ValueError("give held-out images: test (a list) or test_manifest")
        unknown = [name for name in self.weight_inits if self.inits.get(name) is None]
        if unknown:
            raise ValueError(f"weight_inits {unknown} must name inits with a model folder")
        return self
