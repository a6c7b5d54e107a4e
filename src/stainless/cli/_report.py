"""Writing per-image results (JSON or CSV, atomically) and printing them as a table."""

from __future__ import annotations

import csv
import io
import math
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import track
from rich.table import Table

from stainless.io.atomic import write_text_atomically
from stainless.io.json_text import json_text
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


NO_GROUP = "(no match)"


def compile_group_pattern(pattern: str | None) -> re.Pattern[str] | None:
    """``--group-by``'s regular expression, compiled; ``ValueError`` naming a bad one."""
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ValueError(
            f"--group-by '{pattern}' is not a valid regular expression: {error}"
        ) from None


def group_of(name: str, pattern: re.Pattern[str]) -> str:
    """The group of an image name: the pattern's first group, or its whole match;
    ``(no match)`` when it does not occur in the name."""
    match = pattern.search(name)
    if match is None:
        return NO_GROUP
    return match.group(1) if pattern.groups and match.group(1) is not None else match.group(0)


def group_summaries(
    rows: Sequence[dict[str, Any]], pattern: re.Pattern[str], totals: Sequence[str] = ()
) -> dict[str, dict[str, float]]:
    """:func:`summarise` of each group of rows (by :func:`group_of` their ``name``), sorted."""
    members: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        members.setdefault(group_of(str(row["name"]), pattern), []).append(row)
    return {group: summarise(members[group], totals) for group in sorted(members)}


def write_results(
    path: Path,
    per_image: Sequence[dict[str, Any]],
    summary: dict[str, float],
    groups: dict[str, dict[str, float]] | None = None,
    **details: Any,
) -> None:
    """Write results atomically: JSON (``per_image``, ``summary``, ``groups`` when given, run
    metadata; infinities as null) or CSV (one row per image, a ``mean <group>`` row per group,
    then a ``mean`` row)."""
    groups = groups or {}
    if path.suffix.lower() == ".json":
        document = {
            "per_image": list(per_image),
            "summary": summary,
            **({"groups": groups} if groups else {}),
            "metadata": run_metadata(**details),
        }
        write_text_atomically(path, json_text(document))
        return
    buffer = io.StringIO()
    columns = list(per_image[0].keys())
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(per_image)
    for group, means in groups.items():
        writer.writerow(
            {"name": f"mean {group}", **{k: v for k, v in means.items() if k in columns}}
        )
    writer.writerow({"name": "mean", **{k: v for k, v in summary.items() if k in columns}})
    write_text_atomically(path, buffer.getvalue())


def print_table(
    rows: Sequence[dict[str, Any]],
    summary: dict[str, float],
    columns: Sequence[str],
    groups: dict[str, dict[str, float]] | None = None,
) -> None:
    """Print the chosen columns of each row, the mean row of each group and the mean row to
    stdout."""
    table = Table(show_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, justify="left" if column == "name" else "right")

    def cell(value: Any) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    for row in rows:
        table.add_row(*(cell(row[column]) for column in columns))
    table.add_section()
    for group, means in (groups or {}).items():
        count = int(means["n_images"])
        table.add_row(f"mean {group} ({count})", *(cell(means[column]) for column in columns[1:]))
    table.add_row("mean", *(cell(summary[column]) for column in columns[1:]))
    # A pipe or file gets every column in full rather than a table cut to 80 characters.
    Console(soft_wrap=True, width=None if sys.stdout.isatty() else 250).print(table)


def progress(items: Sequence[Any], description: str) -> Iterable[Any]:
    """Iterate, with a progress bar on stderr when it is a terminal and items are several."""
    show = sys.stderr.isatty() and len(items) > 1
    if not show:
        return items
    return track(items, description=description, console=Console(stderr=True), transient=True)
