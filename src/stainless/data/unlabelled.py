"""The unlabelled images of self-training (``data.unlabelled``): found on disk and checked before
any training starts.

``data.unlabelled`` is a folder (every image directly inside it), a quoted glob pattern
(``raw/*.tif``) or a manifest CSV whose ``input*`` columns name each image's plane files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from stainless.io.collections import LABEL_FILE_SUFFIXES, image_stem, list_images
from stainless.io.header import read_header
from stainless.io.manifest import read_manifest_table

GLOB_CHARACTERS = "*?["


def find_unlabelled(spec: Path) -> list[list[Path]]:
    """The plane files of each unlabelled image named by ``spec`` (folder, glob or manifest).

    Raises
    ------
    OSError
        ``spec`` does not exist, or a glob matches nothing.
    ValueError
        A folder without images, or a manifest without an input column.
    """
    text = str(spec)
    if any(character in text for character in GLOB_CHARACTERS) and not spec.exists():
        files = sorted(p for p in spec.parent.glob(spec.name) if p.is_file())
        if not files:
            raise OSError(f"data.unlabelled pattern '{spec}' matches no file")
        return [[file] for file in files]
    if not spec.exists():
        raise OSError(f"data.unlabelled '{spec}' does not exist")
    if spec.suffix.lower() == ".csv":
        table = read_manifest_table(spec)
        columns = table.columns_starting("input")
        if not columns:
            raise ValueError(f"manifest '{spec}' has no input column (columns: {table.header})")
        return [[table.file(row[c]) for c in columns] for row in table.rows]
    if spec.is_dir() and not spec.name.lower().endswith(".zarr"):
        try:
            return [[file] for file in list_images(spec)]
        except ValueError:
            raise ValueError(f"data.unlabelled folder '{spec}' holds no image file") from None
    return [[spec]]


def check_unlabelled(
    images: Sequence[Sequence[Path]],
    labelled_inputs: Sequence[Path],
    label_files: Sequence[Path],
    colour: str,
) -> None:
    """Refuse, naming the file, unlabelled images that are label images (a label-file name such
    as ``*_masks``, or a labelled sample's own labels) or whose plane count differs from the
    labelled images' (a colour convention takes one grey plane or an RGB image).

    Raises
    ------
    ValueError
    """
    if not images:
        raise ValueError("data.unlabelled names no image")
    labels = {path.resolve() for path in label_files}
    expected = sum(read_header(file).planes for file in labelled_inputs)
    for files in images:
        first = files[0]
        if image_stem(first).endswith(LABEL_FILE_SUFFIXES) or first.resolve() in labels:
            raise ValueError(
                f"unlabelled image '{first}' is a label image (its name, or a labelled sample "
                "uses it as labels); data.unlabelled must name the images without labels"
            )
        found = sum(read_header(file).planes for file in files)
        if colour != "as_is":
            if found not in (1, 3, 4):
                raise ValueError(
                    f"unlabelled image '{first}' has {found} planes; the model takes one grey "
                    "plane or an RGB colour image"
                )
        elif found != expected:
            raise ValueError(
                f"unlabelled image '{first}' has {found} plane(s) but the labelled images have "
                f"{expected}"
            )
