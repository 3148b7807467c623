"""Ops that move data without arithmetic: permute, reshape, select (one index of an axis),
channel shuffle, chunk (a slice of an axis), zero padding.

Stage: ops (pure). In: op spec + input Shape. Out: Shape and Cost (no params, no MACs; no
counting tool counts them). torch is imported only inside to_torch().
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cnncalc.errors import ShapeError, Span, SpecError
from cnncalc.ops.registry import DocRow, OpDef, Pair, Shape, arg, axis_index, fmt_shape, numel, register, rules

if TYPE_CHECKING:
    from torch import nn

MOVES = rules()  # data movement: nothing counted by any tool


@register("permute")
class Permute(OpDef):
    """Reorder the axes (batch excluded): C x H x W -> H x W x C is dims [1, 2, 0] (ConvNeXt's
    channels-last block), and back [2, 0, 1]; 768 x 196 -> 196 x 768 tokens is [1, 0].
    out[i] = in[dims[i]]; no params, no MACs."""
    doc_row = DocRow("any", "`dims`, e.g. `[1, 2, 0]`", "`out[i] = in[dims[i]]`")

    view = True  # the output is a view of the input's storage

    dims: tuple[int, ...] = arg("ints", doc="the new order of the axes, e.g. [1, 2, 0]")
    counts = MOVES
    samples = ({"dims": [1, 2, 0]}, {"dims": [2, 0, 1]})

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        x = xs[0]
        if sorted(self.dims) != list(range(len(x))):
            raise ShapeError(span, f"permute: dims {list(self.dims)} is not an order of the {len(x)} axes "
                             f"of {fmt_shape(x)}", f"e.g. dims: {list(range(len(x)))[::-1]}")
        return tuple(x[d] for d in self.dims)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import Permute as TorchPermute

        return TorchPermute((0, *(d + 1 for d in self.dims)))


@register("reshape", "view")
class Reshape(OpDef):
    """A new shape with the same elements (batch excluded); one axis may be -1, inferred:
    768 x 196 -> 768 x 14 x 14 is shape [768, 14, 14] or [-1, 14, 14]. With a second input, a 0
    takes that axis's size from it (x.view(B, C, H, W) with H and W another map's: tokens C x N
    back to the map they came from, whatever its size: shape [C, 0, 0]). No params, no MACs."""
    doc_row = DocRow("any", "`shape` (one entry may be `-1`; with a second input, `0` copies that axis's size "
                     "from it)", "`shape`")

    view = True  # the output is a view of the input's storage

    shape: tuple[int, ...] = arg("ints", doc="the new shape; one entry may be -1; 0: the second input's size there")
    arity = -1  # one input, or two: the second gives the sizes written 0
    counts = MOVES
    samples: ClassVar[tuple[Any, ...]] = ({"shape": [6, 144]}, {"shape": [-1, 3, 4]},
                                          ({"shape": [6, 0, 0]}, [(6, 36), (2, 4, 9)]))

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        if len(xs) > 2:
            raise SpecError(span, f"reshape takes one input, or two (the second gives the sizes written 0), got {len(xs)}")
        x, shape = xs[0], list(self.shape)
        if 0 in shape:
            if len(xs) < 2:
                raise SpecError(span, f"reshape: shape {shape} has a 0, which copies a size from a second input",
                                "give it one: reshape: {shape: [C, 0, 0], inputs: [tokens, map]}")
            ref = xs[1]
            for i, d in enumerate(shape):
                if d == 0:
                    if i >= len(ref):
                        raise ShapeError(span, f"reshape: shape {shape} copies axis {i} from {fmt_shape(ref)}, "
                                         f"which has {len(ref)} axes")
                    shape[i] = ref[i]
        free = [i for i, d in enumerate(shape) if d == -1]
        if len(free) > 1 or any(d < 1 and d != -1 for d in shape):
            raise SpecError(span, f"reshape: shape {shape} may hold positive sizes and at most one -1")
        known = numel([d for d in shape if d != -1])
        if free:
            if numel(x) % known:
                raise ShapeError(span, f"reshape: {fmt_shape(x)} ({numel(x):,} elements) does not split into {shape}")
            shape[free[0]] = numel(x) // known
        if numel(shape) != numel(x):
            raise ShapeError(span, f"reshape: {fmt_shape(x)} has {numel(x):,} elements, {shape} has {numel(shape):,}")
        return tuple(shape)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import Reshape as TorchReshape

        return TorchReshape(self.infer(xs, None))  # (a second input is only read for its size)


@register("select")
class Select(OpDef):
    """One index of an axis, the axis removed (ViT's class token: x[:, 0] of 197 x 768 tokens
    is select {axis: 0, index: 0} -> 768). No params, no MACs."""
    doc_row = DocRow("any", "`index`, `axis` (0)", "that axis removed (`x[:, 0]`)")

    view = True  # the output is a view of the input's storage

    index: int = arg("int", doc="the position taken (negative counts from the end)")
    axis: int = arg("int", 0)
    counts = MOVES
    samples = ({"index": 0}, {"index": -1, "axis": 1})

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        x = xs[0]
        a = axis_index(self.axis, len(x), "select", span)
        if len(x) == 1:
            raise ShapeError(span, "select: the input has one axis; nothing would be left")
        if not -x[a] <= self.index < x[a]:
            raise ShapeError(span, f"select: index {self.index} is outside axis {self.axis} of size {x[a]}")
        return (*x[:a], *x[a + 1:])

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import Select as TorchSelect

        return TorchSelect(axis_index(self.axis, len(xs[0]), "select", None) + 1, self.index)


@register("channel_shuffle")
class ChannelShuffle(OpDef):
    """ShuffleNet's channel shuffle: C = g*n channels reordered as n*g. Same shape; no params, no MACs."""
    doc_row = DocRow("conv", "`groups`", "same")

    groups: int = arg("int+")
    ranks, layout = (3,), "a C x H x W feature map"
    counts = MOVES
    samples = ({"groups": 2}, {"groups": 3})

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        if xs[0][0] % self.groups:
            raise ShapeError(span, f"channel_shuffle: groups={self.groups} must divide the {xs[0][0]} channels")
        return xs[0]

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.ChannelShuffle(self.groups)


@register("chunk")
class Chunk(OpDef):
    """The `index`-th of `chunks` equal slices of an axis (default 0, the channels: ShuffleNet v2
    splits in two, chunk {chunks: 2, index: 0} and {chunks: 2, index: 1}; a transformer's q, k, v
    are chunk {chunks: 3, index: 0..2, axis: -1} of the qkv projection)."""
    doc_row = DocRow("any", "`chunks`, `index`, `axis` (0)", "the axis divided by `chunks`")

    view = True  # the output is a view of the input's storage

    chunks: int = arg("int+")
    index: int = arg("int0")
    axis: int = arg("int", 0)
    counts = MOVES
    samples = ({"chunks": 2, "index": 0}, {"chunks": 3, "index": 2}, {"chunks": 3, "index": 1, "axis": -1})

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        (x,) = xs
        a = axis_index(self.axis, len(x), "chunk", span)
        if self.index >= self.chunks:
            raise SpecError(span, f"chunk: index {self.index} must be below chunks {self.chunks}")
        if x[a] % self.chunks:
            raise ShapeError(span, f"chunk: {self.chunks} chunks must divide the {x[a]} entries of axis {self.axis}")
        return (*x[:a], x[a] // self.chunks, *x[a + 1:])

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import Chunk as TorchChunk

        return TorchChunk(self.chunks, self.index, axis_index(self.axis, len(xs[0]), "chunk", None) + 1)


@register("split")
class Split(OpDef):
    """The `index`-th of the pieces torch.split(x, sizes, axis) cuts: pieces of unequal sizes
    (default axis 0, the channels), which must add up to the axis."""
    doc_row = DocRow("any", "`sizes` (unequal pieces: `[64, 32, 32]`), `index`, `axis` (0)", "the axis is `sizes[index]`")

    view = True  # the output is a view of the input's storage

    sizes: tuple = arg("ints", doc="the pieces' sizes along the axis, e.g. [64, 32, 32]")
    index: int = arg("int0")
    axis: int = arg("int", 0)
    counts = MOVES
    samples = ({"sizes": [2, 4], "index": 1}, {"sizes": [1, 2, 3], "index": 0}, {"sizes": [5, 7], "index": 0,
                                                                                "axis": -1})

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        (x,) = xs
        a = axis_index(self.axis, len(x), "split", span)
        if any(size < 1 for size in self.sizes):
            raise SpecError(span, f"split: sizes must be positive, found {list(self.sizes)}")
        if self.index >= len(self.sizes):
            raise SpecError(span, f"split: index {self.index} must be below the {len(self.sizes)} pieces")
        if sum(self.sizes) != x[a]:
            raise ShapeError(span, f"split: sizes {list(self.sizes)} add up to {sum(self.sizes)}, not the {x[a]} entries "
                             f"of axis {self.axis}")
        return (*x[:a], self.sizes[self.index], *x[a + 1:])

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import Split as TorchSplit

        return TorchSplit(tuple(self.sizes), self.index, axis_index(self.axis, len(xs[0]), "split", None) + 1)


@register("zeropad")
class ZeroPad2d(OpDef):
    """Zero padding: pad p (all sides), [h, w] (top/bottom, left/right) or [left, right, top, bottom];
    a negative side crops (NASNet's pixel shift: [-1, 1, -1, 1]), as torch's ZeroPad2d does.
    out = C x (H + top + bottom) x (W + left + right); no params, no MACs."""
    doc_row = DocRow("conv", "`pad`: p, [h, w] or [left, right, top, bottom]", "`C × (H+t+b) × (W+l+r)`")

    pad: Any = arg("pads")
    ranks, layout = (3,), "a C x H x W feature map"
    counts = MOVES
    samples = ({"pad": 1}, {"pad": [0, 1, 0, 1]}, {"pad": [2, 1]}, {"pad": [-1, 1, -1, 1]})

    @property
    def sides(self) -> tuple[int, int, int, int]:
        """(left, right, top, bottom), torch's ZeroPad2d order."""
        return self.pad

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        left, right, top, bottom = self.sides
        c, h, w = xs[0]
        if h + top + bottom < 1 or w + left + right < 1:
            raise ShapeError(span, f"zeropad: cropping {fmt_shape(xs[0])} by {self.sides} leaves nothing")
        return (c, h + top + bottom, w + left + right)

    def columns(self, xs: list[Shape]) -> dict:
        return {"pad": "x".join(map(str, self.sides))}

    def rf_window(self, xs: list[Shape]) -> tuple[Pair, Pair, Pair, Pair] | None:
        """kernel 1, stride 1, pad = the top/left padding: the field keeps its size and jump, and
        its start moves back by the padding (output pixel 0 sits at input pixel -top, -left)."""
        left, _, top, _ = self.sides
        return (1, 1), (1, 1), (top, left), (1, 1)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.ZeroPad2d(self.sides)
