"""A folder of corrected images, and fine-tuning a model on all of it: the correct-and-retrain
loop of Cellpose 2.0 [Pachitariu2022] that the napari *Fine-tune* widget runs.

The user corrects a model's labels on an image, adds the pair to a corrections folder, and
fine-tunes the model they started from on every pair in that folder so far; the new model
segments the next image, whose corrections join the folder. Each pair is stored as
``<name>_img.tif`` (planes ``(C, Y, X)``) and ``<name>_masks.tif`` (instance ids ``(Y, X)``), the
file pairing ``stainless train segmentation --images --labels`` reads, so the folder is also an
ordinary training set on the command line.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np

IMAGE_SUFFIX = "_img.tif"
MASK_SUFFIX = "_masks.tif"


def safe_name(name: str) -> str:
    """A file stem from a layer or image name: letters, digits, ``-``, ``.``; the rest ``_``.

    Raises
    ------
    ValueError
        A name with nothing usable in it.
    """
    stem = re.sub(r"[^A-Za-z0-9.-]+", "_", name).strip("._")
    if not stem:
        raise ValueError(f"'{name}' gives no usable file name: rename the layer")
    return stem


def add_corrected_pair(folder: Path, name: str, planes: np.ndarray, masks: np.ndarray) -> Path:
    """Store one corrected image in ``folder`` (made if absent), replacing an earlier correction
    of the same ``name``.

    Parameters
    ----------
    folder : Path
        The corrections folder.
    name : str
        The image's name (a layer name is fine; it is made file-safe).
    planes : ndarray, shape (C, Y, X)
        The image as the model reads it.
    masks : ndarray, shape (Y, X)
        The corrected instance labels, 0 background.

    Returns
    -------
    Path
        The written mask file.

    Raises
    ------
    ValueError
        Masks of another shape than the image, or masks without a single object.
    """
    from stainless.io import write_image

    if planes.ndim != 3:
        raise ValueError(f"'{name}': expected planes (C, Y, X), got {planes.ndim} dimensions")
    if masks.shape != planes.shape[1:]:
        raise ValueError(f"labels of '{name}' are {masks.shape}, the image {planes.shape[1:]}: "
                         "correct a Labels layer of this image")  # fmt: skip
    if not np.any(masks):
        raise ValueError(f"labels of '{name}' hold no object: paint or correct some first")
    folder.mkdir(parents=True, exist_ok=True)
    stem = safe_name(name)
    write_image(folder / f"{stem}{IMAGE_SUFFIX}", planes, axes="CYX", overwrite=True)
    mask_path = folder / f"{stem}{MASK_SUFFIX}"
    write_image(mask_path, masks.astype(np.uint32), axes="YX", overwrite=True)
    return mask_path


def corrected_images(folder: Path) -> list[str]:
    """The names of the complete pairs in ``folder``, sorted."""
    return sorted(
        path.name.removesuffix(MASK_SUFFIX)
        for path in folder.glob(f"*{MASK_SUFFIX}")
        if (folder / path.name.replace(MASK_SUFFIX, IMAGE_SUFFIX)).is_file()
    )


def fine_tune_on_corrections(
    folder: Path,
    init: str,
    minutes: float,
    output: Path,
    *,
    channels: str = "",
    seed: int | None = None,
    extra: list[str] | None = None,
    progress: bool = False,
) -> Path:
    """``stainless train segmentation --init INIT`` on every pair in ``folder`` within
    ``minutes``, written to the new model folder ``output``.

    Parameters
    ----------
    folder : Path
        A corrections folder (:func:`add_corrected_pair`).
    init : str
        The model to start from: a built-in name or a model folder.
    minutes : float
        The training budget.
    output : Path
        The new model folder; it must not exist.
    channels : str
        ``CYTO,NUCLEUS`` as on the command line; empty: the init's own.
    seed : int, optional
        The training seed (``--seed``).
    extra : list of str, optional
        More ``train segmentation`` options (``--set data.crop_size=256``).
    progress : bool
        Print the command's progress lines.

    Returns
    -------
    Path
        ``output``.

    Raises
    ------
    ValueError
        No corrected image in ``folder``, or the training command's own one-line error.
    FileExistsError
        ``output`` exists.
    """
    from stainless.cli.main import main

    if not corrected_images(folder):
        raise ValueError(f"'{folder}' holds no corrected image: add a corrected Labels layer "
                         "first")  # fmt: skip
    if output.exists():
        raise FileExistsError(f"'{output}' exists: choose a new folder for the fine-tuned model")
    argv = ["train", "segmentation", "--images", str(folder / f"*{IMAGE_SUFFIX}"),
            "--labels", str(folder / f"*{MASK_SUFFIX}"), "--init", str(init),
            "--max-minutes", str(minutes), "--output", str(output)]  # fmt: skip
    if channels:
        argv += ["--channels", channels]
    if seed is not None:
        argv += ["--seed", str(seed)]
    argv += list(extra or [])
    if not progress:
        argv.append("--no-progress")
    said = io.StringIO()
    with contextlib.redirect_stderr(said):
        failed = main(argv) != 0
    if failed:
        lines = said.getvalue().strip().splitlines() or ["see the terminal"]
        raise ValueError(f"fine-tuning '{init}' failed: {lines[-1]}")
    return output
