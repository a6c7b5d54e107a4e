"""What decides a blockwise result — the model (name and a digest of its weights) and every option
that changes the output — recorded in each store, and compared before a plate run resumes: a
finished field is kept only when it was made the way this run would make it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from stainless.model_folder import MODEL_JSON, WEIGHTS

SETTINGS_KEY = "settings"
"""Where the settings are kept in a store's ``stainless`` attributes."""


def model_digest(folder: Path) -> str:
    """SHA-256 of every weights and ``model.json`` file of a model folder (a ``separate``
    translation model has one pair per modality), so that retrained weights or retuned
    thresholds under the same name count as another model."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.name in (WEIGHTS, MODEL_JSON) and path.is_file():
            digest.update(str(path.relative_to(folder)).encode())
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()


def result_settings(model: str, folder: Path, **options: Any) -> dict[str, Any]:
    """The settings of a run as JSON values (so they compare equal to those read back): the
    model's name and digest, then ``options`` (tile, overlap, thresholds, planes...)."""
    settings = {"model": model, "model_sha256": model_digest(folder), **options}
    return dict(json.loads(json.dumps(settings, default=str)))


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 24 else text[:12] + "…"


def settings_difference(recorded: Any, wanted: dict[str, Any]) -> str | None:
    """``model: "a" → "b", min_size_px: 5 → 500`` for the settings that differ (None: the same;
    a store that recorded none is reported as such)."""
    if not isinstance(recorded, dict):
        return "it records no settings (written before stainless compared them)"
    changed = [
        f"{key}: {_shown(recorded.get(key))} → {_shown(wanted.get(key))}"
        for key in dict.fromkeys([*wanted, *recorded])
        if recorded.get(key) != wanted.get(key)
    ]
    return ", ".join(changed) or None
