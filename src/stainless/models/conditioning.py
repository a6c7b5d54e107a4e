"""Modality handling at the network's entrance ([LightMyCells2024], "dynamic" strategy).

A unified model sees bright-field, phase contrast and DIC alike. The dynamic variant generates the
weights of its first convolution from a one-hot modality code, so that each modality gets its own
input filter while every later layer is shared.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F


class ModalityConv2d(nn.Module):
    """A 2-D convolution whose kernel and bias are generated from a modality code.

    ``weight = W · onehot(modality)``: a linear map from the one-hot code to the flattened
    kernel, i.e. one kernel per modality learned jointly with the rest of the network.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int
    n_modalities : int
        Size of the one-hot code.
    padding_mode : str
        ``"zeros"`` or ``"reflect"``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        n_modalities: int,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.padding_mode = padding_mode
        template = nn.Conv2d(in_channels, out_channels, kernel_size)
        # Every modality starts from the same (standard) initialisation.
        self.kernel_bank = nn.Parameter(
            template.weight.detach().unsqueeze(0).repeat(n_modalities, 1, 1, 1, 1)
        )
        assert template.bias is not None
        self.bias_bank = nn.Parameter(template.bias.detach().unsqueeze(0).repeat(n_modalities, 1))

    def forward(self, x: torch.Tensor, modality: torch.Tensor) -> torch.Tensor:
        """Convolve ``x`` (N, C, H, W) with the kernel of each sample's ``modality`` (N,) index."""
        code = F.one_hot(modality.long(), self.kernel_bank.shape[0]).to(self.kernel_bank.dtype)
        weight = torch.einsum("nm,mocij->nocij", code, self.kernel_bank)
        bias = code @ self.bias_bank
        pad = self.kernel_size // 2
        mode = "constant" if self.padding_mode == "zeros" else self.padding_mode
        x = F.pad(x, (pad, pad, pad, pad), mode=mode)
        n, c, h, w = x.shape
        # Grouped convolution applies sample i's kernel to sample i in one call.
        out = F.conv2d(
            x.reshape(1, n * c, h, w),
            weight.reshape(n * self.out_channels, c, self.kernel_size, self.kernel_size),
            bias.reshape(-1),
            groups=n,
        )
        return out.reshape(n, self.out_channels, out.shape[-2], out.shape[-1])


class InputStem(nn.Module):
    """First convolution of a network: plain (unified model) or modality-generated (dynamic).

    Parameters
    ----------
    in_channels, out_channels, kernel_size : int
    n_modalities : int
        0 for a plain convolution that ignores the modality; otherwise the size of the code.
    padding_mode : str
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        n_modalities: int = 0,
        padding_mode: Literal["zeros", "reflect"] = "zeros",
    ) -> None:
        super().__init__()
        self.dynamic: ModalityConv2d | None = None
        self.conv: nn.Conv2d | None = None
        if n_modalities > 0:
            self.dynamic = ModalityConv2d(
                in_channels, out_channels, kernel_size, n_modalities, padding_mode
            )
        else:
            self.conv = nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                padding=kernel_size // 2,
                padding_mode=padding_mode,
            )

    def forward(self, x: torch.Tensor, modality: torch.Tensor | None = None) -> torch.Tensor:
        """``x``: (N, C, H, W); ``modality``: (N,) indices, required for the dynamic stem."""
        if self.dynamic is not None:
            if modality is None:
                raise ValueError(
                    "this model is modality-conditioned: pass the modality of each image"
                )
            return self.dynamic(x, modality)
        assert self.conv is not None
        return self.conv(x)
