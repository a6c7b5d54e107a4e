"""``stainless train translation``: train an in silico labelling model from a YAML config."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from stainless.model_folder import SegmentationModelInfo

EXAMPLES = """examples:
  stainless train translation --config benchmarks/configs/isl_neurons_unet.yaml
  stainless train segmentation --config benchmarks/configs/dsb2018_distance.yaml
  stainless train segmentation --config nuclei.yaml --init models/phase-to-dapi --max-images 5
  stainless train segmentation --config nuclei.yaml --unlabelled raw/ --output models/st
  stainless train segmentation --images imgs/ --labels masks/ --output models/mine --max-minutes 15
  stainless train segmentation --images imgs/ --labels masks/ --init nuclei-fluorescence --output m
  stainless train segmentation --images phase/ --labels masks/ --init cells-phase --output m
  stainless train translation --config cfg.yaml --seed 1 --output models/dapi-seed1
  stainless train segmentation --config cfg.yaml --set data.crop_size=256 --set data.batch_size=2
  stainless train translation --config cfg.yaml --resume       # continue an interrupted run
  nohup stainless train segmentation --config cfg.yaml --max-minutes 60 > train.log &
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``train`` and its kinds."""
    parser = subparsers.add_parser(
        "train",
        help="train a model (translation: label-free → fluorescence; segmentation)",
        description="Train a model from a YAML config into a self-describing model folder.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    translation = kinds.add_parser(
        "translation",
        help="predict fluorescence targets from label-free planes (U-Net or pix2pix)",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    segmentation = kinds.add_parser(
        "segmentation",
        help="segment nuclei/cells: semantic, distance + mask, or HoVer heads",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for kind, handler in ((translation, run_translation), (segmentation, run_segmentation)):
        _add_run_options(kind, config_required=kind is translation)
        kind.set_defaults(handler=handler)
    segmentation.add_argument(
        "--images",
        type=Path,
        metavar="DIR|GLOB",
        help="train without a config: these images (a folder, a file or a quoted glob) ...",
    )
    segmentation.add_argument(
        "--labels",
        type=Path,
        metavar="DIR|GLOB",
        help="... and these instance labels, paired by name as 'evaluate' pairs them; a "
        "cut of every image validates (whole images from 20 images on, or --validation) and "
        "the recipe is chosen for you (the config it used is saved in the model folder)",
    )
    segmentation.add_argument(
        "--validation",
        nargs="+",
        metavar="NAME",
        help="with --images: these images (file names or stems) validate and tune the "
        "thresholds, whole; default: a cut of every image (under 20 images), else a fifth",
    )
    segmentation.add_argument(
        "--init",
        type=Path,
        help="start from this translation model folder or built-in model name (transfer)",
    )
    segmentation.add_argument(
        "--transfer",
        choices=("output", "weights"),
        default="output",
        help="how a translation --init starts the network: 'output' feeds the head its predicted "
        "stain ([Bonte2022]); 'weights' copies its whole U-Net, so the head reads all its last "
        "feature maps (the few-shot cells of benchmarks/RESULTS.md, issue 27)",
    )
    segmentation.add_argument(
        "--max-images", type=int, help="train on the first N images only (few-shot)"
    )
    segmentation.add_argument(
        "--channels",
        metavar="LIST",
        help="which image channels feed the network, Cellpose-style: '2,1' (cytoplasm in green, "
        "nucleus in red), names or 1-based indices, 0/none = absent; stored with the model",
    )
    segmentation.add_argument(
        "--tune-on",
        choices=("val",),
        help="tune post-processing thresholds on the validation images after training",
    )
    segmentation.add_argument(
        "--unlabelled",
        type=Path,
        metavar="DIR|GLOB|CSV",
        help="self-train (ST++, or ST with --set self_training.method=st) on these images "
        "without labels as well: a folder, a quoted glob or a manifest CSV (data.unlabelled)",
    )
    segmentation.add_argument(
        "--retune",
        action="store_true",
        help="do not train: tune the thresholds of the trained model folder again on validation",
    )


def _add_run_options(parser: argparse.ArgumentParser, *, config_required: bool) -> None:
    """The options every training shares: config, overrides, budget, resume, progress."""
    parser.add_argument(
        "--config", required=config_required, type=Path, help="YAML config (see README)"
    )
    parser.add_argument("--seed", type=int, help="override the config's seed")
    parser.add_argument("--output", type=Path, help="override the config's output model folder")
    parser.add_argument(
        "--max-minutes",
        type=float,
        help="time budget: stop cleanly after this many minutes, then write the model",
    )
    parser.add_argument("--max-steps", type=int, help="stop after this many optimisation steps")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value by its dotted key (the value is read as YAML), e.g. "
        "--set training.epochs=5 --set data.crop_size=256; repeatable",
    )
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing model")
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (on a terminal) or progress lines (in a log)",
    )


def _set_overrides(settings: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings → dotted overrides, each value read as YAML (``5``, ``[0.8, 1.2]``)."""
    import yaml

    from stainless.config.loading import EXPLICIT_NULL

    overrides: dict[str, Any] = {}
    for setting in settings:
        key, equals, value = setting.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"--set expects KEY=VALUE (a dotted config key), got '{setting}'")
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError as error:
            raise ValueError(f"--set {key}: the value is not valid YAML: {error}") from error
        overrides[key.strip()] = EXPLICIT_NULL if parsed is None else parsed
    return overrides


def _run_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The command line's overrides: its options, then ``--set`` (which can set null)."""
    options = {
        "seed": args.seed,
        "output": args.output,
        "training.max_minutes": args.max_minutes,
        "training.max_steps": args.max_steps,
    }
    return {**{k: v for k, v in options.items() if v is not None}, **_set_overrides(args.set)}


def _progress(args: argparse.Namespace) -> Literal["bar", "lines", "none"]:
    """A bar on a terminal, plain lines in a log (``nohup``), nothing with --no-progress."""
    if args.no_progress:
        return "none"
    return "bar" if sys.stderr.isatty() else "lines"


def run_translation(args: argparse.Namespace) -> int:
    """Validate the config, train, and report where the model went."""
    from stainless.config import load_translation_config
    from stainless.training.translation import train_translation

    config = load_translation_config(args.config, **_run_overrides(args))
    folder = train_translation(
        config, resume=args.resume, overwrite=args.overwrite, progress=_progress(args)
    )
    print(f"model written to {folder}")
    return 0


def _config_from_files(args: argparse.Namespace, overrides: dict[str, Any]) -> Any:
    """The segmentation config of ``--images`` / ``--labels``: pairs checked (unpaired files and
    one-object label images are refused before training), the recipe of
    :func:`stainless.config.recipe.segmentation_recipe`, then the command-line overrides."""
    from stainless.cli._inputs import named_files
    from stainless.cli._transfer import init_overrides
    from stainless.config.loading import segmentation_config_from_mapping
    from stainless.config.recipe import describe_validation, segmentation_recipe
    from stainless.data.object_size import object_diameters
    from stainless.io import pair_by_name, read_header, read_labels
    from stainless.model_folder import model_kind, read_segmentation_info, resolve_model

    if args.config is not None:
        raise ValueError("give either --config or --images/--labels, not both")
    if args.images is None or args.labels is None or args.output is None:
        raise ValueError("training from files needs --images, --labels and --output")
    images = named_files(args.images, "images", labels=False)
    labels = named_files(args.labels, "labels")
    with warnings.catch_warnings():  # the unpaired files are an error here, listed below
        warnings.simplefilter("ignore")
        pairs = pair_by_name(images, labels)
    if pairs.unpaired:
        names = ", ".join(path.name for path in pairs.unpaired[:5])
        more = f" and {len(pairs.unpaired) - 5} more" if len(pairs.unpaired) > 5 else ""
        raise ValueError(
            f"{len(pairs.unpaired)} file(s) do not pair between --images and --labels: "
            f"{names}{more} (files pair by name after stripping _masks, _img, _labels, ...)"
        )
    diameters = []
    for sample in pairs.samples:
        sizes = object_diameters(read_labels(sample.targets[0]).array)
        if sizes.size <= 1:
            raise ValueError(
                f"labels '{sample.targets[0]}' hold {sizes.size} object(s); training needs "
                "instance labels (one id per object; a binary mask? see 'stainless labels')"
            )
        diameters.append(sizes)
    smallest = min(min(read_header(s.inputs[0]).yx_shape) for s in pairs.samples)
    init = resolve_model(args.init) if args.init is not None else None
    fine_tune = init is not None and model_kind(init) == "segmentation"
    scale, object_diameter = None, None
    init_info = read_segmentation_info(init) if fine_tune and init is not None else None
    # an init trained at one object size brings every image to that size itself (fine_tuning)
    if init_info is not None:
        warn_far_sizes(pairs.samples, diameters, init_info)
    if init_info is None or not init_info.one_diameter:
        object_diameter = per_image_diameter(diameters, init_info)
        if object_diameter is not None:
            scale = 1.0
        elif init_info is not None:
            scale = matching_scale(init_info, float(np.median(np.concatenate(diameters))))
    raw = segmentation_recipe(
        [(s.inputs[0], s.targets[0]) for s in pairs.samples],
        args.output,
        smallest_side=smallest,
        init=init,
        fine_tune=fine_tune,
        seed=args.seed or 0,
        scale=scale,
        object_diameter=object_diameter,
        validation_names=args.validation,
    )
    print(describe_validation(raw))
    if args.transfer == "weights":
        weights = init_overrides(args.init, args.transfer)
        raw["model"].update({key.removeprefix("model."): value for key, value in weights.items()})
    return segmentation_config_from_mapping(raw, "--images/--labels", **overrides)


REACHABLE_ZOOM = 4.0
"""Resampling brings objects at most this factor up or down to a model's size
(:func:`stainless.data.segmentation.at_object_diameter` clips there)."""


def warn_far_sizes(
    samples: list[Any], diameters: list[NDArray[np.float64]], init: SegmentationModelInfo
) -> None:
    """Warn about training images whose objects (median of ``diameters``) are more than
    :data:`REACHABLE_ZOOM` times smaller or larger than the init model's training objects: no
    resampling shows them to it at its size, so they are learnt at a size it never saw."""
    if init.object_diameter_px is None:
        return
    native = init.object_diameter_px
    for sample, sizes in zip(samples, diameters, strict=True):
        median = float(np.median(sizes))
        if not native / REACHABLE_ZOOM <= median <= native * REACHABLE_ZOOM:
            warnings.warn(
                f"labels '{sample.targets[0]}': objects of {median:.0f} px median diameter, "
                f"beyond x{REACHABLE_ZOOM:g} of the init model's {native:.0f} px; resampling "
                "cannot bring them to its size (check the labels, or train from scratch)",
                stacklevel=2,
            )


SIZE_SPREAD = 1.5
"""Images whose median object diameters differ more than this factor are each brought to one
object size for training (``data.object_diameter``); below it one scale serves them all."""


def per_image_diameter(
    diameters: list[NDArray[np.float64]], init: SegmentationModelInfo | None
) -> float | None:
    """The object size (px) to bring every training image to, when their objects' sizes differ
    by more than :data:`SIZE_SPREAD` (a 14 px kind beside a 50 px one: one scale would show each
    at another size); None when one scale serves. The size is the init model's (its training
    objects as its network saw them) or, from scratch, the median over the images.

    Parameters
    ----------
    diameters : list of (N_i,) float ndarray
        Equivalent diameters of each image's objects.
    init : SegmentationModelInfo, optional
        The model being fine-tuned, when it records a single scale (not ``one_diameter``).
    """
    medians = [float(np.median(d)) for d in diameters]
    if max(medians) <= SIZE_SPREAD * min(medians):
        return None
    if init is not None and init.object_diameter_px is not None:
        target = init.object_diameter_px * init.input_scale
    else:
        target = float(np.median(medians))
    target = round(float(np.clip(target, 4.0, 200.0)), 1)
    print(
        f"objects are {min(medians):.0f}-{max(medians):.0f} px across (median per image): each "
        f"image is brought to objects of {target:g} px for training, and segment finds the "
        "size of each new image (or takes --diameter)"
    )
    return target


def matching_scale(init: SegmentationModelInfo, diameter_px: float) -> float | None:
    """The ``data.scale`` that shows objects of ``diameter_px`` (the user's labels) to a model
    being fine-tuned at the size of its own training objects (``SegmentationModelInfo``
    ``init``); None when the model does not record that size. Kept within the resampling
    range of training (``data.scale``: ×¼ to ×:data:`REACHABLE_ZOOM`)."""
    scale = init.scale_at(diameter_px)
    if scale is None or init.object_diameter_px is None:
        return None
    chosen = float(np.clip(scale, 1.0 / REACHABLE_ZOOM, REACHABLE_ZOOM))
    print(
        f"objects are {diameter_px:.0f} px across (median); the init model's were "
        f"{init.object_diameter_px:.0f} px at scale {init.input_scale:g}: training at scale "
        f"{chosen:.3g}"
    )
    return round(chosen, 4)


def run_segmentation(args: argparse.Namespace) -> int:
    """Validate the config (with the command-line overrides), train, report the folder."""
    from stainless.cli._transfer import init_overrides
    from stainless.config import load_segmentation_config
    from stainless.io.channels import parse_channels
    from stainless.training.segmentation import retune_model_folder, train_segmentation

    overrides = {
        **_run_overrides(args),
        "data.channels": parse_channels(args.channels) if args.channels else None,
        "data.max_images": args.max_images,
        "postprocess.tune_on": args.tune_on,
        "data.unlabelled": args.unlabelled.absolute() if args.unlabelled else None,
    }
    if args.images is not None or args.labels is not None:
        config = _config_from_files(args, overrides)
    elif args.config is None:
        raise ValueError("give --config, or --images and --labels (with --output)")
    else:
        if args.validation:
            raise ValueError(
                "--validation goes with --images/--labels; a config names its validation "
                "images in data.validation (or cuts each image with data.validation_fraction)"
            )
        config = load_segmentation_config(
            args.config, **overrides, **init_overrides(args.init, args.transfer)
        )
    if args.retune:
        tuning = retune_model_folder(config.output)
        settings = ", ".join(f"{k} {v}" for k, v in tuning.items() if k not in ("on", "images"))
        print(f"re-tuned {config.output} on {tuning['images']} validation images: {settings}")
        return 0
    run_settings = {"resume": args.resume, "overwrite": args.overwrite, "progress": _progress(args)}
    if config.data.unlabelled is not None:
        from stainless.experiments.self_training import self_train

        folder = self_train(config, **run_settings)
    else:
        folder = train_segmentation(config, **run_settings)
    print(f"model written to {folder}")
    return 0
