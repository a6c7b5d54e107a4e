"""Segmentation backbones and heads: shapes, gradients, parameter counts, transfer wrapping."""

from __future__ import annotations

import pytest
import torch

from stainless.config import ModelConfig, SegmentationModelConfig
from stainless.models import (
    TransferNetwork,
    activate,
    build_segmentation_network,
    build_translation_network,
    head_channels,
)
from stainless.models.tiramisu import Tiramisu


@pytest.mark.parametrize("architecture", ["unet", "tiramisu", "deeplabv3plus"])
@pytest.mark.parametrize(
    ("head", "classes"), [("semantic", 2), ("semantic", 3), ("distance", 2), ("hover", 2)]
)
def test_every_backbone_carries_every_head(architecture: str, head: str, classes: int) -> None:
    config = SegmentationModelConfig(
        architecture=architecture,
        head=head,
        classes=classes,
        width=8,
        depth=2,  # type: ignore[arg-type]
    )
    network = build_segmentation_network(config, in_channels=2)
    x = torch.randn(2, 2, 32, 32, requires_grad=True)
    maps = network(x)
    assert maps.shape == (2, head_channels(head, classes), 32, 32)
    assert torch.isfinite(maps).all()
    maps.square().mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in network.parameters() if p.requires_grad)


def test_tiramisu_103_has_the_papers_size() -> None:
    """FC-DenseNet103 has about 9.4 M parameters (Jégou et al. 2017, Table 2)."""
    parameters = sum(p.numel() for p in Tiramisu(3, 11, "tiramisu103").parameters())
    assert 9.0e6 < parameters < 9.6e6
    assert sum(p.numel() for p in Tiramisu(3, 11, "tiramisu").parameters()) < 2e6
    with pytest.raises(ValueError, match="unknown Tiramisu variant"):
        Tiramisu(1, 1, "tiramisu57")


def test_activation_ranges() -> None:
    maps = torch.randn(1, 4, 8, 8) * 5
    hover = activate(maps, "hover")
    assert torch.allclose(hover[:, :2].sum(dim=1), torch.ones(1, 8, 8))
    assert hover[:, 2:].abs().max() <= 1
    distance = activate(maps[:, :2], "distance")
    assert distance[:, 0].min() >= 0 and 0 <= distance[:, 1].min() <= distance[:, 1].max() <= 1
    assert torch.allclose(activate(maps[:, :3], "semantic").sum(dim=1), torch.ones(1, 8, 8))


def test_transfer_network_uses_the_chosen_translation_output() -> None:
    body = build_translation_network(ModelConfig(width=8, depth=2), in_channels=3, n_targets=2)
    x = torch.randn(1, 3, 16, 16)
    semantic = TransferNetwork(body, target_index=1, head="semantic", classes=2, alpha=10.0)
    with torch.no_grad():
        expected = 10.0 * body(x, None)[:, 1:2]  # logits of σ(α (x − 0)), ISL paper eq. 1
        torch.testing.assert_close(semantic(x), expected)
    instance = TransferNetwork(body, target_index=0, head="distance", classes=2, alpha=10.0)
    assert instance(x).shape == (1, 2, 16, 16)
    assert instance.adapter is not None and semantic.adapter is None


@pytest.mark.parametrize("channels", [2, 3])
def test_an_init_with_fewer_input_channels_starts_as_the_init(channels: int) -> None:
    from stainless.model_folder import read_segmentation_config, resolve_model
    from stainless.models.build import (
        build_segmentation_network,
        load_local_weights,
        load_segmentation_network,
    )

    folder = resolve_model("cells-phase")  # a real one-channel model
    init, _ = load_segmentation_network(folder)
    network = build_segmentation_network(read_segmentation_config(folder).model, channels)
    with pytest.warns(UserWarning, match=rf"takes 1 input channel\(s\), this model {channels}"):
        load_local_weights(network.backbone, folder)
    network.eval()
    image = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        expected = init(image)
        got = network(torch.cat([image, torch.zeros(1, channels - 1, 64, 64)], dim=1))
    assert torch.allclose(got, expected, atol=1e-5)
    with torch.no_grad():  # the new channels' weights are zero, not random
        other = network(torch.cat([image, torch.rand(1, channels - 1, 64, 64)], dim=1))
    assert torch.allclose(other, expected, atol=1e-5)


def test_a_one_channel_model_from_a_colour_init_sums_its_input_weights() -> None:
    from stainless.models.build import adapt_input_channels

    kernel = torch.rand(8, 3, 3, 3)
    one = adapt_input_channels(kernel, torch.Size((8, 1, 3, 3)))
    assert one is not None and torch.allclose(one[:, 0], kernel.sum(dim=1))
    assert adapt_input_channels(kernel, torch.Size((8, 2, 3, 3))) is None
    assert adapt_input_channels(kernel, torch.Size((4, 3, 3, 3))) is None
