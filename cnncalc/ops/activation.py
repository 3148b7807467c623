"""Elementwise layers that keep the shape: activations, dropout, softmax, identity.

Stage: ops (pure). In: op spec + input Shape. Out: Shape and Cost.
torch is imported only inside to_torch(). Counting rules: docs/conventions.md#elementwise:
no params, nothing in the lecture's flop column, elem_ops = 1 per element (softmax 3).
They are folded into the row above in the table. Those torch can run in place (relu family,
dropout, identity) add no activation memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.errors import Span
from cnncalc.ops.registry import Cost, OpDef, Shape, arg, numel, register

if TYPE_CHECKING:
    from torch import nn


class _Elementwise(OpDef):
    fold = True
    ops_per_element = 1
    torch_name = ""
    samples = ({},)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        return xs[0]

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost(elem_ops=self.ops_per_element * numel(y))

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        module = getattr(nn, self.torch_name)
        return module(inplace=True) if self.inplace else module()


def _simple(name: str, torch_name: str, inplace: bool, *aliases: str) -> type:
    cls = type(torch_name, (_Elementwise,), {
        "__doc__": f"{torch_name}: y = f(x) elementwise. elem_ops = 1 per element.",
        "__module__": __name__, "torch_name": torch_name, "inplace": inplace})
    return register(name, *aliases)(cls)


ReLU = _simple("relu", "ReLU", True)
ReLU6 = _simple("relu6", "ReLU6", True)
Sigmoid = _simple("sigmoid", "Sigmoid", False)
Tanh = _simple("tanh", "Tanh", False)
GELU = _simple("gelu", "GELU", False)
SiLU = _simple("silu", "SiLU", True, "swish")
Hardswish = _simple("hardswish", "Hardswish", True)
Hardsigmoid = _simple("hardsigmoid", "Hardsigmoid", True)
Identity = _simple("identity", "Identity", True)


@register("leaky_relu")
class LeakyReLU(_Elementwise):
    """LeakyReLU: y = x if x > 0 else slope*x. elem_ops = 1 per element."""

    slope: float = arg("float", 0.01)
    inplace = True
    samples = ({"slope": 0.2},)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.LeakyReLU(self.slope, inplace=True)


@register("dropout")
class Dropout(_Elementwise):
    """Dropout: identity at inference (the lecture counts nothing). elem_ops = 0."""

    p: float = arg("prob", 0.5)
    inplace = True
    ops_per_element = 0
    samples = ({"p": 0.5},)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.Dropout(self.p)


@register("softmax")
class Softmax(_Elementwise):
    """Softmax over channels/features: exp, sum, divide = elem_ops 3 per element."""

    ops_per_element = 3

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.Softmax(dim=1)
