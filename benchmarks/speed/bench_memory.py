"""Peak memory of the in-process commands: ``stainless segment`` and ``stainless predict``.

Each size runs as its own child process (``python -m stainless ...``), so its peak resident set
size (``ru_maxrss`` from ``os.wait4``) is that command's alone: reading, normalising, tiled
inference, decoding and writing of one image. Images are real data tiled up to the size:

* ``segment``: the built-in ``nuclei-fluorescence`` model on a DSB2018 fluorescence image
  (``../shared/data/dsb2018``, the largest one) tiled to N × N;
* ``predict``: the built-in ``phase-to-dapi`` model on the 13 phase planes of
  ``../shared/data/isl-neurons`` tiled to 13 × N × N.

Reports MB per size and the slope in bytes per pixel (a least-squares line through the sizes), so
the README can say what a given image needs. The blockwise path (issue 15) is the answer beyond.

    python benchmarks/speed/bench_memory.py [--sizes 1024 2048 4096] [--output results/...json]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from stainless.io import read_image, write_image
from stainless.provenance import write_record

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
DATA = HERE.parent.parent / "shared" / "data"


def _tiled(plane: np.ndarray, size: int) -> np.ndarray:
    reps = (-(-size // plane.shape[0]), -(-size // plane.shape[1]))
    return np.tile(plane, reps)[:size, :size]


def _peak_mb(argv: list[str]) -> tuple[float, float]:
    """Peak RSS (MB) and wall time (s) of ``python -m stainless argv`` in a child process."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "stainless", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        message = process.stderr.read().decode() if process.stderr else ""
        raise RuntimeError(f"stainless {' '.join(argv)} failed: {message}")
    return usage.ru_maxrss / 1024, seconds  # ru_maxrss is in KiB on Linux


def _slope(sizes: list[int], megabytes: list[float]) -> tuple[float, float]:
    pixels = np.array([s * s for s in sizes], dtype=float)
    slope, intercept = np.polyfit(pixels, np.array(megabytes) * 1e6, 1)
    return float(slope), float(intercept / 1e6)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
    parser.add_argument("--predict-sizes", type=int, nargs="+", default=[1024, 2048])
    parser.add_argument("--output", type=Path, default=HERE / "results" / "bench_memory.json")
    args = parser.parse_args()
    started = time.perf_counter()
    dsb = max((DATA / "dsb2018" / "images").glob("*.png"), key=lambda p: p.stat().st_size)
    nuclei = read_image(dsb).array
    nuclei = nuclei if nuclei.ndim == 2 else nuclei[..., :3].mean(axis=-1).astype(np.uint8)
    phase = [read_image(DATA / "isl-neurons" / f"phase_z{z:02d}.png").array for z in range(13)]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        for size in args.sizes:
            image = work / f"nuclei_{size}.tif"
            write_image(image, _tiled(nuclei, size), axes="YX")
            argv = ["segment", "--model", "nuclei-fluorescence", "--input", str(image)]
            peak, seconds = _peak_mb([*argv, "--output", str(work / f"seg_{size}")])
            rows.append(
                {"command": "segment", "size": size, "peak_mb": round(peak), "s": round(seconds, 1)}
            )
            print(rows[-1], flush=True)
        for size in args.predict_sizes:
            stack = work / f"phase_{size}.tif"
            planes = np.stack([_tiled(plane, size) for plane in phase])
            write_image(stack, planes, axes="ZYX")
            argv = ["predict", "--model", "phase-to-dapi", "--input", str(stack)]
            peak, seconds = _peak_mb([*argv, "--output", str(work / f"pred_{size}")])
            rows.append(
                {"command": "predict", "size": size, "peak_mb": round(peak), "s": round(seconds, 1)}
            )
            print(rows[-1], flush=True)
    fits = {}
    for command in ("segment", "predict"):
        chosen = [r for r in rows if r["command"] == command]
        if len(chosen) >= 2:
            slope, base = _slope([r["size"] for r in chosen], [r["peak_mb"] for r in chosen])
            fits[command] = {"bytes_per_pixel": round(slope, 1), "base_mb": round(base)}
            print(f"{command}: {slope:.0f} bytes per pixel + {base:.0f} MB", flush=True)
    record = {
        "benchmark": "peak memory of segment / predict (one child process per size)",
        "data": {"segment": str(dsb), "predict": "isl-neurons phase_z00..z12"},
        "rows": rows,
        "fits": fits,
        "command": "python benchmarks/speed/bench_memory.py " + " ".join(sys.argv[1:]),
    }
    write_record(args.output, record, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
