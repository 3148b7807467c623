"""Torch twins of the Swin ops (cnncalc/ops/window.py): torchvision's ShiftedWindowAttention,
ShiftedWindowAttentionV2 and _patch_merging_pad, written out again here (torchvision is not a
dependency) with the same modules, parameters, buffers and calls, so that FlopCounterMode and
every counting tool see in them what they see in torchvision's (the calls are the tools' hooks:
F.linear, Tensor.matmul, F.softmax are looked up when called; F is patched by ptflops).

Source: torchvision/models/swin_transformer.py (torchvision 0.29).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def shifted_window_attention(x: Tensor, qkv_weight: Tensor, proj_weight: Tensor, bias: Tensor,
                             window: tuple[int, int], heads: int, shift: tuple[int, int],
                             qkv_bias: Tensor | None, proj_bias: Tensor | None,
                             logit_scale: Tensor | None = None) -> Tensor:
    """torchvision's shifted_window_attention in eval mode (dropout p 0: left out), B x H x W x C."""
    b, h, w, c = x.shape
    pad_r = (window[1] - w % window[1]) % window[1]
    pad_b = (window[0] - h % window[0]) % window[0]
    x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
    _, pad_h, pad_w, _ = x.shape
    sh = (0 if window[0] >= pad_h else shift[0], 0 if window[1] >= pad_w else shift[1])  # no shift in one window
    if sum(sh) > 0:
        x = torch.roll(x, shifts=(-sh[0], -sh[1]), dims=(1, 2))
    num_windows = (pad_h // window[0]) * (pad_w // window[1])
    x = x.view(b, pad_h // window[0], window[0], pad_w // window[1], window[1], c)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(b * num_windows, window[0] * window[1], c)

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
        mask = x.new_zeros((pad_h, pad_w))
        h_slices = ((0, -window[0]), (-window[0], -sh[0]), (-sh[0], None))
        w_slices = ((0, -window[1]), (-window[1], -sh[1]), (-sh[1], None))
        count = 0
        for hs in h_slices:
            for ws in w_slices:
                mask[hs[0]:hs[1], ws[0]:ws[1]] = count
                count += 1
        mask = mask.view(pad_h // window[0], window[0], pad_w // window[1], window[1])
        mask = mask.permute(0, 2, 1, 3).reshape(num_windows, window[0] * window[1])
        mask = mask.unsqueeze(1) - mask.unsqueeze(2)
        mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
        attn = attn.view(x.size(0) // num_windows, num_windows, heads, x.size(1), x.size(1))
        attn = attn + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, heads, x.size(1), x.size(1))

    attn = F.softmax(attn, dim=-1)
    x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), c)
    x = F.linear(x, proj_weight, proj_bias)

    x = x.view(b, pad_h // window[0], pad_w // window[1], window[0], window[1], c)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(b, pad_h, pad_w, c)
    if sum(sh) > 0:
        x = torch.roll(x, shifts=(sh[0], sh[1]), dims=(1, 2))
    return x[:, :h, :w, :].contiguous()


def _relative_position_index(window: tuple[int, int]) -> Tensor:
    """The (N*N,) index into the (2wh-1)*(2ww-1) relative positions, as torchvision builds it."""
    coords = torch.stack(torch.meshgrid(torch.arange(window[0]), torch.arange(window[1]), indexing="ij"))
    flat = torch.flatten(coords, 1)
    rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += window[0] - 1
    rel[:, :, 1] += window[1] - 1
    rel[:, :, 0] *= 2 * window[1] - 1
    return rel.sum(-1).flatten()


def _gather(table: Tensor, index: Tensor, window: tuple[int, int]) -> Tensor:
    """torchvision's _get_relative_position_bias: heads x N x N, with a leading 1."""
    tokens = window[0] * window[1]
    return table[index].view(tokens, tokens, -1).permute(2, 0, 1).contiguous().unsqueeze(0)


class WindowAttention(nn.Module):
    """torchvision's ShiftedWindowAttention (qkv and proj with bias, dropout 0) on B x H x W x C."""

    relative_position_index: Tensor

    def __init__(self, dim: int, window: tuple[int, int], shift: tuple[int, int], heads: int) -> None:
        super().__init__()
        self.window, self.shift, self.heads = (window[0], window[1]), (shift[0], shift[1]), heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.define_bias_table()
        self.register_buffer("relative_position_index", _relative_position_index(self.window))

    def define_bias_table(self) -> None:
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * self.window[0] - 1) * (2 * self.window[1] - 1), self.heads))

    def relative_position_bias(self, batch: int) -> Tensor:
        return _gather(self.relative_position_bias_table, self.relative_position_index, self.window)

    def forward(self, x: Tensor) -> Tensor:
        return shifted_window_attention(x, self.qkv.weight, self.proj.weight, self.relative_position_bias(x.shape[0]),
                                        self.window, self.heads, self.shift, self.qkv.bias, self.proj.bias,
                                        getattr(self, "logit_scale", None))


class WindowAttentionV2(WindowAttention):
    """torchvision's ShiftedWindowAttentionV2: cosine attention with a logit scale, and the bias
    from an MLP on log-spaced relative coordinates, run once per forward pass on the coordinates
    buffer, as torchvision does (so autograd saves what torchvision's saves). One addition, on
    purpose: cnncalc counts every cost per sample (WindowAttentionV2's docstring in
    cnncalc/ops/window.py), so at batch B the MLP runs B - 1 more times under no_grad. Counting
    tools see B MLPs, as cnncalc counts; autograd sees torchvision's one; at batch 1 the two
    are the same."""

    relative_coords_table: Tensor

    def __init__(self, dim: int, window: tuple[int, int], shift: tuple[int, int], heads: int,
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

    def relative_position_bias(self, batch: int) -> Tensor:
        table = self.cpb_mlp(self.relative_coords_table).view(-1, self.heads)
        if batch > 1:
            with torch.no_grad():  # counted per sample (see the class docstring), saved once
                extra = self.cpb_mlp(self.relative_coords_table.expand(batch - 1, -1, -1, -1))
            table = table + extra[:0].sum()  # + 0, so that a tracing counter (fvcore) keeps the runs
        return 16 * torch.sigmoid(_gather(table, self.relative_position_index, self.window))


class PatchMerging(nn.Module):
    """torchvision's _patch_merging_pad: B x H x W x C -> B x ceil(H/2) x ceil(W/2) x 4C."""

    def forward(self, x: Tensor) -> Tensor:
        h, w, _ = x.shape[-3:]
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x0 = x[..., 0::2, 0::2, :]
        x1 = x[..., 1::2, 0::2, :]
        x2 = x[..., 0::2, 1::2, :]
        x3 = x[..., 1::2, 1::2, :]
        return torch.cat([x0, x1, x2, x3], -1)
