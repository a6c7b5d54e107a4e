"""``stainless predict``: fluorescence images from label-free images with a trained model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from stainless.cli import _blockwise, _inputs, _outputs
from stainless.cli._memory import check_memory
from stainless.cli._report import progress
from stainless.io import ImageMetadata, write_image

EXAMPLES = """examples:
  stainless predict --model phase-to-dapi --input phase.tif --output predicted/
  stainless predict --model phase-to-dapi --input stack.tif --planes 4-8 --output predicted/
  stainless predict --model phase-to-dapi --input field_z*.png --stack --output predicted/
  stainless predict --model phase-to-dapi --input phase.png --pixel-size 0.65 --output predicted/
  stainless predict --model models/neurons --input phase_z*.png --output predicted/
  stainless predict --model models/neurons --input stacks/ --output predicted/ --tta --overlap 0.8
  stainless predict --model models/neurons --input samples.csv --output predicted/ --dtype float32
  stainless predict --model phase-to-dapi --input slide.ome.tif --output slide_dapi.zarr
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``predict``."""
    parser = subparsers.add_parser(
        "predict",
        help="predict fluorescence from label-free images with a trained model",
        description="Predict every target of a translation model. --input is one multi-plane file, "
        "the single-plane files of one sample (in plane order), a folder (one sample per file), or "
        "a manifest CSV (input* columns). Writes <output>/<name>_<target>.ome.tif per target "
        "and <output>/<name>_run.json (model, engine, tiling and how the precision was chosen). "
        "Every input is checked before any work; the outputs appear together when all inputs "
        "succeeded.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _inputs.add_model_and_input_options(
        parser,
        overlap=0.25,
        precision_help="auto = bf16 where it beats fp32 in a timed trial on this machine",
    )
    parser.add_argument(
        "--modality", help="imaging modality of the inputs (for modality-aware models)"
    )
    parser.add_argument(
        "--dtype", choices=("uint16", "float32"), default="uint16", help="output pixel type"
    )
    _blockwise.add_blockwise_options(
        parser,
        halo_help="context around each block (default 0: blocks are tiled as the whole image, "
        "so no halo is needed; 64 with --tta or when the input is resampled to the model's "
        "pixel size)",
    )
    parser.set_defaults(handler=run)


RUN_RECORD_ENDING = "_run.json"


def write_run_record(
    path: Path, args: argparse.Namespace, files: list[Path], predictor: Any
) -> None:
    """The run metadata of one prediction: model, inputs, engine, tiling and the precision
    record (with ``auto``: the timed trial's speed and bf16-vs-fp32 agreement on the first
    batch, :func:`stainless.device.precision_trial`)."""
    from stainless.io.json_text import json_text
    from stainless.provenance import run_metadata

    record = run_metadata(
        model=str(args.model), inputs=[str(file) for file in files], engine=args.engine,
        tile=args.tile, overlap=args.overlap, tta=args.tta,
        precision=predictor.precision_record(),
    )  # fmt: skip
    path.write_text(json_text(record))


def run(args: argparse.Namespace) -> int:
    """Load the model, check every input and output first, then predict and write."""
    from stainless.data.normalize import to_uint16
    from stainless.inference.predictor import load_predictor
    from stainless.io import modality_from_channel_names, read_input_planes

    options = _inputs.tiling_options(args)
    _inputs.parse_plane_options(args)
    _blockwise.check_options(args)
    _inputs.apply_engine(args)
    predictor = load_predictor(args.model, args.device, args.precision)
    wanted = predictor.info.planes_wanted()
    samples = _inputs.named_samples(_inputs.find_inputs(args.input, wanted, args.stack), args.name)
    pixel_sizes = _inputs.PixelSizes(args.pixel_size, predictor.info.pixel_size_um)
    if _blockwise.wants_zarr(args):
        from stainless.cli._zarr_jobs import predict_into_zarr

        return predict_into_zarr(args, predictor, samples, options, pixel_sizes)
    targets = predictor.info.target_names
    endings = [f"_{target}.ome.tif" for target in targets] + [RUN_RECORD_ENDING]
    samples = _outputs.skip_own_outputs(samples, args.output, endings)
    _inputs.check_inputs(samples, wanted, args.model, planes=args.planes)
    check_memory(args, samples)
    planned = _outputs.plan_outputs(samples, args.output, endings, args.overwrite)
    with _outputs.all_or_nothing(args.output, args.overwrite) as batch:
        for name, files, modality in progress(samples, "predicting"):
            planes, source = read_input_planes(files)
            if args.planes is not None:
                planes = planes[args.planes]
            modality = (
                args.modality or modality or modality_from_channel_names(source.channel_names)
            )
            pixel = pixel_sizes.of(source, files[0])
            predictions = predictor.predict(planes, modality, options, pixel)
            *images, record = planned[name]
            for target, out in zip(targets, images, strict=True):
                image = predictions[target]
                pixels: Any = (
                    to_uint16(image) if args.dtype == "uint16" else image.astype(np.float32)
                )
                metadata = ImageMetadata((target,), source.pixel_size_um)
                write_image(batch.staged(out), pixels, axes="YX", metadata=metadata)
            write_run_record(batch.staged(record), args, files, predictor)
            print(f"{name}: wrote {', '.join(out.name for out in planned[name])}", file=sys.stderr)
    return 0
