"""``stainless overlay``: ground truth, true and false positives drawn over the image."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stainless.cli._outputs import add_output_option

EXAMPLES = """examples:
  stainless overlay --image img.png --pred img_labels.tif --gt img_masks.png --output check.png
  stainless overlay --image big.ome.tif --pred big_labels.tif --output big.png --max-side 1500
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``overlay``."""
    parser = subparsers.add_parser(
        "overlay",
        help="draw predictions (and ground truth) over an image as a PNG",
        description="Ground-truth outlines in red, predictions matched at IoU ≥ 0.5 in yellow, "
        "unmatched predictions in green ([Han2024], Fig. 4), with a legend of counts. "
        "Images larger than --max-side are shown downsampled.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--image", required=True, type=Path, help="the image (first plane used)")
    parser.add_argument("--pred", required=True, type=Path, help="predicted instance labels")
    parser.add_argument("--gt", type=Path, help="ground-truth instance labels")
    add_output_option(parser, "output PNG", required=True)
    parser.add_argument("--max-side", type=int, default=2048, help="display size limit (2048)")
    parser.add_argument("--threshold", type=float, default=0.5, help="IoU of a match (0.5)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Check the output first, read, match, draw."""
    from stainless.io import read_input_planes, read_labels
    from stainless.viz.overlay import render_overlay, save_overlay_png

    if args.output.suffix.lower() != ".png":
        raise ValueError(f"--output '{args.output}' must end in .png")
    if args.output.exists() and not args.overwrite:
        raise FileExistsError(f"output '{args.output}' exists; pass --overwrite to replace it")
    if args.max_side < 64:
        raise ValueError(f"--max-side must be >= 64, got {args.max_side}")
    planes, _ = read_input_planes([args.image])
    pred = read_labels(args.pred).array
    gt = read_labels(args.gt).array if args.gt is not None else None
    rgb, counts = render_overlay(
        planes[0], pred, gt, max_side=args.max_side, threshold=args.threshold
    )
    save_overlay_png(rgb, counts, args.output, title=args.pred.name)
    summary = ", ".join(f"{key} {value}" for key, value in counts.items())
    print(f"{args.output}: {summary}", file=sys.stderr)
    return 0
