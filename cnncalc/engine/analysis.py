"""Graph -> Analysis: per-layer parameters, multiply-adds and activation memory, and totals.

Stage: engine (pure). In: a shaped Graph, batch size and element type. Out: Analysis, exact
Python ints only; no formatting, no printing, no report imported (the library's Analysis in
cnncalc/results.py adds those). What each counting tool reports (`counted`) comes from the ops'
own rules. Conventions: docs/conventions.md. Training memory: engine/memory.py.
"""

from __future__ import annotations

from math import prod
from typing import TypeVar

from cnncalc.budget import EVERY, checkpoint
from cnncalc.dtypes import Dtype, get_dtype
from cnncalc.graph import Graph, Node
from cnncalc.ops.registry import Cost, Shape, numel, two_per_mac, zero
from cnncalc.ops.registry import macs as macs_rule
from cnncalc.record import Record


class LayerRow(Record):
    """One node's numbers. Activations and MACs are for the whole batch; params per model."""

    node: Node
    inputs: tuple[Shape, ...]  # input shapes, one sample each
    weights: int
    biases: int
    macs: int  # the lecture's "flop": multiply-adds (conv, linear, matmul) and window reads (pooling)
    elem_ops: int  # elementwise operations kept out of the lecture column (activations, BN, add)
    output_bytes: int  # size of the output tensor
    memory_bytes: int  # activation memory this layer adds: output_bytes, or 0 if run in place
    index: int  # type: ignore[assignment]  # position of the node in graph.nodes (shadows tuple.index)
    cost: Cost  # the op's cost for one sample (what the counting rules read)

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def type(self) -> str:
        return self.node.op.type

    @property
    def input(self) -> Shape:
        """The (first) input's shape."""
        return self.inputs[0]

    @property
    def output(self) -> Shape:
        return self.node.shape

    @property
    def params(self) -> int:
        """Learnable parameters: weights + biases."""
        return self.weights + self.biases


class Totals(Record):
    weights: int
    biases: int
    macs: int
    elem_ops: int
    memory_bytes: int

    @property
    def params(self) -> int:
        """Learnable parameters: weights + biases."""
        return self.weights + self.biases


class Analysis:
    """The numbers of one network at one batch size and element type: a row per layer, totals,
    and what each counting tool reports (counted). Made by analyze(); immutable. The library's
    cnncalc.Analysis (results.py) is this class with its reports and memory added."""

    __slots__ = ("_counted", "batch", "dtype", "graph", "memo", "rows", "totals")

    def __init__(self, graph: Graph, batch: int, dtype: Dtype, rows: tuple[LayerRow, ...], totals: Totals) -> None:
        self.graph, self.batch, self.dtype, self.rows, self.totals = graph, batch, dtype, rows, totals
        self._counted: dict[str, tuple[int, ...]] = {}
        # what the reports derive from these numbers once and share (report/model.py: the table's
        # rows per fold and depth, receptive fields); never numbers of the engine's own
        self.memo: dict[object, object] = {}

    def __repr__(self) -> str:
        t = self.totals
        return (f"<Analysis {self.graph.name}: {len(self.rows)} layers, {t.params:,} params, {t.macs:,} MACs, "
                f"{t.memory_bytes:,} B activations (batch {self.batch}, {self.dtype.name})>")

    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def outputs(self) -> tuple[tuple[str, Shape], ...]:
        """The network's outputs, (name, shape) each: the spec's `outputs:`, else its last layer."""
        return tuple((self.graph.nodes[i].name, self.graph.nodes[i].shape) for i in self.graph.output_nodes)

    @property
    def dtype_bytes(self) -> int:
        return self.dtype.bytes

    @property
    def input_bytes(self) -> int:
        """The input batch's bytes: the element type's, or 8 a token id (int64) with `tokens: true`."""
        return self.batch * numel(self.graph.input_shape) * (8 if self.graph.tokens else self.dtype.bytes)

    def counted(self, profile: str = "lecture") -> tuple[int, ...]:
        """What the profile's tool (lecture, torch, fvcore, ptflops, torchinfo, thop) reports for
        each row, at this batch size; docs/conventions.md says what each one counts."""
        if profile not in self._counted:
            from cnncalc.conventions import get_profile

            get_profile(profile)  # a clear error for an unknown name
            counts: dict[tuple, int] = {}  # (op, input shapes, cost): as analyze() does, each once
            batch, found = self.batch, []
            for r in self.rows:
                node = r.node
                if node.train_only:
                    found.append(0)
                    continue
                # the commonest rules read the cost alone (ultralytics' are doubled: OpDef.counted)
                rule = node.op.counts.get(profile) if profile != "ultralytics" else None
                if rule is macs_rule:
                    found.append(batch * r.cost.macs)
                    continue
                if rule is zero:
                    found.append(0)
                    continue
                if rule is two_per_mac:
                    found.append(2 * batch * r.cost.macs)
                    continue
                key = (id(node.op), r.inputs, r.cost)
                n = counts.get(key)
                if n is None:
                    n = counts[key] = batch * node.op.counted(profile, r.inputs, node.shape, r.cost)
                found.append(n)
            self._counted[profile] = tuple(found)
        return self._counted[profile]

    def total_counted(self, profile: str = "lecture") -> int:
        """The tool's model total: the sum of its per-layer counts."""
        return sum(self.counted(profile))


A = TypeVar("A", bound=Analysis)


def analyze(graph: Graph, batch: int = 1, dtype: str | Dtype = "float32", cls: type[A] = Analysis) -> A:  # type: ignore[assignment]
    """Walk the graph once, in order, and cost every layer (node 0, the input, is skipped).
    cls: the class of the result (the library's Analysis subclass)."""
    dt = get_dtype(dtype)
    size = batch * dt.bytes
    rows = []
    nodes = graph.nodes
    # An op is an immutable record shared by every node built with the same arguments (graph.py),
    # and a row's numbers a function of it, the shapes and the node's two flags: a deep network's
    # repeated blocks work each out once. Keyed by id(op): every op is alive (in graph.nodes) for
    # the whole walk. Totals are summed on the way.
    known: dict[tuple, tuple] = {}
    make = tuple.__new__
    weights = biases = macs = elem_ops = memory = 0
    for index in range(1, len(nodes)):
        if not index % EVERY:  # `cnncalc serve` may stop a long analysis here (budget.py)
            checkpoint()
        node = nodes[index]
        sources = node.inputs
        inputs = (nodes[sources[0]].shape,) if len(sources) == 1 else tuple([nodes[i].shape for i in sources])
        key = (id(node.op), inputs, node.shape, node.train_only, node.shares >= 0)
        part = known.get(key)
        if part is None:
            op, shape = node.op, node.shape
            cost = op.cost(list(inputs), shape)
            out_bytes = size * prod(shape)
            if node.train_only:  # an auxiliary head: its parameters exist, an inference pass runs none of it
                cost, out_bytes = Cost(cost.weights, cost.biases), 0
            if node.shares >= 0:  # weight sharing: the work again, the parameters counted at their owner
                cost = cost._replace(weights=0, biases=0)
            part = known[key] = (cost.weights, cost.biases, batch * cost.macs, batch * cost.elem_ops, out_bytes,
                                 0 if op.inplace else out_bytes, cost)
        w, b, m, e, out_bytes, mem, cost = part
        rows.append(make(LayerRow, (node, inputs, w, b, m, e, out_bytes, mem, index, cost)))
        weights += w
        biases += b
        macs += m
        elem_ops += e
        memory += mem
    totals = Totals(weights, biases, macs, elem_ops, memory)
    return cls(graph, batch, dt, tuple(rows), totals)


def depth(analysis: Analysis) -> int:
    """Weight layers (conv, linear: parameters and multiply-adds) on the longest path from input
    to output: the depth that names networks (AlexNet 8, VGG-16 16, GoogLeNet 22, ResNet-50 50)."""
    longest = [0] * len(analysis.graph.nodes)
    for row in analysis.rows:
        longest[row.index] = max(longest[j] for j in row.node.inputs) + row.node.op.weight_layer
    return longest[-1]
