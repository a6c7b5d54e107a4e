"""FC-DenseNet, "the one hundred layers Tiramisu" (Jégou et al. 2017).

Dense blocks (each layer BN → ReLU → 3×3 conv → dropout, its ``growth`` new maps concatenated to
its input) on a U-shaped path of five down- and five up-sampling stages. On the way up only the
maps *new* in a block are up-sampled, which keeps the width bounded. The bright-field
[Brightfield3Class2019] compares it with U-Net and DeepLabv3+.

Configurations (``TIRAMISU_CONFIGS``): ``tiramisu103`` (FC-DenseNet103: 48 first maps, growth 16,
blocks 4-5-7-10-12, bottleneck 15; 9.3 M parameters) and the small ``tiramisu`` (FC-DenseNet56:
growth 12, four layers per block; 1.4 M parameters).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from stainless.models.conditioning import InputStem


@dataclass(frozen=True)
class TiramisuConfig:
    """Layer counts of one FC-DenseNet variant."""

    first_channels: int
    growth: int
    down_layers: tuple[int, ...]
    bottleneck_layers: int


TIRAMISU_CONFIGS = {
    "tiramisu103": TiramisuConfig(48, 16, (4, 5, 7, 10, 12), 15),
    "tiramisu": TiramisuConfig(48, 12, (4, 4, 4, 4, 4), 4),
}


class DenseLayer(nn.Sequential):
    """BN → ReLU → 3×3 conv (``growth`` maps) → dropout."""

    def __init__(self, in_channels: int, growth: int, dropout: float) -> None:
        super().__init__(
            nn.BatchNorm2d(in_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_channels, growth, 3, padding=1, bias=False),
            nn.Dropout2d(dropout),
        )


class DenseBlock(nn.Module):
    """``n_layers`` dense layers; returns the input with all new maps, or only the new maps."""

    def __init__(self, in_channels: int, growth: int, n_layers: int, dropout: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            DenseLayer(in_channels + i * growth, growth, dropout) for i in range(n_layers)
        )

    def forward(self, x: torch.Tensor, new_only: bool = False) -> torch.Tensor:
        new = []
        for layer in self.layers:
            out = layer(x)
            x = torch.cat([x, out], dim=1)
            new.append(out)
        return torch.cat(new, dim=1) if new_only else x


class TransitionDown(nn.Sequential):
    """BN → ReLU → 1×1 conv → dropout → 2×2 max-pool."""

    def __init__(self, channels: int, dropout: float) -> None:
        super().__init__(
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.Dropout2d(dropout),
            nn.MaxPool2d(2),
        )


class Tiramisu(nn.Module):
    """FC-DenseNet backbone: ``features`` gives the last up-path maps, ``forward`` the output maps.

    Parameters
    ----------
    in_channels : int
    out_channels : int
    variant : {"tiramisu", "tiramisu103"}
    dropout : float

    Shapes
    ------
    ``forward(x (N, in_channels, H, W)) -> (N, out_channels, H, W)``; H and W multiples of 32.
    """

    size_multiple = 32

    def __init__(
        self, in_channels: int, out_channels: int, variant: str = "tiramisu", dropout: float = 0.2
    ) -> None:
        super().__init__()
        if variant not in TIRAMISU_CONFIGS:
            raise ValueError(f"unknown Tiramisu variant {variant!r}; use {list(TIRAMISU_CONFIGS)}")
        config = TIRAMISU_CONFIGS[variant]
        growth = config.growth
        self.stem = InputStem(in_channels, config.first_channels, 3, 0)
        channels = config.first_channels
        self.down_blocks = nn.ModuleList()
        self.transitions_down = nn.ModuleList()
        skip_channels = []
        for n_layers in config.down_layers:
            self.down_blocks.append(DenseBlock(channels, growth, n_layers, dropout))
            channels += n_layers * growth
            skip_channels.append(channels)
            self.transitions_down.append(TransitionDown(channels, dropout))
        self.bottleneck = DenseBlock(channels, growth, config.bottleneck_layers, dropout)
        new_channels = config.bottleneck_layers * growth
        self.transitions_up = nn.ModuleList()
        self.up_blocks = nn.ModuleList()
        up_layers = list(reversed(config.down_layers))
        for index, (n_layers, skip) in enumerate(
            zip(up_layers, reversed(skip_channels), strict=True)
        ):
            self.transitions_up.append(
                nn.ConvTranspose2d(
                    new_channels, new_channels, 3, stride=2, padding=1, output_padding=1
                )
            )
            block_in = new_channels + skip
            self.up_blocks.append(DenseBlock(block_in, growth, n_layers, dropout))
            last = index == len(up_layers) - 1
            new_channels = block_in + n_layers * growth if last else n_layers * growth
        self.feature_channels = new_channels
        self.head = nn.Conv2d(new_channels, out_channels, 1)

    def features(self, x: torch.Tensor, modality: torch.Tensor | None = None) -> torch.Tensor:
        """Maps of the last up-sampling block, (N, feature_channels, H, W)."""
        x = self.stem(x, None)
        skips = []
        for block, down in zip(self.down_blocks, self.transitions_down, strict=True):
            x = block(x)
            skips.append(x)
            x = down(x)
        x = self.bottleneck(x, new_only=True)
        for index, (up, block) in enumerate(zip(self.transitions_up, self.up_blocks, strict=True)):
            x = torch.cat([up(x), skips.pop()], dim=1)
            x = block(x, new_only=index < len(self.up_blocks) - 1)
        return x

    def forward(self, x: torch.Tensor, modality: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(x))
