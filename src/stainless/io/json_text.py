"""JSON text that every JSON reader accepts: ``NaN`` and infinities become ``null``.

Python's ``json`` writes ``NaN`` / ``Infinity`` by default, which is not JSON (RFC 8259): a
``meta.json`` holding them fails in JavaScript, ``jq`` and strict parsers.
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite_or_none(value: Any) -> Any:
    """``value`` with every non-finite float (in nested dicts, lists, tuples) replaced by None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(item) for item in value]
    return value


def json_text(document: Any, *, indent: int | None = 2) -> str:
    """``document`` as strict JSON text ending in a newline (objects it cannot encode as their
    ``str``; non-finite floats as ``null``)."""
    return json.dumps(finite_or_none(document), indent=indent, default=str, allow_nan=False) + "\n"
