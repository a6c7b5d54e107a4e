"""Running an exported ONNX graph (``stainless export --format onnx``) with onnxruntime inside
stainless's own pipeline: the graph stands in for the network, and normalisation, tiling,
test-time augmentation, the head's activation and post-processing run as for a model folder
(``segment --model cells.onnx``, ``predict --model phase-to-dapi.onnx``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from stainless.export.onnx_graph import onnx_session
from stainless.export.source import MODEL_KEY
from stainless.model_folder import (
    ModelInfo,
    SegmentationModelInfo,
    TranslationModelInfo,
    validated_info,
)


class OnnxNetwork(nn.Module):
    """An onnxruntime session called like the torch network it was exported from:
    ``(N, C, H, W)`` float32 tensor → ``(N, K, H, W)`` tensor on the input's device.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
    multiple : int
        The network's stride: H and W must be multiples of it (stainless pads its tiles to
        them; onnxruntime would fail with a concat-axis error deep in the graph).
    """

    def __init__(self, session: Any, multiple: int) -> None:
        super().__init__()
        self.session = session
        self.multiple = multiple
        self.input_name = session.get_inputs()[0].name

    def forward(self, planes: torch.Tensor, modality: torch.Tensor | None = None) -> torch.Tensor:
        """Raw maps of ``planes`` (the graph runs on the CPU, in float32). ``modality`` is
        accepted as a translation network's call passes it, always None here: modality-
        conditioned networks are not exported."""
        if planes.shape[-2] % self.multiple or planes.shape[-1] % self.multiple:
            raise ValueError(
                f"the graph takes sides that are multiples of {self.multiple}, got "
                f"{tuple(planes.shape[-2:])}: pad the planes first"
            )
        array = np.ascontiguousarray(planes.detach().float().cpu().numpy())
        maps = self.session.run(None, {self.input_name: array})[0]
        return torch.from_numpy(np.asarray(maps)).to(planes.device)


def is_onnx_model(model: str | Path) -> bool:
    """Whether ``model`` names an ``.onnx`` file (rather than a model folder or built-in)."""
    return str(model).lower().endswith(".onnx")


def load_onnx_network(path: str | Path, kind: str) -> tuple[OnnxNetwork, ModelInfo]:
    """The graph of a stainless ONNX export and the ``model.json`` it carries.

    Raises
    ------
    ValueError
        One line naming the file: missing, not an ONNX graph, not a stainless export (no
        ``model.json`` in its metadata), of another kind than ``kind``, or onnxruntime absent.
    """
    source = Path(path)
    if not source.is_file():
        raise ValueError(f"ONNX model '{source}' does not exist")
    try:
        import onnxruntime  # noqa: F401  (a clear message when the extra is missing)
    except ImportError:
        raise ValueError(
            f"'{source}': running an ONNX graph needs onnxruntime (pip install 'stainless[export]')"
        ) from None
    try:
        session = onnx_session(source)
    except Exception as error:  # onnxruntime raises its own exception types
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(
            f"'{source}' is not an ONNX graph onnxruntime can load ({first})"
        ) from None
    document = session.get_modelmeta().custom_metadata_map.get(MODEL_KEY)
    if document is None:
        raise ValueError(
            f"'{source}' is not a stainless export (its metadata hold no {MODEL_KEY}); "
            "export with 'stainless export --format onnx'"
        )
    raw = json.loads(document)
    if raw.get("kind") != kind:
        raise ValueError(f"'{source}' is a {raw.get('kind')} model, not a {kind} model")
    info: ModelInfo
    if kind == "segmentation":
        info = validated_info(source, SegmentationModelInfo, raw)
    else:
        info = validated_info(source, TranslationModelInfo, raw)
    return OnnxNetwork(session, info.size_multiple), info
