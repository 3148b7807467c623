"""Receptive fields: which input pixels one output position of every layer sees.

Stage: analysis (pure), beside engine.analyze. In: a Graph (nodes in topological order, shapes
already inferred). Out: one Field per node, aligned with graph.nodes. It must not print, read or
write files, import torch, or touch floats: sizes and jumps are ints, starts are Fractions. Window
parameters come from each op's rf_window() (one op, one place); this module only walks the graph.

Per axis (h, w), the standard recurrence (Araujo, Norris, Sim, "Computing Receptive Fields of
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

from cnncalc.graph import Graph
from cnncalc.ops.registry import Pair


@dataclass(frozen=True)
class Field:
    """The receptive field of one output position of a layer, per axis (h, w), in input pixels."""

    size: tuple[int, int]  # input pixels one output position sees
    jump: tuple[int, int]  # input pixels between adjacent output positions
    start: tuple[Fraction, Fraction]  # centre of output position 0's field (0 = centre of pixel 0)


INPUT_FIELD = Field((1, 1), (1, 1), (Fraction(0), Fraction(0)))


def through_window(f: Field, window: tuple[Pair, Pair, Pair, Pair]) -> Field:
    """The field after one window (kernel, stride, pad, dilation), by the recurrence above."""
    kernel, stride, pad, dilation = window
    size, jump, start = [], [], []
    for a in range(2):
        reach = dilation[a] * (kernel[a] - 1) + 1  # k_eff
        size.append(f.size[a] + (reach - 1) * f.jump[a])
        jump.append(f.jump[a] * stride[a])
        start.append(f.start[a] + (Fraction(reach - 1, 2) - pad[a]) * f.jump[a])
    return Field((size[0], size[1]), (jump[0], jump[1]), (start[0], start[1]))


def merge(fields: list[Field]) -> Field:
    """The field of a multi-input node: per axis the largest size, its start, the largest jump."""
    size, jump, start = [], [], []
    for a in range(2):
        widest = max(fields, key=lambda f: f.size[a])  # max() keeps the first on a tie
        size.append(widest.size[a])
        start.append(widest.start[a])
        jump.append(max(f.jump[a] for f in fields))
    return Field((size[0], size[1]), (jump[0], jump[1]), (start[0], start[1]))


def receptive_fields(graph: Graph) -> list[Field]:
    """One Field per node of the graph (node 0, the input, included), in one topological walk."""
    fields: list[Field] = []
    for node in graph.nodes:
        if not node.inputs:  # the input node
            fields.append(INPUT_FIELD)
            continue
        ins = [fields[i] for i in node.inputs]
        field = ins[0] if len(ins) == 1 else merge(ins)
        window = node.op.rf_window([graph.nodes[i].shape for i in node.inputs])
        fields.append(field if window is None else through_window(field, window))
    return fields
