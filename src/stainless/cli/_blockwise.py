"""``predict`` and ``segment`` into OME-Zarr, block by block on dask.distributed: whole slides,
and plates or folders of fields (resumable, with a summary CSV)."""

from __future__ import annotations

import argparse
import math
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from stainless.cli._inputs import Sample
from stainless.cli._result_settings import SETTINGS_KEY, settings_difference

EXIT_SOME_FIELDS_FAILED = 3
"""Exit code of a plate run in which some fields were skipped (the others finished)."""


def add_blockwise_options(parser: argparse.ArgumentParser, halo_help: str) -> None:
    """``--format --block-size --halo --workers --scheduler``."""
    group = parser.add_argument_group("whole slides and plates (OME-Zarr output)")
    group.add_argument(
        "--format",
        choices=("tif", "ome-zarr"),
        help="output format (default: ome-zarr when --output ends in .zarr, else tif); "
        "ome-zarr runs block by block on dask (zarr v3, OME-NGFF 0.5, with a pyramid) and "
        "writes one <name>.ome.zarr per input plus summary.csv for a folder of fields",
    )
    group.add_argument(
        "--block-size", type=int, default=2048, help="block side in pixels (default 2048)"
    )
    group.add_argument("--halo", type=int, metavar="PX", help=halo_help)
    group.add_argument(
        "--workers",
        type=int,
        help="worker processes of the local dask cluster (default: the machine's cores)",
    )
    group.add_argument(
        "--max-memory",
        metavar="SIZE",
        help="TIFF output holds a whole image in memory: refuse inputs whose estimated peak "
        "(README: memory) exceeds SIZE, e.g. 16G, or none (default: the memory available now)",
    )
    group.add_argument(
        "--worker-timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="fail (keeping what is finished) when the cluster has had no worker for S seconds "
        "(default 60)",
    )
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="send the blocks to this running dask scheduler (tcp://host:8786) instead of "
        "starting a local cluster; see docs/whole-slides.md",
    )


def wants_zarr(args: argparse.Namespace) -> bool:
    """Whether the run writes OME-Zarr (``--format``, or an ``--output`` ending in .zarr)."""
    if args.format is not None:
        return bool(args.format == "ome-zarr")
    return str(args.output).rstrip("/").endswith(".zarr")


def check_options(args: argparse.Namespace) -> None:
    """One-line errors for bad blockwise options, before any work."""
    if args.block_size < 64:
        raise ValueError(f"--block-size must be >= 64 px, got {args.block_size}")
    if args.halo is not None and not 0 <= args.halo < args.block_size:
        raise ValueError(
            f"--halo ({args.halo} px) must be >= 0 and smaller than --block-size "
            f"({args.block_size} px)"
        )
    if not args.worker_timeout > 0:
        raise ValueError(f"--worker-timeout must be > 0 s, got {args.worker_timeout}")
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    if args.workers is not None and args.scheduler is not None:
        raise ValueError("give --workers (a local cluster) or --scheduler, not both")


def segmentation_halo(info: Any, diameter: float | None) -> int:
    """Default halo of a segmentation model: three typical object diameters (in the image's
    pixels) plus 32 px of context, at least 64, a multiple of 16 (128 when the model records
    no object size)."""
    if diameter is None and info.object_diameter_px is not None:
        diameter = info.object_diameter_px / info.input_scale
    if diameter is None:
        return 128
    return int(16 * math.ceil(max(64.0, 3 * diameter + 32) / 16))


def output_stores(samples: list[Sample], output: Path) -> dict[str, Path]:
    """Sample name → its store: ``--output`` itself for one sample given as ``X.zarr``, else
    ``<output>/<name>.ome.zarr``."""
    if len(samples) == 1 and str(output).rstrip("/").endswith(".zarr"):
        return {samples[0][0]: output}
    if str(output).rstrip("/").endswith(".zarr"):
        raise ValueError(
            f"--output '{output}' names one store but --input gives {len(samples)} samples; "
            "give a folder"
        )
    return {name: output / f"{name}.ome.zarr" for name, _, _ in samples}


def track(items: Iterable[Any], description: str, total: int) -> Iterable[Any]:
    """A progress bar with ETA on stderr over ``total`` items, when it is a terminal."""
    if not sys.stderr.isatty() or total < 2:
        return items
    from rich.console import Console
    from rich.progress import track

    return track(items, description, total=total, console=Console(stderr=True), transient=True)


def _eta(processed: int, left_to_do: int, busy_s: float) -> str:
    """``, ETA m:ss`` from the mean time of the fields processed so far in this run."""
    seconds = busy_s / max(processed, 1) * left_to_do
    return f", ETA {int(seconds // 60)}:{int(seconds % 60):02d}"


def _write_summary(path: Path, rows: list[dict[str, Any]]) -> None:
    """One CSV row per field (written atomically); failed fields have a status and no numbers."""
    import csv
    import io

    from stainless.io.atomic import write_text_atomically

    columns = list(dict.fromkeys(key for row in rows for key in row))
    columns.append(columns.pop(columns.index("status")))
    text = io.StringIO()
    writer = csv.DictWriter(text, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomically(path, text.getvalue())


def _finished_record(store: Path) -> dict[str, Any] | None:
    """The ``stainless`` attributes of a finished store (None: not written by a finished run:
    absent, not a store, or no summary)."""
    import zarr

    if not store.is_dir():
        return None
    try:
        attributes: dict[str, Any] = dict(zarr.open_group(str(store), mode="r").attrs)
    except Exception:  # zarr raises many types for a store that is not one
        return None
    record = attributes.get("stainless", {})
    return dict(record) if isinstance(record.get("summary"), dict) else None


def _resumable(stores: dict[str, Path], settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Field → summary of the finished stores that this run keeps; ``ValueError`` (before any
    work) when one was made with another model or other settings."""
    kept, refused = {}, []
    for name, store in stores.items():
        record = _finished_record(store)
        if record is None:
            continue
        difference = settings_difference(record.get(SETTINGS_KEY), settings)
        if difference is None:
            kept[name] = dict(record["summary"])
        else:
            refused.append((name, store, difference))
    if refused:
        name, store, difference = refused[0]
        more = f" (and {len(refused) - 1} more field(s))" if len(refused) > 1 else ""
        raise ValueError(
            f"{name}: the finished store '{store}' was made differently from this run "
            f"({difference}){more}; pass --overwrite to redo it or give another --output"
        )
    return kept


FieldProcess = Callable[[str, Any, Path, Any], dict[str, float]]
"""``(name, LazyImage, store, client or None) -> summary row`` of one field."""


class _Stopped(Exception):
    """SIGTERM arrived during a blockwise run."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal_number)
        self.signal_number = signal_number


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM raises :class:`_Stopped` in the main thread while the block runs (so that the
    summary of the finished fields is still written); SIGINT stays ``KeyboardInterrupt``."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signal_number: int, frame: object) -> None:
        raise _Stopped(signal_number)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_fields(
    args: argparse.Namespace,
    samples: list[Sample],
    process: FieldProcess,
    settings: dict[str, Any],
) -> int:
    """Process every sample into its store with ``process(name, file, store, client)``, which
    returns the field's summary row; the dask client is started once, on the first sample
    larger than one block. Finished stores of a folder run are kept (resumed) when they
    recorded the same ``settings`` (else the run is refused before any work), failing fields
    are reported and skipped; a signal or a cluster that cannot finish stops the run with the
    summary of the fields finished so far. Returns the exit code."""
    from stainless.inference.blockwise import ClusterFailure

    for _, files, _ in samples:
        if len(files) != 1:
            raise ValueError(
                f"OME-Zarr output takes one file per sample (a multi-plane TIFF or zarr); got "
                f"{len(files)} plane files starting with '{files[0]}'"
            )
    stores = output_stores(samples, args.output)
    several = len(samples) > 1
    if several:
        args.output.mkdir(parents=True, exist_ok=True)
    resumed = _resumable(stores, settings) if several and not args.overwrite else {}
    rows: list[dict[str, Any]] = []
    try:
        with _sigterm_raises():
            failed = _process_fields(args, samples, stores, resumed, process, rows)
    except (_Stopped, KeyboardInterrupt) as stop:
        number = stop.signal_number if isinstance(stop, _Stopped) else int(signal.SIGINT)
        if several:
            _write_summary(args.output / "summary.csv", rows)
        finished = sum(row["status"] in ("done", "resumed") for row in rows)
        listed = " (listed in summary.csv)" if several else ""
        print(
            f"stopped by {signal.Signals(number).name} after {finished} of {len(samples)} "
            f"finished field(s){listed}; run the same command again to resume: finished fields "
            "are kept, an unfinished one is redone",
            file=sys.stderr,
        )
        return 128 + number
    except ClusterFailure as failure:
        if several:
            _write_summary(args.output / "summary.csv", rows)
        raise ClusterFailure(
            f"{failure}; finished fields and the unfinished .partial store are kept: run the "
            "same command again once the cluster has workers"
        ) from None
    if several:
        _write_summary(args.output / "summary.csv", rows)
    if failed:
        print(
            f"error: {len(failed)} of {len(samples)} field(s) failed and were skipped: "
            f"{', '.join(failed)}; the others finished",
            file=sys.stderr,
        )
        return EXIT_SOME_FIELDS_FAILED
    return 0


def _process_fields(
    args: argparse.Namespace,
    samples: list[Sample],
    stores: dict[str, Path],
    resumed: dict[str, dict[str, Any]],
    process: FieldProcess,
    rows: list[dict[str, Any]],
) -> list[str]:
    """The loop of :func:`run_fields`: appends one row per field to ``rows`` as it ends;
    returns the fields that failed."""
    from stainless.inference.blockwise import ClusterFailure, dask_client
    from stainless.io.lazy import LazyImage

    several = len(samples) > 1
    failed: list[str] = []
    processed, busy_s = 0, 0.0
    with ExitStack() as stack:
        client: Any = None
        for done, (name, files, _) in enumerate(samples):
            store = stores[name].absolute()  # workers may run elsewhere
            if name in resumed:
                rows.append({"field": name, **resumed[name], "status": "resumed"})
                print(f"{name}: resumed (finished earlier, same model and settings)",
                      file=sys.stderr)  # fmt: skip
                continue
            started = time.monotonic()
            try:
                image = LazyImage(files[0].absolute())
                blocks = math.ceil(image.shape_yx[0] / args.block_size) * math.ceil(
                    image.shape_yx[1] / args.block_size
                )
                if client is None and blocks > 1:
                    client = stack.enter_context(dask_client(args.workers, args.scheduler))
                row = process(name, image, store, client if blocks > 1 else None)
            except ClusterFailure:
                raise  # every field after it would fail alike
            except (OSError, ValueError) as error:
                shutil.rmtree(store.with_name(store.name + ".partial"), ignore_errors=True)
                if not several:
                    raise
                failed.append(name)
                print(f"{name}: skipped: {error}", file=sys.stderr)
                rows.append({"field": name, "status": f"failed: {error}"})
                continue
            rows.append({"field": name, **row, "status": "done"})
            processed, busy_s = processed + 1, busy_s + time.monotonic() - started
            counts = ", ".join(f"{k} {v:g}" for k, v in row.items())
            eta = _eta(processed, len(samples) - done - 1, busy_s)
            where = f" ({done + 1}/{len(samples)}{eta})" if several else ""
            print(f"{name}: {counts} -> {store}{where}", file=sys.stderr)
    return failed


def whole_image_ranges(image: Any, planes: Any, low: float, high: float) -> list[Any]:
    """The whole image's per-plane intensity percentiles, from a subsample of at most ~4 Mpx
    per plane (``planes(raw)`` picks the model's planes)."""
    from stainless.data.normalize import percentile_ranges

    return percentile_ranges(np.asarray(planes(image.sample())), low, high)
