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
MIN_VALIDATION_IMAGES = 20
"""With fewer training images, validation is a cut of *every* image (``validation_fraction``):
few images are often one per kind of cell, and holding a whole one out would leave its kind
untrained and tune every threshold on it alone (a 7-image, 7-kind trial did, issue 25)."""
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
    object_diameter: float | None = None,
    validation_names: list[str] | None = None,
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
    object_diameter : float, optional
        ``data.object_diameter``: each image brought to objects of this many pixels.
    validation_names : list of str, optional
        Images that validate (and tune) whole, by file name or stem (``--validation``);
        unset: see below.

    Returns
    -------
    dict
        ``seed``, ``output``, ``data`` (samples, validation, crops), ``model``, ``training``
        and ``postprocess`` sections. With ``validation_names``, those images validate; else
        with at least :data:`MIN_VALIDATION_IMAGES` pairs a seeded fifth of the images do (at
        least one); with fewer, the last 20 % of each image's columns do
        (``validation_fraction``; more for narrow images, so that the cut keeps at least
        :data:`~stainless.io.planes.MIN_TRAINING_SIDE` pixels).
    """
    if not pairs:
        raise ValueError("no image pairs its labels")
    order = np.random.default_rng(seed).permutation(len(pairs))
    samples = [_sample(*pairs[i]) for i in order]
    validation: list[dict[str, Any]] = []
    data: dict[str, Any] = {}
    if validation_names:
        chosen = _chosen_images([pair[0] for pair in pairs], validation_names)
        validation = [s for s in samples if Path(s["inputs"][0]) in chosen]
        samples = [s for s in samples if Path(s["inputs"][0]) not in chosen]
    elif len(pairs) >= MIN_VALIDATION_IMAGES:
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
    if object_diameter is not None:
        data["object_diameter"] = object_diameter
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


def _chosen_images(images: list[Path], names: list[str]) -> set[Path]:
    """The images ``names`` (file names or stems) pick; ``ValueError`` for a name that picks
    none, or when nothing would be left to train on."""
    chosen = set()
    for name in names:
        picked = [image for image in images if name in (image.name, image.stem)]
        if not picked:
            raise ValueError(
                f"--validation '{name}' is not one of the --images files (give file names or "
                f"stems, e.g. '{images[0].name}')"
            )
        chosen.update(picked)
    if len(chosen) == len(images):
        raise ValueError(f"--validation takes all {len(images)} image(s); none is left to train")
    return chosen


def describe_validation(recipe: dict[str, Any]) -> str:
    """One line for the log: what a recipe from :func:`segmentation_recipe` holds out."""
    data = recipe["data"]
    if data.get("validation"):
        names = [Path(s["inputs"][0]).name for s in data["validation"]]
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        return (
            f"validation and threshold tuning: {len(names)} whole image(s) of "
            f"{len(names) + len(data['samples'])} ({shown}); --validation chooses them"
        )
    share = round(100 * data["validation_fraction"])
    return (
        f"validation and threshold tuning: the last {share} % of the columns of each of the "
        f"{len(data['samples'])} image(s) (every image also trains); --validation NAME... holds "
        "out whole images instead"
    )


def _sample(image: Path, labels: Path) -> dict[str, Any]:
    return {"inputs": [str(image)], "labels": str(labels)}
