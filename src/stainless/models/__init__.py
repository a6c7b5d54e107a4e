"""Networks, and the only bridge from a config to them: :func:`build_translation_network`."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from stainless.config import ModelConfig, SegmentationModelConfig
from stainless.models.deeplab import DeepLabV3Plus
from stainless.models.heads import SegmentationNetwork, TransferNetwork, activate, head_channels
from stainless.models.pix2pix import PatchDiscriminator, ResnetGenerator
from stainless.models.tiramisu import Tiramisu
from stainless.models.unet import UNet


def _unet(model: ModelConfig, in_channels: int, n_targets: int, n_modalities: int) -> nn.Module:
    return UNet(
        in_channels, n_targets, width=model.width, depth=model.depth, n_modalities=n_modalities
    )


def _pix2pix(model: ModelConfig, in_channels: int, n_targets: int, n_modalities: int) -> nn.Module:
    return ResnetGenerator(
        in_channels,
        n_targets,
        width=model.width,
        n_blocks=model.n_blocks,
        n_modalities=n_modalities,
    )


MODELS: dict[str, Callable[[ModelConfig, int, int, int], nn.Module]] = {
    "unet": _unet,
    "pix2pix": _pix2pix,
}
"""Architecture name → builder(model config, input planes, targets, modalities in the code)."""


def build_translation_network(model: ModelConfig, in_channels: int, n_targets: int) -> nn.Module:
    """The generator / regressor of a translation model.

    Shapes: ``(N, in_channels, H, W)`` (+ modality indices ``(N,)`` when dynamic) →
    ``(N, n_targets, H, W)``.
    """
    n_modalities = len(model.modalities) if model.modality_strategy == "dynamic" else 0
    return MODELS[model.architecture](model, in_channels, n_targets, n_modalities)


def build_discriminators(model: ModelConfig, in_channels: int, n_targets: int) -> nn.ModuleList:
    """One 70×70 PatchGAN per target, each seeing the input planes and one target map."""
    return nn.ModuleList(
        PatchDiscriminator(in_channels + 1, model.discriminator_width) for _ in range(n_targets)
    )


def build_segmentation_network(
    model: SegmentationModelConfig, in_channels: int
) -> SegmentationNetwork:
    """A randomly initialised segmentation network (backbone + head) from its config.

    Shapes: ``(N, in_channels, H, W) -> (N, head_channels(head, classes), H, W)`` raw maps.
    """
    out_channels = head_channels(model.head, model.classes)
    backbone: nn.Module
    if model.architecture == "unet":
        backbone = UNet(in_channels, out_channels, width=model.width, depth=model.depth)
        features = model.width
    elif model.architecture.startswith("tiramisu"):
        backbone = Tiramisu(in_channels, out_channels, variant=model.architecture)
        features = backbone.feature_channels
    else:
        backbone = DeepLabV3Plus(in_channels, out_channels, width=model.width)
        features = backbone.feature_channels
    return SegmentationNetwork(backbone, model.head, features)


__all__ = [
    "MODELS",
    "DeepLabV3Plus",
    "PatchDiscriminator",
    "ResnetGenerator",
    "SegmentationNetwork",
    "Tiramisu",
    "TransferNetwork",
    "UNet",
    "activate",
    "build_discriminators",
    "build_segmentation_network",
    "build_translation_network",
    "head_channels",
]
