"""``stainless labels from-fluorescence``: ground-truth labels derived from a stain image."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from stainless.cli._inputs import add_output_option, find_inputs
from stainless.cli._report import progress

EXAMPLES = """examples:
  stainless labels from-fluorescence --input dapi.png --output labels/
  stainless labels from-fluorescence --input stains/ --channel DAPI --output labels/ --min-size 50
  stainless labels from-fluorescence --input map2.png --mode semantic --threshold gmm \\
      --output masks/
  stainless labels from-fluorescence --input dapi.png --split distance_intensity --output labels/
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
        "--threshold", default="otsu", help="otsu (default), gmm, or an intensity value"
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
    fluo.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    fluo.set_defaults(handler=run_from_fluorescence)


def _threshold(value: str) -> str | float:
    if value in ("otsu", "gmm"):
        return value
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"--threshold must be otsu, gmm or a number, got {value!r}") from None


def _stain_plane(path: Path, channel: str | None) -> np.ndarray:
    from stainless.io import read_input_planes

    planes, metadata = read_input_planes([path])
    if planes.shape[0] == 1:
        return planes[0]
    names = [n.lower() for n in (metadata.channel_names or ())]
    if channel is None:
        raise ValueError(
            f"'{path}' has {planes.shape[0]} channels {names or ''}; pick one with --channel"
        )
    if channel.lower() not in names:
        raise ValueError(f"'{path}' has no channel named '{channel}' (channels: {names})")
    return planes[names.index(channel.lower())]


def run_from_fluorescence(args: argparse.Namespace) -> int:
    """Check inputs and outputs, then derive and write the labels."""
    from stainless.io import write_image
    from stainless.postprocessing.from_fluorescence import labels_from_fluorescence

    threshold = _threshold(args.threshold)
    if args.sigma < 0 or args.min_size < 0:
        raise ValueError("--sigma and --min-size must be >= 0")
    samples = find_inputs(args.input, 1)
    suffix = "_labels.tif" if args.mode == "instance" else "_mask.tif"
    args.output.mkdir(parents=True, exist_ok=True)
    existing = [args.output / f"{n}{suffix}" for n, _, _ in samples]
    existing = [p for p in existing if p.exists()]
    if existing and not args.overwrite:
        raise FileExistsError(f"output '{existing[0]}' exists; pass --overwrite to replace it")
    for name, files, _ in progress(samples, "labelling"):
        labels = labels_from_fluorescence(
            _stain_plane(files[0], args.channel),
            mode=args.mode,
            sigma_px=args.sigma,
            threshold=threshold,  # type: ignore[arg-type]
            min_size_px=args.min_size,
            split=args.split,
            h=args.h,
        )
        out = args.output / f"{name}{suffix}"
        write_image(out, labels, axes="YX", overwrite=args.overwrite)
        count = int(labels.max()) if args.mode == "instance" else int(labels.sum())
        unit = "objects" if args.mode == "instance" else "foreground pixels"
        print(f"{name}: {count} {unit} -> {out.name}", file=sys.stderr)
    return 0
