"""Receptive fields: which input pixels one output position of every layer sees.

Stage: analysis (pure), beside engine.analyze. In: a Graph (nodes in topological order, shapes
already inferred). Out: one Field per node, aligned with graph.nodes. It must not print, read or
write files, import torch, or touch floats: sizes and jumps are ints, starts are Fractions. Window
parameters come from each op's rf_window() (one op, one place); this module only walks the graph.

Per spatial axis (l; h, w; t, h, w), the standard recurrence (Araujo, Norris, Sim, "Computing Receptive Fields of
Convolutional Neural Networks", Distill 2019; Dang Ha The Hien, "A guide to receptive field
arithmetic for CNNs", 2017), for a window (kernel k, stride s, pad p, dilation d):

    k_eff     = d*(k-1) + 1
    size_out  = size_in + (k_eff-1) * jump_in
    jump_out  = jump_in * s
    start_out = start_in + ((k_eff-1)/2 - p) * jump_in

Conventions:
- Coordinates are input pixels, with 0 at the CENTRE of input pixel 0 (pixel i spans
  [i-1/2, i+1/2]). The input node has size 1, jump 1, start 0. A start can be fractional (an
  even kernel centres between pixels) and negative (padding puts the first window partly off
  the image). Sizes are not clipped to the image: a field may be larger than the input.
- An op whose rf_window() is None is elementwise in space: the field passes through.
- Multi-input nodes (add, mul, concat), per axis: size = the largest input size (a path's field
  is the max over the paths through it); start = that of the input with the largest size (the
  first such input on a tie); jump = the inputs' common jump. In the usual nets the inputs
  agree; when they do not (a 1x1/2 conv and an unpadded 5x5 both map 8 pixels to 4), the
  largest jump is taken, and the result describes the coarsest input's spacing only.
- Window ops come from the ops: see their rf_window() for adaptive pooling (largest window),
  flatten (one window over the whole map) and linear (identity on a flat input).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cnncalc.graph import Graph


@dataclass(frozen=True)
class Field:
    """The receptive field of one output position of a layer, per spatial axis (l; h, w; t, h, w),
    in input pixels. Sizes and jumps are ints, or Fractions after an upsampling (a jump below one
    pixel) or a transposed conv."""

    size: tuple[Any, ...]  # input pixels one output position sees
    jump: tuple[Any, ...]  # input pixels between adjacent output positions
    start: tuple[Fraction, ...]  # centre of output position 0's field (0 = centre of pixel 0)


def input_field(shape: tuple[int, ...]) -> Field:
    """The input's own field: one pixel, per spatial axis (C x L: 1; C x H x W and H x W x C
    maps: 2; C x T x H x W: 3)."""
    axes = 1 if len(shape) <= 2 else len(shape) - 1 if len(shape) == 4 else 2
    return Field((1,) * axes, (1,) * axes, (Fraction(0),) * axes)


def _fit(f: Field, axes: int) -> Field:
    """The field seen by a window of `axes` axes (a 1-axis field is the same along every axis)."""
    if len(f.size) == axes:
        return f
    if len(f.size) == 1:
        return Field(f.size * axes, f.jump * axes, f.start * axes)
    return Field(f.size[-axes:], f.jump[-axes:], f.start[-axes:])


def _whole(q: Any) -> Any:
    """A Fraction that is a whole number as an int (fields stay ints where they can)."""
    return q.numerator if isinstance(q, Fraction) and q.denominator == 1 else q


def through_window(f: Field, window: tuple[tuple[int, ...], ...]) -> Field:
    """The field after one window (kernel, stride, pad, dilation), by the recurrence above."""
    kernel, stride, pad, dilation = window
    f = _fit(f, len(kernel))
    size, jump, start = [], [], []
    for a in range(len(kernel)):
        reach = dilation[a] * (kernel[a] - 1) + 1  # k_eff
        size.append(_whole(f.size[a] + (reach - 1) * f.jump[a]))
        jump.append(_whole(f.jump[a] * stride[a]))
        start.append(f.start[a] + (Fraction(reach - 1, 2) - pad[a]) * f.jump[a])
    return Field(tuple(size), tuple(jump), tuple(start))


def through_transposed(f: Field, window: tuple[tuple[int, ...], ...]) -> Field:
    """The field after a transposed window (kernel, stride, pad, dilation) that scatters each
    input position over kernel outputs, stride apart. Per axis, output o gathers the inputs i
    with o = i*stride - pad + dilation*t: at most (k_eff - 1) // stride + 1 of them, centred on
    input (o + pad - (k_eff - 1)/2) / stride. So
        size_out  = size_in + ((k_eff - 1) // stride) * jump_in      (the largest such set)
        jump_out  = jump_in / stride
        start_out = start_in + (pad - (k_eff - 1)/2) / stride * jump_in
    An upsampling by an integer factor s is the window (1, s, (s - 1)/2 ...) of nearest
    neighbours: see the upsample op."""
    kernel, stride, pad, dilation = window
    f = _fit(f, len(kernel))
    size, jump, start = [], [], []
    for a in range(len(kernel)):
        reach = dilation[a] * (kernel[a] - 1) + 1
        size.append(_whole(f.size[a] + ((reach - 1) // stride[a]) * f.jump[a]))
        jump.append(_whole(Fraction(f.jump[a]) / stride[a]))
        start.append(f.start[a] + (pad[a] - Fraction(reach - 1, 2)) / stride[a] * f.jump[a])
    return Field(tuple(size), tuple(jump), tuple(start))


def merge(fields: list[Field]) -> Field:
    """The field of a multi-input node: per axis the largest size, its start, the largest jump."""
    axes = max(len(f.size) for f in fields)
    fields = [_fit(f, axes) for f in fields]
    size, jump, start = [], [], []
    for a in range(axes):
        widest = max(fields, key=lambda f: f.size[a])  # max() keeps the first on a tie
        size.append(widest.size[a])
        start.append(widest.start[a])
        jump.append(max(f.jump[a] for f in fields))
    return Field(tuple(size), tuple(jump), tuple(start))


def receptive_fields(graph: Graph) -> list[Field]:
    """One Field per node of the graph (node 0, the input, included), in one topological walk."""
    fields: list[Field] = []
    for node in graph.nodes:
        if not node.inputs:  # the input node
            fields.append(input_field(node.shape))
            continue
        ins = [fields[i] for i in node.inputs]
        field = ins[0] if len(ins) == 1 else merge(ins)
        fields.append(node.op.rf_through(field, [graph.nodes[i].shape for i in node.inputs]))
    return fields
