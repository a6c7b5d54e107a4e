"""Every metric the five papers report: image translation, pixel and instance segmentation.

See :mod:`stainless.metrics.intensity`, :mod:`stainless.metrics.pixel`,
:mod:`stainless.metrics.instance` and :mod:`stainless.metrics.clustering` for the formulas and
their sources.
"""

from stainless.metrics.clustering import adjusted_rand_index, aggregated_jaccard_index
from stainless.metrics.errors import ERROR_TYPES, error_types
from stainless.metrics.instance import (
    DEFAULT_THRESHOLDS,
    MatchCounts,
    count_matches,
    instance_metrics,
    match_instances,
    scores_from_counts,
)
from stainless.metrics.intensity import (
    cosine_distance,
    euclidean_distance,
    mae,
    mse,
    pearson,
    psnr,
    ssim,
    translation_metrics,
)
from stainless.metrics.pixel import (
    binary_dice,
    binary_iou,
    confusion_matrix,
    dice_per_class,
    iou_per_class,
    pixel_accuracy,
    semantic_metrics,
)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "ERROR_TYPES",
    "MatchCounts",
    "adjusted_rand_index",
    "aggregated_jaccard_index",
    "binary_dice",
    "binary_iou",
    "confusion_matrix",
    "cosine_distance",
    "count_matches",
    "dice_per_class",
    "error_types",
    "euclidean_distance",
    "instance_metrics",
    "iou_per_class",
    "mae",
    "match_instances",
    "mse",
    "pearson",
    "pixel_accuracy",
    "psnr",
    "scores_from_counts",
    "semantic_metrics",
    "ssim",
    "translation_metrics",
]
