"""Graph -> Analysis: per-layer parameters, multiply-adds and activation memory, and totals.

Stage: engine (pure). In: a shaped Graph, batch size and bytes per element. Out: Analysis,
exact Python ints only; no formatting, no printing. Conventions: docs/conventions.md.
"""

from __future__ import annotations

from typing import NamedTuple

from cnncalc.graph import Graph, Node
from cnncalc.ops.registry import Shape, numel

DTYPE_BYTES = {"float32": 4, "fp32": 4, "float16": 2, "fp16": 2, "half": 2, "bfloat16": 2,
               "bf16": 2, "float64": 8, "fp64": 8, "int8": 1, "uint8": 1}


class LayerRow(NamedTuple):
    """One node's numbers. Activations and MACs are for the whole batch; params per model."""

    node: Node
    inputs: tuple[Shape, ...]
    weights: int
    biases: int
    macs: int  # the lecture's "flop": multiply-adds (conv, linear) and window reads (pooling)
    elem_ops: int  # elementwise operations kept out of the lecture column (activations, BN, add)
    output_bytes: int  # size of the output tensor
    memory_bytes: int  # activation memory this layer adds: output_bytes, or 0 if run in place
    index: int = 0  # position of the node in graph.nodes

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def type(self) -> str:
        return self.node.op.type

    @property
    def output(self) -> Shape:
        return self.node.shape

    def params(self, weights_only: bool = False) -> int:
        return self.weights if weights_only else self.weights + self.biases


class Totals(NamedTuple):
    weights: int
    biases: int
    macs: int
    elem_ops: int
    memory_bytes: int

    def params(self, weights_only: bool = False) -> int:
        return self.weights if weights_only else self.weights + self.biases


class Analysis(NamedTuple):
    graph: Graph
    batch: int
    dtype_bytes: int
    rows: tuple[LayerRow, ...]
    totals: Totals

    @property
    def input_bytes(self) -> int:
        return self.batch * numel(self.graph.input_shape) * self.dtype_bytes


def analyze(graph: Graph, batch: int = 1, dtype_bytes: int = 4) -> Analysis:
    """Walk the graph once, in order, and cost every layer (node 0, the input, is skipped)."""
    rows = []
    for index, node in enumerate(graph.nodes[1:], start=1):
        inputs = tuple(graph.nodes[i].shape for i in node.inputs)
        cost = node.op.cost(list(inputs), node.shape)
        out_bytes = batch * numel(node.shape) * dtype_bytes
        rows.append(LayerRow(node, inputs, cost.weights, cost.biases, batch * cost.macs,
                             batch * cost.elem_ops, out_bytes, 0 if node.op.inplace else out_bytes, index))
    totals = Totals(sum(r.weights for r in rows), sum(r.biases for r in rows),
                    sum(r.macs for r in rows), sum(r.elem_ops for r in rows),
                    sum(r.memory_bytes for r in rows))
    return Analysis(graph, batch, dtype_bytes, tuple(rows), totals)


def peak_live_bytes(analysis: Analysis) -> int:
    """Largest set of activations alive at once in a forward pass that frees each tensor after its
    last use (the input included; an in-place layer writes into its input's buffer)."""
    nodes = analysis.graph.nodes
    owner = list(range(len(nodes)))  # the buffer each node's output lives in
    size = [analysis.input_bytes] + [r.output_bytes for r in analysis.rows]
    for i, node in enumerate(nodes[1:], start=1):
        if node.op.inplace:
            owner[i] = owner[node.inputs[0]]
    last_use = {owner[i]: i for i in range(len(nodes))}
    for i, node in enumerate(nodes[1:], start=1):
        for j in node.inputs:
            last_use[owner[j]] = max(last_use[owner[j]], i)
    last_use[owner[-1]] = len(nodes)  # the network's output is kept
    live = peak = size[0]
    for i in range(1, len(nodes)):
        if owner[i] == i:
            live += size[i]
        peak = max(peak, live)
        for buf in {owner[j] for j in nodes[i].inputs}:
            if last_use[buf] == i:
                live -= size[buf]
    return peak


def param_bytes(analysis: Analysis) -> int:
    """Bytes of all parameters in the element type of the analysis."""
    return analysis.totals.params() * analysis.dtype_bytes


def forward_memory_estimate(analysis: Analysis) -> int:
    """Parameters + the largest live set of activations: what an inference pass needs at its peak."""
    return param_bytes(analysis) + peak_live_bytes(analysis)


OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "rmsprop": 1, "adagrad": 1, "adam": 2, "adamw": 2}


def training_memory(analysis: Analysis, optimizer: str = "sgd") -> dict[str, int]:
    """Bytes a training step holds at its peak, by part (docs/conventions.md#training-memory):
    parameters, their gradients, optimizer state (per parameter: 0 for SGD, 1 for momentum /
    RMSprop / Adagrad, 2 for Adam / AdamW, in the same dtype as the parameters, as torch.optim
    keeps them), every layer's activation kept for the backward pass, and the input batch."""
    params = param_bytes(analysis)
    parts = {"parameters": params, "gradients": params, "optimizer state": OPTIMIZER_STATES[optimizer] * params,
             "activations": analysis.totals.memory_bytes, "input": analysis.input_bytes}
    parts["total"] = sum(parts.values())
    return parts


def training_memory_estimate(analysis: Analysis, optimizer: str = "sgd") -> int:
    """Total bytes of a training step (see training_memory)."""
    return training_memory(analysis, optimizer)["total"]


def depth(analysis: Analysis) -> int:
    """Weight layers (conv, linear) on the longest path from input to output: the depth that
    names networks (AlexNet 8, VGG-16 16, GoogLeNet 22, ResNet-50 50)."""
    longest = [0] * len(analysis.graph.nodes)
    for i, node in enumerate(analysis.graph.nodes[1:], start=1):
        longest[i] = max(longest[j] for j in node.inputs) + (1 if node.op.torch_counts_macs else 0)
    return longest[-1]
