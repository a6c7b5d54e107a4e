"""Applying a trained translation model to whole images of any size.

The network runs under ``torch.inference_mode``, in channels-last layout and — with precision
``auto``, where bfloat16 autocast beat float32 in a timed trial on this machine (CUDA, or CPUs
with AVX512-BF16/AMX) and its output agreed with float32's on that batch
(:func:`stainless.device.precision_trial`) — under bf16; tiles are blended
with Gaussian weights; optional test-time augmentation averages the four 90° rotations (and their
mirror images).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from stainless.data.normalize import normalize_planes
from stainless.data.resample import resample_planes
from stainless.device import PrecisionTrial, precision_trial, prepare_for_inference
from stainless.inference.onnx_engine import is_onnx_model, load_onnx_network
from stainless.inference.scaling import rescaling
from stainless.model_folder import TranslationModelInfo, read_separate_index, resolve_model
from stainless.models import load_translation_network
from stainless.tiling import ImageWindow, TilePredictor, TilingOptions, predict_tiled

__all__ = [
    "PerModalityPredictor",
    "TilingOptions",
    "TranslationPredictor",
    "load_predictor",
]


class TranslationPredictor:
    """A loaded translation model, ready to predict fluorescence from label-free planes.

    Parameters
    ----------
    network : nn.Module
    info : TranslationModelInfo
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    precision : str
        ``auto`` (bf16 where it runs faster than fp32 in a timed trial on the first batch and
        its output agrees with fp32's there, :func:`stainless.device.precision_trial`),
        ``bf16`` or ``fp32``.
    """

    def __init__(
        self,
        network: nn.Module,
        info: TranslationModelInfo,
        device: str = "auto",
        precision: str = "auto",
    ) -> None:
        self.info = info
        self.network, self.device, self._bf16 = prepare_for_inference(network, device, precision)
        self._asked = precision
        self.trial: PrecisionTrial | None = None
        """The timed trial with its agreement check, once ``auto`` was decided by one."""

    def _decide(
        self, sample: torch.Tensor, forward: Callable[[torch.Tensor], torch.Tensor]
    ) -> bool:
        self.trial = precision_trial(self.network, sample, forward)
        self._bf16 = self.trial.bf16
        return self._bf16

    def precision_record(self) -> dict[str, object]:
        """How this predictor's precision was chosen, for an output's run metadata: the trial
        (speed and agreement on the first batch) where ``auto`` ran one."""
        if self.trial is not None:
            return self.trial.record()
        precision = {None: "undecided", True: "bf16", False: "fp32"}[self._bf16]
        reason = "asked" if self._asked != "auto" else "no bf16 on this device"
        return {"precision": precision, "decided_by": reason}

    def _forward(self, x: torch.Tensor, modality: torch.Tensor | None = None) -> torch.Tensor:
        return self.network(x, modality)

    def choose_precision(self, tile: int, batch_size: int = 1) -> str:
        """``bf16`` or ``fp32``: the one this predictor runs in, deciding ``auto`` now by a
        timed trial on a random batch of ``batch_size`` tiles of ``tile`` px."""
        if self._bf16 is None:
            shape = (batch_size, self.network_channels, tile, tile)
            sample = torch.randn(shape, device=self.device).contiguous(
                memory_format=torch.channels_last
            )
            modality = None
            if self.info.modality_strategy == "dynamic":
                modality = torch.zeros((batch_size,), dtype=torch.long, device=self.device)
            self._decide(sample, lambda x: self._forward(x, modality))
        return "bf16" if self._bf16 else "fp32"

    @property
    def network_channels(self) -> int:
        """Planes the network itself takes (after a plane stem)."""
        stem = self.info.stem()
        return stem.channels if stem is not None else self.info.in_channels

    @property
    def use_bf16(self) -> bool:
        """Whether the network runs under bf16 autocast (``auto`` decided by then)."""
        return self.choose_precision(512) == "bf16"

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
            use_bf16 = self._bf16
            if use_bf16 is None:  # auto: timed and compared on the first batch, both ways
                use_bf16 = self._decide(x, lambda sample: self._forward(sample, modality))
            with (
                torch.inference_mode(),
                torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=use_bf16),
            ):
                y = self._forward(x, modality)
            return y.float().cpu().numpy()

        return predict_tiles

    def predict_normalized(
        self,
        planes: NDArray[np.float32],
        modality: str | None = None,
        options: TilingOptions | None = None,
        window: ImageWindow | None = None,
    ) -> NDArray[np.float32]:
        """Network-unit predictions ``(T, Y, X)`` for normalised planes ``(C, Y, X)`` (with
        ``window``: the padded region of a larger image; see :func:`predict_tiled`)."""
        options = options or TilingOptions()
        predict_tiles = self._tile_function(self._modality_index(modality))
        n_out = len(self.info.target_names)
        multiple = self.info.size_multiple
        return predict_tiled(planes, predict_tiles, n_out, multiple, options, None, window)

    def predict(
        self,
        planes: NDArray[np.generic],
        modality: str | None = None,
        options: TilingOptions | None = None,
        pixel_size_um: float | None = None,
        input_ranges: list[tuple[float, float]] | None = None,
        window: ImageWindow | None = None,
    ) -> dict[str, NDArray[np.float32]]:
        """Predict every target from raw label-free planes.

        Parameters
        ----------
        planes : (C, Y, X) array
            Raw input planes (any dtype): C equal to the model's input planes, or any C ≥ 1
            for a model trained with ``input_planes: any``.
        modality : str, optional
            Needed by modality-conditioned models.
        options : TilingOptions, optional
        pixel_size_um : float, optional
            The planes' pixel size; when the model records its own, the planes are resampled
            to it before the network and the predictions back to the planes' size.
        input_ranges : list of (float, float), optional
            Per-plane intensity percentiles to normalise by (those of the whole image when
            ``planes`` is one block of it); default: the planes' own.
        window : ImageWindow, optional
            ``planes`` are the padded region of a larger image; the window's box is predicted
            as in the whole image (no resampling then).

        Returns
        -------
        dict of target name → (Y, X) float32 ndarray in raw intensity units.
        """
        scale = rescaling(pixel_size_um, self.info.pixel_size_um)
        if window is not None and scale != 1.0:
            raise ValueError("an image window cannot be resampled; tile the block instead")
        height, width = planes.shape[-2:]
        if scale != 1.0:
            planes = resample_planes(planes.astype(np.float32), scale)
        wanted = self.info.planes_wanted()
        if planes.ndim != 3 or (wanted is not None and planes.shape[0] != wanted):
            got = planes.shape[0] if planes.ndim == 3 else f"an array of shape {planes.shape}"
            raise ValueError(f"this model expects {wanted} input planes, got {got}")
        normalized = normalize_planes(planes, *self.info.input_percentiles, input_ranges)
        stem = self.info.stem()
        if stem is not None:
            normalized = stem(normalized)
        output = self.predict_normalized(normalized, modality, options, window)
        if scale != 1.0:
            output = resample_planes(output, shape=(height, width))
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
        pixel_size_um: float | None = None,
        input_ranges: list[tuple[float, float]] | None = None,
        window: ImageWindow | None = None,
    ) -> dict[str, NDArray[np.float32]]:
        """As :meth:`TranslationPredictor.predict`; ``modality`` picks the model."""
        if modality is None or modality not in self.predictors:
            raise ValueError(
                "pass the modality of the image: this model has one model per modality "
                f"{sorted(self.predictors)}"
            )
        return self.predictors[modality].predict(
            planes, modality, options, pixel_size_um, input_ranges, window
        )

    def precision_record(self) -> dict[str, object]:
        """Each modality's model's precision record."""
        return {name: model.precision_record() for name, model in self.predictors.items()}


def load_predictor(
    folder: str | Path, device: str = "auto", precision: str = "auto"
) -> TranslationPredictor | PerModalityPredictor:
    """Load a model folder (or a ``separate`` folder of per-modality models), a built-in
    model by name (``stainless models list``), or an ``.onnx`` export run by onnxruntime."""
    if is_onnx_model(folder):
        network, info = load_onnx_network(folder, "translation")
        return TranslationPredictor(network, cast(TranslationModelInfo, info), device, "fp32")
    root = resolve_model(folder)
    per_modality = read_separate_index(root)
    if per_modality is not None:
        return PerModalityPredictor(
            {
                modality: TranslationPredictor.load(sub, device, precision)
                for modality, sub in per_modality.items()
            }
        )
    return TranslationPredictor.load(root, device, precision)
