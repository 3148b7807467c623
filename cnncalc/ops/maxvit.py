"""Multi-axis (window and grid) partitions and relative-position attention on groups of tokens:
MaxViT's layers, as torchvision builds them (torchvision.models.maxvit).

Stage: ops (pure). In: op spec + input shapes. Out: Shape and Cost. torch is imported only inside
to_torch() (the twins are in cnncalc/torchcheck/maxvit.py).

A C x H x W map cut by `size` s (s must divide H and W) gives G = (H/s)*(W/s) groups of N = s*s
tokens, G x N x C: in `window` mode each group is one s x s block of neighbours; in `grid` mode
each group is s x s positions spread evenly over the whole map, (H/s, W/s) apart (torchvision:
WindowPartition by H/s, then SwapAxes(-2, -3)). torchvision's PartitionAttentionLayer runs
LayerNorm, RelativePositionalMultiHeadAttention and an MLP on these groups, then puts the map back.

Counting tools on torchvision's modules (measured, torchvision 0.29.1; docs/profiles.md versions):
the partitions are reshapes and permutes (no tool counts them). The attention's to_qkv and merge
are nn.Linear children that ARE called (unlike Swin's), so the module hooks see them; its two
score products are torch.einsum, which FlopCounterMode and fvcore count but ptflops does not patch.
"""

from __future__ import annotations

from math import isqrt
from typing import TYPE_CHECKING

from cnncalc.errors import ShapeError, Span
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

if TYPE_CHECKING:
    from torch import nn


MODE_DOC = ("window: each group an s x s block of neighbours; grid: s x s positions spread over "
            "the whole map (H/s, W/s apart)")


def _einsum_fvcore(count: int) -> int:
    """fvcore's einsum_flop_jit on a contraction numpy counts as `count` = 2 x its multiply-adds:
    it reads np.einsum_path's "Optimized FLOP count" line, printed with 4 significant digits
    (%.3e), and halves it with floor: floor(float('%.3e' % count) / 2)."""
    return int(float(f"{count:.3e}") // 2)


@register("partition")
class Partition(OpDef):
    """A C x H x W map cut into G = (H/s)*(W/s) groups of N = s*s tokens, G x N x C (MaxViT's
    block or grid partition; torchvision's WindowPartition, followed in grid mode by SwapAxes).
    s must divide H and W (torchvision asserts it).

    params = 0; macs = 0 (a reshape and a permute: data movement; no tool counts it)
    """
    doc_row = DocRow("any",
        "`size` (s), `mode` (window: s × s neighbours; grid: s × s positions spread over the map); on `C × H × W`, s divides H and W",
        "`G × N × C`, G = (H/s)·(W/s), N = s²")

    size: int = arg("int+", doc="s: the window side (window) or the grid side (grid); MaxViT: 7")
    mode: str = arg("in:window,grid", "window", doc=MODE_DOC)
    ranks, layout = (3,), "a C x H x W feature map"
    counts = rules()
    samples = ({"size": 2}, {"size": 2, "mode": "grid"}, {"size": 3, "mode": "grid"})
    sample_inputs = ((5, 6, 12),)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        c, h, w = xs[0]
        s = self.size
        if h % s or w % s:
            raise ShapeError(span, f"partition: size {s} must divide H and W of {fmt_shape(xs[0])}",
                             "torchvision's MaxViT needs every stage's map divisible by the partition size")
        return ((h // s) * (w // s), s * s, c)

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        c, h, w = xs[0]
        s = self.size
        return [f"Output shape = G x N x C = (H/s)*(W/s) x s*s x C = ({h}/{s})*({w}/{s}) x {s}*{s} x {c} = "
                f"{fmt_shape(y)} ({self.mode} groups)", "Params: none", "Flop: none (tokens regrouped)"]

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.maxvit import Partition as Twin

        return Twin(self.size, self.mode, xs[0][1], xs[0][2])


@register("unpartition")
class Unpartition(OpDef):
    """The inverse of partition: G x N x C groups of N = s*s tokens put back into a C x H x W map
    (torchvision: SwapAxes in grid mode, then WindowDepartition). H is `height`, or, when 0,
    the map is square: H = W = sqrt(G*N); W = G*N / H.

    params = 0; macs = 0 (a permute and a reshape; no tool counts it)
    """
    doc_row = DocRow(
        "any",
        "`size`, `mode` (window), `height` (0: a square map); on `G × N × C`",
        "the `C × H × W` map `partition` cut")

    size: int = arg("int+", doc="s, as in the partition it undoes")
    mode: str = arg("in:window,grid", "window", doc=MODE_DOC)
    height: int = arg("int0", 0, doc="H of the map; 0: a square map")
    ranks, layout = (3,), "G x N x C groups of tokens"
    counts = rules()
    samples = ({"size": 2}, {"size": 2, "mode": "grid"}, {"size": 2, "mode": "grid", "height": 4})
    sample_inputs = ((4, 4, 6),)

    def map_size(self, x: Shape) -> tuple[int, int] | None:
        """(H, W) of the map the groups came from, or None when they fit none."""
        g, tokens, _ = x
        s, total = self.size, x[0] * x[1]
        if tokens != s * s:
            return None
        h = self.height or isqrt(total)
        if total % h:
            return None
        w = total // h
        if h % s or w % s or (h // s) * (w // s) != g:
            return None
        return h, w

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        hw = self.map_size(xs[0])
        if hw is None:
            shape = "a square map" if not self.height else f"a map of height {self.height}"
            raise ShapeError(span, f"unpartition: {fmt_shape(xs[0])} is not {shape} cut by size {self.size} "
                             f"(N must be {self.size}*{self.size}, G*N = H*W with s dividing H and W)",
                             "give the map's height, or undo the partition with the same size")
        return (xs[0][2], *hw)

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        g, tokens, c = xs[0]
        return [f"Output shape = C x H x W = {c} x {y[1]} x {y[2]} ({g} {self.mode} groups of {tokens} tokens "
                f"put back) = {fmt_shape(y)}", "Params: none", "Flop: none (tokens regrouped)"]

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.maxvit import Unpartition as Twin

        hw = self.map_size(xs[0])
        assert hw is not None
        return Twin(self.size, self.mode, *hw)


def _scores(f: Layer) -> int:
    """G * heads * N * N: the attention scores (what ptflops' patched F.softmax counts)."""
    g, tokens, _ = f.xs[0]
    return g * f.op.heads * tokens * tokens  # type: ignore[attr-defined]


def _einsums(f: Layer) -> int:
    """One score einsum (q k^T or weights x v) over all groups and heads: G*N*N*C multiply-adds."""
    g, tokens, c = f.xs[0]
    return g * tokens * tokens * c


def _torch(f: Layer) -> int:
    """FlopCounterMode: 2 per multiply-add of the linears (mm / addmm) and of each einsum that
    torch runs as a bmm; an einsum whose summed axis has size 1 (q k^T with head width 1,
    weights x v with N = 1) it runs as an elementwise mul, which FlopCounterMode does not count."""
    _, tokens, c = f.xs[0]
    dropped = (c // f.op.heads == 1) + (tokens == 1)  # type: ignore[attr-defined]
    return 2 * (f.cost.macs - dropped * _einsums(f))


def _fvcore(f: Layer) -> int:
    """aten::linear (no bias) for to_qkv and merge, 4*G*N*C*C, exact; each einsum as
    _einsum_fvcore rounds it (at batch 1; at batch b fvcore rounds the batch's einsum instead)."""
    g, tokens, c = f.xs[0]
    return 4 * g * tokens * c * c + 2 * _einsum_fvcore(2 * _einsums(f))


@register("rel_attention")
class RelAttention(OpDef):
    """Multi-head self-attention within each of G groups of N = s*s tokens (G x N x C), with a
    learned relative position bias: torchvision's RelativePositionalMultiHeadAttention (MaxViT).
    to_qkv = linear C -> 3C; per head, softmax(q (k / sqrt(C)) ^T + bias) v (torchvision scales by
    the full width C, not the head width); merge = linear C -> C. The bias comes from a table of
    (2s-1)^2 relative offsets x heads (the index is a buffer), N must be s*s.

    params = C*3C + 3C (to_qkv) + C*C + C (merge) + (2s-1)^2 * heads (bias table)
    macs   = G * (4*N*C*C + 2*N*N*C)
    """
    doc_row = DocRow(
        "any",
        "`heads`, `size` (s, N = s²); on `G × N × C`",
        "same",
        "`4·C² + 4·C + (2s−1)²·heads`",
        "`G·(4·N·C² + 2·N²·C)`")

    category = "attention"
    heads: int = arg("int+", doc="attention heads; must divide C (torchvision: C / head_dim, head_dim 32)")
    size: int = arg("int+", doc="s: the group's side, N = s*s tokens (MaxViT: 7)")
    ranks, layout = (3,), "G x N x C groups of tokens (after partition)"
    autocast = "low"
    counts = rules(
        torch=_torch,  # linear -> mm / addmm, einsum -> bmm: 2 per multiply-add
        fvcore=_fvcore,
        # ptflops: the to_qkv / merge nn.Linear hooks, (C*out + out bias) per token, G*N*(4C^2 + 4C);
        # F.softmax patched: the scores; torch.einsum, `k * scale` and `+ bias` are not patched
        ptflops=lambda f: f.xs[0][0] * f.xs[0][1] * (4 * f.xs[0][2] ** 2 + 4 * f.xs[0][2]) + _scores(f),
        # torchinfo: the two called nn.Linear leaves, their parameters once per sample (the table
        # belongs to the attention module itself, not a leaf: not counted)
        torchinfo=lambda f: 4 * f.xs[0][2] ** 2 + 4 * f.xs[0][2],
        # thop: count_linear on to_qkv and merge, in_features * numel(output): 4*G*N*C*C
        thop=lambda f: 4 * f.xs[0][0] * f.xs[0][1] * f.xs[0][2] ** 2,
    )
    samples = ({"heads": 2, "size": 2}, {"heads": 3, "size": 2}, {"heads": 12, "size": 2})  # 12: head width 1
    sample_inputs = ((4, 4, 12),)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        x = xs[0]
        if x[2] % self.heads:
            raise ShapeError(span, f"rel_attention: heads={self.heads} must divide the {x[2]} channels of "
                             f"{fmt_shape(x)}", "the input is G x N x C: partition a C x H x W map first")
        if x[1] != self.size * self.size:
            raise ShapeError(span, f"rel_attention: size {self.size} takes groups of {self.size}*{self.size} = "
                             f"{self.size * self.size} tokens, got N = {x[1]} in {fmt_shape(x)}",
                             "use the partition's size")
        return x

    def param_tensors(self, xs: list[Shape], y: Shape) -> tuple[int, ...]:
        """The relative position bias table, to_qkv's and merge's weight and bias."""
        c = xs[0][-1]
        return (self.table(), 3 * c * c, 3 * c, c * c, c)

    def buffers(self, xs: list[Shape], y: Shape) -> tuple[int, int]:
        """relative_position_index: (size^2)^2, int64."""
        return (0, self.size ** 4)

    def table(self) -> int:
        return (2 * self.size - 1) ** 2 * self.heads

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """torchvision's RelativePositionalMultiHeadAttention, per sample over T = G*N tokens
        (measured): to_qkv keeps its input; new are q and v copied for their einsums, k scaled,
        the softmax weights (heads*T*N) and the heads' output before merge (T*C): 4*T*C +
        heads*T*N. With a head width of 1, torch.einsum contracts by broadcasting instead of a
        batched matmul and keeps two more T*C copies."""
        g, tokens, c = xs[0]
        t = g * tokens
        extra = 2 * t * c if c == self.heads else 0
        return (Saved("x0"), Saved("new", 4 * t * c + self.heads * t * tokens + extra))

    def saves_autocast(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Under autocast (measured): the same in the low dtype, and the scores plus the float32
        bias table are promoted, so the softmax weights are kept in float32 as well (heads*T*N)."""
        g, tokens, _ = xs[0]
        return (*self.saves(xs, y), Saved("new", self.heads * g * tokens * tokens, "float32"))

    def cast_weights(self, xs: list[Shape], y: Shape) -> int:
        """to_qkv and merge (4*C*C); the bias table is added, not multiplied, and stays float32."""
        return 4 * xs[0][2] ** 2

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        g, tokens, c = xs[0]
        # elementwise: k * scale (G*N*C); per score the bias add and softmax's 3
        return Cost(weights=4 * c * c + self.table(), biases=4 * c,
                    macs=g * (4 * tokens * c * c + 2 * tokens * tokens * c),
                    elem_ops=g * tokens * c + 4 * g * self.heads * tokens * tokens)

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        g, tokens, c = xs[0]
        s = self.size
        cost = self.cost(xs, y)
        return [
            f"Output shape = input shape = {fmt_shape(y)} (G x N x C): {g} groups of N = {tokens} tokens, "
            f"{self.heads} heads",
            f"Params = to_qkv (C*3C + 3C) + merge (C*C + C) + bias table (2s-1)^2*heads = "
            f"{c}*{3 * c} + {3 * c} + {c}*{c} + {c} + {2 * s - 1}^2*{self.heads} = "
            f"{n(4 * c * c + 4 * c)} + {n(self.table())}",
            f"Flop (multiply-adds) = G * (to_qkv N*C*3C + q k^T N*N*C + weights x v N*N*C + merge N*C*C) = "
            f"{g} * ({tokens}*{c}*{3 * c} + 2*{tokens}*{tokens}*{c} + {tokens}*{c}*{c}) = {n(cost.macs)}",
            f"Total: params {n(cost.weights + cost.biases)}, multiply-adds {n(cost.macs)}",
        ]

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.maxvit import RelAttention as Twin

        return Twin(xs[0][2], self.heads, self.size)

