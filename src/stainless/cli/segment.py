"""``stainless segment``: label images from images with a trained segmentation model."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

import numpy as np

from stainless.cli import _blockwise, _inputs, _outputs
from stainless.cli._memory import check_memory
from stainless.cli._report import progress
from stainless.postprocessing.overrides import threshold_overrides

if TYPE_CHECKING:
    from stainless.inference.nuclei_seeded import NucleiSeededSegmenter
    from stainless.inference.segmenter import SegmentationPredictor

EXAMPLES = """examples:
  stainless segment --model models/nuclei --input images/ --output labels/
  stainless segment --model models/nuclei --input img.tif --output out/ --outlines --min-size 30
  stainless segment --model models/nuclei --input big.ome.tif --output out/ --tile 1024 --h 0.2
  stainless segment --model nuclei-fluorescence --input dapi/ --output labels/ --tta
  stainless segment --model cells-phase --input phase/ --output look/ --outlines --diameter 90
  stainless segment --model cells --input rgb_cells/ --output cells/ --channels 2,1
  stainless segment --model cells --input rgb_cells/ --output cells/ --channels 2,1 --nuclei-seeded
  stainless segment --model cells --input rgb_cells/ --output cells/ --engine onnxruntime
  stainless segment --model nuclei-fluorescence --input slide.ome.tif --output slide_labels.zarr
  stainless segment --model nuclei-fluorescence --input plate/ --output plate_labels/ \
      --format ome-zarr --workers 2
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``segment``."""
    parser = subparsers.add_parser(
        "segment",
        help="segment nuclei or cells with a trained segmentation model",
        description="Segment every input with a segmentation model folder. --input is one image "
        "file, the single-plane files of one sample (in plane order), or a folder (one sample per "
        "file). Writes <output>/<name>_labels.tif (uint16, uint32 beyond 65535 objects; a class "
        "map for 3-class semantic models) and with --outlines <name>_outlines.png. Every input is "
        "checked before any work; the outputs appear together when all inputs succeeded.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _inputs.add_model_and_input_options(
        parser,
        overlap=0.25,
        precision_help="auto = fp32 (bf16 quantises distance maps into spurious maxima)",
    )
    parser.add_argument("--min-size", type=int, help="remove objects smaller than N pixels")
    parser.add_argument("--mask-threshold", type=float, help="foreground probability threshold")
    parser.add_argument("--h", type=float, help="h-maxima contrast (distance heads)")
    parser.add_argument(
        "--flow-threshold",
        type=float,
        help="largest flow error of a kept object (flows heads; 0 keeps all)",
    )
    parser.add_argument(
        "--channels",
        metavar="LIST",
        help="which channels feed the model, Cellpose-style: '2,1' (cytoplasm in green, nucleus "
        "in red), names ('green,red') or 1-based indices, 0/none = absent (default: the "
        "model's own)",
    )
    parser.add_argument(
        "--diameter",
        type=_diameter,
        metavar="PX|auto",
        help="typical object diameter in your images, in pixels, as in Cellpose: images are "
        "resampled so objects reach the model at its training size; 'auto' finds it in each "
        "image (a size search with the model itself) (default: 'auto' for a model trained at "
        "one object size, such as 'nuclei', unless --pixel-size is given; else no resampling; "
        "`stainless models info` / model.json give the model's own)",
    )
    parser.add_argument(
        "--nuclei-seeded",
        action="store_true",
        help="cells grown from nuclei: the nucleus model (--nuclei-model) finds the nuclei in the "
        "nucleus channel, each seeds one cell in the cell model's foreground (a two-channel "
        "cell model such as 'cells': cytoplasm, nucleus; the image must have a nucleus channel)",
    )
    parser.add_argument(
        "--nuclei-model",
        default="nuclei",
        metavar="MODEL",
        help="nucleus model for --nuclei-seeded (default: the built-in 'nuclei')",
    )
    parser.add_argument("--outlines", action="store_true", help="also write an outline PNG")
    _blockwise.add_blockwise_options(
        parser,
        halo_help="context around each block, larger than the largest object (default: three "
        "of the model's training object diameters + 32 px)",
    )
    parser.set_defaults(handler=run)


def _diameter(text: str) -> float | str:
    """``--diameter``: a number of pixels, or ``auto``."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number of pixels or 'auto', got '{text}'"
        ) from None


def _overrides(args: argparse.Namespace) -> dict[str, float]:
    return threshold_overrides(args.min_size, args.mask_threshold, args.h, args.flow_threshold)


def _seeded_segmenter(
    args: argparse.Namespace, predictor: SegmentationPredictor
) -> NucleiSeededSegmenter | None:
    """The nucleus-seeded segmenter of ``--nuclei-seeded`` (None without it)."""
    if not args.nuclei_seeded:
        return None
    from stainless.inference.nuclei_seeded import NucleiSeededSegmenter
    from stainless.inference.segmenter import SegmentationPredictor

    if _blockwise.wants_zarr(args) or args.pixel_size is not None:
        raise ValueError(
            "--nuclei-seeded writes TIFF labels of whole images (no OME-Zarr, no --pixel-size)"
        )
    nuclei = SegmentationPredictor.load(args.nuclei_model, args.device, args.precision)
    return NucleiSeededSegmenter(predictor, nuclei)


def run(args: argparse.Namespace) -> int:
    """Load the model, check every input's header and every output name first, then segment;
    the outputs appear together when every input succeeded (nothing half-written)."""
    from stainless.inference.object_size import estimate_diameter, native_diameter
    from stainless.inference.segmenter import SegmentationPredictor
    from stainless.io import read_input_planes, write_image
    from stainless.io.channels import parse_channels
    from stainless.viz.outlines import draw_outlines, grey_to_rgb

    options = _inputs.tiling_options(args)
    _inputs.parse_plane_options(args)
    _blockwise.check_options(args)
    thresholds = _overrides(args)
    _inputs.apply_engine(args)
    auto_size = args.diameter == "auto"
    # loaded at its own size: a --diameter becomes a magnification of each image, so that a
    # shrunk image's flows are decoded at the network's resolution (SegmentationPredictor.segment)
    predictor = SegmentationPredictor.load(args.model, args.device, args.precision)
    if args.diameter is None and args.pixel_size is None and predictor.info.one_diameter:
        auto_size, args.diameter = True, "auto"  # its training images were all of one size
    given = 1.0
    if args.diameter is not None and not auto_size:
        predictor.info.at_diameter(args.diameter, str(args.model))  # one line if out of range
        given = native_diameter(predictor.info) / args.diameter
    if auto_size:
        native_diameter(predictor.info)  # one line now if the model records no object size
    channels = parse_channels(args.channels) if args.channels else None
    in_force = channels if channels is not None else predictor.info.channels
    # with channels chosen, every file is a whole sample (its channels are picked from it)
    wanted = predictor.info.planes_wanted()
    per_sample = 1 if in_force is not None else wanted
    samples = _inputs.named_samples(
        _inputs.find_inputs(args.input, per_sample, args.stack), args.name
    )
    pixel_sizes = (  # --diameter sets the scale itself
        _inputs.PixelSizes(None, None)
        if args.diameter is not None
        else _inputs.PixelSizes(args.pixel_size, predictor.info.pixel_size_um)
    )
    seeded = _seeded_segmenter(args, predictor)
    if _blockwise.wants_zarr(args):
        from stainless.cli._zarr_jobs import segment_into_zarr

        settings = (options, thresholds, channels)
        return segment_into_zarr(args, predictor, samples, settings, pixel_sizes)
    endings = ["_labels.tif", "_outlines.png"] if args.outlines else ["_labels.tif"]
    samples = _outputs.skip_own_outputs(samples, args.output, ["_labels.tif", "_outlines.png"])
    _inputs.check_inputs(samples, wanted, args.model, in_force, args.planes, predictor.info.colour)
    check_memory(args, samples)
    planned = _outputs.plan_outputs(samples, args.output, endings, args.overwrite)
    with _outputs.all_or_nothing(args.output, args.overwrite) as batch:
        for name, files, _ in progress(samples, "segmenting"):
            raw, metadata = read_input_planes(files)
            if args.planes is not None:
                raw = raw[args.planes]
            planes = predictor.input_planes(raw, metadata.channel_names, files[0], channels)
            pixel = pixel_sizes.of(metadata, files[0])
            magnification = given
            if auto_size:
                found = estimate_diameter(predictor, planes, options).diameter_px
                magnification = native_diameter(predictor.info) / found
                print(f"{name}: object diameter {found:.1f} px (found automatically)",
                      file=sys.stderr)  # fmt: skip
            labels: np.ndarray
            if seeded is not None:
                labels = seeded.segment(planes, files[0], options, thresholds, magnification)
            else:
                labels = predictor.segment(planes, options, thresholds, pixel,
                                           magnification=magnification)  # fmt: skip
            largest = int(labels.max(initial=0))
            dtype = np.uint16 if largest <= np.iinfo(np.uint16).max else np.uint32
            out = planned[name][0]
            write_image(batch.staged(out), labels.astype(dtype), axes="YX")
            if args.outlines:
                rgb = draw_outlines(grey_to_rgb(raw[0]), labels, (255, 255, 0))
                write_image(batch.staged(planned[name][1]), rgb, axes="YXC")
            count = int(len(np.unique(labels)) - 1)
            print(f"{name}: {count} objects -> {out.name}", file=sys.stderr)
    return 0
