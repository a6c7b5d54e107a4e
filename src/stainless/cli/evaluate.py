"""``stainless evaluate segmentation | semantic | translation``: score predictions against truth."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stainless.cli._inputs import named_files
from stainless.cli._outputs import add_output_option
from stainless.cli._report import (
    check_output,
    compile_group_pattern,
    group_summaries,
    print_table,
    progress,
    summarise,
    write_results,
)
from stainless.io import (
    KNOWN_LABEL_SUFFIXES,
    Collection,
    Image,
    Sample,
    is_image_path,
    list_images,
    pair_by_name,
    read_image,
    read_labels,
)
from stainless.io.collections import image_stem, strip_suffixes
from stainless.io.labels import warn_if_objects_in_pieces
from stainless.metrics import DEFAULT_THRESHOLDS, error_types, instance_metrics, semantic_metrics
from stainless.metrics.intensity import translation_metrics
from stainless.postprocessing.labels import remove_small_objects

ERROR_KINDS = ("matched", "split", "merged", "missed", "spurious")

EXAMPLES = """examples:
  stainless evaluate segmentation --pred predictions/ --gt test/ --output scores.json
  stainless evaluate segmentation --pred predictions/ --gt 'test/*_masks.png' --errors
  stainless evaluate segmentation --pred a_pred.tif --gt a_masks.png --min-size 100
  stainless evaluate semantic --pred pred/ --gt gt/ --classes background nucleus cytoplasm
  stainless evaluate translation --pred dapi_pred.tif --gt dapi.png --output scores.csv
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``evaluate`` and its three kinds."""
    parser = subparsers.add_parser(
        "evaluate",
        help="score predictions against ground truth (instances, classes or images)",
        description="Score predicted label images or fluorescence images against ground truth. "
        "P and G are files, folders or quoted glob patterns; several files are paired by name "
        "after stripping _masks/_pred/_cp_masks/_labels/_img, and unpaired files are listed.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    segmentation = kinds.add_parser(
        "segmentation", help="instance labels: csi, F1, precision, AJI, ARI, PQ"
    )
    semantic = kinds.add_parser("semantic", help="class labels: IoU and Dice per class")
    translation = kinds.add_parser(
        "translation", help="images: MAE, MSE, PSNR, SSIM, PCC, distances"
    )
    for kind in (segmentation, semantic, translation):
        kind.add_argument(
            "--pred",
            required=True,
            type=Path,
            metavar="P",
            help="predicted file, folder, or quoted glob ('pred/*_cp_masks.png')",
        )
        kind.add_argument(
            "--gt",
            required=True,
            type=Path,
            metavar="G",
            help="ground-truth file, folder, or quoted glob ('test/*_masks.png')",
        )
        add_output_option(kind, "write results to FILE.json or FILE.csv", required=False)
        kind.add_argument(
            "--overwrite", action="store_true", help="replace an existing --output file"
        )
        kind.add_argument(
            "--group-by",
            metavar="REGEX",
            help="also report means per group of images: the REGEX's first group (or whole "
            "match) in each image name, e.g. '^(style\\d+)_' or '_(w\\d+)_'",
        )
    segmentation.add_argument(
        "--thresholds",
        type=float,
        nargs="+",
        default=list(DEFAULT_THRESHOLDS),
        metavar="T",
        help="IoU thresholds (default 0.50 0.55 ... 0.95)",
    )
    segmentation.add_argument(
        "--min-size",
        type=int,
        default=0,
        metavar="N",
        help="drop objects under N pixels from both sides first (default 0: keep all)",
    )
    segmentation.add_argument(
        "--errors",
        action="store_true",
        help="also classify the unmatched objects: split, merged, missed, spurious",
    )
    segmentation.set_defaults(handler=run_segmentation)
    semantic.add_argument(
        "--classes",
        nargs="+",
        metavar="NAME",
        help="class names in label order (default: class0, class1, ... up to the largest label)",
    )
    semantic.set_defaults(handler=run_semantic)
    translation.add_argument(
        "--mask", type=Path, metavar="M", help="score only inside this mask file or folder"
    )
    translation.add_argument(
        "--data-range",
        type=float,
        metavar="R",
        help="value range for PSNR/SSIM (default: each target's max - min)",
    )
    translation.set_defaults(handler=run_translation)


def find_pairs(pred: Path, gt: Path) -> Collection:
    """Pair predictions with ground truth: two files, or folders / patterns matched by name."""
    pred_files, gt_files = named_files(pred, "prediction"), named_files(gt, "ground truth")
    if is_image_path(pred) and is_image_path(gt):
        return Collection(
            [Sample(strip_suffixes(image_stem(gt), KNOWN_LABEL_SUFFIXES), (pred,), (gt,))]
        )
    return pair_by_name(pred_files, gt_files)


def _evaluate(
    args: argparse.Namespace,
    score: Callable[[Sample], dict[str, Any]],
    columns: list[str],
    totals: Sequence[str] = (),
    **details: Any,
) -> int:
    check_output(args.output, args.overwrite)
    pattern = compile_group_pattern(args.group_by)
    pairs = find_pairs(args.pred, args.gt)
    rows = [
        {"name": sample.name, **score(sample)} for sample in progress(pairs.samples, "evaluating")
    ]
    summary = summarise(rows, totals)
    groups = group_summaries(rows, pattern, totals) if pattern else {}
    print_table(rows, summary, ["name", *[c for c in columns if c in rows[0]]], groups)
    if totals:
        counts = ", ".join(f"{key} {summary[f'{key}_total']:.0f}" for key in totals)
        print(f"over all images: {counts}")
    if args.output is not None:
        write_results(
            args.output,
            rows,
            summary,
            pred=str(args.pred),
            gt=str(args.gt),
            unpaired=[str(p) for p in pairs.unpaired],
            groups=groups,
            **details,
        )
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _read_pair(
    sample: Sample, read: Callable[[Path], Image], truth: str = "ground truth"
) -> tuple[np.ndarray, np.ndarray]:
    """The prediction and the truth of a pair, refused when their shapes differ."""
    pred = read(sample.inputs[0]).array
    gt = read(sample.targets[0]).array
    if pred.shape != gt.shape:
        raise ValueError(
            f"prediction '{sample.inputs[0].name}' has shape {pred.shape} but {truth} "
            f"'{sample.targets[0].name}' has {gt.shape}"
        )
    return pred, gt


def run_segmentation(args: argparse.Namespace) -> int:
    """Instance metrics for every pair, table to stdout, optional JSON/CSV."""
    if args.min_size < 0:
        raise ValueError(f"--min-size must be >= 0, got {args.min_size}")
    thresholds = sorted(set(args.thresholds))
    if any(not 0 < t <= 1 for t in thresholds):
        raise ValueError(f"--thresholds must lie in (0, 1], got {args.thresholds}")

    def score(sample: Sample) -> dict[str, Any]:
        pred, gt = _read_pair(sample, read_labels)
        warn_if_objects_in_pieces(pred, sample.inputs[0].name)
        warn_if_objects_in_pieces(gt, sample.targets[0].name)
        metrics = instance_metrics(gt, pred, thresholds=thresholds, min_size_px=args.min_size)
        row = {"n_true": int(metrics.pop("n_true")), "n_pred": int(metrics.pop("n_pred"))}
        if args.errors:
            if args.min_size:
                gt = remove_small_objects(gt, args.min_size)
                pred = remove_small_objects(pred, args.min_size)
            counts = error_types(gt, pred)
            row.update({key: counts[key] for key in ERROR_KINDS})
        return {**row, **metrics}

    first = f"{thresholds[0]:.2f}"
    columns = [
        "n_true",
        "n_pred",
        f"csi@{first}",
        f"f1@{first}",
        f"precision@{first}",
        "map_csi",
        "aji",
        "ari",
        *(ERROR_KINDS if args.errors else ()),
    ]
    totals = ("n_true", "n_pred", *ERROR_KINDS) if args.errors else ()
    return _evaluate(args, score, columns, totals, thresholds=thresholds, min_size_px=args.min_size)


def run_semantic(args: argparse.Namespace) -> int:
    """IoU / Dice per class for every pair."""
    pairs = find_pairs(args.pred, args.gt)
    names = args.classes
    if names is None:
        largest = 0
        for sample in pairs.samples:
            largest = max(largest, int(read_labels(sample.targets[0]).array.max()))
        names = [f"class{i}" for i in range(largest + 1)]

    def score(sample: Sample) -> dict[str, Any]:
        pred, gt = _read_pair(sample, read_labels)
        return semantic_metrics(gt, pred, n_classes=len(names), class_names=names)

    columns = [f"iou_{n}" for n in names] + ["mean_iou", "mean_dice", "pixel_accuracy"]
    return _evaluate(args, score, columns, classes=names)


def run_translation(args: argparse.Namespace) -> int:
    """Image metrics for every predicted / real fluorescence pair."""
    masks: dict[str, Path] = {}
    if args.mask is not None:
        if args.mask.is_dir():
            masks = {
                s.name: s.targets[0]
                for s in pair_by_name(list_images(args.gt), list_images(args.mask)).samples
            }
        elif args.mask.is_file():
            masks = {"*": args.mask}
        else:
            raise OSError(f"mask '{args.mask}' does not exist")

    def score(sample: Sample) -> dict[str, Any]:
        pred, gt = _read_pair(sample, read_image, "target")
        mask_path = masks.get("*") or masks.get(sample.name)
        if masks and mask_path is None:
            raise ValueError(f"no mask pairs with '{sample.targets[0].name}' in '{args.mask}'")
        mask = read_labels(mask_path).array > 0 if mask_path else None
        if mask is not None and mask.shape != gt.shape:
            raise ValueError(f"mask '{mask_path}' has shape {mask.shape} but target has {gt.shape}")
        return translation_metrics(pred, gt, data_range=args.data_range, mask=mask)

    columns = ["mae", "psnr", "ssim", "pcc", "euclidean_distance", "cosine_distance"]
    return _evaluate(args, score, columns, mask=str(args.mask) if args.mask else None)
