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
from stainless.io.ome_zarr import (
    add_levels,
    chunk_side,
    downsample_region,
    finish_store,
    partial_path,
    pyramid_regions,
    start_store,
)
from stainless.postprocessing.stitching import face_pairs, final_ids, id_dtype
from stainless.tiling import Block, block_grid

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
    target_means: NDArray[np.float64] | None = None


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
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def torch_threads(workers: int | None) -> int:
    """torch threads per worker of a local cluster: the cores shared out among the workers."""
    cores = os.cpu_count() or 1
    return max(1, cores // (workers or cores))


def _run_tasks(
    client: Any,
    function: Callable[..., Any],
    job: BlockJob,
    arguments: Sequence[tuple[Any, ...]],
    description: str,
    track: Track,
) -> list[Any]:
    """``function(job, *a)`` for every ``a`` of ``arguments``, on the cluster (the job sent
    once to every worker) or here; results in the order of ``arguments``."""
    if client is None:
        return [function(job, *a) for a in track(arguments, description, len(arguments))]
    from distributed import as_completed

    shared = client.scatter(job, broadcast=True)
    futures = [client.submit(function, shared, *a, pure=False) for a in arguments]
    for _ in track(as_completed(futures), description, len(futures)):
        pass
    return list(client.gather(futures))


def _fill_pyramid(client: Any, job: BlockJob, block_size: int, track: Track) -> None:
    for level in range(1, job.layout.n_levels):
        regions = pyramid_regions(job.layout, level, block_size)
        _run_tasks(
            client,
            _downsample,
            job,
            [(level, *r) for r in regions],
            f"pyramid level {level}",
            track,
        )


def _downsample(job: BlockJob, level: int, y0: int, x0: int, side: int) -> None:
    downsample_region(job.layout, level, y0, x0, side)


def predict_blockwise(
    job: BlockJob,
    block_size: int,
    halo: int,
    client: Any = None,
    overwrite: bool = False,
    track: Track = _no_progress,
) -> BlockwiseResult:
    """Predict the targets of ``job.image`` block by block into ``job.layout.path``."""
    blocks = block_grid(job.image.shape_yx, block_size, halo)
    start_store(job.layout.path, overwrite)
    add_levels(job.layout)
    sums = _run_tasks(
        client, predict_block, job, [(b,) for b in blocks], "predicting blocks", track
    )
    _fill_pyramid(client, job, block_size, track)
    finish_store(job.layout, job.image.path.name, overwrite)
    height, width = job.image.shape_yx
    return BlockwiseResult(len(blocks), target_means=np.sum(sums, axis=0) / (height * width))


def _face_graph(blocks: list[Block], edges: list[Any], offsets: NDArray[np.int64]) -> Any:
    where = {block.index: number for number, block in enumerate(blocks)}
    pairs = [np.zeros((0, 2), dtype=np.int64)]
    for number, block in enumerate(blocks):
        row, column = block.index
        for side, neighbour in (("bottom", (row + 1, column)), ("right", (row, column + 1))):
            other = where.get(neighbour)
            if other is not None:
                pairs.append(
                    face_pairs(
                        edges[number],
                        edges[other],
                        side,
                        (int(offsets[number]), int(offsets[other])),
                    )
                )
    return np.concatenate(pairs)


def segment_blockwise(
    job: BlockJob,
    block_size: int,
    halo: int,
    client: Any = None,
    overwrite: bool = False,
    track: Track = _no_progress,
) -> BlockwiseResult:
    """Segment ``job.image`` block by block into ``job.layout.path`` (see the module)."""
    blocks = block_grid(job.image.shape_yx, block_size, halo)
    group = start_store(job.layout.path, overwrite)
    if job.class_map:
        add_levels(job.layout)
        _run_tasks(client, segment_block, job, [(b,) for b in blocks], "segmenting blocks", track)
        _fill_pyramid(client, job, block_size, track)
        finish_store(job.layout, job.image.path.name, overwrite)
        return BlockwiseResult(len(blocks))
    group.create_array(
        SCRATCH,
        shape=job.image.shape_yx,
        dtype="uint32",
        chunks=(chunk_side(block_size),) * 2,
        fill_value=0,
        config={"write_empty_chunks": True},
    )
    found = _run_tasks(
        client, segment_block, job, [(b,) for b in blocks], "segmenting blocks", track
    )
    counts = np.array([count for count, _ in found], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    final = final_ids(int(counts.sum()), _face_graph(blocks, [e for _, e in found], offsets))
    n_objects = int(final.max(initial=0))
    job = replace(job, layout=replace(job.layout, dtype=str(id_dtype(n_objects))))
    add_levels(job.layout)
    tables = []
    for offset, count in zip(offsets, counts, strict=True):
        table = final[offset : offset + count + 1].copy()
        table[0] = 0  # block-local 0 is background; final[offset] belongs to the block before
        tables.append(table)
    stats = _run_tasks(
        client, relabel_block, job, list(zip(blocks, tables, strict=True)), "joining blocks", track
    )
    areas = np.zeros(n_objects + 1, dtype=np.int64)
    sums = np.zeros(n_objects + 1, dtype=np.float64)
    for ids, block_areas, block_sums in stats:
        np.add.at(areas, ids.astype(np.int64), block_areas)
        np.add.at(sums, ids.astype(np.int64), block_sums)
    remove_scratch(job.layout.path)
    _fill_pyramid(client, job, block_size, track)
    finish_store(job.layout, job.image.path.name, overwrite)
    means = sums[1:] / np.maximum(areas[1:], 1)
    return BlockwiseResult(len(blocks), n_objects, areas[1:], means)


def read_level(path: Any, level: int = 0) -> NDArray[Any]:
    """Read one pyramid level of a finished store written here (for tests and benchmarks)."""
    return np.asarray(zarr.open_array(str(path / str(level)), mode="r")[...])


__all__ = [
    "BlockJob",
    "BlockwiseResult",
    "dask_client",
    "partial_path",
    "predict_blockwise",
    "read_level",
    "segment_blockwise",
    "torch_threads",
]
