"""Losses for in silico labelling, with the adaptive loss of [LightMyCells2024] for partial labels.

Every term is computed only over the (sample, target) pairs whose target is present, so a target
missing from an image contributes exactly zero gradient — to its decoder and to its discriminator.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F


def range_weights(
    target: torch.Tensor, value_range: torch.Tensor, outside_weight: float
) -> torch.Tensor:
    """The mask M of [LightMyCells2024]: 1 where the target lies in its [2nd, 99.8th] percentile
    range, else ``outside_weight`` (0.1).

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


def masked_pcc_loss(
    pred: torch.Tensor, target: torch.Tensor, present: torch.Tensor, eps: float = 1e-6
) -> torch.Tensor:
    """Mean of ``1 − PCC`` over targets, each PCC taken over the pixels of the batch's crops
    that have the target.

    A correlation-aware term for translation, alongside L1: PCC is the score the ISL and Light My
    Cells papers report, and it ignores the offset and gain that L1 spends capacity on. Pooling
    the batch's pixels keeps it defined on crops of empty background.

    Parameters
    ----------
    pred, target : (N, T, H, W) tensor
    present : (N, T) bool tensor
    eps : float
        Added to the variances.

    Returns
    -------
    scalar tensor
        In [0, 2]; 0 (with zero gradient) when no target is present.
    """
    terms = []
    for t in range(pred.shape[1]):
        rows = present[:, t]
        if not bool(rows.any()):
            continue
        p = pred[rows, t].reshape(-1)
        y = target[rows, t].reshape(-1)
        p = p - p.mean()
        y = y - y.mean()
        pcc = (p * y).sum() / torch.sqrt((p * p).sum() * (y * y).sum() + eps)
        terms.append(1.0 - pcc)
    if not terms:
        return (pred * 0).sum()
    return torch.stack(terms).mean()


def generator_adversarial_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating cGAN loss for the generator: BCE(D(x, G(x)), real)."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """pix2pix discriminator loss, ``½ [BCE(D(x, y), real) + BCE(D(x, G(x)), fake)]``."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return 0.5 * (real + fake)


# --- segmentation -------------------------------------------------------------------------------

_EPS = 1.0


def _probabilities_and_onehot(
    logits: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, K, H, W) probabilities and one-hot targets; K = 1 maps are treated as two classes."""
    if logits.shape[1] == 1:
        p = torch.sigmoid(logits)
        return torch.cat([1 - p, p], dim=1), torch.cat([1 - target, target], dim=1)
    onehot = F.one_hot(target[:, 0].long(), logits.shape[1]).permute(0, 3, 1, 2)
    return torch.softmax(logits, dim=1), onehot.to(logits.dtype)


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``1 − mean_k (2 Σ p t + 1) / (Σ p + Σ t + 1)`` over classes k, summed over the batch.

    Parameters
    ----------
    logits : (N, K, H, W) tensor
        K = 1: binary logits (target in {0, 1}); K > 1: class logits (target = class index).
    target : (N, 1, H, W) tensor
    """
    p, t = _probabilities_and_onehot(logits, target)
    dims = (0, 2, 3)
    return 1 - ((2 * (p * t).sum(dims) + _EPS) / (p.sum(dims) + t.sum(dims) + _EPS)).mean()


def soft_jaccard_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``1 − mean_k (Σ p t + 1) / (Σ p + Σ t − Σ p t + 1)`` (soft IoU); shapes as
    :func:`soft_dice_loss`."""
    p, t = _probabilities_and_onehot(logits, target)
    dims = (0, 2, 3)
    intersection = (p * t).sum(dims)
    union = p.sum(dims) + t.sum(dims) - intersection
    return 1 - ((intersection + _EPS) / (union + _EPS)).mean()


def weighted_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, class_weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Class-weighted cross-entropy; for K = 1, binary CE with the positive class weighted
    ``w1 / w0``. Shapes as :func:`soft_dice_loss`; ``class_weights`` (K or 2,)."""
    if logits.shape[1] == 1:
        pos_weight = None
        if class_weights is not None:
            pos_weight = (class_weights[1] / class_weights[0]).reshape(1, 1, 1)
        return F.binary_cross_entropy_with_logits(logits, target, pos_weight=pos_weight)
    return F.cross_entropy(logits, target[:, 0].long(), weight=class_weights)


def semantic_loss(
    logits: torch.Tensor, target: torch.Tensor, kind: str, class_weights: torch.Tensor | None
) -> torch.Tensor:
    """``ce``, ``dice``, ``jaccard`` or ``ce+dice`` (sum)."""
    if kind == "dice":
        return soft_dice_loss(logits, target)
    if kind == "jaccard":
        return soft_jaccard_loss(logits, target)
    ce = weighted_cross_entropy(logits, target, class_weights)
    return ce + soft_dice_loss(logits, target) if kind == "ce+dice" else ce


def distance_mask_terms(maps: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``(MSE(distance), BCE-with-logits(mask))`` of the eq. 2 of [Bonte2022].

    maps, target : (N, 2, H, W) tensors (distance, mask logits / mask).
    """
    mse = F.mse_loss(maps[:, 0], target[:, 0])
    bce = F.binary_cross_entropy_with_logits(maps[:, 1], target[:, 1])
    return mse, bce


def _sobel(maps: torch.Tensor, axis: int) -> torch.Tensor:
    """Sobel derivative along x (axis=1) or y (axis=0) of (N, 1, H, W) maps."""
    kernel = torch.tensor(
        [[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]], device=maps.device
    )
    kernel = (kernel if axis == 1 else kernel.T).to(maps.dtype)
    return F.conv2d(maps, kernel[None, None], padding=1)


def hover_loss(maps: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """HoVer-Net loss: CE + Dice on the pixel branch, MSE + gradient-MSE on the HoVer maps.

    The gradient term ([Graham2019], eq. 3) compares ∂h/∂x and ∂v/∂y of prediction and
    target inside objects, which sharpens the maps where two objects touch.

    Parameters
    ----------
    maps : (N, 4, H, W) tensor
        Foreground-class logits (2) and horizontal/vertical maps (2).
    target : (N, 3, H, W) tensor
        Foreground, horizontal, vertical.
    """
    foreground = target[:, :1]
    pixel = F.cross_entropy(maps[:, :2], foreground[:, 0].long()) + soft_dice_loss(
        maps[:, :2], foreground
    )
    mse = F.mse_loss(maps[:, 2:], target[:, 1:])
    weight = foreground.sum().clamp(min=1)
    gradient = maps.new_zeros(())
    for channel, axis in ((2, 1), (3, 0)):
        predicted = _sobel(maps[:, channel : channel + 1], axis)
        expected = _sobel(target[:, channel - 1 : channel], axis)
        gradient = gradient + (((predicted - expected) ** 2) * foreground).sum()
    return pixel + mse + gradient / weight


@dataclass(frozen=True)
class HeadLossSettings:
    """What a segmentation head's loss may need beyond maps and target.

    ``semantic_loss``: ``ce``, ``dice``, ``jaccard`` or ``ce+dice``; ``class_weights``: (K,)
    per-class CE weights or None; ``distance_alpha``: a 0-d tensor (a module buffer) weighting the
    distance head's mask BCE, NaN until set to the first batch's MSE / BCE ratio.
    """

    semantic_loss: str
    class_weights: torch.Tensor | None
    distance_alpha: torch.Tensor


def semantic_head_loss(
    maps: torch.Tensor, target: torch.Tensor, settings: HeadLossSettings
) -> torch.Tensor:
    """The semantic head's loss (:func:`semantic_loss` with the configured kind and weights)."""
    return semantic_loss(maps, target, settings.semantic_loss, settings.class_weights)


def distance_head_loss(
    maps: torch.Tensor, target: torch.Tensor, settings: HeadLossSettings
) -> torch.Tensor:
    """``MSE(distance) + α · BCE(mask)`` ([Bonte2022], eq. 2); α is the
    first batch's MSE / BCE unless configured, and is kept in ``settings.distance_alpha``."""
    mse, bce = distance_mask_terms(maps, target)
    if torch.isnan(settings.distance_alpha):
        settings.distance_alpha.fill_(float((mse / bce.clamp(min=1e-8)).detach()))
    return mse + settings.distance_alpha * bce


def flows_head_loss(
    maps: torch.Tensor, target: torch.Tensor, settings: HeadLossSettings
) -> torch.Tensor:
    """Cellpose's loss [Stringer2021]: ``MSE(flows, 5 × unit flows) / 2 + BCE(foreground)``.

    maps : (N, 3, H, W) foreground logit, then the flows (y, x) at 5× scale;
    target : (N, 3, H, W) foreground, then the unit flows (y, x).
    """
    mse = F.mse_loss(maps[:, 1:3], 5.0 * target[:, 1:3]) / 2.0
    return mse + F.binary_cross_entropy_with_logits(maps[:, 0], target[:, 0])


def hover_head_loss(
    maps: torch.Tensor, target: torch.Tensor, settings: HeadLossSettings
) -> torch.Tensor:
    """The HoVer head's loss (:func:`hover_loss`)."""
    return hover_loss(maps, target)
