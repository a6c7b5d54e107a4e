"""ONNX graphs of model folders, exported once and kept in a cache folder the user controls, for
``--engine onnxruntime``: rebuilt whenever the model's weights or description (or torch) change.

The cache folder is ``--graph-cache``, else ``$STAINLESS_CACHE``, else
``$XDG_CACHE_HOME/stainless`` (``~/.cache/stainless``); graphs go in its ``graphs/`` as
``<model name>-<key>.onnx``, the key a hash of ``weights.safetensors``, ``model.json`` and the
torch and onnx versions. Model folders (inputs) are never written to.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

from stainless.model_folder import MODEL_JSON, WEIGHTS, require_model_folder, resolve_model


def cache_folder(explicit: Path | None = None) -> Path:
    """Where exported graphs are kept (see the module docstring)."""
    if explicit is not None:
        return explicit
    if os.environ.get("STAINLESS_CACHE"):
        return Path(os.environ["STAINLESS_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stainless"


def graph_key(folder: Path) -> str:
    """16 hex digits that change with the folder's weights and model.json, torch and onnx."""
    import onnx

    digest = hashlib.sha256()
    for name in (WEIGHTS, MODEL_JSON):
        with (folder / name).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    digest.update(f"torch {torch.__version__} onnx {onnx.__version__}".encode())
    return digest.hexdigest()[:16]


def cached_graph(model: str | Path, cache: Path | None = None) -> tuple[Path, bool]:
    """The ONNX graph of a model folder or built-in name, exported into the cache when it is not
    there yet; and whether it was exported now.

    Raises
    ------
    ValueError
        The model is not a complete folder, cannot be exported, or onnx is not installed.
    """
    folder = resolve_model(model)
    require_model_folder(folder)
    try:
        key = graph_key(folder)
    except ImportError:
        raise ValueError(
            "--engine onnxruntime needs onnx, onnxscript and onnxruntime "
            "(pip install 'stainless[export]')"
        ) from None
    path = cache_folder(cache) / "graphs" / f"{folder.name}-{key}.onnx"
    if path.is_file():
        return path, False
    from stainless.export.onnx_graph import export_onnx
    from stainless.export.source import export_source

    path.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(export_source(folder), path)
    return path, True
