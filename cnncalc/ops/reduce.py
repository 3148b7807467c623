"""Reductions over axes: mean, sum and amax (torch's x.mean(dims), x.sum(dims), x.amax(dims)).

Stage: ops (pure). In: op spec + input Shape. Out: Shape and Cost.
torch is imported only inside to_torch(). No counting tool counts them (tensor methods nobody
hooks; fvcore has no handle for aten::mean, aten::sum or aten::amax).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.errors import Span, SpecError
from cnncalc.ops.registry import Cost, DocRow, OpDef, Saved, Shape, arg, axis_index, numel, register, rules

if TYPE_CHECKING:
    from torch import nn


class _Reduce(OpDef):
    """Reduce `axes` (batch excluded; negative from the end) to one value each: removed, or kept
    as size 1 with keepdim. elem_ops = one per input element read."""
    doc_row = DocRow(
        "any",
        "`axes` (`[1, 2]`: H and W of C × H × W), `keepdim` (false)",
        "the axes removed (kept as 1 with `keepdim`)",
        "0",
        "0 (1 op per input element)")

    axes: tuple = arg("ints", doc="the axes reduced, e.g. [1, 2] (H and W of C x H x W)")
    keepdim: bool = arg("bool", False, doc="keep each reduced axis as size 1")
    counts = rules()
    how = ""
    samples = ({"axes": [1, 2]}, {"axes": [0], "keepdim": True}, {"axes": [-1]})

    def dims(self, x: Shape, span: Span | None = None) -> tuple[int, ...]:
        dims = tuple(sorted({axis_index(a, len(x), self.type, span) for a in self.axes}))
        if len(dims) != len(self.axes):
            raise SpecError(span, f"{self.type}: axes {list(self.axes)} name an axis twice")
        return dims

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        (x,) = xs
        dims = self.dims(x, span)
        if self.keepdim:
            return tuple(1 if i in dims else size for i, size in enumerate(x))
        out = tuple(size for i, size in enumerate(x) if i not in dims)
        return out or (1,)  # every axis reduced: one value (cnncalc keeps a rank-1 shape)

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost(elem_ops=numel(xs[0]))

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import Reduce

        dims = tuple(d + 1 for d in self.dims(xs[0]))
        if not self.keepdim and len(dims) == len(xs[0]):
            raise NotImplementedError("reducing every axis")
        return Reduce(self.how, dims, self.keepdim)


@register("mean")
class Mean(_Reduce):
    """The mean over axes (x.mean(dims)): a global pool written as a mean, a token average."""

    how = "mean"

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Nothing: its gradient is the output's spread evenly (sizes only)."""
        return ()


@register("sum")
class Sum(_Reduce):
    """The sum over axes (x.sum(dims))."""

    how = "sum"

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        return ()


@register("amax")
class Amax(_Reduce):
    """The largest value over axes (x.amax(dims)): a global max pool written as a reduction."""

    how = "amax"

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Its input and output: the gradient goes to the positions equal to the maximum."""
        return (Saved("x0"), Saved("y"))
