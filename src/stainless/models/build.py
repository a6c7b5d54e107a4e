"""From a config (or a model folder) to a network: the only bridge between the two.

Configs validate; these functions compute. Each builder passes named arguments equal to the
config fields, so a renamed field fails loudly. (After CAREamics' config → model split.)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from stainless import model_folder
from stainless.config import ModelConfig, SegmentationConfig, SegmentationModelConfig
from stainless.model_folder import SegmentationModelInfo, TranslationModelInfo
from stainless.models.deeplab import DeepLabV3Plus
from stainless.models.heads import HEADS, SegmentationNetwork, TransferNetwork
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


def _deeplabv3plus(
    model: ModelConfig, in_channels: int, n_targets: int, n_modalities: int
) -> nn.Module:
    return DeepLabV3Plus(in_channels, n_targets, width=model.width, n_modalities=n_modalities)


MODELS: dict[str, Callable[[ModelConfig, int, int, int], nn.Module]] = {
    "unet": _unet,
    "pix2pix": _pix2pix,
    "deeplabv3plus": _deeplabv3plus,
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

    Shapes: ``(N, in_channels, H, W) -> (N, HEADS[head].channels(classes), H, W)`` raw maps.
    """
    out_channels = HEADS[model.head].channels(model.classes)
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


def build_transfer_network(
    transfer: dict[str, Any], head: str, classes: int, alpha: float
) -> TransferNetwork:
    """A :class:`TransferNetwork` around an (untrained) translation network described by
    ``transfer`` (see :class:`stainless.model_folder.SegmentationModelInfo`)."""
    body = build_translation_network(
        ModelConfig.model_validate(transfer["model"]),
        transfer["in_channels"],
        len(transfer["target_names"]),
    )
    return TransferNetwork(body, transfer["target_index"], head, classes, alpha)


def transfer_description(config: SegmentationConfig, in_channels: int) -> dict[str, Any]:
    """What :class:`SegmentationModelInfo` keeps of the translation model in ``model.init``."""
    folder = config.model.init
    if folder is None:
        raise ValueError("transfer_description needs model.init (a translation model folder)")
    info = model_folder.read_translation_info(folder)
    if info.modality_strategy != "unified":
        raise ValueError(
            f"model.init '{folder}' is a '{info.modality_strategy}' translation model; "
            "transfer needs a unified one"
        )
    if info.in_channels != in_channels:
        raise ValueError(
            f"model.init '{folder}' takes {info.in_channels} input planes but the segmentation "
            f"images have {in_channels}"
        )
    target = config.model.init_target or info.target_names[0]
    if target not in info.target_names:
        raise ValueError(
            f"model.init_target '{target}' is not a target of '{folder}' ({info.target_names})"
        )
    if config.data.crop_size % info.size_multiple:
        raise ValueError(
            f"data.crop_size {config.data.crop_size} must be a multiple of {info.size_multiple} "
            f"for the translation model '{folder}'"
        )
    translation = model_folder.read_translation_config(folder)
    return {
        "source": str(folder),
        "model": translation.model.model_dump(mode="json"),
        "in_channels": in_channels,
        "target_names": info.target_names,
        "target_index": info.target_names.index(target),
        "size_multiple": info.size_multiple,
    }


def build_network(
    config: SegmentationConfig, in_channels: int
) -> tuple[nn.Module, nn.Module | None, dict[str, Any] | None]:
    """The segmentation network to train, from its config.

    Returns the network, its pretrained body (None for random init) and the transfer
    description (None for random init). ``model.encoder_weights`` initialise the backbone from
    a local file; ``model.init`` wraps a trained translation model (ISL pretraining).
    """
    model = config.model
    if model.init is None:
        network = build_segmentation_network(model, in_channels)
        if model.encoder_weights is not None:
            load_local_weights(network.backbone, model.encoder_weights)
        return network, None, None
    transfer = transfer_description(config, in_channels)
    transfer_network = build_transfer_network(
        transfer, model.head, model.classes, model.shifted_sigmoid_alpha
    )
    pretrained, _ = load_translation_network(model.init)
    transfer_network.body.load_state_dict(pretrained.state_dict())
    return transfer_network, transfer_network.body, transfer


def load_local_weights(backbone: nn.Module, path: Path) -> None:
    """Initialise ``backbone`` from a local weight file (safetensors, or a state dict read with
    ``torch.load(weights_only=True)``) or from a trained stainless segmentation model folder
    (fine-tuning it, as Cellpose users fine-tune ``cyto``): tensors whose name (with or without
    the segmentation network's ``backbone.`` prefix) and shape match are copied; a first-layer
    kernel with another number of input channels is adapted (:func:`adapt_input_channels`) and
    said in a warning, as are tensors left random. Nothing is downloaded."""
    state: Any
    source = path.name
    if path.is_dir():
        if not model_folder.is_model_folder(path):
            raise ValueError(f"model.encoder_weights '{path}' is a folder but not a model folder")
        path = path / model_folder.WEIGHTS
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
    if not isinstance(state, dict):
        raise ValueError(f"model.encoder_weights '{path}' does not hold a state dict")
    state = {k.removeprefix("backbone."): v for k, v in state.items()}
    own = backbone.state_dict()
    matching = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not matching:
        raise ValueError(
            f"model.encoder_weights '{path}': no tensor matches the backbone's names and shapes"
        )
    adapted, left_random = {}, []
    for name in sorted(set(state) & set(own) - set(matching)):
        kernel = adapt_input_channels(state[name], own[name].shape)
        if kernel is None:
            left_random.append(name)
        else:
            adapted[name] = kernel
    backbone.load_state_dict({**matching, **adapted}, strict=False)
    for name, kernel in adapted.items():
        was, now = state[name].shape[1], kernel.shape[1]
        old_channels = "channel 1" if was == 1 else f"channels 1-{was}"
        new_channels = f"channel {now}" if now == was + 1 else f"channels {was + 1}-{now}"
        how = (
            f"{old_channels} start(s) from its weights, {new_channels} from zero (the model "
            "begins as the init and learns what the new channels add)"
            if now > was
            else "its input weights summed (as if the one channel were each of its channels)"
        )
        warnings.warn(
            f"the init '{source}' takes {was} input channel(s), this model {now}: {how}",
            stacklevel=2,
        )
    if left_random:
        warnings.warn(
            f"{len(left_random)} tensor(s) of the init '{source}' have other shapes "
            f"here and start random: {', '.join(left_random[:4])}"
            + (" ..." if len(left_random) > 4 else ""),
            stacklevel=2,
        )


def adapt_input_channels(kernel: torch.Tensor, shape: torch.Size) -> torch.Tensor | None:
    """A first-layer kernel ``(O, C, kY, kX)`` for ``shape`` ``(O, C', kY, kX)``: the extra input
    channels zero (C' > C), or all channels summed into one (C' = 1); None for any other
    difference (the tensor stays random)."""
    if (
        kernel.ndim != 4
        or len(shape) != 4
        or kernel.shape[:1] + kernel.shape[2:] != (shape[:1] + shape[2:])
    ):
        return None
    channels = shape[1]
    if channels > kernel.shape[1]:
        extra = kernel.new_zeros((shape[0], channels - kernel.shape[1], *shape[2:]))
        return torch.cat([kernel, extra], dim=1)
    if channels == 1:
        return kernel.sum(dim=1, keepdim=True)
    return None


def load_translation_network(folder: Path) -> tuple[nn.Module, TranslationModelInfo]:
    """Rebuild a translation network from its model folder and load its weights (no pickle).

    Returns the network in eval mode on the CPU and its :class:`TranslationModelInfo`.
    """
    info = model_folder.read_translation_info(folder)
    config = model_folder.read_translation_config(folder)
    network = build_translation_network(config.model, info.in_channels, len(info.target_names))
    model_folder.load_weights_into(network, folder)
    network.eval()
    return network, info


def load_segmentation_network(folder: Path) -> tuple[nn.Module, SegmentationModelInfo]:
    """Rebuild a segmentation network from its model folder and load its weights (no pickle).

    Returns the network in eval mode on the CPU and its :class:`SegmentationModelInfo`.
    """
    info = model_folder.read_segmentation_info(folder)
    config = model_folder.read_segmentation_config(folder)
    network: nn.Module
    if info.transfer is not None:
        network = build_transfer_network(
            info.transfer, info.head, info.classes, config.model.shifted_sigmoid_alpha
        )
    else:
        network = build_segmentation_network(config.model, info.in_channels)
    model_folder.load_weights_into(network, folder)
    network.eval()
    return network, info
