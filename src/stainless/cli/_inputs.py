"""What ``predict`` and ``segment`` share: model, input and tiling options, their checks, and
how ``--input`` values become samples."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from stainless.io import (
    ImageMetadata,
    is_image_path,
    list_images,
    read_manifest_table,
)
from stainless.io.collections import LABEL_FILE_SUFFIXES, image_stem
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
    parser.add_argument(
        "--engine",
        choices=("torch", "onnxruntime"),
        default="torch",
        help="run the network in torch (default) or as an exported ONNX graph in onnxruntime, "
        "exported once into --graph-cache (needs stainless[export]; float32)",
    )
    parser.add_argument(
        "--graph-cache",
        type=Path,
        help="folder for the exported graphs of --engine onnxruntime (default: $STAINLESS_CACHE, "
        "else ~/.cache/stainless)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument(
        "--name",
        help="the output name of a single sample (default: its file name; for the plane files "
        "of one sample, their folder and common stem)",
    )
    parser.add_argument(
        "--stack",
        action="store_true",
        help="the --input files are the planes of ONE sample, in plane order (a focus series "
        "saved as one file per plane)",
    )
    parser.add_argument(
        "--planes",
        help="use only these planes of each input, 0-based, e.g. 6 or 4,5,6 or 3-9 (models that "
        "take any number of planes; for a fixed-plane model, as many as it takes)",
    )
    parser.add_argument(
        "--pixel-size",
        type=float,
        metavar="UM",
        help="the inputs' pixel size in µm, when their metadata lacks it or is wrong: images are "
        "resampled to the model's pixel size (outputs come back at the input's size)",
    )


def plane_list(text: str | None) -> list[int] | None:
    """``--planes`` values: ``6``, ``4,5,6`` or ``3-9`` (inclusive) → 0-based indices.

    Raises
    ------
    ValueError
        Not indices, a negative index or a repeated one.
    """
    if text is None:
        return None
    planes: list[int] = []
    try:
        for part in text.split(","):
            if "-" in part.strip()[1:]:
                first, last = part.split("-", 1)
                planes.extend(range(int(first), int(last) + 1))
            else:
                planes.append(int(part))
    except ValueError:
        raise ValueError(
            f"--planes expects 0-based plane indices like 6, 4,5,6 or 3-9, got {text!r}"
        ) from None
    if not planes or min(planes) < 0:
        raise ValueError(f"--planes: plane indices are 0-based and >= 0, got {text!r}")
    if len(set(planes)) != len(planes):
        raise ValueError(f"--planes {text!r} names a plane twice")
    return planes


def check_pixel_size(value: float | None) -> float | None:
    """``--pixel-size``: None, or a finite number > 0 (µm); ``ValueError`` otherwise."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ValueError(f"--pixel-size must be a number > 0 (µm), got {value}")
    return value


def parse_plane_options(args: argparse.Namespace) -> None:
    """Check ``--planes`` (into 0-based indices) and ``--pixel-size`` in place."""
    args.planes = plane_list(args.planes)
    args.pixel_size = check_pixel_size(args.pixel_size)


class PixelSizes:
    """The pixel size (µm) of each input for a model that records its own: ``--pixel-size``,
    else the input's metadata (mean of Y and X). One warning line per run on stderr when an
    input's size is unknown (it is then taken to be the model's) or when ``--pixel-size`` is
    given to a model that records none (nothing is rescaled).

    Parameters
    ----------
    given : float, optional
        ``--pixel-size``.
    model_pixel_um : float, optional
        The model's training pixel size.
    """

    def __init__(self, given: float | None, model_pixel_um: float | None) -> None:
        self.given = given
        self.model_pixel_um = model_pixel_um
        self._warned = False
        if model_pixel_um is None and given is not None:
            self._warn(
                "the model does not record its training pixel size; --pixel-size is ignored "
                "and the inputs are used as they are"
            )

    def _warn(self, message: str) -> None:
        if not self._warned:
            print(f"warning: {message}", file=sys.stderr)
            self._warned = True

    def of(self, metadata: ImageMetadata, source: Path) -> float | None:
        """The pixel size of the input ``source`` with ``metadata`` to rescale by (None: unknown,
        or nothing to rescale to)."""
        if self.model_pixel_um is None:
            return None
        size = self.given
        if size is None and metadata.pixel_size_um is not None:
            size = float(sum(metadata.pixel_size_um) / 2)
        if size is None:
            self._warn(
                f"the pixel size of '{source}' is unknown (no metadata, no --pixel-size); "
                f"taking it to be the model's {self.model_pixel_um:g} µm (said once)"
            )
        return size


def named_samples(samples: list[Sample], name: str | None) -> list[Sample]:
    """``samples`` with ``--name`` applied: it names the one sample, and is refused for more."""
    if name is None:
        return samples
    if len(samples) != 1:
        raise ValueError(f"--name names one sample, but --input gives {len(samples)}")
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"--name must be a plain file name, got {name!r}")
    _, files, modality = samples[0]
    return [(name, files, modality)]


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


def check_inputs(
    samples: list[Sample],
    expected: int | None,
    model: Path,
    channels: Sequence[int | str] | None = None,
    planes: list[int] | None = None,
    colour: str = "as_is",
) -> None:
    """Read every input's header (not its pixels) before any work: readable files, planes of one
    size, and as many planes as the model takes (``expected``; None: any number of grey planes,
    so an RGB colour image is refused, unless the model's ``colour`` convention takes one grey
    plane or an RGB image); with ``channels``: channel indices that exist (names are
    checked when the pixels are read); with ``planes``: plane indices that exist. A bad file
    fails the run before anything is written.

    Raises
    ------
    OSError, ValueError
        Naming the file and what was expected.
    """
    from stainless.io import read_header

    for _, files, _ in samples:
        headers = [read_header(file) for file in files]
        sizes = {header.yx_shape for header in headers}
        if len(sizes) > 1:
            raise ValueError(
                f"input planes {[f.name for f in files]} differ in size: {sorted(sizes)}"
            )
        found = sum(header.planes for header in headers)
        if planes is not None:
            if max(planes) >= found:
                raise ValueError(
                    f"input '{files[0]}' has {found} plane(s) (0..{found - 1}); --planes asks "
                    f"for plane {max(planes)}"
                )
            found = len(planes)
        elif colour != "as_is" and channels is None and found not in (1, 3, 4):
            raise ValueError(
                f"input '{files[0]}' gives {found} planes but model '{model}' takes one grey "
                "plane or an RGB colour image; pick one channel with --channels"
            )
        elif colour == "as_is" and expected is None and any(h.axes == "YXC" for h in headers):
            raise ValueError(
                f"input '{files[0]}' is an RGB colour image but model '{model}' expects grey "
                "label-free planes; save it as greyscale or pick one channel with --planes"
            )
        if channels is not None:
            largest = max((c for c in channels if isinstance(c, int)), default=0)
            if found > 1 and largest > found:
                raise ValueError(
                    f"'{files[0]}' has {found} channel(s); channel {largest} does not exist"
                )
            continue
        if expected is not None and found != expected:
            kind = headers[0].plane_kind if len(headers) == 1 else "planes"
            advice = "; project or pick the planes first" if kind == "z-planes" else ""
            raise ValueError(
                f"input '{files[0]}' gives {found} {kind} but model '{model}' expects "
                f"{expected} plane(s){advice}"
            )


def sample_name(files: list[Path]) -> str:
    """The name of one sample given as several plane files: their folder and their common stem
    (``set2/bf_z00.png … set2/bf_z05.png`` → ``set2_bf``), so that two samples whose planes
    share a prefix (``bf_``) do not write the same outputs."""
    stems = [f.name.split(".")[0] for f in files]
    prefix = os.path.commonprefix(stems).rstrip("_-zZ0123456789")  # noqa: RUF071 (names, not paths)
    folders = {f.resolve().parent.name for f in files}
    parts = [*folders] if len(folders) == 1 else []
    return "_".join(part for part in (*parts, prefix) if part) or stems[0]


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


def named_files(path: Path, role: str, labels: bool = True) -> list[Path]:
    """The image files a --pred/--gt/--images/--labels value names: a file, a folder, or a
    quoted glob pattern.

    In a folder holding both images and label files (the Cellpose layout: ``*_img`` and
    ``*_masks``), ``labels`` keeps only the label files (those ending in ``_masks``, ``_pred``,
    ``_cp_masks`` or ``_labels``) and ``labels=False`` only the others.
    """
    if any(character in str(path) for character in "*?[") and not path.exists():
        files = sorted(p for p in path.parent.glob(path.name) if p.is_file() or is_image_path(p))
        if not files:
            raise OSError(f"{role} pattern '{path}' matches no file")
        return files
    if not path.exists():
        raise OSError(f"{role} '{path}' does not exist")
    if is_image_path(path):  # a file, or a zarr store (a folder that is one image)
        return [path]
    files = list_images(path)
    labelled = [f for f in files if image_stem(f).endswith(LABEL_FILE_SUFFIXES)]
    if labels:
        return labelled or files
    return [f for f in files if f not in labelled] or files


def find_inputs(
    paths: list[Path], planes_per_sample: int | None, stack: bool = False
) -> list[Sample]:
    """(name, plane files, modality) per sample, from the ``--input`` values: a manifest CSV,
    a folder (one sample per file), the single-plane files of one sample (``stack``, or as many
    files as a fixed-plane model takes), or image files (one sample each)."""
    for path in paths:
        if not path.exists():
            raise OSError(f"input '{path}' does not exist")
    if len(paths) == 1 and paths[0].suffix.lower() == ".csv":
        return _samples_from_manifest(paths[0])
    if len(paths) == 1 and paths[0].is_dir() and not is_image_path(paths[0]):
        return [(f.name.split(".")[0], [f], None) for f in list_images(paths[0])]
    if any(p.is_dir() and not is_image_path(p) for p in paths):
        raise ValueError("give either one folder or image files to --input, not both")
    if len(paths) > 1 and (stack or len(paths) == planes_per_sample):
        return [(sample_name(paths), list(paths), None)]
    return [(p.name.split(".")[0], [p], None) for p in paths]


def apply_engine(args: argparse.Namespace) -> None:
    """With ``--engine onnxruntime``, point ``args.model`` at the model's ONNX graph (exported
    into the cache the first time, said on stderr); a ``.onnx`` model runs there anyway.

    Raises
    ------
    ValueError
        ``--precision bf16`` asked of onnxruntime (it runs the float32 graph).
    """
    from stainless.inference.onnx_engine import is_onnx_model

    onnx = args.engine == "onnxruntime" or is_onnx_model(args.model)
    if onnx and args.precision == "bf16":
        raise ValueError(
            "--precision bf16 needs --engine torch: onnxruntime runs the float32 graph"
        )
    if args.engine != "onnxruntime" or is_onnx_model(args.model):
        return
    from stainless.inference.graph_cache import cached_graph

    graph, exported = cached_graph(args.model, args.graph_cache)
    if exported:
        print(f"exported '{args.model}' to {graph} for onnxruntime", file=sys.stderr)
    args.model = graph
