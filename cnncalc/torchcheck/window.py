"""Torch twins of the Swin ops (cnncalc/ops/window.py): torchvision's ShiftedWindowAttention,
ShiftedWindowAttention3d, ShiftedWindowAttentionV2 and _patch_merging_pad, written out again here
(torchvision is not a dependency) with the same modules, parameters, buffers and calls, so that
FlopCounterMode and every counting tool see in them what they see in torchvision's (the calls are
the tools' hooks: F.linear, Tensor.matmul, F.softmax are looked up when called; F is patched by
ptflops). One function serves both ranks: the map is B x H x W x C or B x T x H x W x C.

Source: torchvision/models/swin_transformer.py and torchvision/models/video/swin_transformer.py
(torchvision 0.29).
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def shifted_window_attention(x: Tensor, qkv_weight: Tensor, proj_weight: Tensor, bias: Tensor,
                             window: tuple[int, ...], heads: int, shift: tuple[int, ...],
                             qkv_bias: Tensor | None, proj_bias: Tensor | None,
                             logit_scale: Tensor | None = None) -> Tensor:
    """torchvision's shifted_window_attention (B x H x W x C) and shifted_window_attention_3d
    (B x T x H x W x C) in eval mode (dropout p 0: left out)."""
    b, *sizes, c = x.shape
    axes = len(sizes)
    pads = [(w - s % w) % w for s, w in zip(sizes, window)]
    x = F.pad(x, [0, 0, *itertools.chain.from_iterable((0, p) for p in reversed(pads))])
    padded = list(x.shape[1:-1])
    # 2-D: no shift where one window covers the map (the 3-D module has dropped it already)
    sh = [0 if w >= p else s for w, p, s in zip(window, padded, shift)]
    dims = tuple(range(1, axes + 1))
    if sum(sh) > 0:
        x = torch.roll(x, shifts=tuple(-s for s in sh), dims=dims)
    grid = [p // w for p, w in zip(padded, window)]
    num_windows, tokens = math.prod(grid), math.prod(window)
    split = list(itertools.chain.from_iterable(zip(grid, window)))  # g0, w0, g1, w1, ...
    gather = (*range(0, 2 * axes, 2), *range(1, 2 * axes, 2))  # the grid axes, then the window axes
    x = x.view(b, *split, c).permute(0, *(1 + a for a in gather), 2 * axes + 1).reshape(b * num_windows, tokens, c)

    if logit_scale is not None and qkv_bias is not None:
        qkv_bias = qkv_bias.clone()
        length = qkv_bias.numel() // 3
        qkv_bias[length:2 * length].zero_()
    qkv = F.linear(x, qkv_weight, qkv_bias)
    qkv = qkv.reshape(x.size(0), x.size(1), 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    if logit_scale is not None:  # cosine attention (v2)
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        attn = attn * torch.clamp(logit_scale, max=math.log(100.0)).exp()
    else:
        q = q * (c // heads) ** -0.5
        attn = q.matmul(k.transpose(-2, -1))
    attn = attn + bias

    if sum(sh) > 0:
        mask = x.new_zeros(padded)
        slices = [((0, -w), (-w, -s), (-s, None)) for w, s in zip(window, sh)]
        for count, corner in enumerate(itertools.product(*slices)):
            mask[tuple(slice(start, stop) for start, stop in corner)] = count
        mask = mask.view(split).permute(gather).reshape(num_windows, tokens)
        mask = mask.unsqueeze(1) - mask.unsqueeze(2)
        mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
        attn = attn.view(x.size(0) // num_windows, num_windows, heads, x.size(1), x.size(1))
        attn = attn + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, heads, x.size(1), x.size(1))

    attn = F.softmax(attn, dim=-1)
    x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), c)
    x = F.linear(x, proj_weight, proj_bias)

    back = tuple(itertools.chain.from_iterable((1 + a, 1 + axes + a) for a in range(axes)))
    x = x.view(b, *grid, *window, c).permute(0, *back, 2 * axes + 1).reshape(b, *padded, c)
    if sum(sh) > 0:
        x = torch.roll(x, shifts=tuple(sh), dims=dims)
    keep = (slice(None), *(slice(0, s) for s in sizes))  # cut the padding off
    return x[keep].contiguous()


def _relative_position_index(window: tuple[int, ...]) -> Tensor:
    """The N x N index into the prod(2w-1) relative positions, as torchvision builds it: flat
    (N*N,) for a 2-D window, N x N for a 3-D one."""
    coords = torch.stack(torch.meshgrid(*(torch.arange(w) for w in window), indexing="ij"))
    flat = torch.flatten(coords, 1)
    rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()
    for a, w in enumerate(window):
        rel[:, :, a] += w - 1
        rel[:, :, a] *= math.prod(2 * u - 1 for u in window[a + 1:])
    index = rel.sum(-1)
    return index.flatten() if len(window) == 2 else index


def _gather(table: Tensor, index: Tensor, window: tuple[int, ...]) -> Tensor:
    """torchvision's _get_relative_position_bias: heads x N x N, with a leading 1. The 3-D one
    takes the index's first N rows and columns, N for the window used (a copy when it shrank)."""
    tokens = math.prod(window)
    rows = index if index.dim() == 1 else index[:tokens, :tokens].flatten()
    return table[rows].view(tokens, tokens, -1).permute(2, 0, 1).contiguous().unsqueeze(0)


class WindowAttention(nn.Module):
    """torchvision's ShiftedWindowAttention (window [wh, ww], on B x H x W x C) or
    ShiftedWindowAttention3d (window [wt, wh, ww], on B x T x H x W x C); qkv and proj with bias,
    dropout 0."""

    relative_position_index: Tensor

    def __init__(self, dim: int, window: tuple[int, ...], shift: tuple[int, ...], heads: int) -> None:
        super().__init__()
        self.window, self.shift, self.heads = tuple(window), tuple(shift), heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.define_bias_table()
        self.register_buffer("relative_position_index", _relative_position_index(self.window))

    def define_bias_table(self) -> None:
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros(math.prod(2 * w - 1 for w in self.window), self.heads))

    def relative_position_bias(self, batch: int, window: tuple[int, ...]) -> Tensor:
        return _gather(self.relative_position_bias_table, self.relative_position_index, window)

    def forward(self, x: Tensor) -> Tensor:
        window, shift = self.window, self.shift
        if len(window) == 3:  # ShiftedWindowAttention3d: a window not smaller than the map shrinks to it, unshifted
            sizes = x.shape[1:-1]
            window = tuple(min(s, w) for s, w in zip(sizes, window))
            shift = tuple(0 if s <= w else h for s, w, h in zip(sizes, self.window, shift))
        return shifted_window_attention(x, self.qkv.weight, self.proj.weight,
                                        self.relative_position_bias(x.shape[0], window), window, self.heads, shift,
                                        self.qkv.bias, self.proj.bias, getattr(self, "logit_scale", None))


class WindowAttentionV2(WindowAttention):
    """torchvision's ShiftedWindowAttentionV2 (2-D only, as torchvision): cosine attention with a
    logit scale, and the bias from an MLP on log-spaced relative coordinates, run once per
    forward pass on the coordinates buffer, as torchvision does (so autograd saves what
    torchvision's saves). One addition, on purpose: cnncalc counts every cost per sample
    (WindowAttentionV2's docstring in cnncalc/ops/window.py), so at batch B the MLP runs B - 1
    more times under no_grad. Counting tools see B MLPs, as cnncalc counts; autograd sees
    torchvision's one; at batch 1 the two are the same."""

    relative_coords_table: Tensor

    def __init__(self, dim: int, window: tuple[int, ...], shift: tuple[int, ...], heads: int,
                 hidden: int = 512) -> None:
        super().__init__(dim, window, shift, heads)
        self.hidden = hidden
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((heads, 1, 1))))
        self.cpb_mlp = nn.Sequential(nn.Linear(2, hidden, bias=True), nn.ReLU(inplace=True),
                                     nn.Linear(hidden, heads, bias=False))

    def define_bias_table(self) -> None:
        wh, ww = self.window
        rh = torch.arange(-(wh - 1), wh, dtype=torch.float32)
        rw = torch.arange(-(ww - 1), ww, dtype=torch.float32)
        table = torch.stack(torch.meshgrid([rh, rw], indexing="ij")).permute(1, 2, 0).contiguous().unsqueeze(0)
        # torchvision divides by w - 1 (a 1-wide window gives 0/0 = nan there: only the values differ)
        table[:, :, :, 0] /= max(wh - 1, 1)
        table[:, :, :, 1] /= max(ww - 1, 1)
        table *= 8
        table = torch.sign(table) * torch.log2(torch.abs(table) + 1.0) / 3.0
        self.register_buffer("relative_coords_table", table)

    def relative_position_bias(self, batch: int, window: tuple[int, ...]) -> Tensor:
        table = self.cpb_mlp(self.relative_coords_table).view(-1, self.heads)
        if batch > 1:
            with torch.no_grad():  # counted per sample (see the class docstring), saved once
                extra = self.cpb_mlp(self.relative_coords_table.expand(batch - 1, -1, -1, -1))
            table = table + extra[:0].sum()  # + 0, so that a tracing counter (fvcore) keeps the runs
        return 16 * torch.sigmoid(_gather(table, self.relative_position_index, window))


class PatchMerging(nn.Module):
    """torchvision's _patch_merging_pad: B (x T) x H x W x C -> B (x T) x ceil(H/2) x ceil(W/2) x 4C."""

    def forward(self, x: Tensor) -> Tensor:
        h, w, _ = x.shape[-3:]
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x0 = x[..., 0::2, 0::2, :]
        x1 = x[..., 1::2, 0::2, :]
        x2 = x[..., 0::2, 1::2, :]
        x3 = x[..., 1::2, 1::2, :]
        return torch.cat([x0, x1, x2, x3], -1)
