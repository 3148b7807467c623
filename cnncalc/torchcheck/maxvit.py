"""Torch twins of the MaxViT ops (cnncalc/ops/maxvit.py): torchvision's WindowPartition,
WindowDepartition, SwapAxes and RelativePositionalMultiHeadAttention, written out again here
(torchvision is not a dependency) with the same modules, parameters, buffers and calls, so that
FlopCounterMode and every counting tool see in them what they see in torchvision's (to_qkv and
merge are called nn.Linear children; the scores are torch.einsum; F.softmax).

One generalisation, on purpose: torchvision partitions by one p for both axes (p = s in window
mode, p = H/s in grid mode: right for its square maps); here the blocks are (s, s) in window mode
and (H/s, W/s) in grid mode, the same tensors on a square map, and the grid of s x s groups on any.

Source: torchvision/models/maxvit.py (torchvision 0.29).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class WindowPartition(nn.Module):
    """B x C x H x W -> B x (H/bh * W/bw) x (bh*bw) x C: bh x bw blocks of neighbours."""

    def forward(self, x: Tensor, bh: int, bw: int) -> Tensor:
        b, c, h, w = x.shape
        x = x.reshape(b, c, h // bh, bh, w // bw, bw)
        x = x.permute(0, 2, 4, 3, 5, 1)
        return x.reshape(b, (h // bh) * (w // bw), bh * bw, c)


class WindowDepartition(nn.Module):
    """B x (gh*gw) x (bh*bw) x C -> B x C x gh*bh x gw*bw."""

    def forward(self, x: Tensor, bh: int, bw: int, gh: int, gw: int) -> Tensor:
        b, _, _, c = x.shape
        x = x.reshape(b, gh, gw, bh, bw, c)
        x = x.permute(0, 5, 1, 3, 2, 4)
        return x.reshape(b, c, gh * bh, gw * bw)


class SwapAxes(nn.Module):
    def __init__(self, a: int, b: int) -> None:
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x: Tensor) -> Tensor:
        return torch.swapaxes(x, self.a, self.b)


def _blocks(size: int, mode: str, h: int, w: int) -> tuple[int, int]:
    """The (bh, bw) blocks WindowPartition cuts: (s, s) for windows, (H/s, W/s) for the grid."""
    return (size, size) if mode == "window" else (h // size, w // size)


class Partition(nn.Module):
    """PartitionAttentionLayer's partition_op + partition_swap: B x C x H x W -> B x G x N x C."""

    def __init__(self, size: int, mode: str, h: int, w: int) -> None:
        super().__init__()
        self.bh, self.bw = _blocks(size, mode, h, w)
        self.partition_op = WindowPartition()
        self.partition_swap = SwapAxes(-2, -3) if mode == "grid" else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.partition_swap(self.partition_op(x, self.bh, self.bw))


class Unpartition(nn.Module):
    """PartitionAttentionLayer's departition_swap + departition_op: B x G x N x C -> B x C x H x W."""

    def __init__(self, size: int, mode: str, h: int, w: int) -> None:
        super().__init__()
        self.bh, self.bw = _blocks(size, mode, h, w)
        self.gh, self.gw = h // self.bh, w // self.bw
        self.departition_swap = SwapAxes(-2, -3) if mode == "grid" else nn.Identity()
        self.departition_op = WindowDepartition()

    def forward(self, x: Tensor) -> Tensor:
        return self.departition_op(self.departition_swap(x), self.bh, self.bw, self.gh, self.gw)


def _relative_position_index(size: int) -> Tensor:
    """torchvision's _get_relative_position_index(size, size): N x N indices into (2s-1)^2 offsets."""
    coords = torch.stack(torch.meshgrid([torch.arange(size), torch.arange(size)], indexing="ij"))
    flat = torch.flatten(coords, 1)
    rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += size - 1
    rel[:, :, 1] += size - 1
    rel[:, :, 0] *= 2 * size - 1
    return rel.sum(-1)


class RelAttention(nn.Module):
    """torchvision's RelativePositionalMultiHeadAttention(dim, dim // heads, size**2) on B x G x N x C."""

    relative_position_index: Tensor

    def __init__(self, dim: int, heads: int, size: int) -> None:
        super().__init__()
        self.n_heads, self.head_dim = heads, dim // heads
        self.size, self.max_seq_len = size, size * size
        self.to_qkv = nn.Linear(dim, self.n_heads * self.head_dim * 3)
        self.scale_factor = dim ** -0.5
        self.merge = nn.Linear(self.head_dim * self.n_heads, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * size - 1) ** 2, heads))
        self.register_buffer("relative_position_index", _relative_position_index(size))

    def get_relative_positional_bias(self) -> Tensor:
        index = self.relative_position_index.view(-1)
        bias = self.relative_position_bias_table[index].view(self.max_seq_len, self.max_seq_len, -1)
        return bias.permute(2, 0, 1).contiguous().unsqueeze(0)

    def forward(self, x: Tensor) -> Tensor:
        b, g, p, d = x.shape
        h, dh = self.n_heads, self.head_dim
        qkv = self.to_qkv(x)
        q, k, v = torch.chunk(qkv, 3, dim=-1)
        q = q.reshape(b, g, p, h, dh).permute(0, 1, 3, 2, 4)
        k = k.reshape(b, g, p, h, dh).permute(0, 1, 3, 2, 4)
        v = v.reshape(b, g, p, h, dh).permute(0, 1, 3, 2, 4)
        k = k * self.scale_factor
        dot = torch.einsum("B G H I D, B G H J D -> B G H I J", q, k)
        dot = F.softmax(dot + self.get_relative_positional_bias(), dim=-1)
        out = torch.einsum("B G H I J, B G H J D -> B G H I D", dot, v)
        out = out.permute(0, 1, 3, 2, 4).reshape(b, g, p, d)
        return self.merge(out)
