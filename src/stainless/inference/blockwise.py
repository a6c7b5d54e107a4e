"""Whole slides block by block on dask.distributed, into OME-Zarr.

A run cuts the image into blocks (:func:`stainless.tiling.block_grid`), sends one task per block
to a dask cluster (a ``LocalCluster`` of worker processes by default, or any running scheduler)
and writes each block's core into a zarr v3 / OME-NGFF 0.5 store built under ``.partial``:

* ``predict``: each block is predicted with a halo of context and its core written (the targets
  become channels);
* ``segment``: each block is segmented with a halo larger than its objects; block-local ids are
  made globally unique by offsets, objects cut by block faces are joined by the overlap graph of
  :mod:`stainless.postprocessing.stitching`, and one relabel pass writes the final ids (uint32,
  uint64 when they would not fit).

Then the pyramid levels are filled (block tasks again) and the store is renamed into place.
Workers hold one block (plus halo) at a time, so memory per worker does not grow with the image.
Without a client, the same tasks run in this process (small images).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import zarr
from numpy.typing import NDArray

from stainless.inference._block_tasks import (
    SCRATCH,
    BlockJob,
    predict_block,
    relabel_block,
    remove_scratch,
    segment_block,
)
from stainless.inference._cluster import ClusterFailure, run_on_cluster
from stainless.io.ome_zarr import (
    add_levels,
    chunk_side,
    downsample_region,
    finish_store,
    pyramid_regions,
    start_store,
)
from stainless.postprocessing.stitching import block_pairs, final_ids, id_dtype
from stainless.tiling import block_grid

Track = Callable[[Iterable[Any], str, int], Iterable[Any]]
"""``(items, description, total) -> items``: shows progress while the items are consumed."""


def _no_progress(items: Iterable[Any], description: str, total: int) -> Iterable[Any]:
    return items


@dataclass(frozen=True)
class BlockwiseResult:
    """What a run wrote: the number of blocks, objects (segmentation), the final ids' areas
    (px) and mean first-plane intensities ``(n_objects,)``, and the targets' means
    ``(T,)`` (translation)."""

    n_blocks: int
    n_objects: int = 0
    areas_px: NDArray[np.int64] | None = None
    mean_intensities: NDArray[np.float64] | None = None
    target_means: dict[str, float] | None = None

    def summary(self) -> dict[str, float]:
        """One row of a plate's summary: object count, mean area (px) and mean of the objects'
        mean input intensities (segmentation), or each target's mean (translation)."""
        if self.target_means is not None:
            return {f"mean_{name}": value for name, value in self.target_means.items()}
        row: dict[str, float] = {"n_objects": float(self.n_objects)}
        if self.areas_px is not None and self.mean_intensities is not None and self.n_objects:
            row["mean_area_px"] = float(self.areas_px.mean())
            row["mean_object_intensity"] = float(self.mean_intensities.mean())
        return row


@contextmanager
def dask_client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    """A ``distributed.Client``: to the running ``scheduler`` (address), else to a
    ``LocalCluster`` of ``workers`` processes (default: the machine's cores), one task at a
    time each; the local cluster is closed afterwards.

    Raises
    ------
    OSError
        The scheduler does not answer within 10 s.
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as error:
            raise OSError(
                f"dask scheduler '{scheduler}' does not answer ({type(error).__name__}); start "
                "one with `dask scheduler` and workers with `dask worker ADDRESS`"
            ) from None
        with client:
            yield client
        return
    count = workers or os.cpu_count() or 1
    with (
        LocalCluster(
            n_workers=count,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,  # a task's error reaches the user once, as ours
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def torch_threads(workers: int | None) -> int:
    """torch threads per worker of a local cluster: the cores shared out among the workers."""
    cores = os.cpu_count() or 1
    return max(1, cores // (workers or cores))


@dataclass(frozen=True)
class RunOptions:
    """How a blockwise run goes: ``block`` and ``halo`` sides (px), the dask ``client`` (None:
    in this process), whether an existing output is replaced, ``attributes`` saved in the
    store (the run's metadata), a progress hook, and how long the cluster may have no workers
    before the run fails."""

    block: int = 2048
    halo: int = 0
    client: Any = None
    overwrite: bool = False
    attributes: dict[str, Any] | None = None
    track: Track = _no_progress
    no_worker_timeout_s: float = 60.0


def _run_tasks(
    run: RunOptions,
    function: Callable[..., Any],
    job: BlockJob,
    arguments: Sequence[tuple[Any, ...]],
    description: str,
) -> list[Any]:
    """``function(job, *a)`` for every ``a`` of ``arguments``, on ``run``'s cluster (every task
    carries the job, so a lost worker's tasks can run anywhere) or here; results in the order
    of ``arguments``."""
    if run.client is None:
        return [function(job, *a) for a in run.track(arguments, description, len(arguments))]
    return run_on_cluster(
        run.client, function, job, arguments, description, run.track, run.no_worker_timeout_s
    )


def _fill_pyramid(run: RunOptions, job: BlockJob) -> None:
    for level in range(1, job.layout.n_levels):
        regions = pyramid_regions(job.layout, level, run.block)
        _run_tasks(run, _downsample, job, [(level, *r) for r in regions], f"pyramid level {level}")


def _downsample(job: BlockJob, level: int, y0: int, x0: int, side: int) -> None:
    downsample_region(job.layout, level, y0, x0, side)


def _finish(job: BlockJob, run: RunOptions, result: BlockwiseResult) -> BlockwiseResult:
    attributes = {
        **(run.attributes or {}),
        "block": run.block,
        "halo": run.halo,
        "exact_tiling": job.exact,
        "summary": result.summary(),
    }
    finish_store(job.layout, job.image.path.name, run.overwrite, attributes)
    return result


def predict_blockwise(job: BlockJob, run: RunOptions) -> BlockwiseResult:
    """Predict the targets of ``job.image`` block by block into ``job.layout.path``."""
    blocks = block_grid(job.image.shape_yx, run.block, run.halo)
    start_store(job.layout.path, run.overwrite)
    add_levels(job.layout)
    arguments = [(b,) for b in blocks]
    sums = _run_tasks(run, predict_block, job, arguments, "predicting blocks")
    _fill_pyramid(run, job)
    height, width = job.image.shape_yx
    means = np.sum(sums, axis=0) / (height * width)
    names = job.layout.channels or ()
    target_means = {name: float(mean) for name, mean in zip(names, means, strict=True)}
    return _finish(job, run, BlockwiseResult(len(blocks), target_means=target_means))


def segment_blockwise(job: BlockJob, run: RunOptions) -> BlockwiseResult:
    """Segment ``job.image`` block by block into ``job.layout.path`` (see the module)."""
    blocks = block_grid(job.image.shape_yx, run.block, run.halo)
    group = start_store(job.layout.path, run.overwrite)
    if job.class_map:
        add_levels(job.layout)
        _run_tasks(run, segment_block, job, [(b,) for b in blocks], "segmenting blocks")
        _fill_pyramid(run, job)
        return _finish(job, run, BlockwiseResult(len(blocks)))
    group.create_array(
        SCRATCH,
        shape=job.image.shape_yx,
        dtype="uint32",
        chunks=(chunk_side(run.block),) * 2,
        fill_value=0,
        config={"write_empty_chunks": True},
    )
    found = _run_tasks(run, segment_block, job, [(b,) for b in blocks], "segmenting blocks")
    counts = np.array([count for count, _ in found], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    final = final_ids(
        int(counts.sum()), block_pairs([b.index for b in blocks], [e for _, e in found], offsets)
    )
    n_objects = int(final.max(initial=0))
    job = replace(job, layout=replace(job.layout, dtype=str(id_dtype(n_objects))))
    add_levels(job.layout)
    tables = []
    for offset, count in zip(offsets, counts, strict=True):
        table = final[offset : offset + count + 1].copy()
        table[0] = 0  # block-local 0 is background; final[offset] belongs to the block before
        tables.append(table)
    stats = _run_tasks(
        run, relabel_block, job, list(zip(blocks, tables, strict=True)), "joining blocks"
    )
    areas = np.zeros(n_objects + 1, dtype=np.int64)
    sums = np.zeros(n_objects + 1, dtype=np.float64)
    for ids, block_areas, block_sums in stats:
        np.add.at(areas, ids.astype(np.int64), block_areas)
        np.add.at(sums, ids.astype(np.int64), block_sums)
    remove_scratch(job.layout.path)
    _fill_pyramid(run, job)
    means = sums[1:] / np.maximum(areas[1:], 1)
    return _finish(job, run, BlockwiseResult(len(blocks), n_objects, areas[1:], means))


def read_level(path: Any, level: int = 0) -> NDArray[Any]:
    """Read one pyramid level of a finished store written here (for tests and benchmarks)."""
    return np.asarray(zarr.open_array(str(path / str(level)), mode="r")[...])


__all__ = [
    "BlockJob",
    "BlockwiseResult",
    "ClusterFailure",
    "RunOptions",
    "dask_client",
    "predict_blockwise",
    "read_level",
    "segment_blockwise",
    "torch_threads",
]
