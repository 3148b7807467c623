"""Pooling attention on a grid of video tokens: the Multiscale Vision Transformer's layers, as
torchvision builds them (torchvision.models.video.mvit: mvit_v1_b, mvit_v2_s).

Stage: ops (pure). In: op spec + an N x D input. Out: Shape and Cost. torch is imported only
inside to_torch() (the twins are in cnncalc/torchcheck/mvit.py).

Tokens and the class token: MViT's tokens are N x D, a class token first and then the T x H x W
grid of a clip, row by row (N = 1 + T*H*W: conv_proj's C x T x H x W map, flattened and
transposed). The grid is not in the shape, so every op here takes it as `grid: [T, H, W]`
(the spec works it out with expressions) and checks N = 1 + T*H*W. Each op keeps the class token
aside as torchvision's Pool does: it is split off, the grid alone is pooled (its window never
sees the class token), and it is put back in front; it always takes part in the attention
(a query and a key like any other), but not in v2's relative positions, nor in its residual
pooling add. st_pos_encoding (torchvision's PositionalEncoding) is what puts it there. No op
here has an rf_window: the tokens come from a flatten, whose receptive field is the whole clip.

Counting tools on torchvision's modules (measured, torchvision 0.29.1; docs/profiles.md versions):
MultiscaleAttention's qkv and project are nn.Linear children that are called; its pools are
Pool modules holding an nn.Conv3d and an nn.LayerNorm, called; the scores and weights x v are
torch.matmul (ptflops patches it), v2's relative positions two torch.einsum (FlopCounterMode and
fvcore count them, ptflops does not) and a torch.matmul; the softmax is the Tensor method, which
ptflops does not patch. The skip path's Pool holds an nn.MaxPool3d.
"""

from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING, Any

from cnncalc.errors import ShapeError, Span, SpecError
from cnncalc.ops.geometry import Axes, resolved
from cnncalc.ops.maxvit import _einsum_fvcore
from cnncalc.ops.registry import (
    Cost,
    DocRow,
    Layer,
    OpDef,
    Saved,
    Shape,
    arg,
    fmt_shape,
    n,
    register,
    rules,
)
from cnncalc.record import Record

if TYPE_CHECKING:
    from collections.abc import Mapping

    from torch import nn

Grid = tuple[int, int, int]
GRID_DOC = "[T, H, W]: the token grid after the class token, N = 1 + T*H*W (conv_proj's map)"
LAYOUT = "N x D tokens (a class token, then a T x H x W grid)"


def pooled(grid: Grid, kernel: Axes, stride: Axes) -> Grid:
    """The grid after torchvision's pooling conv, padding kernel // 2, per axis:
    (size + 2*(k // 2) - k) // s + 1."""
    t, h, w = ((g + 2 * (k // 2) - k) // s + 1 for g, k, s in zip(grid, kernel, stride))
    return t, h, w


def _axis_sums(grid: Grid | tuple[int, ...], kernel: Axes, stride: Axes, pad: Axes, out: Grid) -> str:
    """The output size per axis, worked out: T' = (8 + 2*1 - 3) // 1 + 1 = 8, H' = W' = ... (axes
    with the same sum written once)."""
    parts: list[tuple[list[str], str]] = []
    for axis, g, k, s, p, o in zip("THW", grid, kernel, stride, pad, out):
        text = f"({g} + 2*{p} - {k}) // {s} + 1 = {o}"
        if parts and parts[-1][1] == text:
            parts[-1][0].append(axis)
        else:
            parts.append(([axis], text))
    return ", ".join(" = ".join(f"{a}'" for a in axes) + " = " + text for axes, text in parts)


class _OnGrid(OpDef):
    """Shared by the ops on MViT's tokens: the `grid` key, checked against N."""

    grid: tuple[int, ...] = arg("ints", doc=GRID_DOC, example="[8, 56, 56] (mvit's 16 x 224 x 224 clip after conv_proj)")
    ranks, layout = (2,), LAYOUT

    def validate(self, spans: Mapping[str, Span], span: Span | None) -> None:
        if len(self.grid) != 3 or min(self.grid) < 1:
            raise SpecError(spans.get("grid") or span, f"{self.type}: 'grid' must be three positive sizes [T, H, W], "
                            f"found {list(self.grid)}", "e.g. grid: [8, 56, 56]")

    def axes(self, key: str, span: Span | None = None) -> Axes:
        """A window key (kernel, stride, pad) with one value per grid axis (t, h, w); a list of
        another length is a ShapeError at span (infer resolves every key first, with its span)."""
        return resolved(self, key, getattr(self, key), 3, span)

    def check_tokens(self, x: Shape, span: Span | None) -> None:
        t, h, w = self.grid
        if x[0] != 1 + t * h * w:
            raise ShapeError(span, f"{self.type}: {x[0]:,} tokens are not 1 + T*H*W = 1 + {t}*{h}*{w} = "
                             f"{1 + t * h * w:,} (a class token, then the grid {list(self.grid)})",
                             "grid: is the T x H x W grid of this layer's input; it shrinks after a layer that "
                             "pools with a stride (stride_q, token_maxpool)")


# ---- pool_attention ---------------------------------------------------------------------------

class Geometry(Record):
    """What pool_attention works on, for one input: N x D in, heads of width dh = C / heads."""

    n: int  # tokens in (1 + T*H*W)
    d: int  # input width D
    c: int  # attention width C (out)
    dh: int  # head width
    g: int  # grid tokens in, T*H*W
    q: Grid  # the query grid (pooled by kernel_q / stride_q, or the input's)
    k: Grid  # the key / value grid (pooled by kernel_kv / stride_kv, or the input's)

    @property
    def gq(self) -> int:
        return prod(self.q)

    @property
    def gk(self) -> int:
        return prod(self.k)

    @property
    def nq(self) -> int:
        return 1 + self.gq

    @property
    def nk(self) -> int:
        return 1 + self.gk


def _torch(f: Layer) -> int:
    """FlopCounterMode: qkv and project (addmm), the pool convs (convolution), the scores,
    weights x v and the temporal relative positions (bmm), the h and w relative positions
    (einsum -> bmm): 2 per multiply-add; with a head width of 1, torch.einsum contracts the two
    einsums by broadcasting (a mul and a sum), which FlopCounterMode does not count."""
    op: PoolAttention = f.op  # type: ignore[assignment]
    gm = op.geometry(f.xs[0])
    dropped = gm.c * gm.gq * (gm.k[1] + gm.k[2]) if op.rel_pos and gm.dh == 1 else 0
    return 2 * (f.cost.macs - dropped)


def _fvcore(f: Layer) -> int:
    """fvcore: aten::linear for qkv and project (bias ignored), aten::_convolution for the pool
    convs and aten::layer_norm for their norms (5 per element, affine), aten::matmul for the scores,
    weights x v and the temporal relative positions (exact); each relative-position einsum as
    _einsum_fvcore rounds it (at batch 1). The softmax, the scaling, the adds, the index and the
    interpolation have no handle."""
    op: PoolAttention = f.op  # type: ignore[assignment]
    gm = op.geometry(f.xs[0])
    c = gm.c
    count = gm.n * gm.d * 3 * c + gm.nq * c * c + op.pool_macs(gm) + 5 * op.norm_elems(gm) + 2 * gm.nq * gm.nk * c
    if op.rel_pos:
        count += _einsum_fvcore(2 * c * gm.gq * gm.k[1]) + _einsum_fvcore(2 * c * gm.gq * gm.k[2]) + c * gm.gq * gm.k[0]
    return count


def _ptflops(f: Layer) -> int:
    """ptflops: the qkv and project nn.Linear hooks, (in*out + out) per token; the Conv3d hooks
    (no bias: their multiply-adds); the LayerNorm hooks, numel(input) (no `affine` attribute: not
    doubled); patched torch.matmul: scores, weights x v and the temporal relative positions
    (numel(a) * b.shape[-1], exact); patched F.interpolate where a relative-position table is
    resized (its output, dh * length). Not patched: torch.einsum, Tensor.softmax, `*`, `+=`."""
    op: PoolAttention = f.op  # type: ignore[assignment]
    gm = op.geometry(f.xs[0])
    c = gm.c
    count = (gm.n * (gm.d * 3 * c + 3 * c) + gm.nq * (c * c + c) + op.pool_macs(gm) + op.norm_elems(gm)
             + 2 * gm.nq * gm.nk * c)
    if op.rel_pos:
        count += c * gm.gq * gm.k[0] + sum(gm.dh * length for length in op.resized(gm))
    return count


def _torchinfo(f: Layer) -> int:
    """torchinfo: its leaf modules with parameters, qkv and project (their parameters once per
    sample), the pool convs (parameters x output positions x heads: their multiply-adds) and the
    pool norms (2*dh each, once per sample). The relative-position tables belong to the attention
    module itself, not a leaf: not counted."""
    op: PoolAttention = f.op  # type: ignore[assignment]
    gm = op.geometry(f.xs[0])
    c = gm.c
    return gm.d * 3 * c + 3 * c + c * c + c + op.pool_macs(gm) + 2 * gm.dh * op.pools(gm)


def _thop(f: Layer) -> int:
    """thop: count_linear on qkv and project (in_features x numel(output)), count_convNd on the
    pool convs (their multiply-adds), count_normalization on the pool norms (2 * numel(input),
    doubled for elementwise_affine)."""
    op: PoolAttention = f.op  # type: ignore[assignment]
    gm = op.geometry(f.xs[0])
    c = gm.c
    return gm.n * gm.d * 3 * c + gm.nq * c * c + op.pool_macs(gm) + 4 * op.norm_elems(gm)


@register("pool_attention")
class PoolAttention(_OnGrid):
    """Multi-head pooling attention on N x D tokens (a class token, then the T x H x W grid):
    torchvision's MultiscaleAttention (MViT). qkv = linear D -> 3C; per head (width dh = C/heads),
    q, k and v may each be pooled on the grid, the class token kept aside: a depthwise Conv3d
    (dh channels, kernel k, stride s, padding k // 2, no bias) + LayerNorm(dh) over all the
    tokens, k and v with kernel_kv / stride_kv, q with kernel_q / stride_q (a pool exists when its
    kernel or stride is above 1). Scores q k^T / sqrt(dh) over Nq x Nk tokens; with rel_pos (v2),
    decomposed relative positions added to the grid's scores: for each query, q . R_t, q . R_h,
    q . R_w (tables of 2*max(size)-1 rows x dh, one row per offset along t, h, w); softmax;
    weights x v; with residual_pool (v2) the pooled q added to the grid rows; project = linear
    C -> C. The output is the query's tokens: Nq x C, Nq = 1 + Tq*Hq*Wq.

    params = D*3C + 3C (qkv) + C*C + C (project)
             + per pool: dh*kt*kh*kw (conv) + 2*dh (norm)
             + rel_pos: (2*S + Tt) * dh, S = 2*max(Hq', Kh') - 1 with Hq' = max(H, W) // stride_q_h,
               Kh' = max(H, W) // stride_kv_h (torchvision's sizes), Tt = 2*T - 1
    macs   = N*D*3C (qkv) + C*Gq*kq + 2*C*Gk*kkv (pool convs on the grid, G = its positions,
             k = kernel volume) + Nq*Nk*C (q k^T) + Nq*Nk*C (weights x v) + Nq*C*C (project)
             + rel_pos: C*Gq*(Kt + Kh + Kw) (K the key grid)
    """

    doc_row = DocRow(
        "any",
        "`heads`, `grid` ([T, H, W]), `out` (0: D), `kernel_q`, `stride_q`, `kernel_kv`, `stride_kv` (1: no pool), "
        "`rel_pos` (false), `residual_pool` (false); on `N × D`, N = 1 + T·H·W",
        "`Nq × C`, Nq = 1 + Tq·Hq·Wq (the query's grid)",
        "`D·3C + 3C + C² + C` + per pool `dh·k + 2·dh` (k: kernel volume) + rel_pos `(2S + 2T − 1)·dh`",
        "`N·D·3C + 2·Nq·Nk·C + Nq·C²` + pool convs `C·G·k` (+ rel_pos `C·Gq·(Kt + Kh + Kw)`)")

    category = "attention"
    heads: int = arg("int+", doc="attention heads; must divide C (mvit_v1_b: 1 to 8)")
    out: int = arg("int0", 0, doc="C, the attention's width (torchvision's output_dim); 0: the input's D")
    kernel_q: Any = arg("axes+", 1, doc="the query pool's kernel [kt, kh, kw]; 1 with stride_q 1: no query pool")
    stride_q: Any = arg("axes+", 1, doc="the query pool's stride: the output grid (mvit: [1, 2, 2] between stages)")
    kernel_kv: Any = arg("axes+", 1, doc="the key and value pools' kernel (mvit: 3)")
    stride_kv: Any = arg("axes+", 1, doc="the key and value pools' stride (mvit: [1, 8, 8] in the first stage)")
    rel_pos: bool = arg("bool", False, doc="v2's decomposed relative positions on t, h and w")
    residual_pool: bool = arg("bool", False, doc="v2: add the pooled q to the output's grid rows")
    autocast = "low"
    counts = rules(
        torch=_torch,
        fvcore=_fvcore,
        ptflops=_ptflops,
        torchinfo=_torchinfo,
        thop=_thop,
    )
    samples = (
        ({"heads": 2, "grid": [2, 4, 4], "kernel_kv": 3, "stride_kv": [1, 2, 2]}, [(33, 8)]),  # v1, kv pooled
        ({"heads": 2, "grid": [2, 4, 4], "out": 12, "kernel_q": 3, "stride_q": [1, 2, 2], "kernel_kv": 3,
          "stride_kv": [1, 2, 2], "rel_pos": True, "residual_pool": True}, [(33, 8)]),  # v2 between stages
        ({"heads": 2, "grid": [2, 3, 4], "kernel_q": 3, "kernel_kv": 3, "stride_kv": [1, 2, 2], "rel_pos": True,
          "residual_pool": True}, [(25, 8)]),  # v2, a grid not square: the h table is resized
        ({"heads": 3, "grid": [1, 2, 2]}, [(5, 6)]),  # no pools: plain attention over the tokens
        ({"heads": 4, "grid": [2, 3, 3], "kernel_kv": 3, "stride_kv": 1, "rel_pos": True}, [(19, 4)]),  # dh = 1
    )
    sample_inputs = ((33, 8),)

    def geometry(self, x: Shape) -> Geometry:
        t, h, w = self.grid
        c = self.out or x[1]
        grid = (t, h, w)
        q = pooled(grid, self.axes("kernel_q"), self.axes("stride_q")) if self.pools_q() else grid
        k = pooled(grid, self.axes("kernel_kv"), self.axes("stride_kv")) if self.pools_kv() else grid
        return Geometry(x[0], x[1], c, c // self.heads, t * h * w, q, k)

    def pools_q(self) -> bool:
        """torchvision makes pool_q when prod(kernel_q) > 1 or prod(stride_q) > 1."""
        return prod(self.axes("kernel_q")) > 1 or prod(self.axes("stride_q")) > 1

    def pools_kv(self) -> bool:
        return prod(self.axes("kernel_kv")) > 1 or prod(self.axes("stride_kv")) > 1

    def pools(self, gm: Geometry) -> int:
        """How many Pool modules (conv + norm) the attention has: 0 to 3."""
        return int(self.pools_q()) + 2 * int(self.pools_kv())

    def pool_macs(self, gm: Geometry) -> int:
        """The depthwise pool convs: C * Gq * kq (q) + 2 * C * Gk * kkv (k and v)."""
        q = gm.c * gm.gq * prod(self.axes("kernel_q")) if self.pools_q() else 0
        kv = 2 * gm.c * gm.gk * prod(self.axes("kernel_kv")) if self.pools_kv() else 0
        return q + kv

    def norm_elems(self, gm: Geometry) -> int:
        """Elements the pool norms read: Nq*C (q), 2*Nk*C (k and v), the class token included."""
        return (gm.nq * gm.c if self.pools_q() else 0) + (2 * gm.nk * gm.c if self.pools_kv() else 0)

    def tables(self, gm: Geometry) -> tuple[int, int]:
        """(S, Tt): rows of the h and w tables and of the t table, from the grid as torchvision's
        __init__ sizes them: S = 2*max(size // stride_q_h, size // stride_kv_h) - 1 with size =
        max(H, W); Tt = 2*T - 1."""
        _, h, w = self.grid
        size = max(h, w)
        spatial = 2 * max(size // self.axes("stride_q")[1], size // self.axes("stride_kv")[1]) - 1
        return spatial, 2 * self.grid[0] - 1

    def resized(self, gm: Geometry) -> list[int]:
        """The lengths the tables are interpolated to at run time (torchvision's _interpolate),
        where a table's rows differ from 2*max(q, k) - 1 along its axis: [] on mvit's grids."""
        spatial, temporal = self.tables(gm)
        need = [2 * max(a, b) - 1 for a, b in zip(gm.q, gm.k)]  # t, h, w
        have = [temporal, spatial, spatial]
        return [d for d, r in zip(need, have) if d != r]

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        x = xs[0]
        self.check_tokens(x, span)
        for key in ("kernel_q", "stride_q", "kernel_kv", "stride_kv"):
            self.axes(key, span)
        c = self.out or x[1]
        if c % self.heads:
            raise ShapeError(span, f"pool_attention: heads={self.heads} must divide the attention's width C = {c}"
                             f" ({'out' if self.out else 'the input D of ' + fmt_shape(x)})",
                             "mvit: heads 1, 2, 4, 8 on widths 96, 192, 384, 768")
        gm = self.geometry(x)
        if self.rel_pos and self.tables(gm)[0] < 1:
            raise ShapeError(span, f"pool_attention: rel_pos on the grid {list(self.grid)} gives position tables "
                             f"of 2*max({max(self.grid[1:])} // {self.axes('stride_q')[1]}, {max(self.grid[1:])} // "
                             f"{self.axes('stride_kv')[1]}) - 1 = {self.tables(gm)[0]} rows",
                             "a stride larger than the grid leaves nothing to pool")
        return (gm.nq, c)

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        gm = self.geometry(xs[0])
        c, dh = gm.c, gm.dh
        pools = self.pools(gm)
        weights = gm.d * 3 * c + c * c + pools * dh  # + LayerNorm gammas
        weights += dh * prod(self.axes("kernel_q")) if self.pools_q() else 0
        weights += 2 * dh * prod(self.axes("kernel_kv")) if self.pools_kv() else 0
        macs = gm.n * gm.d * 3 * c + self.pool_macs(gm) + 2 * gm.nq * gm.nk * c + gm.nq * c * c
        # elementwise: q scaled (Nq*C), the pool norms' 5 per element, softmax's 3 per score
        elem = gm.nq * c + 5 * self.norm_elems(gm) + 3 * self.heads * gm.nq * gm.nk
        if self.rel_pos:
            spatial, temporal = self.tables(gm)
            weights += (2 * spatial + temporal) * dh
            macs += c * gm.gq * sum(gm.k)
            # the three terms summed and added into the grid's scores (3 per score), and any
            # resized table (linear interpolation: 2 taps, 2 ops each, per element)
            elem += 3 * self.heads * gm.gq * gm.gk + sum(4 * dh * length for length in self.resized(gm))
        if self.residual_pool:
            elem += gm.gq * c  # the pooled q added to the grid rows
        return Cost(weights=weights, biases=3 * c + c + pools * dh, macs=macs, elem_ops=elem)

    def param_tensors(self, xs: list[Shape], y: Shape) -> tuple[int, ...]:
        """torchvision's MultiscaleAttention: the h, w and t position tables (rel_pos), qkv's and
        project's weight and bias, then each pool's depthwise conv and LayerNorm (q, k, v)."""
        gm = self.geometry(xs[0])
        c, dh = gm.c, gm.dh
        out: list[int] = []
        if self.rel_pos:
            spatial, temporal = self.tables(gm)
            out += [spatial * dh, spatial * dh, temporal * dh]
        out += [gm.d * 3 * c, 3 * c, c * c, c]
        if self.pools_q():
            out += [dh * prod(self.axes("kernel_q")), dh, dh]
        if self.pools_kv():
            out += [dh * prod(self.axes("kernel_kv")), dh, dh] * 2
        return tuple(out)

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """torchvision's MultiscaleAttention, per sample (measured on it and on the twin): qkv
        keeps its input; each pool keeps the grid it convolves (a contiguous copy, C*T*H*W), its
        norm's input (N'*C, the class token back in front) and the norm's mean and inverse std
        (2*heads*N', float32); new are q scaled (Nq*C), k and v as the score matmuls keep them
        (2*Nk*C: the pools' outputs, or copies of their slices of the packed qkv; with one head,
        the packed qkv itself, 3*N*C), the softmax weights (heads*Nq*Nk) and the heads' output
        before project (Nq*C). rel_pos: the query grid copied for each of the three products
        (3*Gq*C; with a head width of 1 torch.einsum broadcasts instead, keeping the query itself
        for the h and w terms: the pooled q, Nq*C, or the packed qkv when q is not pooled); once
        per model, the position tables gathered for the grids (sum of q_i*k_i*dh) and their int64
        indices (sum of q_i*k_i over t, h, w). The residual pooling add is in place: nothing.

        Exact at batch 2 and more. At batch 1 torch's reshapes keep views where a batch of two
        needs copies: k and v not pooled, the packed qkv (3*N*C) instead of 2*N*C; one head with
        rel_pos, the pooled q instead of the einsums' two copies (mvit_v2_s's blocks.0: 2*Gq*C -
        Nq*C = 2,408,352 elements fewer). With rel_pos, a query or key grid whose H or W is 1 also
        lets them keep views, a few C per sample either way; no mvit grid has one."""
        gm = self.geometry(xs[0])
        per_sample, stats, tables = self.saved_parts(gm)
        out = [Saved("x0"), Saved("new", per_sample), Saved("new", stats, "float32")]
        if self.rel_pos:
            out += [Saved("new", sum(tables) * gm.dh, per_sample=False),
                    Saved("new", sum(tables), "int64", per_sample=False)]
        return tuple(out)

    def saves_autocast(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Under autocast (measured): the same in the low dtype (the norms' statistics in
        float32), except that with a head width of 1 the h and w einsums, run as a broadcast
        multiply, keep their gathered tables in float32 (the temporal matmul casts its own)."""
        gm = self.geometry(xs[0])
        if not self.rel_pos or gm.dh > 1:
            return self.saves(xs, y)
        per_sample, stats, (t, h, w) = self.saved_parts(gm)
        return (Saved("x0"), Saved("new", per_sample), Saved("new", stats, "float32"),
                Saved("new", t * gm.dh, per_sample=False), Saved("new", (h + w) * gm.dh, "float32", per_sample=False),
                Saved("new", t + h + w, "int64", per_sample=False))

    def cast_weights(self, xs: list[Shape], y: Shape) -> int:
        """qkv and project (D*3C + C*C) and the pool convs' kernels; the norms' and the position
        tables are not multiplied by an autocast op's weight operand (the tables are gathered
        first: the gathered copy, per model, is what is kept)."""
        gm = self.geometry(xs[0])
        conv = (gm.dh * prod(self.axes("kernel_q")) if self.pools_q() else 0) + (
            2 * gm.dh * prod(self.axes("kernel_kv")) if self.pools_kv() else 0)
        return gm.d * 3 * gm.c + gm.c * gm.c + conv

    def saved_parts(self, gm: Geometry) -> tuple[int, int, tuple[int, int, int]]:
        """(elements per sample, float32 norm statistics per sample, the positions q_i*k_i of
        the gathered t, h and w tables, per model)."""
        c, h = gm.c, self.heads
        pooled_tokens = ([gm.nq] if self.pools_q() else []) + ([gm.nk] * 2 if self.pools_kv() else [])
        per_sample = sum(c * gm.g + tokens * c for tokens in pooled_tokens)
        per_sample += 2 * gm.nq * c + h * gm.nq * gm.nk
        # k and v: the pools' outputs, or copies of their slices of the packed qkv; with one
        # head the slices need no copy, and the score matmuls keep the packed qkv itself
        packed = not self.pools_kv() and h == 1
        per_sample += 0 if packed else 2 * gm.nk * c
        tables = (0, 0, 0)
        if self.rel_pos:
            per_sample += gm.gq * c  # the query grid copied for the temporal matmul
            if gm.dh > 1:
                per_sample += 2 * gm.gq * c  # and for each einsum
            elif self.pools_q():
                per_sample += gm.nq * c  # the pooled q itself
            else:
                packed = True  # q's slice of the packed qkv
            t, th, tw = (a * b for a, b in zip(gm.q, gm.k))
            tables = (t, th, tw)
        per_sample += 3 * gm.n * c if packed else 0
        return per_sample, 2 * h * sum(pooled_tokens), tables

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        gm = self.geometry(xs[0])
        d, c, dh = gm.d, gm.c, gm.dh
        t, h, w = self.grid
        cost = self.cost(xs, y)
        lines = [f"Tokens: N = 1 + T*H*W = 1 + {t}*{h}*{w} = {n(gm.n)} of D = {d}; the class token first",
                 f"Heads: {self.heads}, each of width dh = C / heads = {c} / {self.heads} = {dh}"]
        for name, key, grid, on in (("q", "q", gm.q, self.pools_q()), ("k, v", "kv", gm.k, self.pools_kv())):
            if not on:
                lines.append(f"{name}: not pooled, the {t}x{h}x{w} grid")
                continue
            kernel, stride = self.axes("kernel_" + key), self.axes("stride_" + key)
            pad = "x".join(str(k // 2) for k in kernel)
            lines.append(f"{name}: {'x'.join(map(str, kernel))} depthwise conv + LayerNorm, stride "
                         f"{'x'.join(map(str, stride))}, pad {pad} -> {'x'.join(map(str, grid))}")
            lines.append("  " + _axis_sums(self.grid, kernel, stride, tuple(k // 2 for k in kernel), grid))
        lines.append(f"Output shape = Nq x C = (1 + {gm.q[0]}*{gm.q[1]}*{gm.q[2]}) x {c} = {fmt_shape(y)}")
        lines.append(f"Params = qkv D*3C + 3C = {d}*{3 * c} + {3 * c} = {n(d * 3 * c + 3 * c)}")
        lines.append(f"  + project C*C + C = {c}*{c} + {c} = {n(c * c + c)}")
        pools = self.pools(gm)
        if pools:
            kq, kkv = prod(self.axes("kernel_q")), prod(self.axes("kernel_kv"))
            conv = " + ".join(([f"{dh}*{kq}"] if self.pools_q() else []) + ([f"2*{dh}*{kkv}"] if self.pools_kv() else []))
            weights = (dh * kq if self.pools_q() else 0) + (2 * dh * kkv if self.pools_kv() else 0)
            lines.append(f"  + pool convs dh*k = {conv} = {n(weights)}; norms {pools}*2*{dh} = {n(pools * 2 * dh)}")
        if self.rel_pos:
            spatial, temporal = self.tables(gm)
            lines.append(f"  + rel_pos tables (2*S + Tt)*dh = (2*{spatial} + {temporal})*{dh} = "
                         f"{n((2 * spatial + temporal) * dh)}")
        lines.append(f"  = {n(cost.weights + cost.biases)}")
        lines.append(f"Flop (multiply-adds) = qkv N*D*3C = {gm.n}*{d}*{3 * c} = {n(gm.n * d * 3 * c)}")
        if pools:
            terms = ([f"{gm.gq}*{prod(self.axes('kernel_q'))}"] if self.pools_q() else []) + (
                [f"2*{gm.gk}*{prod(self.axes('kernel_kv'))}"] if self.pools_kv() else [])
            lines.append(f"  + pool convs C*G*k = {c}*({' + '.join(terms)}) = {n(self.pool_macs(gm))}")
        lines.append(f"  + q k^T, weights x v 2*Nq*Nk*C = 2*{gm.nq}*{gm.nk}*{c} = {n(2 * gm.nq * gm.nk * c)}")
        if self.rel_pos:
            kt, kh, kw = gm.k
            lines.append(f"  + rel_pos C*Gq*(Kt+Kh+Kw) = {c}*{gm.gq}*({kt}+{kh}+{kw}) = {n(c * gm.gq * (kt + kh + kw))}")
        lines.append(f"  + project Nq*C*C = {gm.nq}*{c}*{c} = {n(gm.nq * c * c)}")
        lines.append(f"  = {n(cost.macs)}")
        return lines

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.mvit import PoolAttention as Twin

        return Twin(xs[0][1], self.out or xs[0][1], self.heads, self.grid, self.axes("kernel_q"),
                    self.axes("stride_q"), self.axes("kernel_kv"), self.axes("stride_kv"), self.residual_pool,
                    self.rel_pos)


# ---- token_maxpool ----------------------------------------------------------------------------

@register("token_maxpool")
class TokenMaxPool(_OnGrid):
    """Max pooling of the T x H x W grid of N x C tokens, the class token kept aside and put back
    in front: torchvision's Pool(nn.MaxPool3d(kernel, stride, pad), None), MViT's skip path
    where the query is pooled (kernel s + 1 where the stride s > 1, padding kernel // 2).

    per axis: out = (in + 2*pad - kernel) // stride + 1;  output (1 + T'*H'*W') x C
    params = 0;  macs = C * T'*H'*W' * kt*kh*kw (the lecture's pooling flop: window reads)
    """

    doc_row = DocRow("any", "`kernel`, `stride` (= kernel), `pad` (0), `grid` ([T, H, W]); on `N × C`, N = 1 + T·H·W",
                     "`(1 + T'·H'·W') × C`", "0", "`C·T'·H'·W'·kt·kh·kw`")

    category = "pooling"
    kernel: Any = arg("axes+", doc="window size: k, or [kt, kh, kw] (mvit: [1, 3, 3])")
    stride: Any = arg("axes+", None, doc="defaults to the kernel size (mvit: [1, 2, 2])")
    pad: Any = arg("axes0", 0, doc="zeros before and after each axis (mvit: kernel // 2)")
    window_reads = True
    # CPU autocast has max_pool3d on its float32 list: the grid is cast up (the float32 copy is
    # what it keeps) and the output, the class token promoted by the concatenation, is float32;
    # CUDA's list has no max_pool3d
    autocast, autocast_cuda = "float32", "follow"
    # ptflops: the MaxPool3d hook counts numel(input), the grid C*T*H*W, and the patched
    # F.max_pool3d it calls counts it again; fvcore: no handle for max_pool3d; torchinfo: no
    # parameters; thop: zero_ops; FlopCounterMode: no formula for pooling
    counts = rules(ptflops=lambda f: 2 * f.xs[0][1] * prod(f.op.grid))  # type: ignore[attr-defined]
    samples = (({"kernel": [1, 3, 3], "stride": [1, 2, 2], "pad": [0, 1, 1], "grid": [2, 4, 4]}, [(33, 6)]),
               ({"kernel": 3, "stride": 2, "pad": 1, "grid": [3, 5, 5]}, [(76, 4)]),
               ({"kernel": 2, "grid": [2, 2, 3]}, [(13, 3)]))
    sample_inputs = ((33, 6),)

    def out_grid(self) -> Grid:
        kernel, pad = self.axes("kernel"), self.axes("pad")
        stride = kernel if self.stride is None else self.axes("stride")
        t, h, w = ((g + 2 * p - k) // s + 1 for g, k, s, p in zip(self.grid, kernel, stride, pad))
        return t, h, w

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        x = xs[0]
        self.check_tokens(x, span)
        kernel, pad = self.axes("kernel", span), self.axes("pad", span)
        if self.stride is not None:
            self.axes("stride", span)
        for k, p in zip(kernel, pad):
            if 2 * p > k:  # torch: "pad should be at most half of effective kernel size"
                raise ShapeError(span, f"token_maxpool: pad {p} is more than half the kernel {k}",
                                 "pooling padding may be at most kernel // 2")
        for axis, g, k, p in zip("thw", self.grid, kernel, pad):
            if g + 2 * p < k:
                raise ShapeError(span, f"token_maxpool: kernel {k} is larger than the padded grid {g}+2*{p} = "
                                 f"{g + 2 * p} along {axis}", "the grid is too small for this window")
        t, h, w = self.out_grid()
        return (1 + t * h * w, x[1])

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost(macs=xs[0][1] * prod(self.out_grid()) * prod(self.axes("kernel")))

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """MaxPool3d keeps its input, the grid Pool copies out of the tokens (C*T*H*W: a
        transposed reshape, not a view; under CPU autocast its float32 cast), and the argmax of
        every window (C*T'*H'*W', int64); the split and the concatenation keep nothing
        (measured on torchvision's Pool)."""
        c = xs[0][1]
        return (Saved("new", c * prod(self.grid)), Saved("new", c * prod(self.out_grid()), "int64"))

    def workspace(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """In inference too: the grid copy MaxPool3d reads and the argmax it returns."""
        return self.saves(xs, y)

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        c = xs[0][1]
        kernel, pad = self.axes("kernel"), self.axes("pad")
        stride = kernel if self.stride is None else self.axes("stride")
        out = self.out_grid()
        t, h, w = self.grid
        return [f"Grid {t}x{h}x{w} (the class token kept aside), pooled per axis:",
                "  " + _axis_sums(self.grid, kernel, stride, pad, out),
                f"Output shape = (1 + T'*H'*W') x C = (1 + {out[0]}*{out[1]}*{out[2]}) x {c} = {fmt_shape(y)}",
                "Params: pooling layers have no learnable parameters! = 0",
                f"Flop = (C * T'*H'*W') * (kt*kh*kw) = ({c} * {prod(out)}) * ({'*'.join(map(str, kernel))})",
                f"  = {n(c * prod(out) * prod(kernel))}"]

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.mvit import TokenMaxPool as Twin

        kernel = self.axes("kernel")
        return Twin(kernel, kernel if self.stride is None else self.axes("stride"), self.axes("pad"), self.grid)


# ---- st_pos_encoding --------------------------------------------------------------------------

@register("st_pos_encoding")
class StPosEncoding(_OnGrid):
    """MViT's spatio-temporal class positional encoding on the T*H*W x D grid tokens:
    torchvision's PositionalEncoding. The class token (a learned D-vector) is put in front; with
    pos_embed (v1) a learned position is added to every token: temporal_pos[t] + spatial_pos[h, w]
    for the grid's tokens (a T x D and an H*W x D table, separable), class_pos for the class token.
    v2 leaves the positions to its attention (pos_embed: false): the class token alone.

    output (1 + T*H*W) x D
    params = D (class token) + pos_embed: (H*W + T + 1) * D
    macs = 0; elem_ops = pos_embed: T*H*W*D (the two tables summed) + (1 + T*H*W)*D (added)
    """

    doc_row = DocRow("any", "`grid` ([T, H, W]), `pos_embed` (true); on `T·H·W × D` tokens",
                     "`(1 + T·H·W) × D`", "`D` + pos_embed `(H·W + T + 1)·D`", "0 (pos_embed: 2 ops/element)")

    grid: tuple[int, ...] = arg("ints", doc="[T, H, W]: the grid of the input tokens, N = T*H*W (conv_proj's map)",
                                example="[8, 56, 56] (mvit's 16 x 224 x 224 clip after conv_proj)")
    pos_embed: bool = arg("bool", True, doc="v1's learned separable position embedding; false: the class token only")
    ranks, layout = (2,), "N x D tokens (a T x H x W grid, before the class token)"
    autocast = "float32_out"  # the float32 class token (and positions) join the input: type promotion
    counts = rules()  # parameters merged in by cat and add_: no tool counts them
    samples = (({"grid": [2, 3, 3]}, [(18, 8)]), ({"grid": [2, 3, 3], "pos_embed": False}, [(18, 8)]))
    sample_inputs = ((18, 8),)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        x = xs[0]
        t, h, w = self.grid
        if x[0] != t * h * w:
            raise ShapeError(span, f"st_pos_encoding: {x[0]:,} tokens are not T*H*W = {t}*{h}*{w} = {t * h * w:,} "
                             f"(the grid {list(self.grid)})",
                             "grid: is the T x H x W of the map the tokens were flattened from (conv_proj's output)")
        return (1 + x[0], x[1])

    def param_tensors(self, xs: list[Shape], y: Shape) -> tuple[int, ...]:
        """The class token, then (pos_embed) the spatial, temporal and class positions."""
        t, h, w = self.grid
        d = xs[0][1]
        return (d, h * w * d, t * d, d) if self.pos_embed else (d,)

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        t, h, w = self.grid
        d = xs[0][1]
        if not self.pos_embed:
            return Cost(weights=d)
        return Cost(weights=d + (h * w + t + 1) * d, elem_ops=t * h * w * d + (1 + t * h * w) * d)


    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        t, h, w = self.grid
        d = xs[0][1]
        lines = [f"Output shape = (1 + T*H*W) x D = (1 + {t}*{h}*{w}) x {d} = {fmt_shape(y)}",
                 "  (the class token in front)"]
        if not self.pos_embed:
            return [*lines, f"Params = class token D = {d}", "Flop (multiply-adds): none counted"]
        cost = self.cost(xs, y)
        return [*lines,
                "Params = class token D + spatial_pos H*W*D + temporal_pos T*D + class_pos D",
                f"  = {d} + {h}*{w}*{d} + {t}*{d} + {d} = {n(cost.weights)}",
                f"Flop (multiply-adds): none counted ({n(cost.elem_ops)} elementwise ops:",
                "  the positions summed and added, outside the lecture's flop column)"]

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.mvit import PositionalEncoding as Twin

        t, h, w = self.grid
        return Twin(xs[0][1], (h, w), t, not self.pos_embed)

