"""Networks: shapes, finiteness, gradient flow, modality conditioning."""

from __future__ import annotations

import pytest
import torch

from stainless.config import ModelConfig
from stainless.models import build_discriminators, build_translation_network
from stainless.models.conditioning import InputStem, ModalityConv2d
from stainless.models.pix2pix import PatchDiscriminator, ResnetGenerator
from stainless.models.unet import UNet


@pytest.mark.parametrize("depth", [1, 3])
def test_unet_shapes_finite_and_gradients_reach_the_first_layer(depth: int) -> None:
    torch.manual_seed(0)
    net = UNet(3, 2, width=8, depth=depth)
    x = torch.randn(2, 3, 32, 48)
    y = net(x)
    assert y.shape == (2, 2, 32, 48) and torch.isfinite(y).all()
    y.mean().backward()
    assert net.stem.conv is not None and net.stem.conv.weight.grad is not None
    assert net.stem.conv.weight.grad.abs().sum() > 0


def test_pix2pix_generator_one_decoder_per_target_and_discriminator_patches() -> None:
    torch.manual_seed(0)
    generator = ResnetGenerator(5, n_targets=3, width=8, n_blocks=2)
    x = torch.randn(2, 5, 64, 64)
    y = generator(x)
    assert y.shape == (2, 3, 64, 64) and y.abs().max() <= 1.0  # tanh outputs
    only_second = generator(x, targets=[1])
    torch.testing.assert_close(only_second[:, 0], y[:, 1])
    logits = PatchDiscriminator(6, width=8)(torch.cat([x, y[:, :1]], dim=1))
    assert logits.shape == (2, 1, 6, 6)  # 64 px → 70×70 receptive fields on a 6×6 grid


def test_dynamic_first_convolution_depends_on_the_modality_code() -> None:
    torch.manual_seed(0)
    conv = ModalityConv2d(2, 4, 3, n_modalities=3)
    with torch.no_grad():
        conv.kernel_bank[1] += 0.5  # make modality 1's kernel differ from modality 0's
    x = torch.randn(2, 2, 8, 8)
    same = conv(x, torch.tensor([0, 0]))
    mixed = conv(x, torch.tensor([0, 1]))
    torch.testing.assert_close(same[0], mixed[0])
    assert not torch.allclose(same[1], mixed[1])
    reference = torch.nn.functional.conv2d(x[1:], conv.kernel_bank[1], conv.bias_bank[1], padding=1)
    torch.testing.assert_close(mixed[1:], reference)


def test_dynamic_network_requires_a_modality_and_builder_honours_the_strategy() -> None:
    with pytest.raises(ValueError, match="modality-conditioned"):
        InputStem(2, 4, 3, n_modalities=2)(torch.randn(1, 2, 8, 8))
    dynamic = build_translation_network(
        ModelConfig(architecture="unet", width=8, depth=2, modality_strategy="dynamic"), 2, 1
    )
    out_phase = dynamic(torch.ones(1, 2, 16, 16), torch.tensor([1]))
    out_dic = dynamic(torch.ones(1, 2, 16, 16), torch.tensor([2]))
    assert out_phase.shape == (1, 1, 16, 16) and out_dic.shape == out_phase.shape
    assert len(build_discriminators(ModelConfig(discriminator_width=8), 2, 3)) == 3
