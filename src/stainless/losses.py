"""Losses for in silico labelling, with the Light My Cells adaptive loss for partial labels.

Every term is computed only over the (sample, target) pairs whose target is present, so a target
missing from an image contributes exactly zero gradient — to its decoder and to its discriminator.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def range_weights(
    target: torch.Tensor, value_range: torch.Tensor, outside_weight: float
) -> torch.Tensor:
    """The paper's mask M: 1 where the target lies in its [2nd, 99.8th] percentile range, else
    ``outside_weight`` (0.1).

    Parameters
    ----------
    target : (N, T, H, W) tensor
    value_range : (N, T, 2) tensor
        Per sample and target, the range's bounds in the same units as ``target``.
    outside_weight : float

    Returns
    -------
    (N, T, H, W) tensor
    """
    low = value_range[..., 0, None, None]
    high = value_range[..., 1, None, None]
    inside = (target >= low) & (target <= high)
    return torch.where(inside, torch.ones_like(target), torch.full_like(target, outside_weight))


def masked_l1(
    pred: torch.Tensor,
    target: torch.Tensor,
    present: torch.Tensor,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean weighted absolute error over the present (sample, target) maps.

    ``L = Σ_{(n,t) present} mean_hw(M · |pred − target|) / #present``; 0 (with zero gradient)
    when no target is present.

    Parameters
    ----------
    pred, target : (N, T, H, W) tensor
    present : (N, T) bool tensor
    weights : (N, T, H, W) tensor, optional
        Per-pixel weights (M); 1 everywhere when omitted.
    """
    error = (pred - target).abs()
    if weights is not None:
        error = error * weights
    per_map = error.mean(dim=(2, 3))
    mask = present.to(per_map.dtype)
    count = mask.sum()
    if count == 0:
        return (per_map * 0).sum()
    return (per_map * mask).sum() / count


def generator_adversarial_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating cGAN loss for the generator: BCE(D(x, G(x)), real)."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """pix2pix discriminator loss, ``½ [BCE(D(x, y), real) + BCE(D(x, G(x)), fake)]``."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return 0.5 * (real + fake)
