"""Normalisation: bn (BatchNorm2d) and lrn (AlexNet's local response normalisation).

Stage: ops (pure). In: op spec + input Shape. Out: Shape and Cost.
torch is imported only inside to_torch(). Counting rules: docs/conventions.md#normalisation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.errors import ShapeError, Span
from cnncalc.ops.registry import Cost, OpDef, Shape, arg, fmt_shape, numel, register

if TYPE_CHECKING:
    from torch import nn


def _feature_map(op: str, x: Shape, span: Span | None) -> None:
    if len(x) != 3:
        raise ShapeError(span, f"{op} needs a c x h x w input, got {fmt_shape(x)}")


@register("bn", "batchnorm")
class BatchNorm2d(OpDef):
    """Batch normalisation over channels, inference form y = gamma*(x-mean)/sqrt(var+eps) + beta.

    params = 2*C (gamma as weight, beta as bias; the running mean/var are buffers, not params)
    macs = 0 (lecture column); elem_ops = 2 per element (one scale, one shift once folded)
    """

    eps: float = arg("float", 1e-5)
    fold = True
    samples = ({},)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        _feature_map("bn", xs[0], span)
        return xs[0]

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost(weights=y[0], biases=y[0], elem_ops=2 * numel(y))

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.BatchNorm2d(xs[0][0], eps=self.eps)


@register("lrn")
class LocalResponseNorm(OpDef):
    """Local response normalisation across `size` neighbouring channels (AlexNet 2012: size 5,
    alpha 1e-4, beta 0.75, k 2). params = 0; macs = 0; elem_ops = size per element (the sum
    of squares over the window)."""

    size: int = arg("int+")
    alpha: float = arg("float", 1e-4)
    beta: float = arg("float", 0.75)
    k: float = arg("float", 1.0)
    samples = ({"size": 5, "k": 2.0}, {"size": 3})

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        _feature_map("lrn", xs[0], span)
        return xs[0]

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost(elem_ops=self.size * numel(y))

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.LocalResponseNorm(self.size, self.alpha, self.beta, self.k)
