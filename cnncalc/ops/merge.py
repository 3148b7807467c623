"""Ops that combine tensors: add, mul, sub and div (broadcasting), concat (along an axis), and param, a
learned tensor merged into the input (class token, position embedding, layer scale).

Stage: ops (pure). In: op spec + input Shapes. Out: Shape and Cost.
torch is imported only inside to_torch(). Counting rules: docs/conventions.md#merge:
add and mul do (n-1) operations per output element (elem_ops, outside the lecture's flop
column); concat only copies. No counting tool counts them: our twins, like torchvision, use
plain `+`, `*` and torch.cat, which none of the tools hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.errors import ShapeError, Span
from cnncalc.ops.registry import Cost, DocRow, OpDef, Saved, Shape, arg, axis_index, fmt_shape, numel, register, rules

if TYPE_CHECKING:
    from torch import nn


def broadcast(xs: list[Shape]) -> Shape | None:
    """The broadcast shape of tensors of any ranks (aligned on the last axis, as torch and NumPy
    do: each axis equal, or 1, or missing), or None when they do not broadcast."""
    if all(x == xs[0] for x in xs):  # a residual add: nothing to broadcast
        return xs[0]
    rank = max(len(x) for x in xs)
    padded = [(1,) * (rank - len(x)) + tuple(x) for x in xs]
    out = []
    for dims in zip(*padded):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            return None
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def concat_shape(op: str, xs: list[Shape], axis: int, span: Span | None) -> Shape:
    """Inputs joined along `axis`: every other axis equal."""
    a = axis_index(axis, len(xs[0]), op, span)
    if len({len(x) for x in xs}) != 1 or len({(*x[:a], *x[a + 1:]) for x in xs}) != 1:
        what = " (the channels): every input needs the same height and width" if a == 0 and len(xs[0]) == 3 \
            else ": every other axis must be the same"
        raise ShapeError(span, f"{op} got " + ", ".join(fmt_shape(x) for x in xs), f"{op} joins along axis {axis}{what}")
    return (*xs[0][:a], sum(x[a] for x in xs), *xs[0][a + 1:])


class _Elementwise(OpDef):
    """add and mul: (n-1) operations per output element, broadcasting size-1 and missing axes."""

    arity = 0
    autocast = "widest"
    counts = rules()
    samples = ({},)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        y = broadcast(xs)
        if y is None:
            raise ShapeError(span, f"{self.type} got " + " and ".join(fmt_shape(x) for x in xs),
                             "each axis must be equal, or 1 to broadcast")
        return y

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost(elem_ops=(len(xs) - 1) * numel(y))


@register("add")
class Add(_Elementwise):
    """Elementwise sum of two or more tensors (a residual add), broadcasting as torch does."""
    doc_row = DocRow("any", "`inputs` (2 or more; broadcasting)", "the broadcast shape", "0", "0 (`n−1` ops/element)")

    sample_inputs = ((6, 12, 12), (6, 12, 12))

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import Sum

        return Sum()


@register("mul")
class Mul(_Elementwise):
    """Elementwise product of two or more tensors, broadcasting size-1 dimensions (the
    squeeze-and-excitation scale: C x 1 x 1 times C x H x W). elem_ops = (n-1) per output element."""
    doc_row = DocRow("any", "`inputs` (2 or more; broadcasting)", "the broadcast shape", "0", "0 (`n−1` ops/element)")

    sample_inputs = ((6, 12, 12), (6, 1, 1))  # squeeze-and-excitation broadcasting

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Every factor (each one's gradient needs the others)."""
        return tuple(Saved(f"x{i}") for i in range(len(xs)))

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import Product

        return Product()


@register("sub")
class Sub(_Elementwise):
    """Elementwise difference of two tensors, a - b, broadcasting as torch does (a normalising
    head's x - mean). elem_ops = 1 per output element."""
    doc_row = DocRow("any", "`inputs` (exactly 2: `a − b`, `a / b`; broadcasting)", "the broadcast shape", "0", "0 (1 op/element)")

    arity = 2
    sample_inputs = ((6, 12, 12), (6, 1, 1))

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import Difference

        return Difference()


@register("div")
class Div(_Elementwise):
    """Elementwise quotient of two tensors, a / b, broadcasting as torch does (x / norm).
    elem_ops = 1 per output element."""
    doc_row = DocRow("any", "`inputs` (exactly 2: `a − b`, `a / b`; broadcasting)", "the broadcast shape", "0", "0 (1 op/element)")

    arity = 2
    sample_inputs = ((6, 12, 12), (6, 1, 1))

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Both (a's gradient is g / b; b's is -g * a / b**2)."""
        return (Saved("x0"), Saved("x1"))

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import Quotient

        return Quotient()


@register("concat")
class Concat(OpDef):
    """Concatenation along an axis: the channels by default (Inception, DenseNet; the features of
    flat inputs), or any other, e.g. the tokens of N x D."""
    doc_row = DocRow("any", "`inputs` (2 or more), `axis` (0)", "the inputs joined along `axis`")

    axis: int = arg("int", 0)
    arity = 0
    autocast = "widest"
    counts = rules()
    samples = ({}, {"axis": -1})
    sample_inputs = ((6, 12, 12), (6, 12, 12))

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        return concat_shape("concat", xs, self.axis, span)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import Concat as TorchConcat

        return TorchConcat(axis_index(self.axis, len(xs[0]), "concat", None) + 1)


@register("param")
class Param(OpDef):
    """A learned tensor of a given shape, merged into the input:
    - merge: concat, along `axis`, placed first: ViT's class token, param {shape: [1, 768],
      merge: concat} on 196 x 768 tokens -> 197 x 768;
    - merge: add, broadcast: ViT's position embedding, param {shape: [197, 768], merge: add};
    - merge: mul, broadcast: ConvNeXt's layer scale, param {shape: [96, 1, 1], merge: mul}.

    params = product of shape (as weights); macs = 0; elem_ops = one per output element for add
    and mul, none for concat.
    """
    doc_row = DocRow("any", "`shape`, `merge` (concat, add, mul), `axis` (0)",
        "concat: the learned tensor first along `axis`; add / mul: broadcast, the input's shape", "`prod(shape)`",
        "0 (add, mul: 1 op/element)")

    shape: tuple[int, ...] = arg("ints", doc="the learned tensor's shape (batch excluded)")
    merge: str = arg("in:concat,add,mul", doc="how it joins the input")
    axis: int = arg("int", 0, doc="the axis a concat joins along")
    autocast = "float32_out"  # a float32 parameter joins the input: type promotion
    counts = rules()
    samples = ({"shape": [1, 12, 12], "merge": "concat"}, {"shape": [6, 12, 12], "merge": "add"},
               {"shape": [6, 1, 1], "merge": "mul"})

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        x = xs[0]
        if any(d < 1 for d in self.shape):
            raise ShapeError(span, f"param: shape {list(self.shape)} must hold positive sizes")
        if self.merge == "concat":
            return concat_shape("param", [self.shape, x], self.axis, span)
        y = broadcast([x, self.shape])
        if y != x:
            raise ShapeError(span, f"param: a {fmt_shape(self.shape)} tensor does not {self.merge} into "
                             f"{fmt_shape(x)} without changing its shape", "each axis equal to the input's, or 1")
        return y

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost(weights=numel(self.shape), elem_ops=0 if self.merge == "concat" else numel(y))

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """mul: the input (the learned tensor's gradient needs it); add and concat keep nothing."""
        return (Saved("x0"),) if self.merge == "mul" else ()

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import Learned

        return Learned(self.shape, self.merge, axis_index(self.axis, len(xs[0]), "param", None) + 1)
