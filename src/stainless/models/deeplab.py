"""DeepLabv3+ (Chen et al. 2018): atrous separable encoder, ASPP and a light decoder.

The encoder is a small Xception-like stack of depthwise-separable residual blocks down to output
stride 16 (``width`` sets its channels; no ImageNet weights can be downloaded here, so it is
trained from scratch or from a local weight file). ASPP runs a 1×1 convolution, three 3×3
atrous separable convolutions (rates 6, 12, 18) and image pooling in parallel; the decoder
up-samples ×4, joins the stride-4 encoder maps (projected to 48 channels), refines with two
separable convolutions and up-samples ×4 to the input size.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from stainless.models.conditioning import InputStem


class SeparableConv(nn.Sequential):
    """Depthwise 3×3 (atrous) conv → BN → pointwise 1×1 conv → BN → ReLU."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int = 1, dilation: int = 1
    ) -> None:
        super().__init__(
            nn.Conv2d(
                in_channels,
                in_channels,
                3,
                stride=stride,
                padding=dilation,
                dilation=dilation,
                groups=in_channels,
                bias=False,
            ),
            nn.BatchNorm2d(in_channels),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class SeparableBlock(nn.Module):
    """Three separable convs (the last with ``stride``) plus a 1×1 shortcut (Xception block)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            SeparableConv(in_channels, out_channels),
            SeparableConv(out_channels, out_channels),
            SeparableConv(out_channels, out_channels, stride=stride),
        )
        self.shortcut = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
            nn.BatchNorm2d(out_channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling at rates (6, 12, 18) plus global image pooling."""

    def __init__(self, in_channels: int, out_channels: int, rates: tuple[int, ...] = (6, 12, 18)):
        super().__init__()
        self.branches = nn.ModuleList(
            [
                nn.Sequential(
                    nn.Conv2d(in_channels, out_channels, 1, bias=False),
                    nn.BatchNorm2d(out_channels),
                    nn.ReLU(inplace=True),
                )
            ]
            + [SeparableConv(in_channels, out_channels, dilation=rate) for rate in rates]
        )
        self.pooling = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_channels, out_channels, 1), nn.ReLU(inplace=True)
        )
        self.project = nn.Sequential(
            nn.Conv2d(out_channels * (len(rates) + 2), out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.pooling(x).expand(-1, -1, *x.shape[2:])
        return self.project(torch.cat([branch(x) for branch in self.branches] + [pooled], dim=1))


class DeepLabV3Plus(nn.Module):
    """DeepLabv3+ with a separable-convolution encoder (output stride 16).

    Parameters
    ----------
    in_channels, out_channels : int
    width : int
        Channels of the stem; the encoder stages use 2×, 4×, 8× and 16× ``width``.
    n_modalities : int
        0 for a plain first convolution; > 0 for a modality-generated (dynamic) one, as in a
        multi-modality translation model ([LightMyCells2024]).

    Shapes
    ------
    ``forward(x (N, in_channels, H, W), modality (N,) | None) -> (N, out_channels, H, W)``; H
    and W multiples of 16.
    """

    size_multiple = 16

    def __init__(
        self, in_channels: int, out_channels: int, width: int = 32, n_modalities: int = 0
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            InputStem(in_channels, width, 3, n_modalities),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        )
        self.stage1 = SeparableBlock(width, 2 * width, stride=2)  # stride 4: decoder skip
        self.stage2 = SeparableBlock(2 * width, 4 * width, stride=2)  # stride 8
        self.stage3 = SeparableBlock(4 * width, 8 * width, stride=2)  # stride 16
        self.middle = nn.Sequential(
            SeparableConv(8 * width, 8 * width, dilation=2),
            SeparableConv(8 * width, 16 * width, dilation=2),
        )
        self.aspp = ASPP(16 * width, 8 * width)
        self.low_level = nn.Sequential(
            nn.Conv2d(2 * width, 48, 1, bias=False), nn.BatchNorm2d(48), nn.ReLU(inplace=True)
        )
        self.decoder = nn.Sequential(
            SeparableConv(8 * width + 48, 8 * width), SeparableConv(8 * width, 8 * width)
        )
        self.feature_channels = 8 * width
        self.head = nn.Conv2d(8 * width, out_channels, 1)

    def features(self, x: torch.Tensor, modality: torch.Tensor | None = None) -> torch.Tensor:
        """Decoder maps at full resolution, (N, feature_channels, H, W)."""
        size = x.shape[2:]
        first, *rest = self.stem  # the input stem takes the modality (dynamic)
        stem = first(x, modality)
        for layer in rest:
            stem = layer(stem)
        low = self.stage1(stem)
        deep = self.aspp(self.middle(self.stage3(self.stage2(low))))
        deep = F.interpolate(deep, size=low.shape[2:], mode="bilinear", align_corners=False)
        refined = self.decoder(torch.cat([deep, self.low_level(low)], dim=1))
        return F.interpolate(refined, size=size, mode="bilinear", align_corners=False)

    def forward(self, x: torch.Tensor, modality: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(x, modality))
