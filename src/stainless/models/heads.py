"""Segmentation heads, and the networks that carry them.

* :class:`SegmentationNetwork`: a backbone (U-Net, Tiramisu, DeepLabv3+) with its output
  convolution sized for the head; the HoVer head has two branches (pixel class, horizontal/
  vertical maps) on the backbone's last features (HoVer-Net [Graham2019]).
* :class:`TransferNetwork`: a trained translation U-Net whose chosen output (e.g. predicted DAPI)
  feeds the new head ([Bonte2022]): for nucleus semantic segmentation the shifted
  sigmoid ``1 / (1 + exp(−α (x − c)))`` of eq. 1, as logits ``α (x − c)``; otherwise two
  Conv-BN-ReLU blocks (Fig. 5b) and a 1×1 convolution to the head's maps.

Every network returns raw maps (logits for classes/masks); :func:`activate` turns them into
probabilities and distances.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from stainless.losses import (
    HeadLossSettings,
    distance_head_loss,
    flows_head_loss,
    hover_head_loss,
    semantic_head_loss,
)


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
        # branches are attributes of their own name, so weight names stay stable on disk
        self.branch_names = [name for name, _ in HEADS[head].branches]
        if self.branch_names:
            backbone.head = nn.Identity()
            for name, channels in HEADS[head].branches:
                self.add_module(name, _branch(feature_channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.branch_names:
            return self.backbone(x)
        features = self.backbone.features(x)  # type: ignore[operator]
        return torch.cat([getattr(self, name)(features) for name in self.branch_names], dim=1)


class TransferNetwork(nn.Module):
    """A translation network's chosen output → the head's maps.

    Parameters
    ----------
    body : nn.Module
        The translation network, ``(N, C, H, W) -> (N, T, H, W)`` in its target units ([−1, 1]:
        the target's percentile range, so ``c = 0`` is [Bonte2022]'s 0.5 of a [0, 1] range).
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
        out_channels = HEADS[head].channels(classes)
        self.adapter: nn.Module | None = None
        if out_channels != 1:
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


def _turn_vectors(
    maps: NDArray[np.float32], k: int, mirrored: bool, y: int, x: int
) -> NDArray[np.float32]:
    """Maps of a view turned ``k`` quarter turns (``np.rot90``) and optionally mirrored, already
    moved back into place, whose channels ``y`` and ``x`` are the components of a vector: the
    vectors are turned back too, and a mirrored image has mirrored x components."""
    out = np.array(maps)
    vx, vy = maps[x], maps[y]
    if k == 1:
        out[x], out[y] = -vy, vx
    elif k == 2:
        out[x], out[y] = -vx, -vy
    elif k == 3:
        out[x], out[y] = vy, -vx
    if mirrored:
        out[x] = -out[x]
    return out


def _correct_hover_view(maps: NDArray[np.float32], k: int, mirrored: bool) -> NDArray[np.float32]:
    """HoVer maps: channel 2 is the horizontal (x) offset, channel 3 the vertical (y) one."""
    return _turn_vectors(maps, k, mirrored, y=3, x=2)


def _correct_flows_view(maps: NDArray[np.float32], k: int, mirrored: bool) -> NDArray[np.float32]:
    """Flows maps: channel 1 is the y component, channel 2 the x component."""
    return _turn_vectors(maps, k, mirrored, y=1, x=2)


@dataclass(frozen=True)
class Head:
    """The network half of a segmentation head's declaration.

    The other halves live with their stage, in tables keyed by the same name:
    :data:`stainless.data.targets.TARGETS` (labels → training target) and
    :data:`stainless.postprocessing.decoders.DECODERS` (maps → labels, and the threshold grid
    tuned on validation images). A test asserts that the tables have the same keys.

    Attributes
    ----------
    channels : callable
        ``classes -> `` number of output maps.
    activate : callable
        Raw maps ``(N, K, H, W)`` → probabilities / distances, same shape.
    loss : callable
        ``(raw maps, target, HeadLossSettings) -> `` scalar loss (from :mod:`stainless.losses`).
    foreground : callable
        Raw maps → ``(N, H, W)`` boolean foreground (validation Dice).
    target_foreground : callable
        Target ``(N, T, H, W)`` → ``(N, H, W)`` boolean foreground.
    classes : tuple of int
        The ``model.classes`` values the head supports.
    branches : tuple of (name, channels)
        Separate branches on the backbone's last features instead of its 1×1 output (HoVer-Net).
    correct_view : callable or None
        Fixes vector channels of a turned / mirrored test-time-augmentation view.
    """

    channels: Callable[[int], int]
    activate: Callable[[torch.Tensor], torch.Tensor]
    loss: Callable[[torch.Tensor, torch.Tensor, HeadLossSettings], torch.Tensor]
    foreground: Callable[[torch.Tensor], torch.Tensor]
    target_foreground: Callable[[torch.Tensor], torch.Tensor]
    classes: tuple[int, ...] = (2,)
    branches: tuple[tuple[str, int], ...] = ()
    correct_view: Callable[[NDArray[np.float32], int, bool], NDArray[np.float32]] | None = None


def _activate_semantic(maps: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(maps) if maps.shape[1] == 1 else torch.softmax(maps, dim=1)


def _semantic_foreground(maps: torch.Tensor) -> torch.Tensor:
    return maps.argmax(dim=1) > 0 if maps.shape[1] > 1 else maps[:, 0] > 0


def _activate_distance(maps: torch.Tensor) -> torch.Tensor:
    return torch.cat([maps[:, :1].clamp(min=0), torch.sigmoid(maps[:, 1:2])], dim=1)


def _activate_flows(maps: torch.Tensor) -> torch.Tensor:
    """(foreground probability, unit-scale flows): the network predicts flows at 5× scale."""
    return torch.cat([torch.sigmoid(maps[:, :1]), maps[:, 1:3] / 5.0], dim=1)


def _activate_hover(maps: torch.Tensor) -> torch.Tensor:
    return torch.cat([torch.softmax(maps[:, :2], dim=1), maps[:, 2:].clamp(-1, 1)], dim=1)


HEADS: dict[str, Head] = {
    # one foreground probability (2 classes) or softmax over background / nucleus / cytoplasm
    "semantic": Head(
        channels=lambda classes: 1 if classes == 2 else classes,
        activate=_activate_semantic,
        loss=semantic_head_loss,
        foreground=_semantic_foreground,
        target_foreground=lambda target: target[:, 0] > 0,
        classes=(2, 3),
    ),
    # normalised distance to the border + mask logits ([Bonte2022], after [Naylor2019])
    "distance": Head(
        channels=lambda classes: 2,
        activate=_activate_distance,
        loss=distance_head_loss,
        foreground=lambda maps: maps[:, 1] > 0,
        target_foreground=lambda target: target[:, 1] > 0.5,
    ),
    # foreground logits pair + horizontal / vertical offsets to the centre ([Graham2019])
    "hover": Head(
        channels=lambda classes: 4,
        activate=_activate_hover,
        loss=hover_head_loss,
        foreground=lambda maps: maps[:, 1] > maps[:, 0],
        target_foreground=lambda target: target[:, 0] > 0.5,
        branches=(("pixel_branch", 2), ("hover_branch", 2)),
        correct_view=_correct_hover_view,
    ),
    # foreground logit + flows (y, x) towards each object's centre ([Stringer2021], Cellpose)
    "flows": Head(
        channels=lambda classes: 3,
        activate=_activate_flows,
        loss=flows_head_loss,
        foreground=lambda maps: maps[:, 0] > 0,
        target_foreground=lambda target: target[:, 0] > 0.5,
        correct_view=_correct_flows_view,
    ),
}
"""Head name → its network-side declaration."""


def head_of(name: str) -> Head:
    """The declaration of head ``name``; ``ValueError`` naming the known heads otherwise."""
    if name not in HEADS:
        raise ValueError(f"unknown head '{name}'; expected one of {sorted(HEADS)}")
    return HEADS[name]


def head_channels(head: str, classes: int) -> int:
    """Output maps of ``head`` for ``classes`` classes."""
    return head_of(head).channels(classes)


def activate(maps: torch.Tensor, head: str) -> torch.Tensor:
    """Raw network maps ``(N, K, H, W)`` → probabilities / distances, same shape."""
    return head_of(head).activate(maps)
