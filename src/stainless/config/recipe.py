"""A segmentation config written for the user: ``stainless train segmentation --images DIR
--labels DIR`` pairs the files, holds out validation images and picks the recipe measured on two
CPU cores (issues 11 and 13), so that a first model needs no YAML. The config it makes is saved
in the model folder (``config.yaml``) to be read, edited and rerun with ``--config``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from stainless.io.planes import MIN_TRAINING_SIDE

CROP_SIZE = 128
"""Crops of 128² in batches of 8: the fastest recipe per pixel on 2 CPU cores (issue 11)."""
BATCH_SIZE = 8
MIN_VALIDATION_IMAGES = 5
"""With fewer training images, validation is cut off each image (``validation_fraction``)."""
VALIDATION_SHARE = 0.2
DEFAULT_EPOCHS = 40
FLOWS_RECIPE: dict[str, Any] = {"architecture": "unet", "width": 32, "depth": 4, "head": "flows"}
"""The instance head and body that won the dense-tissue and DSB2018 comparisons (issue 11)."""


def segmentation_recipe(
    pairs: list[tuple[Path, Path]],
    output: Path,
    *,
    smallest_side: int,
    init: Path | str | None = None,
    fine_tune: bool = False,
    seed: int = 0,
    scale: float | None = None,
) -> dict[str, Any]:
    """The config (as a YAML-ready mapping) for training on ``pairs`` of (image, labels).

    Parameters
    ----------
    pairs : list of (Path, Path)
        Image and instance-label files, already paired.
    output : Path
        The model folder to write.
    smallest_side : int
        The smallest image side in pixels: crops never exceed it.
    init : path or str, optional
        A model to start from (a built-in name or a folder).
    fine_tune : bool
        ``init`` is a segmentation model: it decides the architecture itself (see
        :func:`stainless.config.loading.fine_tuning`); otherwise the flows U-Net of
        :data:`FLOWS_RECIPE` is trained (from a translation model's U-Net when ``init`` is one).
    seed : int
    scale : float, optional
        ``data.scale`` (the magnification before the network); unset: 1, or the fine-tuned
        model's own.

    Returns
    -------
    dict
        ``seed``, ``output``, ``data`` (samples, validation, crops), ``model``, ``training``
        and ``postprocess`` sections. With at least :data:`MIN_VALIDATION_IMAGES` pairs a
        seeded fifth of the images validate (at least one); with fewer, the last 20 % of each
        image's columns do (``validation_fraction``; more for narrow images, so that the cut
        keeps at least :data:`~stainless.io.planes.MIN_TRAINING_SIDE` pixels).
    """
    if not pairs:
        raise ValueError("no image pairs its labels")
    order = np.random.default_rng(seed).permutation(len(pairs))
    samples = [_sample(*pairs[i]) for i in order]
    validation: list[dict[str, Any]] = []
    data: dict[str, Any] = {}
    if len(pairs) >= MIN_VALIDATION_IMAGES:
        held_out = max(1, round(VALIDATION_SHARE * len(pairs)))
        validation, samples = samples[:held_out], samples[held_out:]
    else:
        fraction = max(VALIDATION_SHARE, MIN_TRAINING_SIDE / smallest_side)
        if fraction >= 0.5:
            raise ValueError(
                f"the smallest image is {smallest_side} px wide: too small to cut a validation "
                f"part off; give at least {MIN_VALIDATION_IMAGES} images"
            )
        data["validation_fraction"] = round(fraction, 3)
    crop = min(CROP_SIZE, smallest_side // 16 * 16)
    if crop < 16:
        raise ValueError(f"the smallest image is {smallest_side} px wide; training needs >= 16")
    data.update(
        {
            "samples": samples,
            "validation": validation,
            "crop_size": crop,
            "batch_size": BATCH_SIZE,
            "crops_per_epoch": max(8 * BATCH_SIZE, 16 * len(samples)),
            "class_balanced": True,
            "augment": {"flips": True, "rot90": True, "scaling": [0.8, 1.25], "intensity": True},
        }
    )
    if scale is not None:
        data["scale"] = scale
    model: dict[str, Any] = {} if fine_tune else dict(FLOWS_RECIPE)
    if init is not None:
        model["init"] = str(init)
    return {
        "seed": seed,
        "output": str(output),
        "data": data,
        "model": model,
        "training": {"epochs": DEFAULT_EPOCHS, "learning_rate": 0.001},
        "postprocess": {"tune_on": "val", "min_size_px": 10},
    }


def _sample(image: Path, labels: Path) -> dict[str, Any]:
    return {"inputs": [str(image)], "labels": str(labels)}
