"""``stainless train translation``: train an in silico labelling model from a YAML config."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXAMPLES = """examples:
  stainless train translation --config benchmarks/configs/isl_neurons_unet.yaml
  stainless train segmentation --config benchmarks/configs/dsb2018_distance.yaml
  stainless train segmentation --config nuclei.yaml --init models/phase-to-dapi --max-images 5
  stainless train translation --config cfg.yaml --seed 1 --output models/dapi-seed1
  stainless train translation --config cfg.yaml --resume       # continue an interrupted run
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
    translation.add_argument("--config", required=True, type=Path, help="YAML config (see README)")
    translation.add_argument("--seed", type=int, help="override the config's seed")
    translation.add_argument(
        "--output", type=Path, help="override the config's output model folder"
    )
    translation.add_argument(
        "--resume", action="store_true", help="continue from the last checkpoint"
    )
    translation.add_argument(
        "--overwrite", action="store_true", help="replace an existing model folder"
    )
    translation.add_argument("--no-progress", action="store_true", help="no progress bar")
    translation.set_defaults(handler=run_translation)
    segmentation = kinds.add_parser(
        "segmentation",
        help="segment nuclei/cells: semantic, distance + mask, or HoVer heads",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    segmentation.add_argument("--config", required=True, type=Path, help="YAML config (README)")
    segmentation.add_argument("--seed", type=int, help="override the config's seed")
    segmentation.add_argument("--output", type=Path, help="override the output model folder")
    segmentation.add_argument(
        "--init", type=Path, help="start from this translation model folder (transfer)"
    )
    segmentation.add_argument(
        "--max-images", type=int, help="train on the first N images only (few-shot)"
    )
    segmentation.add_argument(
        "--tune-on",
        choices=("val",),
        help="tune post-processing thresholds on the validation images after training",
    )
    segmentation.add_argument(
        "--retune",
        action="store_true",
        help="do not train: tune the thresholds of the trained model folder again on validation",
    )
    segmentation.add_argument("--resume", action="store_true", help="continue from last.ckpt")
    segmentation.add_argument("--overwrite", action="store_true", help="replace the model")
    segmentation.add_argument("--no-progress", action="store_true", help="no progress bar")
    segmentation.set_defaults(handler=run_segmentation)


def run_translation(args: argparse.Namespace) -> int:
    """Validate the config, train, and report where the model went."""
    from stainless.config import load_translation_config
    from stainless.training.translation import train_translation

    config = load_translation_config(args.config, seed=args.seed, output=args.output)
    folder = train_translation(
        config,
        resume=args.resume,
        overwrite=args.overwrite,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    print(f"model written to {folder}")
    return 0


def run_segmentation(args: argparse.Namespace) -> int:
    """Validate the config (with the command-line overrides), train, report the folder."""
    from stainless.config import load_segmentation_config
    from stainless.training.segmentation import retune_model_folder, train_segmentation

    config = load_segmentation_config(
        args.config,
        seed=args.seed,
        output=args.output,
        **{
            "model.init": args.init,
            "data.max_images": args.max_images,
            "postprocess.tune_on": args.tune_on,
        },
    )
    if args.retune:
        tuning = retune_model_folder(config.output)
        settings = ", ".join(f"{k} {v}" for k, v in tuning.items() if k not in ("on", "images"))
        print(f"re-tuned {config.output} on {tuning['images']} validation images: {settings}")
        return 0
    folder = train_segmentation(
        config,
        resume=args.resume,
        overwrite=args.overwrite,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    print(f"model written to {folder}")
    return 0
