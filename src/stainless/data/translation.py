"""Paired label-free → fluorescence data: loading, normalising and sampling training crops.

Whole fields are read once and kept in memory as normalised float32 arrays; training draws random
crops from them. Batches are balanced over targets (crop ``i`` serves target ``i mod T`` and comes
from a sample that has it), so a rarely stained target is seen as often as a common one, as in the
[LightMyCells2024]. Absent targets are marked in a ``present`` mask that the losses honour.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from torch.utils.data import Dataset

from stainless.config import DataConfig, SampleConfig
from stainless.data.augment import random_dihedral
from stainless.data.normalize import TargetScale, normalize_planes, percentile_range, target_scale
from stainless.data.plane_stem import PlaneStem, random_plane_run
from stainless.io import read_image
from stainless.io.manifest import read_manifest_table
from stainless.io.metadata import modality_from_channel_names
from stainless.io.planes import check_training_size, crop_region, read_input_planes


@dataclass(frozen=True)
class LoadedSample:
    """One field of view in network units.

    Attributes
    ----------
    name : str
    inputs : (C, Y, X) float32 ndarray
        Percentile-normalised input planes.
    targets : (T, Y, X) float32 ndarray
        Targets scaled to [−1, 1]; zeros where a target is absent.
    present : (T,) bool ndarray
    scales : list of TargetScale or None
        Per target, the raw ↔ network map (None where absent).
    value_range : (T, 2) float32 ndarray
        Per target, the [2nd, 99.8th]-percentile range in network units: pixels outside it get
        the reduced L1 weight of the Light My Cells loss.
    modality : int
        Index into the model's modality list.
    """

    name: str
    inputs: NDArray[np.float32]
    targets: NDArray[np.float32]
    present: NDArray[np.bool_]
    scales: list[TargetScale | None]
    value_range: NDArray[np.float32]
    modality: int


def resolve_modality(sample: SampleConfig) -> str | None:
    """The sample's modality: as configured, else from its first input's OME channel names."""
    if sample.modality is not None:
        return sample.modality
    return modality_from_channel_names(read_image(sample.inputs[0]).metadata.channel_names)


def load_sample(
    sample: SampleConfig,
    target_names: list[str],
    data: DataConfig,
    modalities: list[str],
    require_modality: bool = False,
) -> LoadedSample:
    """Read and normalise one sample (its region only).

    ``require_modality``: modality-aware models (dynamic, separate) need every sample's modality;
    a unified model ignores it.
    """
    planes, metadata = read_input_planes(sample.inputs)
    raw_inputs = crop_region(planes, sample.region, sample.label)
    check_training_size(raw_inputs, sample.inputs, sample.label)
    inputs = normalize_planes(raw_inputs, *data.input_percentiles)
    height, width = inputs.shape[1:]
    targets = np.zeros((len(target_names), height, width), dtype=np.float32)
    present = np.zeros(len(target_names), dtype=bool)
    value_range = np.tile(np.array([-1.0, 1.0], dtype=np.float32), (len(target_names), 1))
    scales: list[TargetScale | None] = [None] * len(target_names)
    for index, name in enumerate(target_names):
        if name not in sample.targets:
            continue
        raw = crop_region(read_image(sample.targets[name]).array, sample.region, sample.label)
        if raw.shape != (height, width):
            raise ValueError(
                f"sample '{sample.label}': target '{name}' has shape {raw.shape} but the inputs "
                f"have {(height, width)}"
            )
        scale = target_scale(raw, data.target_scaling, data.target_percentiles)
        targets[index] = scale.apply(raw)
        present[index] = True
        scales[index] = scale
        lo, hi = percentile_range(raw, 2.0, 99.8)
        value_range[index] = scale.apply(np.array([lo, hi]))
    modality = sample.modality or modality_from_channel_names(metadata.channel_names)
    if modality is None and require_modality:
        raise ValueError(
            f"sample '{sample.label}': no modality given and its OME channel names name none; "
            f"set modality: to one of {modalities}"
        )
    if modality is not None and modality not in modalities:
        raise ValueError(
            f"sample '{sample.label}': modality '{modality}' is not one of {modalities}"
        )
    return LoadedSample(
        sample.label,
        inputs,
        targets,
        present,
        scales,
        value_range,
        modalities.index(modality) if modality is not None else 0,
    )


def samples_from_manifest(path: Path) -> list[SampleConfig]:
    """Samples from a CSV: ``input*`` columns (planes, in column order), ``target_<name>`` columns
    (an empty cell = target absent), optional ``name`` and ``modality``. Paths are relative to the
    CSV's folder."""
    table = read_manifest_table(path)
    input_columns = table.columns_starting("input")
    target_columns = table.columns_starting("target_")
    if not input_columns:
        raise ValueError(f"manifest '{path}' has no input column (columns: {table.header})")
    return [
        SampleConfig(
            name=row.get("name") or None,
            inputs=[table.file(row[c]) for c in input_columns],
            targets={
                c.removeprefix("target_"): table.file(row[c]) for c in target_columns if row[c]
            },
            modality=row.get("modality") or None,  # type: ignore[arg-type]
        )
        for row in table.rows
    ]


def target_names_of(samples: list[SampleConfig], configured: list[str] | None) -> list[str]:
    """The target list: the configured one, else every target any sample has, sorted."""
    found = sorted({name for sample in samples for name in sample.targets})
    if configured is None:
        if not found:
            raise ValueError("no sample has any target")
        return found
    never = [name for name in configured if name not in found]
    if never:
        raise ValueError(
            f"targets {never} are listed in data.targets but no training sample has them"
        )
    return list(configured)


def _batch_item(
    sample: LoadedSample,
    inputs: NDArray[np.float32],
    targets: NDArray[np.float32],
    present: NDArray[np.bool_],
) -> dict[str, torch.Tensor]:
    """One crop as the training and validation steps read it."""
    return {
        "input": torch.from_numpy(inputs),
        "target": torch.from_numpy(targets),
        "present": torch.from_numpy(present),
        "value_range": torch.from_numpy(sample.value_range),
        "modality": torch.tensor(sample.modality),
    }


class TrainingCrops(Dataset[dict[str, torch.Tensor]]):
    """Random, target-balanced, augmented crops of loaded samples.

    Parameters
    ----------
    samples : list of LoadedSample
    crop_size : int
    n_crops : int
        Crops per epoch (the dataset's length).
    flips, rotations : bool
        Random flips / 90° rotations.
    hide_target_fraction : float
        Probability of hiding each present target of a crop (partial-label experiments).
    stem : PlaneStem, optional
        Feed each crop as the stem of a random run of its planes
        (:mod:`stainless.data.plane_stem`) instead of all planes as channels.
    single_plane_fraction : float
        With ``stem``, the share of crops that see one plane.
    gamma_range : (float, float), optional
        Raise each crop's normalised planes to a random power from this range (log-uniform;
        ``sign(x)·|x|^γ``), so that the model does not rely on one camera's tone curve.
    seed : int
    """

    def __init__(
        self,
        samples: list[LoadedSample],
        crop_size: int,
        n_crops: int,
        *,
        flips: bool = True,
        rotations: bool = True,
        hide_target_fraction: float = 0.0,
        stem: PlaneStem | None = None,
        single_plane_fraction: float = 0.5,
        gamma_range: tuple[float, float] | None = None,
        seed: int = 0,
    ) -> None:
        self.samples = samples
        self.crop_size = crop_size
        self.n_crops = n_crops
        self.flips = flips
        self.rotations = rotations
        self.hide_target_fraction = hide_target_fraction
        self.stem = stem
        self.single_plane_fraction = single_plane_fraction
        self.gamma_range = gamma_range
        self.seed = seed
        self.epoch = 0
        n_targets = samples[0].targets.shape[0]
        self.sources = [
            [i for i, s in enumerate(samples) if s.present[t]] for t in range(n_targets)
        ]
        for sample in samples:
            if min(sample.inputs.shape[1:]) < crop_size:
                raise ValueError(
                    f"sample '{sample.name}' ({sample.inputs.shape[1]}×{sample.inputs.shape[2]}) "
                    f"is smaller than data.crop_size {crop_size}"
                )

    def __len__(self) -> int:
        return self.n_crops

    def set_epoch(self, epoch: int) -> None:
        """Draw a new set of crops: crop ``i`` of epoch ``e`` depends only on (seed, e, i), so runs
        are reproducible, resume where they stopped, and data-parallel ranks (which get different
        indices) never draw the same crop."""
        self.epoch = epoch

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, self.epoch, index))
        candidates = self.sources[index % len(self.sources)] or list(range(len(self.samples)))
        sample = self.samples[candidates[int(rng.integers(len(candidates)))]]
        height, width = sample.inputs.shape[1:]
        y = int(rng.integers(height - self.crop_size + 1))
        x = int(rng.integers(width - self.crop_size + 1))
        window = (slice(None), slice(y, y + self.crop_size), slice(x, x + self.crop_size))
        inputs, targets = random_dihedral(
            [sample.inputs[window], sample.targets[window]],
            rng,
            flips=self.flips,
            rotations=self.rotations,
        )
        if self.gamma_range is not None:
            low, high = np.log(self.gamma_range)
            gamma = float(np.exp(rng.uniform(low, high)))
            inputs = (np.sign(inputs) * np.abs(inputs) ** gamma).astype(np.float32)
        if self.stem is not None:
            run = random_plane_run(inputs.shape[0], rng, self.single_plane_fraction)
            inputs = self.stem(inputs[run])
        present = sample.present.copy()
        if self.hide_target_fraction > 0:
            present &= rng.random(present.shape) >= self.hide_target_fraction
        return _batch_item(sample, inputs, targets, present)


def validation_crops(
    samples: list[LoadedSample],
    crop_size: int,
    max_crops: int = 32,
    stem: PlaneStem | None = None,
) -> list[dict[str, torch.Tensor]]:
    """Fixed, non-overlapping crops tiling the validation samples, at most ``max_crops``
    (with ``stem``: as the stem of all their planes)."""
    crops: list[dict[str, torch.Tensor]] = []
    for sample in samples:
        height, width = sample.inputs.shape[1:]
        for y in range(0, height - crop_size + 1, crop_size):
            for x in range(0, width - crop_size + 1, crop_size):
                window = (slice(None), slice(y, y + crop_size), slice(x, x + crop_size))
                inputs = np.ascontiguousarray(sample.inputs[window])
                if stem is not None:
                    inputs = stem(inputs)
                targets = np.ascontiguousarray(sample.targets[window])
                crops.append(_batch_item(sample, inputs, targets, sample.present.copy()))
                if len(crops) >= max_crops:
                    return crops
    if not crops:
        raise ValueError(f"validation samples are smaller than data.crop_size {crop_size}")
    return crops
