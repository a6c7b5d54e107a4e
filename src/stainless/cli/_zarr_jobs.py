"""The blockwise jobs of ``segment`` and ``predict`` with ``--format ome-zarr``: one
:class:`stainless.inference.blockwise.BlockJob` per field, run by
:func:`stainless.cli._blockwise.run_fields`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from stainless.cli import _blockwise, _inputs
from stainless.cli._inputs import Sample
from stainless.cli._result_settings import SETTINGS_KEY, result_settings
from stainless.inference.scaling import rescaling
from stainless.model_folder import resolve_model
from stainless.provenance import run_metadata
from stainless.tiling import TilingOptions


def _threads(args: argparse.Namespace, client: Any) -> int:
    """torch threads per worker: the cores shared out on a local cluster; 0 (torch's own
    choice) in this process or on a remote cluster."""
    from stainless.inference.blockwise import torch_threads

    return torch_threads(args.workers) if client is not None and args.scheduler is None else 0


def _pixel_size(args: argparse.Namespace, image: Any) -> tuple[float, float] | None:
    """The output's pixel size (µm): the input's metadata, else ``--pixel-size``."""
    given = (args.pixel_size, args.pixel_size) if args.pixel_size is not None else None
    return image.metadata.pixel_size_um or given


def _predict_precision(predictor: Any, options: TilingOptions) -> tuple[str, dict[str, Any]]:
    """``bf16``/``fp32`` of a translation predictor (one per modality: the first decides) and
    how it was chosen (with ``auto``: the trial's speed and agreement, on a random batch here)."""
    first = (
        next(iter(predictor.predictors.values())) if hasattr(predictor, "predictors") else predictor
    )
    precision = str(first.choose_precision(options.tile, options.batch_size))
    return precision, first.precision_record()


def _settings(
    args: argparse.Namespace, model: Path, options: TilingOptions, precision: str, **more: Any
) -> dict[str, Any]:
    """What decides this run's result (compared before a plate resumes; see
    :mod:`stainless.cli._result_settings`)."""
    return result_settings(
        str(args.model), model, command=args.command, tile=options.tile,
        overlap=options.overlap_fraction, tta=options.tta, precision=precision,
        planes=args.planes, pixel_size=args.pixel_size, block_size=args.block_size,
        halo=args.halo, **more,
    )  # fmt: skip


def _run_options(
    args: argparse.Namespace, halo: int, client: Any, settings: dict[str, Any], **details: Any
) -> Any:
    from stainless.inference.blockwise import RunOptions

    attributes = run_metadata(model=str(args.model), **details, **{SETTINGS_KEY: settings})
    return RunOptions(
        args.block_size, halo, client, args.overwrite, attributes, _blockwise.track,
        no_worker_timeout_s=args.worker_timeout,
    )  # fmt: skip


def _field_diameter(
    name: str, image: Any, pick: Any, predictor: Any, options: TilingOptions
) -> float:
    """``--diameter auto`` for one field: the size search on its central crop (read lazily)."""
    from stainless.inference.object_size import central_box, estimate_diameter

    side = 1024
    crop = pick(image.read(*central_box(image.shape_yx, side)))
    found = float(estimate_diameter(predictor, crop, options, max_side=side).diameter_px)
    print(f"{name}: object diameter {found:.1f} px (found automatically)", file=sys.stderr)
    return found


def segment_into_zarr(
    args: argparse.Namespace,
    predictor: Any,
    samples: list[Sample],
    settings: tuple[TilingOptions, dict[str, float], list[int | str] | None],
    pixel_sizes: _inputs.PixelSizes,
) -> int:
    """``segment`` into one OME-Zarr label store per sample; returns the exit code."""
    from stainless.inference.blockwise import BlockJob, segment_blockwise
    from stainless.inference.object_size import native_diameter
    from stainless.io.ome_zarr import OmeZarrLayout, chunk_side

    options, thresholds, channels = settings
    info = predictor.info
    auto_size = args.diameter == "auto"
    class_map = info.head == "semantic" and info.classes > 2
    precision = "bf16" if predictor.use_bf16 else "fp32"
    model = str(resolve_model(args.model))
    in_force = channels if channels is not None else info.channels
    recorded = _settings(
        args, Path(model), options, precision, thresholds=thresholds, channels=channels,
        diameter=args.diameter,
    )  # fmt: skip

    def process(name: str, image: Any, store: Path, client: Any) -> dict[str, float]:
        sample: list[Sample] = [(name, [image.path], None)]
        _inputs.check_inputs(
            sample, info.planes_wanted(), args.model, in_force, args.planes, info.colour
        )
        pixel = pixel_sizes.of(image.metadata, image.path)
        scale = rescaling(pixel, info.pixel_size_um) * info.input_scale

        def pick(raw: Any) -> Any:
            raw = raw[args.planes] if args.planes is not None else raw
            return predictor.input_planes(raw, image.metadata.channel_names, image.path, channels)

        ranges = _blockwise.whole_image_ranges(image, pick, *info.input_percentiles)
        # the predictor was loaded at the model's own size: a diameter is a magnification
        size = args.diameter
        if auto_size:
            size = _field_diameter(name, image, pick, predictor, options)
        magnification = native_diameter(info) / size if size is not None else 1.0
        scale *= magnification
        halo = args.halo if args.halo is not None else _blockwise.segmentation_halo(info, size)
        layout = OmeZarrLayout(
            store,
            image.shape_yx,
            "uint8" if class_map else "uint32",
            chunk_side(args.block_size),
            None,
            _pixel_size(args, image),
        )
        job = BlockJob(
            "segment", model, image, layout, options, args.device, precision,
            _threads(args, client), args.planes, channels, thresholds, pixel, ranges,
            None, None, class_map, exact=not options.tta and scale == 1.0,
            magnification=magnification,
        )  # fmt: skip
        run = _run_options(args, halo, client, recorded, input=str(image.path))
        return segment_blockwise(job, run).summary()

    return _blockwise.run_fields(args, samples, process, recorded)


def predict_into_zarr(
    args: argparse.Namespace,
    predictor: Any,
    samples: list[Sample],
    options: TilingOptions,
    pixel_sizes: _inputs.PixelSizes,
) -> int:
    """``predict`` into one OME-Zarr image per sample (the targets as channels); returns the
    exit code."""
    from stainless.inference.blockwise import BlockJob, predict_blockwise
    from stainless.io import modality_from_channel_names
    from stainless.io.ome_zarr import OmeZarrLayout, chunk_side

    info = predictor.info
    # decided once here (a timed trial for auto), not by every worker
    precision, precision_check = _predict_precision(predictor, options)
    model = str(resolve_model(args.model))
    settings = _settings(
        args, Path(model), options, precision, modality=args.modality, dtype=args.dtype
    )

    def process(name: str, image: Any, store: Path, client: Any) -> dict[str, float]:
        sample: list[Sample] = [(name, [image.path], None)]
        _inputs.check_inputs(sample, info.planes_wanted(), args.model, planes=args.planes)
        pixel = pixel_sizes.of(image.metadata, image.path)
        modality = args.modality or modality_from_channel_names(image.metadata.channel_names)

        def pick(raw: Any) -> Any:
            return raw[args.planes] if args.planes is not None else raw

        ranges = _blockwise.whole_image_ranges(image, pick, *info.input_percentiles)
        layout = OmeZarrLayout(
            store,
            image.shape_yx,
            args.dtype,
            chunk_side(args.block_size),
            tuple(info.target_names),
            _pixel_size(args, image),
        )
        exact = not options.tta and rescaling(pixel, info.pixel_size_um) == 1.0
        job = BlockJob(
            "predict", model, image, layout, options, args.device, precision,
            _threads(args, client), args.planes, None, {}, pixel, ranges, None, modality,
            exact=exact,
        )  # fmt: skip
        # tiled as the whole image, blocks need no context; tiled on their own, they do
        halo = args.halo if args.halo is not None else 0 if exact else 64
        run = _run_options(args, halo, client, settings, input=str(image.path),
                           precision_check=precision_check)  # fmt: skip
        return predict_blockwise(job, run).summary()

    return _blockwise.run_fields(args, samples, process, settings)
