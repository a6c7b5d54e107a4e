"""Finding the samples of a data set on disk: paired folders, manifest CSVs and the DSB layout.

Nothing here reads pixels except :func:`read_dsb_labels`; functions return paths, and report (warn
about and list) files that could not be paired instead of dropping them silently.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from stainless.io.images import SUPPORTED_SUFFIXES, Image, read_image
from stainless.io.labels import check_same_shape, read_labels
from stainless.io.manifest import read_manifest_table

LABEL_FILE_SUFFIXES = ("_cp_masks", "_masks", "_pred", "_labels")
"""Stem endings that mark a file as a label image (Cellpose, stainless and common conventions)."""
KNOWN_LABEL_SUFFIXES = (*LABEL_FILE_SUFFIXES, "_img")
"""Suffixes stripped from file stems when pairing predictions with ground truth."""


@dataclass(frozen=True)
class Sample:
    """One sample: its name, its input file(s) and its target file(s).

    Attributes
    ----------
    name : str
    inputs : tuple of Path
        Images fed to a model (label-free channels, or the image to segment).
    targets : tuple of Path
        What the model should produce (fluorescence images, label images, or a DSB masks folder).
    """

    name: str
    inputs: tuple[Path, ...]
    targets: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Collection:
    """Samples found on disk, and the files that could not be paired."""

    samples: list[Sample]
    unpaired: list[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.samples)


def image_stem(path: Path) -> str:
    """File name without its image extension (``a.ome.tif`` → ``a``)."""
    name = path.name
    lower = name.lower()
    for suffix in SUPPORTED_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def strip_suffixes(stem: str, suffixes: Iterable[str]) -> str:
    """Remove ``suffixes`` from the end of ``stem`` while one matches (``x_masks`` → ``x``;
    ``x_img_labels``, a segmentation of ``x_img.png``, → ``x``)."""
    suffixes = tuple(suffix for suffix in suffixes if suffix)
    stripped = True
    while stripped:
        stripped = False
        for suffix in suffixes:
            if stem.endswith(suffix) and len(stem) > len(suffix):
                stem, stripped = stem[: -len(suffix)], True
                break
    return stem


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files (by extension; ``.zarr`` folders too) directly inside ``folder``, sorted; a
    broken link is skipped with a warning.

    Raises
    ------
    OSError
        ``folder`` does not exist or is not a folder.
    ValueError
        The folder holds no image file.
    """
    root = Path(folder)
    if not root.is_dir():
        raise OSError(f"'{root}' does not exist or is not a folder")
    for broken in sorted(p for p in root.iterdir() if p.is_symlink() and not p.exists()):
        warnings.warn(f"'{broken}' is a broken link (to '{os.readlink(broken)}'); skipped",
                      stacklevel=2)  # fmt: skip
    files = sorted(
        path
        for path in root.iterdir()
        if (path.is_file() or (path.is_dir() and path.name.lower().endswith(".zarr")))
        and not path.name.startswith(".")
        and path.name.lower().endswith(SUPPORTED_SUFFIXES)
    )
    if not files:
        raise ValueError(f"folder '{root}' holds no image file ({', '.join(SUPPORTED_SUFFIXES)})")
    return files


def _warn_unpaired(unpaired: Sequence[Path], where: str) -> None:
    if unpaired:
        shown = ", ".join(path.name for path in unpaired[:5])
        more = f" and {len(unpaired) - 5} more" if len(unpaired) > 5 else ""
        warnings.warn(f"{len(unpaired)} unpaired file(s) in {where}: {shown}{more}", stacklevel=3)


def pair_folder(
    folder: str | os.PathLike[str],
    *,
    image_suffix: str = "_img",
    mask_suffix: str = "_masks",
) -> Collection:
    """Pair ``<name><image_suffix>.<ext>`` with ``<name><mask_suffix>.<ext>`` (Cellpose layout).

    Parameters
    ----------
    folder : path-like
    image_suffix, mask_suffix : str
        Stem endings of images and label images. ``image_suffix=""`` pairs ``<name>.<ext>`` with
        ``<name><mask_suffix>.<ext>``.

    Returns
    -------
    Collection
        Samples with ``inputs=(image,)``, ``targets=(masks,)``; images without masks and masks
        without images in ``unpaired`` (also warned about).
    """
    files = list_images(folder)
    masks = {
        strip_suffixes(image_stem(p), [mask_suffix]): p
        for p in files
        if image_stem(p).endswith(mask_suffix)
    }
    images: dict[str, Path] = {}
    for path in files:
        stem = image_stem(path)
        if stem.endswith(mask_suffix):
            continue
        if image_suffix and not stem.endswith(image_suffix):
            continue
        images[strip_suffixes(stem, [image_suffix])] = path
    names = sorted(images.keys() & masks.keys())
    samples = [Sample(name, (images[name],), (masks[name],)) for name in names]
    unpaired = sorted(
        [images[n] for n in images.keys() - masks.keys()]
        + [masks[n] for n in masks.keys() - images.keys()]
    )
    if not samples:
        raise ValueError(
            f"folder '{folder}' holds no '<name>{image_suffix}' + '<name>{mask_suffix}' pair"
        )
    _warn_unpaired(unpaired, f"'{folder}'")
    return Collection(samples, unpaired)


def pair_by_name(
    left: Sequence[Path], right: Sequence[Path], *, suffixes: Iterable[str] = KNOWN_LABEL_SUFFIXES
) -> Collection:
    """Pair two lists of files by stem after stripping known suffixes (``x_pred`` ↔ ``x_masks``).

    Returns samples with ``inputs=(left file,)`` and ``targets=(right file,)``.

    Raises
    ------
    ValueError
        Two files on one side reduce to the same name, or nothing pairs.
    """
    suffix_list = list(suffixes)

    def by_name(paths: Sequence[Path]) -> dict[str, Path]:
        named: dict[str, Path] = {}
        for path in paths:
            name = strip_suffixes(image_stem(path), suffix_list)
            if name in named:
                raise ValueError(f"'{named[name].name}' and '{path.name}' both pair as '{name}'")
            named[name] = path
        return named

    left_named, right_named = by_name(left), by_name(right)
    names = sorted(left_named.keys() & right_named.keys())
    unpaired = sorted(
        [left_named[n] for n in left_named.keys() - right_named.keys()]
        + [right_named[n] for n in right_named.keys() - left_named.keys()]
    )
    if not names:
        raise ValueError(
            f"no file names pair between {len(left)} and {len(right)} files "
            f"(after stripping {', '.join(suffix_list)})"
        )
    _warn_unpaired(unpaired, "the two file sets")
    return Collection([Sample(n, (left_named[n],), (right_named[n],)) for n in names], unpaired)


def read_manifest(
    csv_path: str | os.PathLike[str],
    *,
    input_columns: Sequence[str] | None = None,
    target_columns: Sequence[str] | None = None,
) -> Collection:
    """Samples listed in a CSV file, one row each.

    Parameters
    ----------
    csv_path : path-like
        A header row, then one row per sample. Relative paths are resolved against the CSV's folder.
    input_columns, target_columns : sequence of str, optional
        Columns holding input / target file paths. Default: columns whose name starts with
        ``input`` / ``target``. A ``name`` column, if present, names the samples.

    Raises
    ------
    ValueError
        Missing columns, an empty manifest, or a listed file that does not exist (row named).
    """
    table = read_manifest_table(csv_path)
    path, header, rows = table.path, table.header, table.rows
    inputs = list(input_columns) if input_columns else table.columns_starting("input")
    targets = list(target_columns) if target_columns else table.columns_starting("target")
    missing = [column for column in inputs + targets if column not in header]
    if not inputs or missing:
        raise ValueError(
            f"manifest '{path}' has columns {header}; expected input column(s) "
            f"{inputs or ['input...']} and target column(s) {targets or ['target...']}"
        )
    samples = []
    for row_number, row in enumerate(rows, start=2):
        files = {}
        for column in inputs + targets:
            value = row.get(column, "")
            if not value:
                raise ValueError(f"manifest '{path}' row {row_number}: column '{column}' is empty")
            file = table.file(value)
            if not file.exists():
                raise ValueError(f"manifest '{path}' row {row_number}: '{file}' does not exist")
            files[column] = file
        name = row.get("name", "") or image_stem(files[inputs[0]])
        samples.append(
            Sample(name, tuple(files[c] for c in inputs), tuple(files[c] for c in targets))
        )
    return Collection(samples)


def list_dsb_samples(root: str | os.PathLike[str]) -> Collection:
    """Samples in the Data Science Bowl 2018 layout ``<id>/images/<id>.png`` + ``<id>/masks/*.png``.

    Returns samples with ``inputs=(image,)`` and ``targets=(masks folder,)``; read the labels with
    :func:`read_dsb_labels`. Sample folders without an image or without masks are unpaired.
    """
    base = Path(root)
    if not base.is_dir():
        raise OSError(f"'{base}' does not exist or is not a folder")
    samples, unpaired = [], []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        image = folder / "images" / f"{folder.name}.png"
        masks = folder / "masks"
        has_masks = masks.is_dir() and any(masks.glob("*.png"))
        if image.is_file() and has_masks:
            samples.append(Sample(folder.name, (image,), (masks,)))
        else:
            unpaired.append(folder)
    if not samples:
        raise ValueError(f"'{base}' holds no '<id>/images/<id>.png' + '<id>/masks/*.png' sample")
    _warn_unpaired(unpaired, f"'{base}'")
    return Collection(samples, unpaired)


def read_dsb_labels(masks_folder: str | os.PathLike[str]) -> NDArray[np.integer]:
    """Merge one-binary-mask-per-object PNGs into one instance label image.

    Object ``i`` (1-based, in sorted file-name order) gets label ``i``. Pixels claimed by several
    masks go to the last one, with a warning naming the folder.

    Returns
    -------
    (Y, X) uint16 ndarray (uint32 beyond 65535 objects)
    """
    folder = Path(masks_folder)
    files = sorted(folder.glob("*.png"))
    if not files:
        raise ValueError(f"DSB masks folder '{folder}' holds no PNG mask")
    first = read_labels(files[0]).array
    dtype = np.uint16 if len(files) <= np.iinfo(np.uint16).max else np.uint32
    labels = np.zeros(first.shape, dtype=dtype)
    overlaps = 0
    for object_id, file in enumerate(files, start=1):
        mask = read_labels(file).array if object_id > 1 else first
        if mask.shape != labels.shape:
            raise ValueError(
                f"mask '{file}' has shape {mask.shape} but '{files[0].name}' has {labels.shape}"
            )
        foreground = mask > 0
        overlaps += int(np.count_nonzero(labels[foreground]))
        labels[foreground] = object_id
    if overlaps:
        warnings.warn(f"{overlaps} pixels of '{folder}' belong to several masks", stacklevel=2)
    return labels


def read_segmentation_sample(sample: Sample) -> tuple[Image, Image]:
    """Read a sample's image and its instance labels, checking that their shapes agree.

    Parameters
    ----------
    sample : Sample
        ``inputs[0]`` is the image; ``targets[0]`` a label image or a DSB masks folder.

    Returns
    -------
    (Image, Image)
        The image and the labels (axes ``YX`` or ``ZYX``).

    Raises
    ------
    ValueError
        Labels that are not integers, or whose spatial shape differs from the image's (both files
        named).
    """
    image = read_image(sample.inputs[0])
    target = sample.targets[0]
    if target.is_dir() and not target.name.lower().endswith(".zarr"):
        labels = Image(read_dsb_labels(target), "YX", path=target)
    else:
        labels = read_labels(target)
    check_same_shape(image, labels)
    return image, labels
