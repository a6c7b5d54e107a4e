"""What every config shares: strictness, reusable annotated types, the run settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Modality = Literal["brightfield", "phase", "dic", "fluorescence"]
MODALITIES: tuple[str, ...] = ("brightfield", "phase", "dic", "fluorescence")


class Strict(BaseModel):
    """A frozen config section that refuses unknown keys (a typo fails loudly)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_region(region: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    y0, x0, y1, x1 = region
    if not (0 <= y0 < y1 and 0 <= x0 < x1):
        raise ValueError(f"region must be (y0, x0, y1, x1) with y0 < y1 and x0 < x1, got {region}")
    return region


def _check_percentiles(value: tuple[float, float]) -> tuple[float, float]:
    if not 0.0 <= value[0] < value[1] <= 100.0:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got {value}")
    return value


Region = Annotated[tuple[int, int, int, int], AfterValidator(_check_region)]
"""A rectangle ``(y0, x0, y1, x1)`` in pixels, ``y0 < y1`` and ``x0 < x1``."""

Percentiles = Annotated[tuple[float, float], AfterValidator(_check_percentiles)]
"""``(low, high)`` percentiles with ``0 <= low < high <= 100``."""

Precision = Literal["auto", "bf16", "fp32"]
Device = Literal["auto", "cpu", "cuda"]


class RunSettings(Strict):
    """How long and where a training runs; shared by every training config.

    ``epochs`` of ``data.crops_per_epoch`` crops; ``max_steps`` / ``max_minutes`` stop earlier
    (the thresholds are then tuned and the model written as after the last epoch);
    ``val_every_n_steps`` optimisation steps between validations; ``progress_every_s``: when
    output is not a terminal (``nohup``, a batch job), a plain progress line every that many
    seconds; ``devices`` > 1 trains data-parallel (DDP) on that many GPUs.
    """

    epochs: int = Field(100, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    precision: Precision = "auto"
    val_every_n_steps: int = Field(100, ge=1)
    device: Device = "auto"
    devices: int = Field(1, ge=1)
    max_steps: int | None = Field(None, ge=1)
    max_minutes: float | None = Field(None, gt=0)
    progress_every_s: float = Field(30.0, gt=0)


class SampleBase(Strict):
    """What every sample has: a name, its input plane files (in plane order) and an optional
    ``region`` = (y0, x0, y1, x1) that restricts it to a rectangle."""

    name: str | None = None
    inputs: list[Path] = Field(min_length=1)
    region: Region | None = None

    @property
    def label(self) -> str:
        """The sample's name, or its first input's file name."""
        return self.name or self.inputs[0].name
