"""Segmentation heads, and the networks that carry them.

* :class:`SegmentationNetwork`: a backbone (U-Net, Tiramisu, DeepLabv3+) with its output
  convolution sized for the head; the HoVer head has two branches (pixel class, horizontal/
  vertical maps) on the backbone's last features (HoVer-Net, Graham et al. 2019).
* :class:`TransferNetwork`: a trained translation U-Net whose chosen output (e.g. predicted DAPI)
  feeds the new head (ISL pretraining paper): for nucleus semantic segmentation the shifted
  sigmoid ``1 / (1 + exp(−α (x − c)))`` of eq. 1, as logits ``α (x − c)``; otherwise two
  Conv-BN-ReLU blocks (Fig. 5b) and a 1×1 convolution to the head's maps.

Every network returns raw maps (logits for classes/masks); :func:`activate` turns them into
probabilities and distances.
"""

from __future__ import annotations

import torch
from torch import nn


def head_channels(head: str, classes: int) -> int:
    """Output maps of a head: semantic 1 (two classes) or ``classes``; distance 2; hover 4."""
    if head == "semantic":
        return 1 if classes == 2 else classes
    if head == "distance":
        return 2
    if head == "hover":
        return 4
    raise ValueError(f"unknown head '{head}'; expected semantic, distance or hover")


def _branch(in_channels: int, out_channels: int, hidden: int = 32) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, hidden, 3, padding=1, bias=False),
        nn.BatchNorm2d(hidden),
        nn.ReLU(inplace=True),
        nn.Conv2d(hidden, out_channels, 1),
    )


class SegmentationNetwork(nn.Module):
    """A backbone and a head.

    Parameters
    ----------
    backbone : nn.Module
        Has ``features(x)`` → ``(N, feature_channels, H, W)`` and a 1×1 ``head`` convolution with
        the head's output maps (semantic, distance); for ``hover`` the two branches replace it.
    head : str
    feature_channels : int

    Shapes
    ------
    ``forward(x (N, C, H, W)) -> (N, head_channels, H, W)``
    """

    def __init__(self, backbone: nn.Module, head: str, feature_channels: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.pixel_branch: nn.Module | None = None
        self.hover_branch: nn.Module | None = None
        if head == "hover":
            backbone.head = nn.Identity()
            self.pixel_branch = _branch(feature_channels, 2)
            self.hover_branch = _branch(feature_channels, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pixel_branch is None or self.hover_branch is None:
            return self.backbone(x)
        features = self.backbone.features(x)  # type: ignore[operator]
        return torch.cat([self.pixel_branch(features), self.hover_branch(features)], dim=1)


class TransferNetwork(nn.Module):
    """A translation network's chosen output → the head's maps.

    Parameters
    ----------
    body : nn.Module
        The translation network, ``(N, C, H, W) -> (N, T, H, W)`` in its target units ([−1, 1]:
        the target's percentile range, so ``c = 0`` is the paper's 0.5 of a [0, 1] range).
    target_index : int
        Which of the T outputs feeds the head.
    head, classes : str, int
    alpha : float
        Slope of the shifted sigmoid (nucleus semantic segmentation only).
    """

    def __init__(
        self, body: nn.Module, target_index: int, head: str, classes: int, alpha: float
    ) -> None:
        super().__init__()
        self.body = body
        self.target_index = target_index
        self.alpha = alpha
        out_channels = head_channels(head, classes)
        self.adapter: nn.Module | None = None
        if not (head == "semantic" and out_channels == 1):
            hidden = 16
            self.adapter = nn.Sequential(
                nn.Conv2d(1, hidden, 3, padding=1, bias=False),
                nn.BatchNorm2d(hidden),
                nn.ReLU(inplace=True),
                nn.Conv2d(hidden, hidden, 3, padding=1, bias=False),
                nn.BatchNorm2d(hidden),
                nn.ReLU(inplace=True),
                nn.Conv2d(hidden, out_channels, 1),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        translated = self.body(x, None)[:, self.target_index : self.target_index + 1]
        if self.adapter is None:
            return self.alpha * translated  # logits of σ(α (x − c)), c = 0
        return self.adapter(translated)


def activate(maps: torch.Tensor, head: str) -> torch.Tensor:
    """Raw network maps → probabilities / distances, same shape.

    semantic: sigmoid (1 map) or softmax; distance: (clamped distance, sigmoid mask); hover:
    (softmax foreground pair, HoVer maps clamped to [−1, 1]).
    """
    if head == "semantic":
        return torch.sigmoid(maps) if maps.shape[1] == 1 else torch.softmax(maps, dim=1)
    if head == "distance":
        return torch.cat([maps[:, :1].clamp(min=0), torch.sigmoid(maps[:, 1:2])], dim=1)
    return torch.cat([torch.softmax(maps[:, :2], dim=1), maps[:, 2:].clamp(-1, 1)], dim=1)
