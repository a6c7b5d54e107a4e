"""ONNX export (``torch.onnx.export`` with the dynamo exporter, opset 18) and its check.

The graph takes ``planes`` ``(N, C, H, W)`` float32 with ``N`` any batch and ``H``, ``W`` any
multiple of the network's stride, and gives ``maps`` ``(N, K, H, W)`` (see
:mod:`stainless.export.source`). Its metadata carry the model's ``model.json``, so stainless runs
it with its own normalisation, tiling and post-processing (``segment --model X.onnx``), and the
agreement check made at export (onnxruntime against torch float32 on a batch of another shape).
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stainless.export.source import CHECK_KEY, MODEL_KEY, ExportSource
from stainless.io.atomic import write_atomically

OPSET = 18
TOLERANCE = 1e-4
"""Largest |onnxruntime − torch| accepted on the raw maps (float32)."""


def onnx_session(model: bytes | str | Path, threads: int | None = None) -> Any:
    """An onnxruntime CPU session of a serialised graph or an ``.onnx`` file (``threads``:
    intra-op threads, default onnxruntime's)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: its warnings are about graph fusions
    if threads is not None:
        options.intra_op_num_threads = threads
    source = str(model) if isinstance(model, Path) else model
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def run_session(session: Any, planes: np.ndarray) -> np.ndarray:
    """``session``'s maps ``(N, K, H, W)`` for planes ``(N, C, H, W)``."""
    name = session.get_inputs()[0].name
    return np.asarray(session.run(None, {name: np.ascontiguousarray(planes, np.float32)})[0])


def agreement(source: ExportSource, session: Any, batch: torch.Tensor) -> dict[str, Any]:
    """Max |onnxruntime − torch| of the raw maps of ``batch`` ``(N, C, H, W)``, and whether it
    is within :data:`TOLERANCE`."""
    with torch.inference_mode():
        expected = source.network(batch).numpy()
    got = run_session(session, batch.numpy())
    difference = float(np.abs(got - expected).max())
    return {"input_shape": list(batch.shape), "max_abs_difference": difference,
            "tolerance": TOLERANCE, "passed": difference <= TOLERANCE}  # fmt: skip


def export_onnx(source: ExportSource, output: Path, opset: int = OPSET) -> dict[str, Any]:
    """Write ``source``'s network to ``output`` (an ``.onnx`` file, atomically) and return the
    agreement check, also stored in the graph's metadata.

    Raises
    ------
    ValueError
        When onnxruntime's maps differ from torch's by more than :data:`TOLERANCE` (nothing is
        written then).
    """
    import onnx

    registry = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registry.level
    registry.setLevel(logging.ERROR)  # its notes on the torchvision ops it cannot register
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                source.network,
                (source.example(),),
                dynamo=True,
                opset_version=opset,
                input_names=["planes"],
                output_names=["maps"],
                dynamic_shapes=source.dynamic_shapes(),
                verbose=False,
            )
    finally:
        registry.setLevel(level)
    if program is None:  # only when torch exports with the legacy (TorchScript) exporter
        raise ValueError(f"'{source.folder}': the ONNX exporter returned no program")
    proto = program.model_proto
    check = agreement(source, onnx_session(proto.SerializeToString()), source.example(1, (3, 5), 1))
    if not check["passed"]:
        raise ValueError(
            f"the ONNX graph of '{source.folder}' differs from torch by "
            f"{check['max_abs_difference']:.2g} (> {TOLERANCE}); not written"
        )
    onnx.helper.set_model_props(
        proto, {MODEL_KEY: source.model_json(), CHECK_KEY: json.dumps(check)}
    )
    proto.producer_name = "stainless"
    write_atomically(output, lambda temporary: onnx.save_model(proto, str(temporary)))
    return check
