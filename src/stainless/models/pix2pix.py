"""pix2pix for in silico labelling, as in [LightMyCells2024] ([Isola2017] backbone).

Generator: the ResNet-9-block generator (c7s1-w, d2w, d4w, 9 × R4w, u2w, uw, c7s1-1) with a shared
encoder and residual trunk and **one decoder per target** (each ending in tanh). Discriminator: a
70×70 PatchGAN per target, conditioned on the input (it sees input and target concatenated).
"""

from __future__ import annotations

import torch
from torch import nn

from stainless.models.conditioning import InputStem


def _instance_norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=True)


class ResidualBlock(nn.Module):
    """Two reflect-padded 3×3 convolutions with instance norm, added to the input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, padding_mode="reflect", bias=False),
            _instance_norm(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, padding_mode="reflect", bias=False),
            _instance_norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layers(x)


def _decoder(width: int) -> nn.Sequential:
    """u2w, uw, c7s1-1, tanh: from the trunk's 4w channels back to one full-size map."""
    return nn.Sequential(
        nn.ConvTranspose2d(
            4 * width, 2 * width, 3, stride=2, padding=1, output_padding=1, bias=False
        ),
        _instance_norm(2 * width),
        nn.ReLU(inplace=True),
        nn.ConvTranspose2d(2 * width, width, 3, stride=2, padding=1, output_padding=1, bias=False),
        _instance_norm(width),
        nn.ReLU(inplace=True),
        nn.Conv2d(width, 1, 7, padding=3, padding_mode="reflect"),
        nn.Tanh(),
    )


class ResnetGenerator(nn.Module):
    """ResNet generator with a shared encoder and trunk and one decoder per target.

    Parameters
    ----------
    in_channels : int
        Input planes.
    n_targets : int
        One decoder (and output channel) per target.
    width : int
        Channels of the first layer (64 in [LightMyCells2024]).
    n_blocks : int
        Residual blocks in the trunk (9 in [LightMyCells2024]).
    n_modalities : int
        0: unified stem; > 0: modality-generated first convolution.

    Shapes
    ------
    ``forward(x (N, C, H, W), modality (N,) | None) -> (N, n_targets, H, W)`` in [−1, 1];
    H and W must be multiples of 4.
    """

    size_multiple = 4

    def __init__(
        self,
        in_channels: int,
        n_targets: int,
        width: int = 64,
        n_blocks: int = 9,
        n_modalities: int = 0,
    ) -> None:
        super().__init__()
        self.stem = InputStem(in_channels, width, 7, n_modalities, padding_mode="reflect")
        self.encoder = nn.Sequential(
            _instance_norm(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=False),
            _instance_norm(2 * width),
            nn.ReLU(inplace=True),
            nn.Conv2d(2 * width, 4 * width, 3, stride=2, padding=1, bias=False),
            _instance_norm(4 * width),
            nn.ReLU(inplace=True),
            *[ResidualBlock(4 * width) for _ in range(n_blocks)],
        )
        self.decoders = nn.ModuleList(_decoder(width) for _ in range(n_targets))

    def forward(
        self,
        x: torch.Tensor,
        modality: torch.Tensor | None = None,
        targets: list[int] | None = None,
    ) -> torch.Tensor:
        """Predict every target, or only the decoders listed in ``targets`` (in that order)."""
        trunk = self.encoder(self.stem(x, modality))
        chosen = range(len(self.decoders)) if targets is None else targets
        return torch.cat([self.decoders[index](trunk) for index in chosen], dim=1)


class PatchDiscriminator(nn.Module):
    """70×70 PatchGAN (C64-C128-C256-C512, 4×4 kernels): one real/fake logit per patch.

    Parameters
    ----------
    in_channels : int
        Input planes + 1 (the target or generated map, concatenated).
    width : int
        Channels of the first layer (64 in [LightMyCells2024]).

    Shapes
    ------
    ``forward((N, in_channels, H, W)) -> (N, 1, H/8 - 2, W/8 - 2)`` logits.
    """

    def __init__(self, in_channels: int, width: int = 64) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=False),
            _instance_norm(2 * width),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * width, 4 * width, 4, stride=2, padding=1, bias=False),
            _instance_norm(4 * width),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(4 * width, 8 * width, 4, stride=1, padding=1, bias=False),
            _instance_norm(8 * width),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(8 * width, 1, 4, stride=1, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
