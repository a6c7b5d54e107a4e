"""What a dask worker does with one block: read it with its halo, run the model, write its core.

Functions here run in worker processes; each takes a :class:`BlockJob` (small, pickled once per
run and shared by its tasks) and a :class:`stainless.tiling.Block`. A loaded model is kept per
worker process, so each worker loads it once per run, not once per block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import zarr
from numpy.typing import NDArray

from stainless.io.lazy import LazyImage
from stainless.io.ome_zarr import OmeZarrLayout, partial_path, write_region
from stainless.postprocessing.stitching import BlockEdges, core_labels
from stainless.tiling import Block, ImageWindow, TilingOptions, image_window, read_padded

SCRATCH = "scratch"
"""The array of block-local ids inside a segmentation store being built (removed at the end)."""


@dataclass(frozen=True)
class BlockJob:
    """One blockwise run, as every worker needs it.

    ``task`` ``predict`` writes the targets as channels; ``segment`` writes labels (block-local
    ids into the scratch array first, see :mod:`stainless.postprocessing.stitching`).
    ``input_ranges`` are the whole image's intensity percentiles (per input plane, after
    ``planes``/``channels`` are picked), so that every block is normalised alike.
    ``precision`` is already decided (``bf16`` or ``fp32``) and ``threads`` is torch's thread
    count per worker (0: torch's own choice). ``exact``: each block is tiled as the whole image
    would be (see :class:`stainless.tiling.ImageWindow`), so blockwise equals whole-image
    inference; it needs no resampling and no test-time augmentation (else each block is tiled
    on its own). ``magnification``: a resampling on top of the model's (``--diameter auto``).
    """

    task: Literal["predict", "segment"]
    model: str
    image: LazyImage
    layout: OmeZarrLayout
    options: TilingOptions
    device: str = "cpu"
    precision: str = "fp32"
    threads: int = 1
    planes: list[int] | None = None
    channels: list[int | str] | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    pixel_size_um: float | None = None
    input_ranges: list[tuple[float, float]] | None = None
    diameter: float | None = None
    modality: str | None = None
    class_map: bool = False
    exact: bool = True
    magnification: float = 1.0


_LOADED: dict[tuple[Any, ...], Any] = {}


def load_model(job: BlockJob) -> Any:
    """The job's predictor, loaded once per worker process (and torch's thread count set)."""
    import torch

    key = (job.task, job.model, job.device, job.precision, job.diameter)
    if key not in _LOADED:
        if job.threads:
            torch.set_num_threads(job.threads)
        if job.task == "predict":
            from stainless.inference.predictor import load_predictor

            _LOADED[key] = load_predictor(job.model, job.device, job.precision)
        else:
            from stainless.inference.segmenter import SegmentationPredictor

            _LOADED[key] = SegmentationPredictor.load(
                job.model, job.device, job.precision, diameter=job.diameter
            )
    return _LOADED[key]


def block_planes(
    job: BlockJob, block: Block, predictor: Any
) -> tuple[NDArray[Any], ImageWindow | None]:
    """The planes of ``block``'s extended window for the network, and (``job.exact``) the
    window of the whole image's tile grid they belong to (the planes then cover the padded
    region of the tiles overlapping it)."""
    if not job.exact:
        return model_planes(job, job.image.read(*block.extended), predictor), None
    multiple = predictor.info.size_multiple
    window = image_window(job.image.shape_yx, block.extended, job.options, multiple)
    raw = read_padded(job.image.read, window.grid, window.region)
    return model_planes(job, raw, predictor), window


def model_planes(job: BlockJob, raw: NDArray[Any], predictor: Any) -> NDArray[Any]:
    """The planes the network takes from raw planes ``(C, Y, X)`` of the input: ``planes``
    picked, then (segmentation) the model's or the given channels."""
    if job.planes is not None:
        raw = raw[job.planes]
    if job.task == "segment":
        names = job.image.metadata.channel_names
        raw = predictor.input_planes(raw, names, job.image.path, job.channels)
    return raw


def predict_block(job: BlockJob, block: Block) -> NDArray[np.float64]:
    """Predict the targets of ``block`` and write its core into level 0; returns the sum of
    each target over the core ``(T,)`` (for the run's summary)."""
    predictor = load_model(job)
    planes, window = block_planes(job, block, predictor)
    predictions = predictor.predict(
        planes, job.modality, job.options, job.pixel_size_um, job.input_ranges, window
    )
    cy0, cy1, cx0, cx1 = block.core_in_extended
    core = np.stack([predictions[name][cy0:cy1, cx0:cx1] for name in predictor.info.target_names])
    if job.layout.dtype == "uint16":
        from stainless.data.normalize import to_uint16

        core = to_uint16(core)
    write_region(job.layout, 0, block.core[0], block.core[2], core)
    return core.reshape(len(core), -1).sum(axis=1, dtype=np.float64)


def segment_block(job: BlockJob, block: Block) -> tuple[int, BlockEdges]:
    """Segment ``block`` with its halo; write its core's block-local ids ``1..n`` into the
    scratch array (or, for a class map, the classes straight into level 0). Returns ``n`` and
    the block's :class:`BlockEdges`."""
    predictor = load_model(job)
    planes, window = block_planes(job, block, predictor)
    labels = predictor.segment(
        planes, job.options, job.thresholds, job.pixel_size_um, job.input_ranges, window,
        magnification=job.magnification,
    )  # fmt: skip
    if job.class_map:
        cy0, cy1, cx0, cx1 = block.core_in_extended
        write_region(job.layout, 0, block.core[0], block.core[2], labels[cy0:cy1, cx0:cx1])
        return 0, BlockEdges()
    core, edges = core_labels(labels, block.core_in_extended)
    scratch = zarr.open_array(str(partial_path(job.layout.path) / SCRATCH), mode="r+")
    scratch[block.core[0] : block.core[1], block.core[2] : block.core[3]] = core
    return int(core.max(initial=0)), edges


def relabel_block(
    job: BlockJob, block: Block, final: NDArray[np.uint64]
) -> tuple[NDArray[np.uint64], NDArray[np.int64], NDArray[np.float64]]:
    """Write ``block``'s final ids into level 0: block-local id ``k`` becomes ``final[k]``
    (``final[0] == 0``). Returns the final ids present, their areas in this block (px) and the
    sums of the first input plane over them (for per-object mean intensities)."""
    y0, y1, x0, x1 = block.core
    scratch = zarr.open_array(str(partial_path(job.layout.path) / SCRATCH), mode="r")
    local = np.asarray(scratch[y0:y1, x0:x1])
    labels = final[local]
    write_region(job.layout, 0, y0, x0, labels)
    intensity = job.image.read(y0, y1, x0, x1)[0].astype(np.float64)
    areas = np.bincount(local.ravel(), minlength=len(final))
    sums = np.bincount(local.ravel(), weights=intensity.ravel(), minlength=len(final))
    present = np.flatnonzero(areas[1:]) + 1
    return final[present], areas[present].astype(np.int64), sums[present].astype(np.float64)


def remove_scratch(path: Path) -> None:
    """Delete the scratch array of the store being built at ``path``."""
    import shutil

    shutil.rmtree(partial_path(path) / SCRATCH, ignore_errors=True)
