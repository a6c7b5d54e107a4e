"""Networks, their heads, and the only bridge from a config to them (:mod:`.build`)."""

from __future__ import annotations

from stainless.models.build import (
    MODELS,
    build_discriminators,
    build_network,
    build_segmentation_network,
    build_transfer_network,
    build_translation_network,
    load_local_weights,
    load_segmentation_network,
    load_translation_network,
    transfer_description,
)
from stainless.models.deeplab import DeepLabV3Plus
from stainless.models.heads import (
    HEADS,
    Head,
    SegmentationNetwork,
    TransferNetwork,
    activate,
    head_channels,
    head_of,
)
from stainless.models.pix2pix import PatchDiscriminator, ResnetGenerator
from stainless.models.tiramisu import Tiramisu
from stainless.models.unet import UNet

__all__ = [
    "HEADS",
    "MODELS",
    "DeepLabV3Plus",
    "Head",
    "PatchDiscriminator",
    "ResnetGenerator",
    "SegmentationNetwork",
    "Tiramisu",
    "TransferNetwork",
    "UNet",
    "activate",
    "build_discriminators",
    "build_network",
    "build_segmentation_network",
    "build_transfer_network",
    "build_translation_network",
    "head_channels",
    "head_of",
    "load_local_weights",
    "load_segmentation_network",
    "load_translation_network",
    "transfer_description",
]
