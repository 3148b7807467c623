"""Multi-input ops: add (residual sums) and concat (Inception, DenseNet).

Stage: ops (pure). In: op spec + input Shapes. Out: Shape and Cost.
torch is imported only inside to_torch(). Counting rules: docs/conventions.md#merge:
add does (n-1) additions per output element (elem_ops, outside the lecture's flop column);
concat only copies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.errors import ShapeError, Span
from cnncalc.ops.registry import Cost, OpDef, Shape, fmt_shape, numel, register

if TYPE_CHECKING:
    from torch import nn


@register("add")
class Add(OpDef):
    """Elementwise sum of two or more tensors of the same shape."""

    arity = 0
    samples = ({},)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        if any(x != xs[0] for x in xs):
            raise ShapeError(span, "add got " + " and ".join(fmt_shape(x) for x in xs),
                             "all inputs of add must have the same shape")
        return xs[0]

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost(elem_ops=(len(xs) - 1) * numel(y))

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import Sum

        return Sum()


@register("concat")
class Concat(OpDef):
    """Concatenation along channels (or features, for flat inputs)."""

    arity = 0
    samples = ({},)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        rest = {x[1:] for x in xs}
        if len(rest) != 1 or len({len(x) for x in xs}) != 1:
            raise ShapeError(span, "concat got " + ", ".join(fmt_shape(x) for x in xs),
                             "concat joins channels: every input needs the same height and width")
        return (sum(x[0] for x in xs), *xs[0][1:])

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import Concat as TorchConcat

        return TorchConcat()


@register("mul")
class Mul(OpDef):
    """Elementwise product of two or more tensors, broadcasting size-1 dimensions (the
    squeeze-and-excitation scale: C x 1 x 1 times C x H x W). elem_ops = (n-1) per output element."""

    arity = 0
    samples = ({},)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        if len({len(x) for x in xs}) != 1 or any(
                len({d for d in dims if d != 1}) > 1 for dims in zip(*xs)):
            raise ShapeError(span, "mul got " + " and ".join(fmt_shape(x) for x in xs),
                             "each dimension must be equal, or 1 to broadcast")
        return tuple(max(dims) for dims in zip(*xs))

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost(elem_ops=(len(xs) - 1) * numel(y))

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import Product

        return Product()
