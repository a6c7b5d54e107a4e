"""The one CSV manifest reader: a header row, then one row per sample; relative paths are
relative to the CSV's folder. Translation, segmentation and evaluation build their samples
from its rows."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ManifestTable:
    """The rows of a manifest CSV.

    Attributes
    ----------
    path : Path
    header : list of str
    rows : list of dict
        Column → cell text, stripped.
    """

    path: Path
    header: list[str]
    rows: list[dict[str, str]]

    def columns_starting(self, prefix: str) -> list[str]:
        """The columns whose name starts with ``prefix``, in file order."""
        return [column for column in self.header if column.startswith(prefix)]

    def file(self, value: str) -> Path:
        """A cell's path, relative to the CSV's folder unless absolute."""
        file = Path(value)
        return file if file.is_absolute() else self.path.parent / file


def read_manifest_table(path: str | os.PathLike[str]) -> ManifestTable:
    """Read a manifest CSV.

    Raises
    ------
    OSError
        The file does not exist.
    ValueError
        The manifest lists no sample.
    """
    csv_path = Path(path)
    if not csv_path.is_file():
        raise OSError(f"manifest '{csv_path}' does not exist or is not a file")
    with csv_path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        rows = [
            {key: (value or "").strip() for key, value in row.items() if key is not None}
            for row in reader
        ]
    if not rows:
        raise ValueError(f"manifest '{csv_path}' lists no sample")
    return ManifestTable(csv_path, header, rows)
