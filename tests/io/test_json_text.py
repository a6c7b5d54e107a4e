"""Strict JSON out of every record stainless writes (no NaN, no Infinity)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from stainless.io.json_text import json_text
from stainless.zoo import ZOO_ROOT


def _strict(text: str) -> object:
    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_are_written_as_null() -> None:
    document = {"alpha": math.nan, "scores": [1.0, math.inf, (-math.inf, 2)], "path": Path("a")}
    assert _strict(json_text(document)) == {
        "alpha": None,
        "scores": [1.0, None, [None, 2]],
        "path": "a",
    }


@pytest.mark.parametrize("meta", sorted(ZOO_ROOT.glob("*/meta.json")), ids=lambda p: p.parent.name)
def test_every_built_in_record_is_strict_json(meta: Path) -> None:
    _strict(meta.read_text())
