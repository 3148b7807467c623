"""Attention: multi-head self-attention over N x D tokens, as torch's nn.MultiheadAttention.

Stage: ops (pure). In: op spec + an N x D input. Out: Shape and Cost. torch is imported only
inside to_torch(). Counting rules: docs/conventions.md#attention. The same computation can be
written from primitives (linear, chunk, reshape, permute, matmul, softmax; docs/spec.md); this
op exists because the counting tools see nn.MultiheadAttention as one module, and count it as
one (fvcore: the projections only; thop and torchinfo: nothing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.errors import ShapeError, Span, UsageError
from cnncalc.ops import sdpa
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
        """The math kernel's (saves_attention); the engine asks for the kernel torch picks."""
        return self.saves_attention(xs, y, "math", "float32", "cpu")

    def saves_autocast(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """The math kernel's under autocast, q, k and v in the low dtype (saves_attention)."""
        return self.saves_attention(xs, y, "math", "bfloat16", "cpu")

    def attention_kernel(self, xs: list[Shape], device: str, dtype: str, attention: str | None = None) -> str | None:
        """What F.scaled_dot_product_attention runs inside nn.MultiheadAttention's training
        forward (need_weights=False, no mask, dropout 0): heads x N x dh per sample (sdpa.py)."""
        n, d = xs[0]
        if attention is None:
            return sdpa.attention_kernel(device, dtype, self.heads, n, d // self.heads)
        sdpa.check_kernel(attention)
        why = sdpa.kernel_refusal(attention, device, dtype, self.heads, n, d // self.heads)
        if why:
            raise UsageError(None, f"attention={attention!r} cannot run {n} x {d} attention in {dtype} on {device}: "
                             f"{why}", "leave attention out for the kernel torch picks", param="attention")
        return attention

    def saves_attention(self, xs: list[Shape], y: Shape, kernel: str, dtype: str, device: str) -> tuple[Saved, ...]:
        """nn.MultiheadAttention (batch_first, training, need_weights=False), per sample (from a
        batch of 2: at batch 1 some copies are views), every storage its forward keeps, with
        N tokens of D features, heads h, dh = D / h. All kernels keep the input transposed to
        sequence-first and copied for the in projection (N*D) and the packed q, k, v (3*N*D).

        math: q scaled and k transposed per head (2*N*D), the softmax weights (h*N*N) and the
        heads' output copied for out_proj (N*D): 7*N*D + h*N*N. With q, k, v in float16 or
        bfloat16 (autocast, or a model held so) math casts q (scaled), k and v up to float32
        and keeps the weights in float32: 2*N*D low + 3*N*D + h*N*N float32.
        flash (CPU): the output, whose storage out_proj reads without a copy (laid out as q),
        and the log-sum-exp per head and row, h*N in float32 (float64 for a float64 model):
        5*N*D + h*N float32. math and flash are measured on the CPU in float32, float64,
        bfloat16 and float16 and under autocast (tests/test_attention_kernels.py).

        CUDA, read from torch's source and run on meta tensors (its meta functions give each
        kernel's outputs and their layout), not measured on a GPU (none lent). flash: as on the
        CPU; where dh is not a multiple of 8 sdpa pads q, k, v to p = 8*ceil(dh/8), and the
        padded copies (3*N*h*p), the padded output (N*h*p) and out_proj's copy of the output
        (N*D) are kept instead of the packed q, k, v: 2*N*D + 4*N*h*p + h*N float32.
        efficient: a fresh output (N*D) that out_proj copies (N*D), the log-sum-exp padded to
        rows of 32: 6*N*D + 32*ceil(N/32)*h float32. cudnn: as flash, the output laid out as q:
        5*N*D + h*N float32. Each fused CUDA kernel also keeps its RNG state on the GPU, per
        layer, not per sample: 24 bytes (flash: 2 + 1 uint64), 16 (efficient, cudnn: 2 int64)."""
        n, d = xs[0]
        h = self.heads
        if kernel == "math":
            if dtype in sdpa.LOW:
                return (Saved("new", 2 * n * d), Saved("new", 3 * n * d + h * n * n, "float32"))
            return (Saved("new", 7 * n * d + h * n * n),)
        lse = "act" if dtype == "float64" else "float32"  # torch's computation dtype of q's
        if device != "cuda":
            return (Saved("new", 5 * n * d), Saved("new", h * n, lse))
        rng = (Saved("new", 3 if kernel == "flash" else 2, "int64", per_sample=False),)  # 8-byte words a layer
        if kernel == "efficient":
            return (Saved("new", 6 * n * d), Saved("new", -(-n // 32) * 32 * h, lse), *rng)
        p = -(-(d // h) // 8) * 8  # flash pads q, k, v to a multiple of 8 (cudnn refuses others)
        if p != d // h:
            return (Saved("new", 2 * n * d + 4 * n * h * p), Saved("new", h * n, lse), *rng)
        return (Saved("new", 5 * n * d), Saved("new", h * n, lse), *rng)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        if xs[0][1] % self.heads:
            raise ShapeError(span, f"attention: heads={self.heads} must divide the {xs[0][1]} features")
        return xs[0]

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        n_tok, d = xs[0]
        return Cost(weights=4 * d * d, biases=4 * d if self.bias else 0,
                    macs=4 * n_tok * d * d + 2 * n_tok * n_tok * d,
                    elem_ops=n_tok * d + 3 * self.heads * n_tok * n_tok)  # scaling q; softmax 3 per score

    def param_tensors(self, xs: list[Shape], y: Shape) -> tuple[int, ...]:
        """nn.MultiheadAttention's in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias."""
        d = xs[0][1]
        return (3 * d * d, 3 * d, d * d, d) if self.bias else (3 * d * d, d * d)

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
