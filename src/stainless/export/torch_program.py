"""``torch.export`` program export (``.pt2``): the network as a graph any torch of the same
version loads with ``torch.export.load(path).module()``, without stainless or its classes.

The program carries the model's ``model.json`` as the extra file ``model.json``; inputs and
outputs as in :mod:`stainless.export.source`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from stainless.export.source import ExportSource
from stainless.io.atomic import write_atomically

TOLERANCE = 1e-5
"""Largest |program − eager| accepted on the raw maps (float32; the same kernels run)."""


def export_pt2(source: ExportSource, output: Path) -> dict[str, Any]:
    """Write ``source``'s network to ``output`` (atomically) and return the agreement check of
    the reloaded program against the eager network on a batch of another shape.

    Raises
    ------
    ValueError
        When the reloaded program differs by more than :data:`TOLERANCE` (nothing written).
    """
    program = torch.export.export(
        source.network, (source.example(),), dynamic_shapes=source.dynamic_shapes()
    )
    extra = {"model.json": source.model_json()}

    def save(temporary: Path) -> None:
        torch.export.save(program, str(temporary), extra_files=extra)
        batch = source.example(1, (3, 5), 1)
        with torch.inference_mode():
            expected = source.network(batch)
            got = torch.export.load(str(temporary)).module()(batch)
        check["max_abs_difference"] = float((got - expected).abs().max())
        if check["max_abs_difference"] > TOLERANCE:
            raise ValueError(
                f"the exported program of '{source.folder}' differs from the network by "
                f"{check['max_abs_difference']:.2g} (> {TOLERANCE}); not written"
            )

    side = (3 * source.multiple, 5 * source.multiple)
    check: dict[str, Any] = {"input_shape": [1, source.channels, *side], "tolerance": TOLERANCE}
    write_atomically(output, save)
    check["passed"] = True
    return check
