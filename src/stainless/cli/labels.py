"""``stainless labels from-fluorescence``: ground-truth labels derived from a stain image."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from stainless.cli._inputs import find_inputs
from stainless.cli._outputs import add_output_option, all_or_nothing, plan_outputs
from stainless.cli._report import progress

if TYPE_CHECKING:
    from stainless.io import Image

EXAMPLES = """examples:
  stainless labels from-fluorescence --input dapi.png --output labels/
  stainless labels from-fluorescence --input stains/ --channel DAPI --output labels/ --min-size 50
  stainless labels from-fluorescence --input map2.png --mode semantic --threshold gmm \\
      --output masks/
  stainless labels from-fluorescence --input dapi.png --split distance_intensity --output labels/
  stainless labels from-fluorescence --input map2.png --seeds labels/dapi_labels.tif \\
      --max-distance 25 --threshold li --output cells/
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``labels`` and its kinds."""
    parser = subparsers.add_parser(
        "labels",
        help="derive ground-truth labels (from a fluorescence stain)",
        description="Make segmentation ground truth without drawing it.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    fluo = kinds.add_parser(
        "from-fluorescence",
        help="smooth, threshold (Otsu/GMM), fill holes, size filter, watershed split",
        description="Labels from a stain: Gaussian smoothing, a global threshold (Otsu, a "
        "two-Gaussian mixture, or a number), hole filling, a size filter and, for instances, a "
        "watershed from h-maxima of the distance transform (optionally weighted by the stain). "
        "Writes <output>/<name>_labels.tif (instances, uint16) or <name>_mask.tif (semantic, "
        "uint8).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fluo.add_argument("--input", required=True, type=Path, nargs="+", help="stain files or folder")
    add_output_option(fluo, "output folder (created if needed)", required=True)
    fluo.add_argument("--channel", help="channel name to use from multi-channel files (e.g. DAPI)")
    fluo.add_argument("--mode", choices=("instance", "semantic"), default="instance")
    fluo.add_argument(
        "--threshold", default="otsu", help="otsu (default), li, gmm, or an intensity value"
    )
    fluo.add_argument("--sigma", type=float, default=2.0, help="smoothing σ in pixels (2)")
    fluo.add_argument("--min-size", type=int, default=30, help="smallest object in pixels (30)")
    fluo.add_argument(
        "--split",
        choices=("distance", "distance_intensity"),
        default="distance",
        help="what the watershed splits touching objects on (default: distance transform)",
    )
    fluo.add_argument(
        "--h", type=float, help="h-maxima contrast (px for distance; fraction otherwise)"
    )
    fluo.add_argument(
        "--seeds",
        type=Path,
        help="nucleus labels (one file, or a folder with <name>_labels.tif per input): grow one "
        "cell per nucleus in the stain (a seeded watershed; cytoplasm = cell - nucleus)",
    )
    fluo.add_argument(
        "--max-distance",
        type=float,
        help="with --seeds: keep each cell within this many pixels of its nucleus",
    )
    fluo.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    fluo.set_defaults(handler=run_from_fluorescence)


def _threshold(value: str) -> str | float:
    if value in ("otsu", "li", "gmm"):
        return value
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"--threshold must be otsu, li, gmm or a number, got {value!r}") from None


def _stain_plane(path: Path, channel: str | None) -> np.ndarray:
    """The one stain plane of ``path``: its only plane, or the channel named ``channel``."""
    from stainless.io import read_image

    image = read_image(path)
    if image.axes == "YX":
        if channel is not None and channel.lower() not in _channel_names(image):
            raise ValueError(
                f"'{path}' has a single channel; --channel {channel} does not apply to it"
            )
        return image.array
    if image.axes.startswith("Z") and image.axes.endswith("YX") and len(image.axes) == 3:
        raise ValueError(
            f"'{path}' is a z-stack of {image.array.shape[0]} planes; give one plane (for example "
            "its maximum projection)"
        )
    if image.axes not in ("CYX", "YXC"):
        raise ValueError(f"'{path}' has axes '{image.axes}'; expected YX, CYX or YXC")
    planes = image.array if image.axes == "CYX" else np.moveaxis(image.array, -1, 0)
    names = _channel_names(image)
    if channel is None:
        raise ValueError(
            f"'{path}' has {planes.shape[0]} channels {names or ''}; pick one with --channel"
        )
    if channel.lower() not in names:
        raise ValueError(f"'{path}' has no channel named '{channel}' (channels: {names})")
    return planes[names.index(channel.lower())]


def _seed_file(seeds: Path, name: str) -> Path:
    """The nucleus labels of input ``name``: ``seeds`` itself, or ``seeds/<name>_labels.tif``."""
    path = seeds / f"{name}_labels.tif" if seeds.is_dir() else seeds
    if not path.is_file():
        raise OSError(f"--seeds: no nucleus labels '{path}' for input '{name}'")
    return path


def _grown_cells(
    stain: np.ndarray, seeds: Path, args: argparse.Namespace, threshold: object, source: Path
) -> np.ndarray:
    from stainless.io import read_labels
    from stainless.postprocessing.cells_from_nuclei import cells_from_nuclei

    nuclei = read_labels(seeds).array
    if nuclei.shape != stain.shape:
        raise ValueError(
            f"--seeds '{seeds}' is {nuclei.shape} but the stain '{source}' is {stain.shape}"
        )
    cells = cells_from_nuclei(
        stain,
        nuclei,
        sigma_px=args.sigma,
        threshold=threshold,  # type: ignore[arg-type]
        max_distance_px=args.max_distance,
        min_size_px=args.min_size,
    )
    dtype = np.uint16 if cells.max(initial=0) <= np.iinfo(np.uint16).max else np.uint32
    return cells.astype(dtype)


def _channel_names(image: Image) -> list[str]:
    return [name.lower() for name in (image.metadata.channel_names or ())]


def run_from_fluorescence(args: argparse.Namespace) -> int:
    """Check inputs and outputs, then derive the labels; the outputs appear together when every
    input succeeded."""
    from stainless.io import read_header, write_image
    from stainless.postprocessing.from_fluorescence import labels_from_fluorescence

    threshold = _threshold(args.threshold)
    if args.sigma < 0 or args.min_size < 0:
        raise ValueError("--sigma and --min-size must be >= 0")
    if args.h is not None and not (np.isfinite(args.h) and args.h > 0):
        raise ValueError(f"--h must be a finite number > 0, got {args.h}")
    samples = find_inputs(args.input, 1)
    for _, files, _ in samples:
        read_header(files[0])
    if args.max_distance is not None and (args.seeds is None or not args.max_distance > 0):
        raise ValueError("--max-distance needs --seeds and a number of pixels > 0")
    if args.seeds is not None and args.mode != "instance":
        raise ValueError("--seeds grows instance labels; drop --mode semantic")
    seeds = {name: _seed_file(args.seeds, name) for name, _, _ in samples} if args.seeds else {}
    suffix = "_labels.tif" if args.mode == "instance" else "_mask.tif"
    planned = plan_outputs(samples, args.output, [suffix], args.overwrite)
    with all_or_nothing(args.output, args.overwrite) as batch:
        for name, files, _ in progress(samples, "labelling"):
            stain = _stain_plane(files[0], args.channel)
            if args.seeds is not None:
                labels = _grown_cells(stain, seeds[name], args, threshold, files[0])
                write_image(batch.staged(planned[name][0]), labels, axes="YX")
                continue
            labels = labels_from_fluorescence(
                stain,
                mode=args.mode,
                sigma_px=args.sigma,
                threshold=threshold,  # type: ignore[arg-type]
                min_size_px=args.min_size,
                split=args.split,
                h=args.h,
            )
            out = planned[name][0]
            write_image(batch.staged(out), labels, axes="YX")
            count = int(labels.max()) if args.mode == "instance" else int(labels.sum())
            unit = "objects" if args.mode == "instance" else "foreground pixels"
            print(f"{name}: {count} {unit} -> {out.name}", file=sys.stderr)
    return 0
