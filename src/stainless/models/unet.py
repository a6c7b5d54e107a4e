"""U-Net (Ronneberger et al. 2015) for image-to-image regression and segmentation.

The in silico labelling baseline of [Bonte2022] and of pytorch_fnet: an encoder of
``depth`` down-sampling stages, a mirrored decoder with skip connections, and one 1×1 output head
per target so that each target (DAPI, membrane, ...) has its own output channel.
"""

from __future__ import annotations

import torch
from torch import nn

from stainless.models.conditioning import InputStem


def _norm(channels: int) -> nn.Module:
    # GroupNorm behaves the same for batch size 1 (inference) and 16 (training), unlike BatchNorm.
    return nn.GroupNorm(min(8, channels), channels)


class ConvBlock(nn.Module):
    """Two 3×3 convolutions, each followed by GroupNorm and ReLU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            _norm(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            _norm(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class UNet(nn.Module):
    """U-Net with one output channel per target.

    Parameters
    ----------
    in_channels : int
        Input planes (e.g. 13 phase-contrast focal planes).
    out_channels : int
        Output maps (one per target).
    width : int
        Channels of the first stage; doubled at each down-sampling.
    depth : int
        Number of down-sampling stages; image sides must be multiples of ``2**depth``.
    n_modalities : int
        0 for a unified input stem; > 0 for a modality-generated (dynamic) first convolution.
    output_activation : {"none", "tanh"}
        ``tanh`` bounds outputs to [−1, 1] (targets scaled to that range).

    Shapes
    ------
    ``forward(x (N, in_channels, H, W), modality (N,) | None) -> (N, out_channels, H, W)``
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        width: int = 32,
        depth: int = 4,
        n_modalities: int = 0,
        output_activation: str = "none",
    ) -> None:
        super().__init__()
        if output_activation not in ("none", "tanh"):
            raise ValueError(
                f"output_activation must be 'none' or 'tanh', got {output_activation!r}"
            )
        self.depth = depth
        self.stem = InputStem(in_channels, width, 3, n_modalities)
        self.first = ConvBlock(width, width)
        self.down = nn.ModuleList()
        self.encoders = nn.ModuleList()
        channels = [width * 2**level for level in range(depth + 1)]
        for level in range(depth):
            self.down.append(nn.MaxPool2d(2))
            self.encoders.append(ConvBlock(channels[level], channels[level + 1]))
        self.up = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for level in reversed(range(depth)):
            self.up.append(nn.ConvTranspose2d(channels[level + 1], channels[level], 2, stride=2))
            self.decoders.append(ConvBlock(2 * channels[level], channels[level]))
        self.head = nn.Conv2d(width, out_channels, 1)
        self.activation: nn.Module = nn.Tanh() if output_activation == "tanh" else nn.Identity()

    @property
    def size_multiple(self) -> int:
        """Image sides must be multiples of this."""
        return int(2**self.depth)

    def features(self, x: torch.Tensor, modality: torch.Tensor | None = None) -> torch.Tensor:
        """Last decoder features, (N, width, H, W): what a new head is attached to."""
        x = self.first(self.stem(x, modality))
        skips = [x]
        for down, encoder in zip(self.down, self.encoders, strict=True):
            x = encoder(down(x))
            skips.append(x)
        skips.pop()
        for up, decoder in zip(self.up, self.decoders, strict=True):
            x = decoder(torch.cat([up(x), skips.pop()], dim=1))
        return x

    def forward(self, x: torch.Tensor, modality: torch.Tensor | None = None) -> torch.Tensor:
        return self.activation(self.head(self.features(x, modality)))
