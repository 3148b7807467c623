"""Attention: multi-head self-attention over N x D tokens, as torch's nn.MultiheadAttention.

Stage: ops (pure). In: op spec + an N x D input. Out: Shape and Cost. torch is imported only
inside to_torch(). Counting rules: docs/conventions.md#attention. The same computation can be
written from primitives (linear, chunk, reshape, permute, matmul, softmax; docs/spec.md); this
op exists because the counting tools see nn.MultiheadAttention as one module, and count it as
one (fvcore: the projections only; thop and torchinfo: nothing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.errors import ShapeError, Span
from cnncalc.ops.registry import Cost, DocRow, Layer, OpDef, Saved, Shape, arg, n, register, rules, two_per_mac, zero

if TYPE_CHECKING:
    from torch import nn


def _fvcore(f: Layer) -> int:
    """fvcore traces the in and out projections (aten::linear, bias ignored: N*D*3D + N*D*D) and
    skips aten::scaled_dot_product_attention (no handle): the scores and the weighted sum are 0."""
    n_tok, d = f.xs[0]
    return 4 * n_tok * d * d


def _ptflops(f: Layer) -> int:
    """ptflops/pytorch_ops.py multihead_attention_counter_hook, self-attention:
    N*D (scaling q) + 3*N*D*D (+ 3*N*D bias) + heads * (2*N*N*dh + N*N) (scores, softmax, sum)
    + N*D*D (+ N*D bias) (out projection)."""
    n_tok, d = f.xs[0]
    heads = f.op.heads  # type: ignore[attr-defined]
    bias = f.op.bias  # type: ignore[attr-defined]
    dh = d // heads
    return (n_tok * d + 3 * n_tok * d * d + (3 * n_tok * d if bias else 0)
            + heads * (2 * n_tok * n_tok * dh + n_tok * n_tok) + n_tok * d * d + (n_tok * d if bias else 0))


@register("attention", "mha")
class Attention(OpDef):
    """Multi-head self-attention on N x D tokens (nn.MultiheadAttention(D, heads), query = key =
    value = the input): q, k, v = x W_in (one N x D -> N x 3D projection), per head softmax(q k^T /
    sqrt(dh)) v with dh = D / heads, then the N x D -> N x D out projection.

    params = 3*D*D + 3*D (in projection) + D*D + D (out projection)   (bias: false drops the +)
    macs   = N*D*3D (q, k, v) + heads*N*N*dh (q k^T) + heads*N*N*dh (weights x v) + N*D*D (out)
           = 4*N*D*D + 2*N*N*D
    """
    doc_row = DocRow("any", "`heads`, `bias` (true); on `N × D` tokens", "same", "`4·D² (+4·D)`", "`4·N·D² + 2·N²·D`")

    category = "attention"
    heads: int = arg("int+", doc="attention heads; must divide D")
    bias: bool = arg("bool", True)
    ranks, layout = (2,), "N x D tokens"
    autocast = "low"
    counts = rules(
        # FlopCounterMode with the MHA fast path off and the math SDPA backend: addmm for the
        # projections, bmm for q k^T and weights x v, 2 per multiply-add
        torch=two_per_mac,
        fvcore=_fvcore,
        ptflops=_ptflops,
        # torchinfo: not a leaf module (it holds out_proj, which it never calls): no mult-adds
        torchinfo=zero,
        thop=zero,  # no rule for nn.MultiheadAttention
    )
    samples = ({"heads": 2}, {"heads": 3, "bias": False})
    sample_inputs = ((5, 12),)

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """nn.MultiheadAttention (batch_first, math backend), per sample, all new tensors: the
        input transposed to sequence-first and copied for the in projection (N*D), the packed
        q, k, v projection (3*N*D), q scaled and k transposed per head (2*N*D), the softmax
        weights (heads*N*N) and the heads' output before out_proj (N*D): 7*N*D + heads*N*N."""
        n, d = xs[0]
        return (Saved("new", 7 * n * d + self.heads * n * n),)

    def saves_autocast(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Under CPU autocast (measured): the in projection's input copy and the heads' output in
        the low dtype (2*N*D); the math path casts q (scaled), k and v up to float32 (3*N*D) and
        keeps the softmax weights in float32 (heads*N*N)."""
        n, d = xs[0]
        return (Saved("new", 2 * n * d), Saved("new", 3 * n * d + self.heads * n * n, "float32"))

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        if xs[0][1] % self.heads:
            raise ShapeError(span, f"attention: heads={self.heads} must divide the {xs[0][1]} features")
        return xs[0]

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        n_tok, d = xs[0]
        return Cost(weights=4 * d * d, biases=4 * d if self.bias else 0,
                    macs=4 * n_tok * d * d + 2 * n_tok * n_tok * d,
                    elem_ops=n_tok * d + 3 * self.heads * n_tok * n_tok)  # scaling q; softmax 3 per score

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        n_tok, d = xs[0]
        h, dh = self.heads, d // self.heads
        b = self.bias
        params = 4 * d * d + (4 * d if b else 0)
        return [
            f"Output shape = input shape = {n_tok} x {d} (N tokens x D features), {h} heads of dh = D / heads = {dh}",
            f"Params = in projection (D x 3D{' + 3D' if b else ''}) + out projection (D x D{' + D' if b else ''}) = "
            f"{d} * {3 * d}{f' + {3 * d}' if b else ''} + {d} * {d}{f' + {d}' if b else ''} = {n(params)}",
            f"Flop (multiply-adds) = q, k, v: N * D * 3D = {n_tok} * {d} * {3 * d} = {n(3 * n_tok * d * d)}; "
            f"scores q k^T: heads * N * N * dh = {h} * {n_tok} * {n_tok} * {dh} = {n(n_tok * n_tok * d)}; "
            f"weights x v: the same {n(n_tok * n_tok * d)}; out: N * D * D = {n(n_tok * d * d)}; "
            f"total {n(4 * n_tok * d * d + 2 * n_tok * n_tok * d)}",
        ]

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import SelfAttention

        return SelfAttention(xs[0][1], self.heads, self.bias)
