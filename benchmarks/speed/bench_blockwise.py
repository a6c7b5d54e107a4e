"""Blockwise segmentation of a whole-slide mosaic on dask.distributed vs the whole-image path.

Data: an N × N mosaic (default 8192²) tiled from the five dense-tissue DAPI images
(``../shared/data/dense-tissue/dapi``, 1040 × 1392 each, mirrored alternately so that tile
borders are seamless), written as a tiled BigTIFF in ``--workdir``. Model: the built-in
``nuclei-fluorescence`` (flows head), tiles of 512 px with 25 % overlap, float32.

* blockwise: ``stainless segment --input mosaic.tif --output X.zarr --block-size B --workers W``
  as a subprocess, for each W of ``--workers``; wall time, Mpx/s and the peak RSS of every
  process of the run (sampled with psutil every 0.2 s: the client and each dask worker);
* whole image: ``SegmentationPredictor.segment`` of the whole mosaic in this process, with the
  same intensity ranges the blockwise run uses (so that the comparison isolates the blocks);
  its peak RSS is this process's ``ru_maxrss`` (it runs last, after the subprocesses);
* agreement: csi@0.50 of the blockwise labels against the whole-image labels, and the share of
  whole-image objects that cross a block face / a block corner and are matched (IoU ≥ 0.5).

    python benchmarks/speed/bench_blockwise.py [--size 8192] [--block 2048] [--workers 1 2]
    python benchmarks/speed/bench_blockwise.py --size 32768 --workers 2 --no-whole \
        --model MODEL --output benchmarks/results/bench_blockwise_32768.json

(beyond 8192², the 8192² mosaic is repeated, mirrored, and written tile by tile.)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import tifffile

HERE = Path(__file__).resolve().parents[1]
DAPI = HERE.parent.parent / "shared" / "data" / "dense-tissue" / "dapi"


BASE = 8192
TILE = 512


def build_mosaic(size: int, path: Path) -> Path:
    """A ``size``² uint8 BigTIFF tiled from the dense-tissue DAPI images (written once). Beyond
    8192², the 8192² mosaic is repeated (mirrored alternately), written tile by tile so that the
    big image is never in memory."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    if size > BASE:
        base = tifffile.imread(build_mosaic(BASE, path.with_name(f"mosaic_{BASE}.tif")))

        def tiles() -> Any:
            for y in range(0, size, TILE):
                for x in range(0, size, TILE):
                    rows, columns = y % BASE, x % BASE
                    tile = base[rows : rows + TILE, columns : columns + TILE]
                    if (y // BASE) % 2:
                        tile = base[BASE - rows - TILE : BASE - rows][
                            ::-1, columns : columns + TILE
                        ]
                    if (x // BASE) % 2:
                        tile = tile[:, ::-1]
                    yield np.ascontiguousarray(tile)

        tifffile.imwrite(path, tiles(), shape=(size, size), dtype=np.uint8, bigtiff=True,
                         tile=(TILE, TILE))  # fmt: skip
        return path
    from stainless.io import read_image

    tiles = [read_image(file).array for file in sorted(DAPI.glob("*.png"))]
    mosaic = np.zeros((size, size), dtype=np.uint8)
    height, width = tiles[0].shape
    for row, y in enumerate(range(0, size, height)):
        for column, x in enumerate(range(0, size, width)):
            tile = tiles[(row * 3 + column) % len(tiles)]
            tile = tile[::-1] if row % 2 else tile
            tile = tile[:, ::-1] if column % 2 else tile
            part = tile[: size - y, : size - x]
            mosaic[y : y + part.shape[0], x : x + part.shape[1]] = part
    tifffile.imwrite(path, mosaic, bigtiff=True, tile=(TILE, TILE))
    return path


class PeakMemory:
    """Peak RSS (bytes) of a process and each of its descendants, sampled in a thread."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.root = psutil.Process(pid)
        self.peaks: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(interval,), daemon=True)
        self._thread.start()

    def _sample(self, interval: float) -> None:
        while not self._stop.is_set():
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                return
            for process in processes:
                try:
                    rss = process.memory_info().rss
                    self.names.setdefault(process.pid, " ".join(process.cmdline())[:80])
                except psutil.Error:
                    continue
                self.peaks[process.pid] = max(self.peaks.get(process.pid, 0), rss)
            time.sleep(interval)

    def stop(self) -> dict[str, Any]:
        """Stop sampling; the client's peak and the largest worker peak (GiB)."""
        self._stop.set()
        self._thread.join()
        client = self.peaks.get(self.root.pid, 0)
        workers = [peak for pid, peak in self.peaks.items() if pid != self.root.pid]
        big = [peak for peak in workers if peak > 200 * 2**20]  # not the resource tracker
        return {
            "client_peak_rss_gib": client / 2**30,
            "worker_peak_rss_gib": [peak / 2**30 for peak in sorted(big, reverse=True)],
        }


def run_blockwise(
    mosaic: Path, store: Path, block: int, workers: int, model: str
) -> dict[str, Any]:
    argv = [sys.executable, "-m", "stainless", "segment", "--model", model,
            "--input", str(mosaic), "--output", str(store), "--block-size", str(block),
            "--workers", str(workers), "--overwrite"]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    memory = PeakMemory(process.pid)
    _, err = process.communicate()
    seconds = time.perf_counter() - started
    peaks = memory.stop()
    if process.returncode != 0:
        raise RuntimeError(f"blockwise run failed: {err}")
    return {"workers": workers, "seconds": seconds, **peaks, "log": err.strip()[-300:]}


def crossing_objects(labels: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Ids of objects whose bounding box crosses a block face, and a block corner."""
    from scipy import ndimage

    boxes = ndimage.find_objects(labels)
    faces, corners = [], []
    for number, box in enumerate(boxes, start=1):
        if box is None:
            continue
        rows = box[0].start // block != (box[0].stop - 1) // block
        columns = box[1].start // block != (box[1].stop - 1) // block
        if rows or columns:
            faces.append(number)
        if rows and columns:
            corners.append(number)
    return np.array(faces, dtype=np.int64), np.array(corners, dtype=np.int64)


def matched_share(whole: np.ndarray, blockwise: np.ndarray, ids: np.ndarray) -> float:
    """Share of the whole-image objects ``ids`` that some blockwise object matches at IoU ≥
    0.5."""
    if len(ids) == 0:
        return float("nan")
    mask = np.isin(whole, ids)
    pairs, overlap = np.unique(
        np.stack([whole[mask].astype(np.int64), blockwise[mask].astype(np.int64)]),
        axis=1,
        return_counts=True,
    )
    area_w = np.bincount(whole.ravel().astype(np.int64))
    area_b = np.bincount(blockwise.ravel().astype(np.int64))
    keep = pairs[1] > 0
    iou = overlap[keep] / (area_w[pairs[0][keep]] + area_b[pairs[1][keep]] - overlap[keep])
    return float(len(np.unique(pairs[0][keep][iou >= 0.5])) / len(ids))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=8192)
    parser.add_argument("--block", type=int, default=2048)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--workdir", type=Path, default=HERE / "results" / "blockwise_work")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "bench_blockwise.json")
    parser.add_argument("--no-whole", action="store_true", help="skip the whole-image run")
    parser.add_argument("--model", default="nuclei-fluorescence")
    args = parser.parse_args()
    from stainless.cli._blockwise import whole_image_ranges
    from stainless.inference.blockwise import read_level
    from stainless.inference.segmenter import SegmentationPredictor
    from stainless.io.lazy import LazyImage
    from stainless.metrics import match_instances
    from stainless.provenance import run_metadata, write_record
    from stainless.tiling import TilingOptions

    mosaic = build_mosaic(args.size, args.workdir / f"mosaic_{args.size}.tif")
    megapixels = args.size * args.size / 1e6
    runs = []
    for workers in args.workers:
        store = args.workdir / f"labels_{args.size}_w{workers}.zarr"
        run = run_blockwise(mosaic, store, args.block, workers, args.model)
        run["mpx_per_s"] = megapixels / run["seconds"]
        runs.append(run)
        print(json.dumps({k: v for k, v in run.items() if k != "log"}), flush=True)
    record: dict[str, Any] = {"size": args.size, "block": args.block, "model": args.model,
                              "blockwise": runs}  # fmt: skip
    if not args.no_whole:
        predictor = SegmentationPredictor.load(args.model, "cpu", "fp32")
        image = LazyImage(mosaic)
        ranges = whole_image_ranges(image, lambda raw: raw, *predictor.info.input_percentiles)
        raw = image.read(0, args.size, 0, args.size)
        started = time.perf_counter()
        whole = predictor.segment(raw, TilingOptions(512, 0.25, 4), input_ranges=ranges)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 2**30
        record["whole"] = {"seconds": seconds, "mpx_per_s": megapixels / seconds,
                           "peak_rss_gib": peak}  # fmt: skip
        blockwise = read_level(args.workdir / f"labels_{args.size}_w{args.workers[-1]}.zarr")
        counts = match_instances(whole, blockwise)
        faces, corners = crossing_objects(whole, args.block)
        record["agreement"] = {
            "n_whole": int(counts.n_true), "n_blockwise": int(counts.n_pred),
            "csi_at_0.50": float(counts.tp[0] / (counts.tp[0] + counts.fp[0] + counts.fn[0])),
            "identical_labels_up_to_ids": bool(counts.tp[-1] == counts.n_true == counts.n_pred),
            "n_crossing_faces": len(faces), "matched_crossing_faces": matched_share(
                whole, blockwise, faces),
            "n_crossing_corners": len(corners), "matched_crossing_corners": matched_share(
                whole, blockwise, corners),
        }  # fmt: skip
        print(json.dumps(record["whole"]), json.dumps(record["agreement"]), flush=True)
    record["command"] = " ".join(sys.argv)
    write_record(args.output, {**record, "run": run_metadata()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
