"""Small torch modules for graph ops that torch.nn lacks as modules (add, concat)."""

from __future__ import annotations

import torch
from torch import nn


class Sum(nn.Module):
    """Elementwise sum of its inputs (a residual add)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Concat(nn.Module):
    """Concatenation of its inputs along the channel (or feature) dimension."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)


class Product(nn.Module):
    """Elementwise product of its inputs, with broadcasting (squeeze-and-excitation)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Chunk(nn.Module):
    """One of `chunks` equal channel slices (ShuffleNet v2's channel split)."""

    def __init__(self, chunks: int, index: int) -> None:
        super().__init__()
        self.chunks, self.index = chunks, index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.chunk(self.chunks, dim=1)[self.index]
