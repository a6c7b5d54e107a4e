"""Applying a trained translation model to whole images of any size.

The network runs under ``torch.inference_mode``, in channels-last layout and — where the hardware
has native bfloat16 (CUDA, or CPUs with AVX512-BF16/AMX) — under bf16 autocast; tiles are blended
with Gaussian weights; optional test-time augmentation averages the four 90° rotations (and their
mirror images).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from stainless.data.normalize import normalize_planes
from stainless.inference.tiling import TilePredictor, sliding_window
from stainless.training.checkpoint import TranslationModelInfo, load_translation_network
from stainless.training.device import bf16_supported, resolve_device

SEPARATE_INDEX = "separate.json"


@dataclass(frozen=True)
class TilingOptions:
    """How a whole image is cut into tiles and recombined."""

    tile: int = 512
    overlap_fraction: float = 0.5
    batch_size: int = 4
    tta: bool = False
    tta_flips: bool = False
    margin_px: int = 0


def to_channels_last(network: nn.Module) -> None:
    """Channels-last weights for every 2-D convolution (oneDNN's fast layout on CPU); other
    parameters, such as the 5-D kernel bank of a dynamic stem, keep their layout."""
    for module in network.modules():
        if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
            module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]


def prepare_for_inference(
    network: nn.Module, device: str, precision: str
) -> tuple[nn.Module, torch.device, bool]:
    """Move ``network`` to ``device`` in eval mode and channels-last; returns it, the device and
    whether to run under bf16 autocast (``precision``: auto = where native, bf16, fp32)."""
    resolved = resolve_device(device)
    if precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"precision must be auto, bf16 or fp32, got {precision!r}")
    use_bf16 = precision == "bf16" or (precision == "auto" and bf16_supported(resolved))
    prepared = network.to(resolved).eval()
    to_channels_last(prepared)
    return prepared, resolved, use_bf16


ViewCorrection = Callable[[NDArray[np.float32], int, bool], NDArray[np.float32]]
"""``(maps, quarter_turns, mirrored) -> maps``: fixes channels that are vectors, after the maps of
a turned/mirrored view have been turned back into place."""


def predict_tiled(
    image: NDArray[np.float32],
    predict_tiles: TilePredictor,
    n_out: int,
    size_multiple: int,
    options: TilingOptions,
    correct_view: ViewCorrection | None = None,
) -> NDArray[np.float32]:
    """Tiled prediction ``(n_out, Y, X)`` of ``image`` ``(C, Y, X)``; with ``options.tta`` the
    mean over the four quarter turns (and their mirror images with ``tta_flips``), each output
    turned back into place (and corrected by ``correct_view`` where channels are vectors)."""

    def run(view: NDArray[np.float32]) -> NDArray[np.float32]:
        return sliding_window(
            np.ascontiguousarray(view),
            predict_tiles,
            n_out,
            tile=options.tile,
            overlap_fraction=options.overlap_fraction,
            batch_size=options.batch_size,
            size_multiple=size_multiple,
            margin_px=options.margin_px,
        )

    if not options.tta:
        return run(image)
    total = np.zeros((n_out, *image.shape[1:]), dtype=np.float64)
    views = 0
    for flip in (False, True) if options.tta_flips else (False,):
        view = image[:, :, ::-1] if flip else image
        for k in range(4):
            output = np.rot90(run(np.rot90(view, k, axes=(1, 2))), -k, axes=(1, 2))
            output = output[:, :, ::-1] if flip else output
            if correct_view is not None:
                output = correct_view(output, k, flip)
            total += output
            views += 1
    return (total / views).astype(np.float32)


class TranslationPredictor:
    """A loaded translation model, ready to predict fluorescence from label-free planes.

    Parameters
    ----------
    network : nn.Module
    info : TranslationModelInfo
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    precision : str
        ``auto`` (bf16 where native), ``bf16`` or ``fp32``.
    """

    def __init__(
        self,
        network: nn.Module,
        info: TranslationModelInfo,
        device: str = "auto",
        precision: str = "auto",
    ) -> None:
        self.info = info
        self.network, self.device, self.use_bf16 = prepare_for_inference(network, device, precision)

    @classmethod
    def load(
        cls, folder: str | Path, device: str = "auto", precision: str = "auto"
    ) -> TranslationPredictor:
        """Load a model folder written by ``stainless train translation``."""
        network, info = load_translation_network(Path(folder))
        return cls(network, info, device, precision)

    def _modality_index(self, modality: str | None) -> int | None:
        if self.info.modality_strategy != "dynamic":
            return None
        if modality is None:
            raise ValueError(
                f"this model depends on the imaging modality: pass one of {self.info.modalities}"
            )
        if modality not in self.info.modalities:
            raise ValueError(
                f"unknown modality '{modality}'; this model knows {self.info.modalities}"
            )
        return self.info.modalities.index(modality)

    def _tile_function(self, modality_index: int | None) -> TilePredictor:
        def predict_tiles(batch: NDArray[np.float32]) -> NDArray[np.float32]:
            x = (
                torch.from_numpy(batch)
                .to(self.device)
                .contiguous(memory_format=torch.channels_last)
            )
            modality = None
            if modality_index is not None:
                modality = torch.full((x.shape[0],), modality_index, device=self.device)
            with (
                torch.inference_mode(),
                torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_bf16),
            ):
                y = self.network(x, modality)
            return y.float().cpu().numpy()

        return predict_tiles

    def predict_normalized(
        self,
        planes: NDArray[np.float32],
        modality: str | None = None,
        options: TilingOptions | None = None,
    ) -> NDArray[np.float32]:
        """Network-unit predictions ``(T, Y, X)`` for normalised planes ``(C, Y, X)``."""
        options = options or TilingOptions()
        predict_tiles = self._tile_function(self._modality_index(modality))
        return predict_tiled(
            planes, predict_tiles, len(self.info.target_names), self.info.size_multiple, options
        )

    def predict(
        self,
        planes: NDArray[np.generic],
        modality: str | None = None,
        options: TilingOptions | None = None,
    ) -> dict[str, NDArray[np.float32]]:
        """Predict every target from raw label-free planes.

        Parameters
        ----------
        planes : (C, Y, X) array
            Raw input planes (any dtype), C equal to the model's input planes.
        modality : str, optional
            Needed by modality-conditioned models.
        options : TilingOptions, optional

        Returns
        -------
        dict of target name → (Y, X) float32 ndarray in raw intensity units.
        """
        if planes.ndim != 3 or planes.shape[0] != self.info.in_channels:
            got = planes.shape[0] if planes.ndim == 3 else f"an array of shape {planes.shape}"
            raise ValueError(f"this model expects {self.info.in_channels} input planes, got {got}")
        normalized = normalize_planes(planes, *self.info.input_percentiles)
        output = self.predict_normalized(normalized, modality, options)
        return {
            name: self.info.scale(name).invert(output[index])
            for index, name in enumerate(self.info.target_names)
        }


class PerModalityPredictor:
    """The ``separate`` strategy: one model per modality, chosen by each image's modality."""

    def __init__(self, predictors: dict[str, TranslationPredictor]) -> None:
        self.predictors = predictors
        first = next(iter(predictors.values()))
        self.info = first.info

    def predict(
        self,
        planes: NDArray[np.generic],
        modality: str | None = None,
        options: TilingOptions | None = None,
    ) -> dict[str, NDArray[np.float32]]:
        """As :meth:`TranslationPredictor.predict`; ``modality`` picks the model."""
        if modality is None or modality not in self.predictors:
            raise ValueError(
                "pass the modality of the image: this model has one model per modality "
                f"{sorted(self.predictors)}"
            )
        return self.predictors[modality].predict(planes, modality, options)


def load_predictor(
    folder: str | Path, device: str = "auto", precision: str = "auto"
) -> TranslationPredictor | PerModalityPredictor:
    """Load a model folder (or a ``separate`` folder of per-modality models), or a built-in
    model by name (``stainless models list``)."""
    from stainless.zoo import resolve_model

    root = resolve_model(folder)
    index = root / SEPARATE_INDEX
    if index.is_file():
        mapping = json.loads(index.read_text())
        return PerModalityPredictor(
            {
                modality: TranslationPredictor.load(root / sub, device, precision)
                for modality, sub in mapping.items()
            }
        )
    return TranslationPredictor.load(root, device, precision)
