"""Fully-connected layers: linear (and flatten, which feeds it).

Stage: ops (pure). In: op spec + input Shape. Out: Shape and Cost.
torch is imported only inside to_torch(). Counting rules: docs/conventions.md#linear.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.errors import ShapeError, Span
from cnncalc.ops.registry import Cost, OpDef, Pair, Shape, arg, fmt_shape, n, numel, register

if TYPE_CHECKING:
    from torch import nn


@register("flatten")
class Flatten(OpDef):
    """C x H x W -> C*H*W features (the lecture's "flatten" row: 256*6*6 = 9216).

    params = 0; macs = 0 (a view: no arithmetic)
    """

    samples = ({},)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        return (numel(xs[0]),)

    def rf_window(self, xs: list[Shape]) -> tuple[Pair, Pair, Pair, Pair] | None:
        """A flat output sees the whole input map: one window covering all of H x W (kernel =
        stride = (H, W), pad 0), as a global pool. A flat input passes through (None)."""
        if len(xs[0]) != 3:
            return None
        _, h, w = xs[0]
        return (h, w), (h, w), (0, 0), (1, 1)

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        dims = " * ".join(map(str, xs[0]))
        return [f"Output size = C_in x H x W = {dims} = {n(y[0])}", "Params: none", "Flop: none (a view)"]

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.Flatten()


@register("linear", "fc")
class Linear(OpDef):
    """Fully-connected layer on a flat input of `in` features.

    params = in * out   (+ out with bias)
    macs   = in * out
    """

    out: int = arg("int+", doc="output features")
    bias: bool = arg("bool", True)
    in_features: int | None = arg("int+", None, doc="optional: the input features you expect (checked)")
    torch_counts_macs = True
    samples = ({"out": 10}, {"out": 7, "bias": False})

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        (x,) = xs
        if len(x) != 1:
            raise ShapeError(span, f"linear needs a flat input, got {fmt_shape(x)}",
                             "add `- flatten` before it")
        if self.in_features is not None and self.in_features != x[0]:
            raise ShapeError(span, f"linear: in_features is {self.in_features:,} but the layer above gives "
                             f"{x[0]:,} features", "fix in_features, or the layers above")
        return (self.out,)

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        n_in = xs[0][0]
        return Cost(weights=n_in * self.out, biases=self.out if self.bias else 0,
                    macs=n_in * self.out)

    def columns(self) -> dict:
        return {"filters": self.out}

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        c_in, c_out = xs[0][0], self.out
        params = (f"FC params = C_in x C_out + C_out = {c_in} * {c_out} + {c_out} = {n(c_in * c_out + c_out)}"
                  if self.bias else f"FC params = C_in x C_out (no bias) = {c_in} * {c_out} = {n(c_in * c_out)}")
        return [f"Output size = C_out = {c_out}", params,
                f"FC flop (multiply-adds) = C_in x C_out = {c_in} * {c_out} = {n(c_in * c_out)}"]

    def rf_window(self, xs: list[Shape]) -> tuple[Pair, Pair, Pair, Pair] | None:
        """The identity window: the input is flat (infer checks), and a flat tensor already sees
        the whole map (flatten's window), so every output feature has its input's field."""
        return (1, 1), (1, 1), (0, 0), (1, 1)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.Linear(xs[0][0], self.out, bias=self.bias)
