"""How ``train segmentation --init`` starts the network from a translation model."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def init_overrides(init: Path | None, transfer: str) -> dict[str, Any]:
    """Config overrides for ``--init`` and ``--transfer``: ``model.init`` (``output``: the
    translation model's predicted stain feeds the head, [Bonte2022]), or with ``weights`` the
    translation model's folder in ``model.encoder_weights`` (its whole U-Net starts the network).

    Raises
    ------
    ValueError
        ``--transfer weights`` without ``--init``, or with a model that is not a translation one.
    """
    from stainless.model_folder import model_kind, resolve_model

    if transfer == "output":
        return {"model.init": init}
    if init is None:
        raise ValueError("--transfer weights needs --init (a translation model)")
    folder = resolve_model(init)
    if model_kind(folder) != "translation":
        raise ValueError(
            f"--transfer weights needs a translation model as --init; '{init}' is a "
            f"{model_kind(folder)} model (fine-tuned whole without --transfer)"
        )
    return {"model.init": None, "model.encoder_weights": folder}
