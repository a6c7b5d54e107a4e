"""Annotated images for segmentation: loading, class-balanced augmented crops, targets per head.

Images are read once and kept as normalised float32 planes with their integer labels. Each crop
is cut from the labels *before* any target is computed, with a margin around it, so that flips,
quarter turns, arbitrary rotations and zooms move the objects and the distance / HoVer maps are
then computed on the moved objects (a HoVer map cannot simply be rotated: its two channels are
coordinates). Objects cut by the crop edge keep their shape inside the margin.

Patch centres are class-balanced ([Brightfield3Class2019]): a class is drawn
uniformly among those present in the image, then a pixel of that class.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from scipy import ndimage as ndi
from torch.utils.data import Dataset

from stainless.config import AugmentConfig, SegmentationDataConfig, SegmentationSampleConfig
from stainless.data.augment import photometric_augment
from stainless.data.colour import apply_colour
from stainless.data.normalize import normalize_planes
from stainless.data.object_size import median_object_diameter
from stainless.data.plane_stem import PlaneStem, random_plane_run
from stainless.data.resample import resample_planes
from stainless.data.splits import hold_out
from stainless.data.strong_augment import strong_augment
from stainless.data.targets import make_target, three_class_target
from stainless.io import read_labels
from stainless.io.channels import select_channels
from stainless.io.manifest import read_manifest_table
from stainless.io.planes import check_training_size, crop_region, read_input_planes

MARGIN_PX = 24
"""Extra border around each crop on which targets are computed, then discarded."""


@dataclass(frozen=True)
class LoadedSegmentationSample:
    """One annotated image in network units.

    Attributes
    ----------
    name : str
    inputs : (C, Y, X) float32 ndarray
        Percentile-normalised planes.
    labels : (Y, X) int32 ndarray
        Instance labels of the objects (nuclei for a 3-class model).
    cells : (Y, X) int32 ndarray or None
        Cell instance labels (3-class models only).
    zoom : float
        Magnification that brings its objects to the training diameter (1: as it is).
    pseudo : bool
        Its labels are pseudo-labels: its crops get the strong augmentation.
    weight : float
        How often it is drawn for a crop relative to the other samples.
    """

    name: str
    inputs: NDArray[np.float32]
    labels: NDArray[np.int32]
    cells: NDArray[np.int32] | None
    zoom: float = 1.0
    pseudo: bool = False
    weight: float = 1.0

    def classes(self) -> NDArray[np.uint8]:
        """Per-pixel class used for balanced sampling: 0/1, or 0/1/2 with cells."""
        if self.cells is not None:
            return three_class_target(self.labels, self.cells)
        return (self.labels > 0).astype(np.uint8)


def _read_instance_labels(path: Path, shape: tuple[int, ...], sample: SegmentationSampleConfig):  # type: ignore[no-untyped-def]
    labels = crop_region(read_labels(path).array, sample.region, sample.label)
    if labels.ndim != 2:
        raise ValueError(f"labels '{path}' have shape {labels.shape}; expected (Y, X)")
    if labels.shape != shape:
        raise ValueError(
            f"labels '{path}' have shape {labels.shape} but the inputs of sample "
            f"'{sample.label}' have {shape}"
        )
    if int(labels.max(initial=0)) > np.iinfo(np.int32).max:
        raise ValueError(f"labels '{path}' have ids beyond the int32 range")
    return labels.astype(np.int32)


def load_segmentation_sample(
    sample: SegmentationSampleConfig,
    input_percentiles: tuple[float, float],
    channels: list[int | str] | None = None,
    colour: str = "as_is",
) -> LoadedSegmentationSample:
    """Read, pick the ``channels`` (all when None), apply the ``colour`` convention
    (:func:`stainless.data.colour.apply_colour`), restrict to the region and normalise one
    sample."""
    planes, metadata = read_input_planes(sample.inputs)
    if channels is not None:
        planes = select_channels(planes, metadata.channel_names, channels, sample.inputs[0])
    planes = apply_colour(planes, colour, sample.inputs[0])
    planes = crop_region(planes, sample.region, sample.label)
    check_training_size(planes, sample.inputs, sample.label)
    inputs = normalize_planes(planes, *input_percentiles)
    shape = inputs.shape[1:]
    labels = _read_instance_labels(sample.labels, shape, sample)
    if not labels.any():
        warnings.warn(
            f"sample '{sample.label}': labels '{sample.labels}' hold no object; it teaches "
            "only background",
            stacklevel=2,
        )
    cells = _read_instance_labels(sample.cells, shape, sample) if sample.cells else None
    return LoadedSegmentationSample(
        sample.label, inputs, labels, cells, pseudo=sample.pseudo, weight=sample.weight
    )


def load_configured_samples(
    samples: list[SegmentationSampleConfig], data: SegmentationDataConfig
) -> list[LoadedSegmentationSample]:
    """:func:`load_segmentation_sample` for each sample with the settings of ``data``; with
    ``data.object_diameter``, each sample's ``zoom`` brings the median equivalent diameter of
    its objects to that size (images without objects keep zoom 1)."""
    loaded = [
        load_segmentation_sample(s, data.input_percentiles, data.channels, data.colour)
        for s in samples
    ]
    if data.object_diameter is None:
        return loaded
    return [at_object_diameter(s, data.object_diameter) for s in loaded]


def at_object_diameter(
    sample: LoadedSegmentationSample, diameter: float
) -> LoadedSegmentationSample:
    """The sample with the ``zoom`` that brings its objects' median equivalent diameter to
    ``diameter`` px, clipped to 0.25–4."""
    found = median_object_diameter([sample.labels])
    if found is None:
        return sample
    return replace(sample, zoom=float(np.clip(diameter / found, 0.25, 4.0)))


def samples_from_segmentation_manifest(
    path: Path, split: str | None
) -> list[SegmentationSampleConfig]:
    """Rows (``input*``, ``labels``, optional ``cells``/``name``/``split``/``weight``; blank
    ``input*`` cells skipped) of a CSV whose ``split`` equals ``split`` (None: all rows)."""
    table = read_manifest_table(path)
    input_columns = table.columns_starting("input")
    if not input_columns or "labels" not in table.header:
        raise ValueError(
            f"manifest '{path}' needs input and labels columns (columns: {table.header})"
        )
    return [
        SegmentationSampleConfig(
            name=row.get("name") or None,
            inputs=[table.file(row[c]) for c in input_columns if row[c]],
            labels=table.file(row["labels"]),
            cells=table.file(row["cells"]) if row.get("cells") else None,
            weight=float(row["weight"]) if row.get("weight") else 1.0,
        )
        for row in table.rows
        if split is None or row.get("split", "") == split
    ]


def listed_samples(
    data: SegmentationDataConfig,
) -> tuple[list[SegmentationSampleConfig], list[SegmentationSampleConfig]]:
    """The configured training and validation samples as lists: those listed, then the
    manifest's ``split`` and ``validation_split`` rows."""
    samples, validation = list(data.samples), list(data.validation)
    if data.manifest is not None:
        samples += samples_from_segmentation_manifest(data.manifest, data.split)
        if data.validation_split:
            validation += samples_from_segmentation_manifest(data.manifest, data.validation_split)
    return samples, validation


def training_and_validation_samples(
    data: SegmentationDataConfig,
) -> tuple[list[SegmentationSampleConfig], list[SegmentationSampleConfig]]:
    """The configured training samples (first ``max_images``) and validation samples (listed,
    from the manifest's validation split, and cut off each training image by
    ``validation_fraction``)."""
    training, validation = listed_samples(data)
    if not training:
        raise ValueError(f"no training sample (manifest split '{data.split}' is empty?)")
    if data.max_images is not None:
        training = training[: data.max_images]
    training, held_out = hold_out(training, data.validation_fraction)
    return training, validation + held_out


def _sample_grid(
    centre: tuple[float, float], size: int, angle: float, zoom: float, flip: bool
) -> NDArray[np.float64]:
    """Source coordinates ``(2, size, size)`` of an output patch centred on ``centre``."""
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    oy, ox = np.meshgrid(offsets, offsets, indexing="ij")
    if flip:
        ox = -ox
    cos, sin = np.cos(angle) / zoom, np.sin(angle) / zoom
    return np.stack([centre[0] + cos * oy - sin * ox, centre[1] + sin * oy + cos * ox])


def _window(array: NDArray[np.generic], top: int, left: int, size: int, mode: str):  # type: ignore[no-untyped-def]
    """``array[..., top:top+size, left:left+size]``, padded (``reflect`` or zeros) where the
    window leaves the image; only the window is copied."""
    height, width = array.shape[-2:]
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + size, height), min(left + size, width)
    inside = array[..., y0:y1, x0:x1]
    pad = [(0, 0)] * (array.ndim - 2) + [(y0 - top, top + size - y1), (x0 - left, left + size - x1)]
    if not any(before or after for before, after in pad):
        return np.ascontiguousarray(inside)
    return np.pad(inside, pad, mode=mode)  # type: ignore[call-overload]


def _cut(
    sample: LoadedSegmentationSample,
    centre: tuple[int, int],
    size: int,
    rng: np.random.Generator,
    augment: AugmentConfig,
    scale: float = 1.0,
) -> tuple[NDArray[np.float32], NDArray[np.int32], NDArray[np.int32] | None]:
    """Input planes and labels of a ``size``² patch around ``centre``, magnified by ``scale``
    and geometrically augmented."""
    angle = float(rng.uniform(0, 2 * np.pi)) if augment.rotation else 0.0
    zoom = scale * (float(rng.uniform(*augment.scaling)) if augment.scaling else 1.0)
    flip = bool(rng.integers(2)) if augment.flips else False
    if angle == 0.0 and zoom == 1.0:
        top, left = centre[0] - size // 2, centre[1] - size // 2
        patch = _window(sample.inputs, top, left, size, "reflect")
        labels = _window(sample.labels, top, left, size, "constant")
        cells = (
            _window(sample.cells, top, left, size, "constant") if sample.cells is not None else None
        )
        if flip:
            patch, labels = patch[:, :, ::-1], labels[:, ::-1]
            cells = cells[:, ::-1] if cells is not None else None
    else:
        grid = _sample_grid((float(centre[0]), float(centre[1])), size, angle, zoom, flip)
        patch = np.stack(
            [ndi.map_coordinates(p, grid, order=1, mode="mirror") for p in sample.inputs]
        ).astype(np.float32)
        labels = ndi.map_coordinates(sample.labels, grid, order=0, mode="constant")
        cells = (
            ndi.map_coordinates(sample.cells, grid, order=0, mode="constant")
            if sample.cells is not None
            else None
        )
    if augment.rot90:
        k = int(rng.integers(4))
        patch, labels = np.rot90(patch, k, axes=(1, 2)), np.rot90(labels, k)
        cells = np.rot90(cells, k) if cells is not None else None
    return np.ascontiguousarray(patch), np.ascontiguousarray(labels), cells


class SegmentationCrops(Dataset[dict[str, torch.Tensor]]):
    """Random class-balanced, augmented crops with their head's target.

    Crop ``i`` of epoch ``e`` depends only on (seed, e, i): reproducible, resumable, and distinct
    on each data-parallel rank.

    Parameters
    ----------
    samples : list of LoadedSegmentationSample
    head : str
        ``semantic``, ``distance`` or ``hover``.
    data : SegmentationDataConfig
    seed : int
    stem : PlaneStem, optional
        Feed each crop as the stem of a random run of its planes.
    """

    def __init__(
        self,
        samples: list[LoadedSegmentationSample],
        head: str,
        data: SegmentationDataConfig,
        seed: int = 0,
        stem: PlaneStem | None = None,
    ) -> None:
        if not samples:
            raise ValueError("no training sample")
        self.samples = samples
        self.head = head
        self.data = data
        self.seed = seed
        self.stem = stem
        self.epoch = 0
        self.class_pixels = [self._pixels_by_class(s) for s in samples]
        weights = np.array([s.weight for s in samples], dtype=np.float64)
        self.draw_probability = None if np.all(weights == weights[0]) else weights / weights.sum()

    @staticmethod
    def _pixels_by_class(sample: LoadedSegmentationSample) -> list[NDArray[np.intp]]:
        classes = sample.classes().ravel()
        order = np.argsort(classes, kind="stable")
        bounds = np.searchsorted(classes[order], np.arange(int(classes.max()) + 2))
        return [order[a:b] for a, b in itertools.pairwise(bounds) if b > a]

    def __len__(self) -> int:
        return self.data.crops_per_epoch

    def set_epoch(self, epoch: int) -> None:
        """Serve the crops of ``epoch``."""
        self.epoch = epoch

    def _centre(self, index: int, rng: np.random.Generator) -> tuple[int, int]:
        sample = self.samples[index]
        height, width = sample.labels.shape
        if self.data.class_balanced:
            pixels = self.class_pixels[index]
            chosen = pixels[int(rng.integers(len(pixels)))]
            flat = int(chosen[int(rng.integers(chosen.size))])
            return flat // width, flat % width
        return int(rng.integers(height)), int(rng.integers(width))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, self.epoch, index))
        count, p = len(self.samples), self.draw_probability
        which = int(rng.integers(count) if p is None else rng.choice(count, p=p))
        sample = self.samples[which]
        size = self.data.crop_size + 2 * MARGIN_PX
        centre = self._centre(which, rng)
        zoom = self.data.scale * sample.zoom
        patch, labels, cells = _cut(sample, centre, size, rng, self.data.augment, zoom)
        if sample.pseudo:
            patch, labels = strong_augment(patch, labels, rng)
        target = make_target(self.head, labels, cells)
        inner = (slice(None), slice(MARGIN_PX, -MARGIN_PX), slice(MARGIN_PX, -MARGIN_PX))
        patch = patch[inner]
        if self.stem is not None:
            run = random_plane_run(patch.shape[0], rng, self.data.single_plane_fraction)
            patch = self.stem(np.ascontiguousarray(patch[run], dtype=np.float32))
        patch = photometric_augment(patch, self.data.augment, rng)
        return {
            "input": torch.from_numpy(np.ascontiguousarray(patch)),
            "target": torch.from_numpy(np.ascontiguousarray(target[inner])),
        }


def magnify_sample(sample: LoadedSegmentationSample, scale: float) -> LoadedSegmentationSample:
    """The sample magnified by ``scale`` (pixel areas aligned): planes linearly interpolated,
    labels nearest; its ``zoom`` is divided by ``scale``."""
    inputs = resample_planes(sample.inputs, scale, order=1)
    labels = resample_planes(sample.labels[None], scale, order=0)[0]
    cells = (
        resample_planes(sample.cells[None], scale, order=0)[0] if sample.cells is not None else None
    )
    return replace(sample, inputs=inputs, labels=labels, cells=cells, zoom=sample.zoom / scale)


def at_network_size(sample: LoadedSegmentationSample, scale: float) -> LoadedSegmentationSample:
    """The sample magnified by ``scale`` × its own ``zoom``, as the network sees it."""
    total = scale * sample.zoom
    return sample if total == 1.0 else magnify_sample(sample, total)


def segmentation_validation_crops(
    samples: list[LoadedSegmentationSample],
    head: str,
    crop_size: int,
    max_crops: int = 32,
    scale: float = 1.0,
    stem: PlaneStem | None = None,
) -> list[dict[str, torch.Tensor]]:
    """Fixed crops (the top-left ``crop_size``² of each image magnified by ``scale`` × its
    ``zoom``, padded when smaller), at most ``max_crops``, with targets computed on the whole
    image (with ``stem``: as the stem of all their planes)."""
    crops = []
    for sample in samples[:max_crops]:
        sample = at_network_size(sample, scale)
        target = make_target(head, sample.labels, sample.cells)
        pad_y = max(crop_size - sample.labels.shape[0], 0)
        pad_x = max(crop_size - sample.labels.shape[1], 0)
        pad = ((0, 0), (0, pad_y), (0, pad_x))
        inputs = np.pad(sample.inputs, pad, mode="reflect")[:, :crop_size, :crop_size]
        if stem is not None:
            inputs = stem(np.ascontiguousarray(inputs))
        target = np.pad(target, pad)[:, :crop_size, :crop_size]
        crops.append(
            {
                "input": torch.from_numpy(np.ascontiguousarray(inputs)),
                "target": torch.from_numpy(np.ascontiguousarray(target)),
            }
        )
    return crops
