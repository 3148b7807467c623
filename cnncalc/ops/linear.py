"""Linear algebra: linear (on the last axis of any rank), matmul of two activations, and
flatten, which feeds a classifier's linear layers.

Stage: ops (pure). In: op spec + input Shapes. Out: Shape and Cost.
torch is imported only inside to_torch(). Counting rules: docs/conventions.md#linear.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.errors import ShapeError, Span
from cnncalc.ops.registry import (
    Cost,
    DocRow,
    OpDef,
    Pair,
    Saved,
    Shape,
    Window,
    arg,
    axis_index,
    fmt_shape,
    macs,
    n,
    numel,
    register,
    rules,
    two_per_mac,
    zero,
)

if TYPE_CHECKING:
    from torch import nn


@register("flatten")
class Flatten(OpDef):
    """Axes start..end (inclusive, batch excluded) merged into one: C x H x W -> C*H*W features by
    default (the lecture's "flatten" row: 256*6*6 = 9216); {start: 1} turns a 768 x 14 x 14 map
    into 768 x 196 (ViT's patches, before a permute to 196 x 768 tokens).

    params = 0; macs = 0 (a view: no arithmetic)
    """
    doc_row = DocRow("any", "`start` (0), `end` (-1)", "axes `start..end` merged into one")

    view = True  # the output is a view of the input's storage

    start: int = arg("int", 0, doc="first axis merged (batch excluded)")
    end: int = arg("int", -1, doc="last axis merged, inclusive")
    counts = rules()  # a view: no tool counts it
    samples = ({}, {"start": 1})

    def axes(self, x: Shape, span: Span | None) -> tuple[int, int]:
        first, last = axis_index(self.start, len(x), "flatten", span), axis_index(self.end, len(x), "flatten", span)
        if first > last:
            raise ShapeError(span, f"flatten: start axis {self.start} comes after end axis {self.end} "
                             f"for a {fmt_shape(x)} input")
        return first, last

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        x = xs[0]
        first, last = self.axes(x, span)
        return (*x[:first], numel(x[first:last + 1]), *x[last + 1:])

    def rf_window(self, xs: list[Shape]) -> Window | None:
        """A flat output sees the whole input map: one window covering all of H x W (kernel =
        stride = (H, W), pad 0), as a global pool. Anything else passes through (None)."""
        if len(xs[0]) not in (3, 4) or self.axes(xs[0], None) != (0, len(xs[0]) - 1):
            return None
        sizes = tuple(xs[0][1:])
        return sizes, sizes, (0,) * len(sizes), (1,) * len(sizes)

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        if len(y) != 1:
            return [f"Output shape = {fmt_shape(y)} (axes {self.start}..{self.end} of {fmt_shape(xs[0])} merged)",
                    "Params: none", "Flop: none (a view)"]
        dims = " * ".join(map(str, xs[0]))
        return [f"Output size = C_in x H x W = {dims} = {n(y[0])}", "Params: none", "Flop: none (a view)"]

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        first, last = self.axes(xs[0], None)
        return nn.Flatten(first + 1, last + 1)


@register("linear", "fc")
class Linear(OpDef):
    """Fully-connected layer on the last axis of its input, as torch.nn.Linear: `in` features ->
    `out` at every position of the leading axes (one flat vector; N tokens; H x W channels-last).

    params = in * out   (+ out with bias)
    macs   = (product of the leading axes) * in * out
    """
    doc_row = DocRow(
        "any",
        "`out`, `bias` (true), `in_features` (optional: checked)",
        "the last axis becomes `out`",
        "`in·out (+out)`",
        "`(leading axes)·in·out`")

    category = "linear"
    out: int = arg("int+", doc="output features")
    bias: bool = arg("bool", True)
    in_features: int | None = arg("int+", None, doc="optional: the input features you expect (checked)")
    weight_layer = True
    autocast = "low"
    counts = rules(
        torch=two_per_mac,  # flop_counter.py mm_flop / addmm_flop: m * n * 2 * k, bias dropped
        fvcore=macs,  # jit_handles.py linear_flop_jit: prod(input_shape) * out_features, no bias
        # ptflops/pytorch_ops.py linear_flops_counter_hook: (in * out + out if bias) at every
        # position of the leading axes: one bias add per output element
        ptflops=lambda f: f.cost.macs + (f.out_elems if f.cost.biases else 0),
        torchinfo=lambda f: f.params,  # layer_info.py calculate_macs: output_size[0] (batch) * numel
        thop=macs,  # thop calculate_linear: in_features * numel(output)
    )
    samples = ({"out": 10}, {"out": 7, "bias": False})

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        (x,) = xs
        if self.in_features is not None and self.in_features != x[-1]:
            raise ShapeError(span, f"linear: in_features is {self.in_features:,} but the layer above gives "
                             f"{x[-1]:,} features", "fix in_features, or the layers above")
        return (*x[:-1], self.out)

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Its input (for the weight gradient), as conv."""
        return (Saved("x0"),)

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        n_in = xs[0][-1]
        return Cost(weights=n_in * self.out, biases=self.out if self.bias else 0,
                    macs=numel(xs[0][:-1]) * n_in * self.out)

    def columns(self, xs: list[Shape]) -> dict:
        return {"filters": self.out}

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        c_in, c_out = xs[0][-1], self.out
        params = (f"FC params = C_in x C_out + C_out = {c_in} * {c_out} + {c_out} = {n(c_in * c_out + c_out)}"
                  if self.bias else f"FC params = C_in x C_out (no bias) = {c_in} * {c_out} = {n(c_in * c_out)}")
        lead = xs[0][:-1]
        if not lead:
            return [f"Output size = C_out = {c_out}", params,
                    f"FC flop (multiply-adds) = C_in x C_out = {c_in} * {c_out} = {n(c_in * c_out)}"]
        where = " * ".join(map(str, lead))
        return [f"Output shape = {fmt_shape(y)} (the last axis {c_in} -> {c_out} at each of {where} positions)", params,
                f"FC flop (multiply-adds) = positions x C_in x C_out = {where} * {c_in} * {c_out} = "
                f"{n(numel(lead) * c_in * c_out)}"]

    def rf_window(self, xs: list[Shape]) -> tuple[Pair, Pair, Pair, Pair] | None:
        """The identity (None: the field passes through): each output position sees its input
        position's field (a flat input already sees the whole map: flatten's window)."""
        return None

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.Linear(xs[0][-1], self.out, bias=self.bias)


@register("matmul")
class MatMul(OpDef):
    """Product of two activations, a (..., n, k) @ b (..., k, m) -> (..., n, m), the leading axes
    equal (attention heads); `transpose: true` takes b as (..., m, k) and multiplies by its
    transpose (attention scores q @ k^T). No parameters.

    macs = (product of the leading axes) * n * k * m
    """
    doc_row = DocRow(
        "any",
        "`transpose` (false); two `inputs`",
        "`(…, n, k) @ (…, k, m) → (…, n, m)`; with `transpose`, b is `(…, m, k)`",
        "0",
        "`(leading)·n·k·m`")

    category = "attention"
    transpose: bool = arg("bool", False, doc="use the transpose of the second input (q @ k^T)")
    arity = 2
    ranks, layout = (2, 3, 4), "matrices n x k (with leading axes, e.g. heads x n x k)"
    autocast = "low"
    counts = rules(
        torch=two_per_mac,  # flop_counter.py bmm_flop: b * m * n * 2 * k
        fvcore=macs,  # jit_handles.py matmul_flop_jit: prod(input_shapes[0]) * input_shapes[-1][-1]
        ptflops=macs,  # pytorch_ops.py _matmul_tensor_flops_hook: prod(input.shape) * other.shape[-1]
        torchinfo=zero,  # no module, no parameters
        thop=zero,  # not a module
    ) | {"ultralytics": macs}  # ultralytics-thop's TorchFunctionMode: numel(y) x the contracted axis
    samples = ({"transpose": True},)
    sample_inputs = ((4, 6, 8), (4, 5, 8))  # heads x n x k and heads x m x k (transposed)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        a, b = xs
        b_rows = b[-1] if self.transpose else b[-2]
        m = b[-2] if self.transpose else b[-1]
        if len(a) != len(b) or a[:-2] != b[:-2] or a[-1] != b_rows:
            tb = f" (transposed: {fmt_shape((*b[:-2], b[-1], b[-2]))})" if self.transpose else ""
            raise ShapeError(span, f"matmul cannot multiply {fmt_shape(a)} by {fmt_shape(b)}{tb}",
                             "a (..., n, k) @ b (..., k, m): the leading axes equal and a's last = b's "
                             "second-to-last")
        return (*a[:-1], m)

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Both operands (each one's gradient needs the other)."""
        return (Saved("x0"), Saved("x1"))

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost(macs=numel(y) * xs[0][-1])

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import MatMul as TorchMatMul

        return TorchMatMul(self.transpose)


@register("embedding")
class Embedding(OpDef):
    """A lookup table (torch's nn.Embedding): each integer token id becomes a row of `dim`
    learned values; the input holds token ids (a spec says `tokens: true`, docs/spec.md).

    out = (*in, dim);  params = vocab * dim;  macs = 0 (a lookup, no multiply-adds)
    """
    doc_row = DocRow(
        "any",
        "`vocab`, `dim`; on integer token ids (the spec says `tokens: true`)",
        "`(*in, dim)`",
        "`vocab·dim`",
        "0 (a lookup)")

    vocab: int = arg("int+", doc="the number of token ids (torch's num_embeddings)")
    dim: int = arg("int+", doc="the length of each row (torch's embedding_dim)")
    autocast = "float32_out"  # not on autocast's lists: the rows come out in the weight's float32
    reads_ids = True
    # fvcore: no handle for aten::embedding; ptflops and thop: no hook for nn.Embedding;
    # torchinfo: its parameters x the batch, no positions (measured: vocab * dim per sample)
    counts = rules(torchinfo=lambda f: f.params)
    samples = ({"vocab": 10, "dim": 4},)
    sample_inputs = ((7,),)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        return (*xs[0], self.dim)

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Its input, the ids (the weight's gradient is scattered to their rows)."""
        return (Saved("x0"),)

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost(weights=self.vocab * self.dim)

    def columns(self, xs: list[Shape]) -> dict:
        return {"filters": self.dim}

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        return [f"Output shape = input positions x dim = {fmt_shape(y)} (each token id looks up a row of {self.dim})",
                f"Params: vocab x dim = {self.vocab} * {self.dim} = {n(self.vocab * self.dim)}",
                "Flop (multiply-adds): none (a table lookup)"]

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.Embedding(self.vocab, self.dim)
