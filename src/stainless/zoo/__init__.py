"""Built-in models: trained model folders shipped inside the package, loadable offline by name.

Each built-in model is a normal model folder under ``stainless/zoo/<name>/`` (weights stored as
float16 safetensors to halve the download; they are widened to float32 on loading) plus a
``zoo.json`` card: task, expected inputs, training data and its licence and credit, held-out
metrics, the pixel size of the training images where the source states it, how it was built
(``tools/build_zoo.py``), and a version that grows whenever the
weights change (with what changed). Wherever a model folder is
accepted (``--model``), a built-in name works too
(:func:`stainless.model_folder.resolve_model`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ZOO_ROOT = Path(__file__).resolve().parent
CARD = "zoo.json"


@dataclass(frozen=True)
class ZooModel:
    """The card of one built-in model (``zoo.json``)."""

    name: str
    task: str
    inputs: str
    training_data: str
    licence: str
    credit: str
    held_out: dict[str, Any]
    built_by: str
    folder: Path
    version: int = 1
    changes: str = ""
    pixel_size: str = ""
    channels: str = ""
    leave_one_set_out: dict[str, Any] | None = None

    @property
    def size_bytes(self) -> int:
        """Bytes on disk of the model folder."""
        return sum(f.stat().st_size for f in self.folder.iterdir() if f.is_file())


def _card(folder: Path) -> ZooModel:
    raw = json.loads((folder / CARD).read_text())
    return ZooModel(folder=folder, **raw)


def list_models() -> list[ZooModel]:
    """Every built-in model, sorted by name."""
    return [_card(f) for f in sorted(ZOO_ROOT.iterdir()) if (f / CARD).is_file()]


def get_model(name: str) -> ZooModel:
    """The card of built-in model ``name``; ``ValueError`` naming the choices otherwise."""
    for model in list_models():
        if model.name == name:
            return model
    names = [m.name for m in list_models()]
    raise ValueError(f"no built-in model named '{name}'; built-in models: {names}")
