"""Losses: the Light My Cells weight mask and the adaptive loss for partial labels."""

from __future__ import annotations

import torch

from stainless.losses import (
    discriminator_loss,
    generator_adversarial_loss,
    masked_l1,
    range_weights,
)
from stainless.models.pix2pix import PatchDiscriminator, ResnetGenerator


def test_range_weights_are_one_inside_and_reduced_outside() -> None:
    target = torch.tensor([[[[-2.0, 0.0, 0.5, 3.0]]]])
    value_range = torch.tensor([[[-1.0, 1.0]]])
    assert range_weights(target, value_range, 0.1).flatten().tolist() == [
        0.10000000149011612,
        1.0,
        1.0,
        0.10000000149011612,
    ]


def test_masked_l1_averages_present_maps_only() -> None:
    pred = torch.zeros(2, 2, 1, 2)
    target = torch.tensor([[[[1.0, 3.0]], [[100.0, 100.0]]], [[[2.0, 2.0]], [[0.0, 4.0]]]])
    present = torch.tensor([[True, False], [True, True]])
    # present maps: mean|.| = 2 (sample 0, t0), 2 (sample 1, t0), 2 (sample 1, t1)
    assert masked_l1(pred, target, present).item() == 2.0
    nothing = masked_l1(pred.requires_grad_(), target, torch.zeros(2, 2, dtype=torch.bool))
    assert nothing.item() == 0.0


def test_absent_target_gets_exactly_zero_gradient_in_l1_and_adversarial_terms() -> None:
    torch.manual_seed(0)
    generator = ResnetGenerator(2, n_targets=2, width=8, n_blocks=1)
    discriminators = [PatchDiscriminator(3, width=8) for _ in range(2)]
    x = torch.randn(2, 2, 32, 32)
    target = torch.rand(2, 2, 32, 32) * 2 - 1
    present = torch.tensor([[True, False], [True, False]])  # target 1 absent everywhere
    fake = generator(x)
    loss = 100 * masked_l1(fake, target, present)
    for t in range(2):
        rows = present[:, t]
        if rows.any():
            loss = loss + generator_adversarial_loss(
                discriminators[t](torch.cat([x[rows], fake[rows, t : t + 1]], 1))
            )
            loss = loss + discriminator_loss(
                discriminators[t](torch.cat([x[rows], target[rows, t : t + 1]], 1)),
                discriminators[t](torch.cat([x[rows], fake[rows, t : t + 1].detach()], 1)),
            )
    loss.backward()
    absent_decoder = [p.grad for p in generator.decoders[1].parameters()]
    assert all(g is None or torch.count_nonzero(g) == 0 for g in absent_decoder)
    assert all(p.grad is None for p in discriminators[1].parameters())
    present_decoder = [p.grad for p in generator.decoders[0].parameters()]
    assert any(g is not None and torch.count_nonzero(g) > 0 for g in present_decoder)
