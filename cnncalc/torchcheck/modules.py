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
