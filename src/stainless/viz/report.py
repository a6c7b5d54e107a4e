"""A one-page HTML report: a metrics table and figures inlined as base64 PNG (one file to share)."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

from stainless.io.atomic import write_text_atomically


def _table(rows: Sequence[dict[str, object]]) -> str:
    if not rows:
        return ""
    columns = list(rows[0].keys())
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column, "")
            text = f"{value:.3f}" if isinstance(value, float) else str(value)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _figure(caption: str, png: Path, css_class: str = "") -> str:
    encoded = base64.b64encode(png.read_bytes()).decode("ascii")
    attribute = f" class='{css_class}'" if css_class else ""
    return (
        f"<figure{attribute}><img src='data:image/png;base64,{encoded}' "
        f"alt='{html.escape(caption)}'><figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def write_html_report(
    path: Path,
    title: str,
    paragraphs: Sequence[str],
    rows: Sequence[dict[str, object]],
    figures: Sequence[tuple[str, Path]],
    lead: Sequence[tuple[str, Path]] = (),
) -> Path:
    """Write ``path`` atomically: ``title``, text, the ``lead`` figures (full width), a table
    of ``rows`` and captioned figures."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>",
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}",
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;"
        "text-align:right}th{background:#f4f4f4}figure{display:inline-block;margin:0.5em;"
        "vertical-align:top}img{max-width:520px;border:1px solid #ddd}"
        "figcaption{font-size:0.85em;max-width:520px}"
        "figure.lead img{max-width:100%}figure.lead figcaption{max-width:none}",
        "</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        *(f"<p>{html.escape(p)}</p>" for p in paragraphs),
        *(_figure(caption, figure, "lead") for caption, figure in lead),
        _table(rows),
        *(_figure(caption, figure) for caption, figure in figures),
    ]
    parts.append("</body></html>\n")
    write_text_atomically(path, "\n".join(parts))
    return path
