"""Refuse, from the headers alone, an input that the whole-image path (TIFF output) cannot hold in
memory, before any pixel is read: a 20000² image would otherwise allocate until the machine
swaps. Such images go block by block into OME-Zarr instead."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from stainless.cli._inputs import Sample

WHOLE_IMAGE_COST = {"segment": (546e6, 67.3), "predict": (841e6, 106.8)}
"""Peak resident memory of the whole-image path, ``fixed bytes + bytes per pixel``: the fits of
``benchmarks/results/bench_memory.json`` (``python benchmarks/speed/bench_memory.py``;
``nuclei-fluorescence`` and the 13-plane ``phase-to-dapi`` on a 2-core CPU machine), as in the
README's memory table."""

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_memory(text: str) -> int | None:
    """``16G``, ``500M``, ``2.5GiB``, ``1e9`` → bytes; ``none`` → None (no limit).

    Raises
    ------
    ValueError
        Not a size.
    """
    if text.strip().lower() == "none":
        return None
    found = re.fullmatch(r"\s*([0-9.eE+]+)\s*([kKmMgGtT]?)(i?[bB])?\s*", text)
    try:
        value = float(found.group(1)) if found else -1.0
    except ValueError:
        value = -1.0
    if found is None or value <= 0:
        raise ValueError(f"--max-memory must be a size such as 16G or 500M (or none), got '{text}'")
    return int(value * _UNITS[found.group(2).upper()])


def available_memory() -> int:
    """Bytes this machine can give a process now without swapping (``MemAvailable``)."""
    import psutil

    return int(psutil.virtual_memory().available)


def whole_image_bytes(command: str, height: int, width: int) -> float:
    """Estimated peak memory of ``command`` on one ``height × width`` image (bytes)."""
    fixed, per_pixel = WHOLE_IMAGE_COST[command]
    return fixed + per_pixel * height * width


def _gib(size: float) -> str:
    return f"{size / (1 << 30):.1f} GiB"


def check_memory(args: argparse.Namespace, samples: list[Sample]) -> None:
    """``ValueError`` in one line for the first sample whose whole-image run would need more
    than ``--max-memory`` (default: the memory available now), from its header alone."""
    from stainless.io import read_header

    limit = parse_memory(args.max_memory) if args.max_memory else available_memory()
    if limit is None:
        return
    where = "--max-memory" if args.max_memory else "memory available now"
    for _, files, _ in samples:
        height, width = read_header(files[0]).yx_shape
        needed = whole_image_bytes(args.command, height, width)
        if needed > limit:
            stem = Path(files[0]).name.split(".")[0]
            raise ValueError(
                f"'{files[0]}' is {height}×{width} px: {args.command} into TIFF would need about "
                f"{_gib(needed)}, more than the {_gib(limit)} of {where}; write OME-Zarr block "
                f"by block instead (--output {stem}.zarr) or raise --max-memory"
            )
