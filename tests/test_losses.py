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


def test_segmentation_losses_vanish_for_a_perfect_prediction() -> None:
    from stainless.losses import semantic_loss, soft_dice_loss, soft_jaccard_loss

    target = (torch.rand(2, 1, 16, 16) > 0.5).float()
    perfect = (target * 2 - 1) * 50  # confident, correct logits
    assert soft_dice_loss(perfect, target) < 1e-3
    assert soft_jaccard_loss(perfect, target) < 1e-3
    assert semantic_loss(perfect, target, "ce+dice", None) < 1e-3
    assert soft_dice_loss(-perfect, target) > 0.9  # every pixel wrong
    classes = torch.randint(0, 3, (2, 1, 16, 16)).float()
    logits = torch.nn.functional.one_hot(classes[:, 0].long(), 3).permute(0, 3, 1, 2) * 50.0
    assert semantic_loss(logits, classes, "ce", torch.tensor([1.0, 2.0, 3.0])) < 1e-3


def test_class_weights_scale_the_cross_entropy() -> None:
    from stainless.losses import weighted_cross_entropy

    target = torch.ones(1, 1, 4, 4)
    logits = torch.zeros(1, 1, 4, 4)
    plain = weighted_cross_entropy(logits, target)
    weighted = weighted_cross_entropy(logits, target, torch.tensor([1.0, 3.0]))
    assert torch.isclose(weighted, 3 * plain)


def test_distance_and_hover_losses() -> None:
    from stainless.losses import distance_mask_terms, hover_loss

    target = torch.zeros(1, 2, 8, 8)
    target[:, :, 2:6, 2:6] = 1.0
    maps = torch.stack([target[:, 0], (target[:, 1] * 2 - 1) * 50], dim=1)
    mse, bce = distance_mask_terms(maps, target)
    assert mse == 0 and bce < 1e-6
    hover_target = torch.zeros(1, 3, 8, 8)
    hover_target[:, 0, 2:6, 2:6] = 1
    hover_target[:, 1, 2:6, 2:6] = torch.linspace(-1, 1, 4)
    perfect = torch.cat(
        [torch.stack([1 - hover_target[:, 0], hover_target[:, 0]], 1) * 50, hover_target[:, 1:]],
        dim=1,
    )
    assert hover_loss(perfect, hover_target) < 1e-3
    shifted = perfect.clone()
    shifted[:, 2] = -shifted[:, 2]  # wrong horizontal map: MSE and its gradient term grow
    assert hover_loss(shifted, hover_target) > 0.5
