"""Torch twins of the MViT ops (cnncalc/ops/mvit.py): torchvision's video MViT Pool,
MultiscaleAttention and PositionalEncoding, written out again here (torchvision is not a
dependency) with the same modules, parameters and calls, so that FlopCounterMode and every
counting tool see in them what they see in torchvision's (qkv and project are called nn.Linear
children; pool_q / pool_k / pool_v are Pool modules holding an nn.Conv3d and an nn.LayerNorm;
the scores are torch.matmul, the relative positions torch.einsum and torch.matmul; the softmax
is the Tensor method; the skip path's Pool holds an nn.MaxPool3d).

torchvision's modules take the token grid (T, H, W) as a second argument and return it beside
the tokens; a twin keeps the grid the spec gives and returns the tokens alone, so that it is one
node of the graph (cnncalc/torchcheck/build.py).

Source: torchvision/models/video/mvit.py (torchvision 0.29).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn


def _prod(s: Sequence[int]) -> int:
    product = 1
    for v in s:
        product *= v
    return product


def _unsqueeze(x: Tensor, target_dim: int, expand_dim: int) -> tuple[Tensor, int]:
    tensor_dim = x.dim()
    if tensor_dim == target_dim - 1:
        x = x.unsqueeze(expand_dim)
    elif tensor_dim != target_dim:
        raise ValueError(f"Unsupported input dimension {x.shape}")
    return x, tensor_dim


def _squeeze(x: Tensor, target_dim: int, expand_dim: int, tensor_dim: int) -> Tensor:
    if tensor_dim == target_dim - 1:
        x = x.squeeze(expand_dim)
    return x


class Pool(nn.Module):
    """torchvision's Pool: the class token split off, the T x H x W grid pooled (a depthwise
    Conv3d or a MaxPool3d), the token put back, then the norm (norm_before_pool False)."""

    def __init__(self, pool: nn.Module, norm: nn.Module | None) -> None:
        super().__init__()
        self.pool = pool
        self.norm_act = nn.Sequential(norm) if norm is not None else None

    def forward(self, x: Tensor, thw: tuple[int, int, int]) -> tuple[Tensor, tuple[int, int, int]]:
        x, tensor_dim = _unsqueeze(x, 4, 1)
        class_token, x = torch.tensor_split(x, indices=(1,), dim=2)
        x = x.transpose(2, 3)
        b, n, c = x.shape[:3]
        x = x.reshape((b * n, c, *thw)).contiguous()
        x = self.pool(x)
        t, h, w = x.shape[2:]
        x = x.reshape(b, n, c, -1).transpose(2, 3)
        x = torch.cat((class_token, x), dim=2)
        if self.norm_act is not None:
            x = self.norm_act(x)
        x = _squeeze(x, 4, 1, tensor_dim)
        return x, (t, h, w)


def _interpolate(embedding: Tensor, d: int) -> Tensor:
    if embedding.shape[0] == d:
        return embedding
    return nn.functional.interpolate(embedding.permute(1, 0).unsqueeze(0), size=d, mode="linear").squeeze(0).permute(1, 0)


def _add_rel_pos(attn: Tensor, q: Tensor, q_thw: tuple[int, int, int], k_thw: tuple[int, int, int],
                 rel_pos_h: Tensor, rel_pos_w: Tensor, rel_pos_t: Tensor) -> Tensor:
    """torchvision's _add_rel_pos: decomposed relative positions, added to the grid's scores."""
    q_t, q_h, q_w = q_thw
    k_t, k_h, k_w = k_thw
    dh = int(2 * max(q_h, k_h) - 1)
    dw = int(2 * max(q_w, k_w) - 1)
    dt = int(2 * max(q_t, k_t) - 1)

    q_h_ratio = max(k_h / q_h, 1.0)
    k_h_ratio = max(q_h / k_h, 1.0)
    dist_h = torch.arange(q_h)[:, None] * q_h_ratio - (torch.arange(k_h)[None, :] + (1.0 - k_h)) * k_h_ratio
    q_w_ratio = max(k_w / q_w, 1.0)
    k_w_ratio = max(q_w / k_w, 1.0)
    dist_w = torch.arange(q_w)[:, None] * q_w_ratio - (torch.arange(k_w)[None, :] + (1.0 - k_w)) * k_w_ratio
    q_t_ratio = max(k_t / q_t, 1.0)
    k_t_ratio = max(q_t / k_t, 1.0)
    dist_t = torch.arange(q_t)[:, None] * q_t_ratio - (torch.arange(k_t)[None, :] + (1.0 - k_t)) * k_t_ratio

    rel_pos_h = _interpolate(rel_pos_h, dh)
    rel_pos_w = _interpolate(rel_pos_w, dw)
    rel_pos_t = _interpolate(rel_pos_t, dt)
    rh = rel_pos_h[dist_h.long()]
    rw = rel_pos_w[dist_w.long()]
    rt = rel_pos_t[dist_t.long()]

    b, n_head, _, dim = q.shape
    r_q = q[:, :, 1:].reshape(b, n_head, q_t, q_h, q_w, dim)
    rel_h_q = torch.einsum("bythwc,hkc->bythwk", r_q, rh)
    rel_w_q = torch.einsum("bythwc,wkc->bythwk", r_q, rw)
    r_q = r_q.permute(2, 0, 1, 3, 4, 5).reshape(q_t, b * n_head * q_h * q_w, dim)
    rel_q_t = torch.matmul(r_q, rt.transpose(1, 2)).transpose(0, 1)
    rel_q_t = rel_q_t.view(b, n_head, q_h, q_w, q_t, k_t).permute(0, 1, 4, 2, 3, 5)
    rel_pos = (rel_h_q[:, :, :, :, :, None, :, None] + rel_w_q[:, :, :, :, :, None, None, :]
               + rel_q_t[:, :, :, :, :, :, None, None]).reshape(b, n_head, q_t * q_h * q_w, k_t * k_h * k_w)
    attn[:, :, 1:, 1:] += rel_pos
    return attn


def _add_shortcut(x: Tensor, shortcut: Tensor, residual_with_cls_embed: bool) -> Tensor:
    if residual_with_cls_embed:
        x.add_(shortcut)
    else:
        x[:, :, 1:, :] += shortcut[:, :, 1:, :]
    return x


def _pool(head_dim: int, kernel: Sequence[int], stride: Sequence[int]) -> Pool:
    """A pool_q / pool_k / pool_v: depthwise Conv3d (padding kernel // 2, no bias) + LayerNorm(eps 1e-6)."""
    return Pool(nn.Conv3d(head_dim, head_dim, tuple(kernel), stride=tuple(stride),  # type: ignore[arg-type]
                          padding=tuple(k // 2 for k in kernel), groups=head_dim, bias=False),  # type: ignore[arg-type]
                nn.LayerNorm(head_dim, eps=1e-6))


class MultiscaleAttention(nn.Module):
    """torchvision's MultiscaleAttention (dropout 0, residual_with_cls_embed False as in both
    builders), on B x N x D tokens with the grid thw."""

    def __init__(self, input_size: Sequence[int], embed_dim: int, output_dim: int, num_heads: int,
                 kernel_q: Sequence[int], kernel_kv: Sequence[int], stride_q: Sequence[int],
                 stride_kv: Sequence[int], residual_pool: bool, rel_pos_embed: bool) -> None:
        super().__init__()
        self.embed_dim, self.output_dim, self.num_heads = embed_dim, output_dim, num_heads
        self.head_dim = output_dim // num_heads
        self.scaler = 1.0 / math.sqrt(self.head_dim)
        self.residual_pool = residual_pool
        self.residual_with_cls_embed = False
        self.qkv = nn.Linear(embed_dim, 3 * output_dim)
        self.project = nn.Sequential(nn.Linear(output_dim, output_dim))
        self.pool_q = _pool(self.head_dim, kernel_q, stride_q) if _prod(kernel_q) > 1 or _prod(stride_q) > 1 else None
        pool_kv = _prod(kernel_kv) > 1 or _prod(stride_kv) > 1
        self.pool_k = _pool(self.head_dim, kernel_kv, stride_kv) if pool_kv else None
        self.pool_v = _pool(self.head_dim, kernel_kv, stride_kv) if pool_kv else None
        self.rel_pos_h: nn.Parameter | None = None
        self.rel_pos_w: nn.Parameter | None = None
        self.rel_pos_t: nn.Parameter | None = None
        if rel_pos_embed:
            size = max(input_size[1:])
            q_size = size // stride_q[1] if len(stride_q) > 0 else size
            kv_size = size // stride_kv[1] if len(stride_kv) > 0 else size
            spatial_dim = 2 * max(q_size, kv_size) - 1
            temporal_dim = 2 * input_size[0] - 1
            self.rel_pos_h = nn.Parameter(torch.zeros(spatial_dim, self.head_dim))
            self.rel_pos_w = nn.Parameter(torch.zeros(spatial_dim, self.head_dim))
            self.rel_pos_t = nn.Parameter(torch.zeros(temporal_dim, self.head_dim))

    def forward(self, x: Tensor, thw: tuple[int, int, int]) -> tuple[Tensor, tuple[int, int, int]]:
        b, n, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).transpose(1, 3).unbind(dim=2)
        if self.pool_k is not None:
            k, k_thw = self.pool_k(k, thw)
        else:
            k_thw = thw
        if self.pool_v is not None:
            v = self.pool_v(v, thw)[0]
        if self.pool_q is not None:
            q, thw = self.pool_q(q, thw)
        attn = torch.matmul(self.scaler * q, k.transpose(2, 3))
        if self.rel_pos_h is not None and self.rel_pos_w is not None and self.rel_pos_t is not None:
            attn = _add_rel_pos(attn, q, thw, k_thw, self.rel_pos_h, self.rel_pos_w, self.rel_pos_t)
        attn = attn.softmax(dim=-1)
        x = torch.matmul(attn, v)
        if self.residual_pool:
            _add_shortcut(x, q, self.residual_with_cls_embed)
        x = x.transpose(1, 2).reshape(b, -1, self.output_dim)
        x = self.project(x)
        return x, thw


class PoolAttention(MultiscaleAttention):
    """The pool_attention twin: MultiscaleAttention on the spec's grid, the tokens alone returned."""

    def __init__(self, dim: int, out: int, heads: int, grid: Sequence[int], kernel_q: Sequence[int],
                 stride_q: Sequence[int], kernel_kv: Sequence[int], stride_kv: Sequence[int],
                 residual_pool: bool, rel_pos: bool) -> None:
        super().__init__(list(grid), dim, out, heads, kernel_q, kernel_kv, stride_q, stride_kv, residual_pool, rel_pos)
        self.grid = (grid[0], grid[1], grid[2])

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        return super().forward(x, self.grid)[0]


class TokenMaxPool(Pool):
    """The token_maxpool twin: torchvision's skip-path Pool(nn.MaxPool3d, None) on the spec's grid."""

    def __init__(self, kernel: Sequence[int], stride: Sequence[int], pad: Sequence[int], grid: Sequence[int]) -> None:
        super().__init__(nn.MaxPool3d(tuple(kernel), stride=tuple(stride), padding=tuple(pad)), None)
        self.grid = (grid[0], grid[1], grid[2])

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        return super().forward(x, self.grid)[0]


class PositionalEncoding(nn.Module):
    """torchvision's PositionalEncoding: the class token in front, and (rel_pos_embed False, v1)
    a learned position embedding, temporal_pos repeated over the H*W positions of each frame
    plus spatial_pos repeated over the T frames, class_pos for the class token."""

    def __init__(self, embed_size: int, spatial_size: tuple[int, int], temporal_size: int, rel_pos_embed: bool) -> None:
        super().__init__()
        self.spatial_size, self.temporal_size = spatial_size, temporal_size
        self.class_token = nn.Parameter(torch.zeros(embed_size))
        self.spatial_pos: nn.Parameter | None = None
        self.temporal_pos: nn.Parameter | None = None
        self.class_pos: nn.Parameter | None = None
        if not rel_pos_embed:
            self.spatial_pos = nn.Parameter(torch.zeros(spatial_size[0] * spatial_size[1], embed_size))
            self.temporal_pos = nn.Parameter(torch.zeros(temporal_size, embed_size))
            self.class_pos = nn.Parameter(torch.zeros(embed_size))

    def forward(self, x: Tensor) -> Tensor:
        class_token = self.class_token.expand(x.size(0), -1).unsqueeze(1)
        x = torch.cat((class_token, x), dim=1)
        if self.spatial_pos is not None and self.temporal_pos is not None and self.class_pos is not None:
            hw_size, embed_size = self.spatial_pos.shape
            pos_embedding = torch.repeat_interleave(self.temporal_pos, hw_size, dim=0)
            pos_embedding.add_(self.spatial_pos.unsqueeze(0).expand(self.temporal_size, -1, -1).reshape(-1, embed_size))
            pos_embedding = torch.cat((self.class_pos.unsqueeze(0), pos_embedding), dim=0).unsqueeze(0)
            x.add_(pos_embedding)
        return x
