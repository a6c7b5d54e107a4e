"""``stainless predict``: fluorescence images from label-free images with a trained model."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from stainless.cli._report import progress
from stainless.io import ImageMetadata, list_images, write_image

EXAMPLES = """examples:
  stainless predict --model models/neurons --input phase_z*.png --output predicted/
  stainless predict --model models/neurons --input stacks/ --output predicted/ --tta --overlap 0.8
  stainless predict --model models/neurons --input samples.csv --output predicted/ --dtype float32
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``predict``."""
    parser = subparsers.add_parser(
        "predict",
        help="predict fluorescence from label-free images with a trained model",
        description="Predict every target of a translation model. --input is one multi-plane file, "
        "the single-plane files of one sample (in plane order), a folder (one sample per file), or "
        "a manifest CSV (input* columns). Writes <output>/<name>_<target>.ome.tif per target.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, type=Path, help="model folder")
    parser.add_argument(
        "--input", required=True, type=Path, nargs="+", help="image file(s), folder or CSV"
    )
    parser.add_argument(
        "--output", required=True, type=Path, help="output folder (created if needed)"
    )
    parser.add_argument("--tile", type=int, default=512, help="tile side in pixels (default 512)")
    parser.add_argument(
        "--overlap", type=float, default=0.5, help="tile overlap fraction (default 0.5)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=4, help="tiles per forward pass (default 4)"
    )
    parser.add_argument(
        "--margin",
        type=int,
        default=0,
        help="discard this many pixels at inner tile edges (default 0)",
    )
    parser.add_argument("--tta", action="store_true", help="average over the four 90° rotations")
    parser.add_argument(
        "--tta-flips", action="store_true", help="with --tta: also the mirror images"
    )
    parser.add_argument(
        "--modality", help="imaging modality of the inputs (for modality-aware models)"
    )
    parser.add_argument(
        "--dtype", choices=("uint16", "float32"), default="uint16", help="output pixel type"
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.set_defaults(handler=run)


def _common_name(files: list[Path]) -> str:
    stems = [f.name.split(".")[0] for f in files]
    prefix = os.path.commonprefix(stems).rstrip("_-zZ0123456789")  # noqa: RUF071 (names, not paths)
    return prefix or stems[0]


def find_inputs(
    paths: list[Path], planes_per_sample: int
) -> list[tuple[str, list[Path], str | None]]:
    """(name, plane files, modality) per sample, from the --input values."""
    for path in paths:
        if not path.exists():
            raise OSError(f"input '{path}' does not exist")
    if len(paths) == 1 and paths[0].suffix.lower() == ".csv":
        from stainless.data.translation import samples_from_manifest

        return [(s.label, s.inputs, s.modality) for s in samples_from_manifest(paths[0])]
    if len(paths) == 1 and paths[0].is_dir():
        return [(f.name.split(".")[0], [f], None) for f in list_images(paths[0])]
    if any(p.is_dir() for p in paths):
        raise ValueError("give either one folder or image files to --input, not both")
    if len(paths) > 1 and len(paths) == planes_per_sample:
        return [(_common_name(paths), list(paths), None)]
    return [(p.name.split(".")[0], [p], None) for p in paths]


def run(args: argparse.Namespace) -> int:
    """Load the model, check every input and output first, then predict and write."""
    from stainless.data.normalize import to_uint16
    from stainless.data.translation import modality_from_channel_names, read_input_planes
    from stainless.inference.predictor import TilingOptions, load_predictor

    if not 0 <= args.overlap < 1:
        raise ValueError(f"--overlap must be in [0, 1), got {args.overlap}")
    if args.tile < 16:
        raise ValueError(f"--tile must be >= 16, got {args.tile}")
    predictor = load_predictor(args.model, args.device, args.precision)
    samples = find_inputs(args.input, predictor.info.in_channels)
    targets = predictor.info.target_names
    args.output.mkdir(parents=True, exist_ok=True)
    planned = [
        args.output / f"{name}_{target}.ome.tif" for name, _, _ in samples for target in targets
    ]
    existing = [p for p in planned if p.exists()]
    if existing and not args.overwrite:
        raise FileExistsError(f"output '{existing[0]}' exists; pass --overwrite to replace it")
    options = TilingOptions(
        args.tile, args.overlap, args.batch_size, args.tta, args.tta_flips, args.margin
    )
    for name, files, modality in progress(samples, "predicting"):
        planes, source = read_input_planes(files)
        if planes.shape[0] != predictor.info.in_channels:
            raise ValueError(
                f"input '{files[0]}' gives {planes.shape[0]} planes but model '{args.model}' "
                f"expects {predictor.info.in_channels}"
            )
        modality = args.modality or modality or modality_from_channel_names(source.channel_names)
        predictions = predictor.predict(planes, modality, options)
        for target, image in predictions.items():
            pixels: Any = to_uint16(image) if args.dtype == "uint16" else image.astype(np.float32)
            metadata = ImageMetadata(channel_names=(target,), pixel_size_um=source.pixel_size_um)
            out = args.output / f"{name}_{target}.ome.tif"
            write_image(out, pixels, axes="YX", metadata=metadata, overwrite=args.overwrite)
        print(f"{name}: wrote {', '.join(f'{name}_{t}.ome.tif' for t in targets)}", file=sys.stderr)
    return 0
