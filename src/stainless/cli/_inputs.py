"""What ``predict`` and ``segment`` share: model, input and tiling options, their checks, and
how ``--input`` values become samples."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from stainless.io import list_images, read_manifest_table
from stainless.tiling import TilingOptions

Sample = tuple[str, list[Path], str | None]
"""(name, plane files in plane order, modality or None)."""


def add_model_and_input_options(
    parser: argparse.ArgumentParser, *, overlap: float, precision_help: str
) -> None:
    """``--model --input --output``, the tiling and test-time-augmentation options,
    ``--device --precision --overwrite``; ``overlap`` is the default tile overlap."""
    parser.add_argument("--model", required=True, type=Path, help="model folder or built-in name")
    parser.add_argument(
        "--input", required=True, type=Path, nargs="+", help="image file(s), folder or CSV"
    )
    parser.add_argument(
        "--output", required=True, type=Path, help="output folder (created if needed)"
    )
    parser.add_argument("--tile", type=int, default=512, help="tile side in pixels (default 512)")
    parser.add_argument(
        "--overlap", type=float, default=overlap, help=f"tile overlap fraction (default {overlap})"
    )
    parser.add_argument(
        "--batch-size", type=int, default=4, help="tiles per forward pass (default 4)"
    )
    parser.add_argument(
        "--margin", type=int, default=0, help="discard this many pixels at inner tile edges (0)"
    )
    parser.add_argument("--tta", action="store_true", help="average over the four 90° rotations")
    parser.add_argument(
        "--tta-flips", action="store_true", help="with --tta: also the mirror images"
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument(
        "--precision", choices=("auto", "bf16", "fp32"), default="auto", help=precision_help
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")


def tiling_options(args: argparse.Namespace) -> TilingOptions:
    """The checked tiling options of the command line."""
    if not 0 <= args.overlap < 1:
        raise ValueError(f"--overlap must be in [0, 1), got {args.overlap}")
    if args.tile < 16:
        raise ValueError(f"--tile must be >= 16, got {args.tile}")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.margin < 0 or 2 * args.margin >= args.tile:
        raise ValueError(f"--margin must be >= 0 and under half the tile, got {args.margin}")
    return TilingOptions(
        args.tile, args.overlap, args.batch_size, args.tta, args.tta_flips, args.margin
    )


def refuse_existing(planned: list[Path], overwrite: bool) -> None:
    """``FileExistsError`` naming the first planned output that exists, unless ``overwrite``."""
    existing = [path for path in planned if path.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"output '{existing[0]}' exists; pass --overwrite to replace it")


def _common_name(files: list[Path]) -> str:
    stems = [f.name.split(".")[0] for f in files]
    prefix = os.path.commonprefix(stems).rstrip("_-zZ0123456789")  # noqa: RUF071 (names, not paths)
    return prefix or stems[0]


def _samples_from_manifest(path: Path) -> list[Sample]:
    table = read_manifest_table(path)
    columns = table.columns_starting("input")
    if not columns:
        raise ValueError(f"manifest '{path}' has no input column (columns: {table.header})")
    return [
        (
            row.get("name") or table.file(row[columns[0]]).name.split(".")[0],
            [table.file(row[c]) for c in columns],
            row.get("modality") or None,
        )
        for row in table.rows
    ]


def find_inputs(paths: list[Path], planes_per_sample: int) -> list[Sample]:
    """(name, plane files, modality) per sample, from the ``--input`` values: a manifest CSV,
    a folder (one sample per file), the single-plane files of one sample, or image files."""
    for path in paths:
        if not path.exists():
            raise OSError(f"input '{path}' does not exist")
    if len(paths) == 1 and paths[0].suffix.lower() == ".csv":
        return _samples_from_manifest(paths[0])
    if len(paths) == 1 and paths[0].is_dir():
        return [(f.name.split(".")[0], [f], None) for f in list_images(paths[0])]
    if any(p.is_dir() for p in paths):
        raise ValueError("give either one folder or image files to --input, not both")
    if len(paths) > 1 and len(paths) == planes_per_sample:
        return [(_common_name(paths), list(paths), None)]
    return [(p.name.split(".")[0], [p], None) for p in paths]


def check_planes(files: list[Path], found: int, model: Path, expected: int) -> None:
    """``ValueError`` when an input gives another number of planes than the model takes."""
    if found != expected:
        raise ValueError(
            f"input '{files[0]}' gives {found} planes but model '{model}' expects {expected}"
        )


def add_output_option(parser: argparse.ArgumentParser, help_text: str, required: bool) -> None:
    """``--output`` (every command's name for where results go), with ``--out`` accepted as a
    hidden alias of earlier releases."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--output", type=Path, help=help_text)
    group.add_argument("--out", dest="output", type=Path, help=argparse.SUPPRESS)
