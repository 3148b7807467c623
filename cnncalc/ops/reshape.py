"""Ops that move data without arithmetic: channel shuffle, channel chunk, zero padding.

Stage: ops (pure). In: op spec + input Shape. Out: Shape and Cost (no params, no MACs).
torch is imported only inside to_torch().
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncalc.errors import ShapeError, SpecError, Span
from cnncalc.ops.registry import OpDef, Pair, Shape, arg, fmt_shape, register

if TYPE_CHECKING:
    from torch import nn


def _feature_map(op: str, x: Shape, span: Span | None) -> None:
    if len(x) != 3:
        raise ShapeError(span, f"{op} needs a c x h x w input, got {fmt_shape(x)}")


@register("channel_shuffle")
class ChannelShuffle(OpDef):
    """ShuffleNet's channel shuffle: C = g*n channels reordered as n*g. Same shape; no params, no MACs."""

    groups: int = arg("int+")
    samples = ({"groups": 2}, {"groups": 3})

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        _feature_map("channel_shuffle", xs[0], span)
        if xs[0][0] % self.groups:
            raise ShapeError(span, f"channel_shuffle: groups={self.groups} must divide the {xs[0][0]} channels")
        return xs[0]

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.ChannelShuffle(self.groups)


@register("chunk")
class Chunk(OpDef):
    """Channel split: the `index`-th of `chunks` equal slices of the channels (C/chunks x H x W).
    ShuffleNet v2 splits in two: chunk {chunks: 2, index: 0} and {chunks: 2, index: 1}."""

    chunks: int = arg("int+")
    index: int = arg("int0")
    samples = ({"chunks": 2, "index": 0}, {"chunks": 3, "index": 2})

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        (x,) = xs
        if self.index >= self.chunks:
            raise SpecError(span, f"chunk: index {self.index} must be below chunks {self.chunks}")
        if x[0] % self.chunks:
            raise ShapeError(span, f"chunk: {self.chunks} chunks must divide the {x[0]} channels")
        return (x[0] // self.chunks, *x[1:])

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import Chunk as TorchChunk

        return TorchChunk(self.chunks, self.index)


@register("zeropad")
class ZeroPad2d(OpDef):
    """Zero padding: pad p (all sides), [h, w] (top/bottom, left/right) or [left, right, top, bottom];
    a negative side crops (NASNet's pixel shift: [-1, 1, -1, 1]), as torch's ZeroPad2d does.
    out = C x (H + top + bottom) x (W + left + right); no params, no MACs."""

    pad: Any = arg("pads")
    samples = ({"pad": 1}, {"pad": [0, 1, 0, 1]}, {"pad": [2, 1]}, {"pad": [-1, 1, -1, 1]})

    @property
    def sides(self) -> tuple[int, int, int, int]:
        """(left, right, top, bottom), torch's ZeroPad2d order."""
        return self.pad

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        _feature_map("zeropad", xs[0], span)
        left, right, top, bottom = self.sides
        c, h, w = xs[0]
        if h + top + bottom < 1 or w + left + right < 1:
            raise ShapeError(span, f"zeropad: cropping {fmt_shape(xs[0])} by {self.sides} leaves nothing")
        return (c, h + top + bottom, w + left + right)

    def columns(self) -> dict:
        return {"pad": "x".join(map(str, self.sides))}

    def rf_window(self, xs: list[Shape]) -> tuple[Pair, Pair, Pair, Pair] | None:
        """kernel 1, stride 1, pad = the top/left padding: the field keeps its size and jump, and
        its start moves back by the padding (output pixel 0 sits at input pixel -top, -left)."""
        left, _, top, _ = self.sides
        return (1, 1), (1, 1), (top, left), (1, 1)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.ZeroPad2d(self.sides)
