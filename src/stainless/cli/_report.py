"""Writing per-image results (JSON or CSV, atomically) and printing them as a table."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import track
from rich.table import Table

from stainless.io.atomic import write_text_atomically
from stainless.provenance import run_metadata

OUTPUT_SUFFIXES = (".json", ".csv")


def check_output(path: Path | None, overwrite: bool) -> None:
    """Refuse an output path before any work is done: wrong extension, missing folder, or an
    existing file without ``overwrite``."""
    if path is None:
        return
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ValueError(f"output '{path}' must end in .json or .csv")
    if path.exists() and not overwrite:
        raise FileExistsError(f"output '{path}' exists; pass --overwrite to replace it")
    if not path.parent.is_dir():
        raise OSError(f"output folder '{path.parent}' does not exist")


def summarise(rows: Sequence[dict[str, Any]], totals: Sequence[str] = ()) -> dict[str, float]:
    """Mean over images of every numeric column (non-finite values are left out of the mean),
    and the sum over images of the ``totals`` columns (as ``<column>_total``)."""
    summary: dict[str, float] = {"n_images": float(len(rows))}
    keys = [key for key, value in rows[0].items() if isinstance(value, int | float)]
    for key in keys:
        values = [float(row[key]) for row in rows if math.isfinite(float(row[key]))]
        summary[key] = sum(values) / len(values) if values else float("nan")
    for key in totals:
        summary[f"{key}_total"] = float(sum(float(row[key]) for row in rows))
    return summary


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite_or_none(item) for item in value]
    return value


def write_results(
    path: Path,
    per_image: Sequence[dict[str, Any]],
    summary: dict[str, float],
    **details: Any,
) -> None:
    """Write results atomically: JSON (``per_image``, ``summary``, run metadata; infinities as
    null) or CSV (one row per image, then a ``mean`` row)."""
    if path.suffix.lower() == ".json":
        document = {
            "per_image": list(per_image),
            "summary": summary,
            "metadata": run_metadata(**details),
        }
        write_text_atomically(path, json.dumps(_finite_or_none(document), indent=2) + "\n")
        return
    buffer = io.StringIO()
    columns = list(per_image[0].keys())
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(per_image)
    writer.writerow({"name": "mean", **{k: v for k, v in summary.items() if k in columns}})
    write_text_atomically(path, buffer.getvalue())


def print_table(
    rows: Sequence[dict[str, Any]], summary: dict[str, float], columns: Sequence[str]
) -> None:
    """Print the chosen columns of each row and the mean row to stdout."""
    table = Table(show_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, justify="left" if column == "name" else "right")

    def cell(value: Any) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    for row in rows:
        table.add_row(*(cell(row[column]) for column in columns))
    table.add_section()
    table.add_row("mean", *(cell(summary[column]) for column in columns[1:]))
    # A pipe or file gets every column in full rather than a table cut to 80 characters.
    Console(soft_wrap=True, width=None if sys.stdout.isatty() else 250).print(table)


def progress(items: Sequence[Any], description: str) -> Iterable[Any]:
    """Iterate, with a progress bar on stderr when it is a terminal and items are several."""
    show = sys.stderr.isatty() and len(items) > 1
    if not show:
        return items
    return track(items, description=description, console=Console(stderr=True), transient=True)
