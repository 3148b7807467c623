"""Mistakes that are valid PyTorch: one-line notes, never errors.

Stage: engine (pure). In: a shaped Graph. Out: the notes a person would want said once, on
stderr by the CLI (`note: ...`) and as Analysis-independent text for the library. A spec that
draws one is still analysed exactly as written: torch would run it too.
"""

from __future__ import annotations

from cnncalc.graph import Graph
from cnncalc.ops.registry import fmt_shape


def notes(graph: Graph) -> list[str]:
    """What looks like a slip in a network that still runs:

    - a classifier that ends on a map: the output is a linear layer on a C x H x W (or longer)
      input, which nn.Linear applies to the last axis only (a forgotten `flatten`). A linear
      inside the network on a map is left alone: ConvNeXt's and the Mixers' channel MLPs are that.
    """
    out = []
    for index in graph.output_nodes:
        node = graph.nodes[index]
        if node.op.type != "linear" or not node.inputs:
            continue
        shape_in = graph.nodes[node.inputs[0]].shape
        if len(shape_in) >= 3 and any(n > 1 for n in shape_in[:-1]):
            out.append(f"'{node.name}' (linear) acts on the last axis of its {fmt_shape(shape_in)} input, as "
                       f"nn.Linear does, so the network's output is the map {fmt_shape(node.shape)}; a classifier "
                       "flattens first: add `- flatten` (or a global pool) before it")
    return out
