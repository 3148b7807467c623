"""Graph -> Analysis: per-layer parameters, multiply-adds and activation memory, and totals.

Stage: engine (pure). In: a shaped Graph, batch size and element type. Out: Analysis, exact
Python ints only; no formatting, no printing. What each counting tool reports (`counted`) comes
from the ops' own rules. Conventions: docs/conventions.md.
"""

from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING, Any, NamedTuple

from cnncalc.dtypes import Dtype, get_dtype
from cnncalc.graph import Graph, Node
from cnncalc.ops.registry import Cost, Shape, numel

if TYPE_CHECKING:
    from cnncalc.report.view import View


class LayerRow(NamedTuple):
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


class Totals(NamedTuple):
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
    and what each counting tool reports (counted). Made by cnncalc.analyze(); immutable."""

    __slots__ = ("_counted", "batch", "dtype", "graph", "rows", "totals")

    def __init__(self, graph: Graph, batch: int, dtype: Dtype, rows: tuple[LayerRow, ...], totals: Totals) -> None:
        self.graph, self.batch, self.dtype, self.rows, self.totals = graph, batch, dtype, rows, totals
        self._counted: dict[str, tuple[int, ...]] = {}

    def __repr__(self) -> str:
        t = self.totals
        return (f"<Analysis {self.graph.name}: {len(self.rows)} layers, {t.params:,} params, {t.macs:,} MACs, "
                f"{t.memory_bytes:,} B activations (batch {self.batch}, {self.dtype.name})>")

    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def dtype_bytes(self) -> int:
        return self.dtype.bytes

    @property
    def input_bytes(self) -> int:
        return self.batch * numel(self.graph.input_shape) * self.dtype.bytes

    def counted(self, profile: str = "lecture") -> tuple[int, ...]:
        """What the profile's tool (lecture, torch, fvcore, ptflops, torchinfo, thop) reports for
        each row, at this batch size; docs/conventions.md says what each one counts."""
        if profile not in self._counted:
            from cnncalc.conventions import get_profile

            get_profile(profile)  # a clear error for an unknown name
            self._counted[profile] = tuple(
                0 if r.node.train_only else self.batch * r.node.op.counted(profile, r.inputs, r.output, r.cost)
                for r in self.rows)
        return self._counted[profile]

    def total_counted(self, profile: str = "lecture") -> int:
        """The tool's model total: the sum of its per-layer counts."""
        return sum(self.counted(profile))

    # -- showing and exporting (the report modules are imported only when asked) ---------------
    def view(self, **options: Any) -> View:
        from cnncalc.report.view import View

        return View(**options)

    def to_dict(self, convention: str = "lecture", params: str = "all", rf: bool = False) -> dict[str, Any]:
        """The document `cnncalc table --format json` prints: every layer and the totals, exact ints."""
        from cnncalc.report.text import to_dict

        return to_dict(self, self.view(convention=convention, weights_only=params == "weights", rf=rf))

    def render(self, fmt: str = "markdown", convention: str = "lecture", params: str = "all",
               units: str = "lecture", fold: bool = True, depth: int | None = None, rf: bool = False) -> str:
        """The table as text: markdown, csv, latex, html, json, or rich (the terminal table, as text)."""
        from cnncalc.report.text import render_any

        view = self.view(convention=convention, weights_only=params == "weights", units=units, fold=fold,
                         depth=depth, rf=rf)
        return render_any(self, view, fmt)

    def to_dataframe(self, convention: str = "lecture") -> Any:
        """One row per layer as a pandas DataFrame (pip install 'cnncalc[pandas]')."""
        try:
            import pandas
        except ImportError:
            from cnncalc.errors import UsageError

            raise UsageError(None, "to_dataframe needs pandas: pip install 'cnncalc[pandas]'") from None
        return pandas.DataFrame(self.to_dict(convention)["layers"])

    def _repr_html_(self) -> str:
        """Jupyter shows the lecture table (an HTML table, not a whole page)."""
        from cnncalc.report.grid import html_table
        from cnncalc.report.text import table_grid

        return html_table(table_grid(self, self.view()))


def analyze(graph: Graph, batch: int = 1, dtype: str | Dtype = "float32") -> Analysis:
    """Walk the graph once, in order, and cost every layer (node 0, the input, is skipped)."""
    dt = get_dtype(dtype)
    size = batch * dt.bytes
    rows = []
    nodes = graph.nodes
    for index in range(1, len(nodes)):
        node = nodes[index]
        op, shape = node.op, node.shape
        inputs = tuple([nodes[i].shape for i in node.inputs])
        cost = op.cost(list(inputs), shape)
        out_bytes = size * prod(shape)
        if node.train_only:  # an auxiliary head: its parameters exist, an inference pass runs none of it
            cost, out_bytes = Cost(cost.weights, cost.biases), 0
        rows.append(LayerRow(node, inputs, cost.weights, cost.biases, batch * cost.macs,
                             batch * cost.elem_ops, out_bytes, 0 if op.inplace else out_bytes, index, cost))
    totals = Totals(sum(r.weights for r in rows), sum(r.biases for r in rows),
                    sum(r.macs for r in rows), sum(r.elem_ops for r in rows),
                    sum(r.memory_bytes for r in rows))
    return Analysis(graph, batch, dt, tuple(rows), totals)


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
    return analysis.totals.params * analysis.dtype.bytes


def forward_memory_estimate(analysis: Analysis) -> int:
    """Parameters + the largest live set of activations: what an inference pass needs at its peak."""
    return param_bytes(analysis) + peak_live_bytes(analysis)


OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "rmsprop": 1, "adagrad": 1, "adam": 2, "adamw": 2}


def backward_transient_bytes(analysis: Analysis) -> int:
    """The largest set of gradients alive at one step of the backward pass: while a layer's
    backward runs, the gradient of its output and the gradients of its inputs (one tensor each,
    in the activation dtype). docs/memory.md says what this leaves out."""
    act, batch, nodes = analysis.dtype.bytes, analysis.batch, analysis.graph.nodes
    best = 0
    for row in analysis.rows:
        if row.node.train_only:
            continue
        grads = numel(row.output) + sum(numel(nodes[i].shape) for i in row.node.inputs if i)
        best = max(best, batch * act * grads)
    return best


def training_memory(analysis: Analysis, optimizer: str = "sgd", device: str = "cpu") -> dict[str, int]:
    """Bytes a training step holds at its peak, by part (docs/memory.md): the parameters, their
    gradients and the optimizer state (per parameter: 0 for SGD, 1 for momentum / RMSprop /
    Adagrad, 2 for Adam / AdamW, in the parameters' dtype, as torch.optim keeps them); what
    autograd saves for the backward pass (saved_for_backward); the input batch when no layer
    saves it; and the largest transient of the backward pass. "total" is the training peak."""
    params = param_bytes(analysis)
    saved, input_saved = _saved(analysis, device)
    parts = {"parameters": params, "gradients": params, "optimizer_state": OPTIMIZER_STATES[optimizer] * params,
             "activations_saved": sum(saved), "input": 0 if input_saved else analysis.input_bytes,
             "backward_transient": backward_transient_bytes(analysis)}
    parts["total"] = sum(parts.values())
    return parts


def training_memory_estimate(analysis: Analysis, optimizer: str = "sgd") -> int:
    """The training peak in bytes (see training_memory)."""
    return training_memory(analysis, optimizer)["total"]


def depth(analysis: Analysis) -> int:
    """Weight layers (conv, linear: parameters and multiply-adds) on the longest path from input
    to output: the depth that names networks (AlexNet 8, VGG-16 16, GoogLeNet 22, ResNet-50 50)."""
    longest = [0] * len(analysis.graph.nodes)
    for row in analysis.rows:
        longest[row.index] = max(longest[j] for j in row.node.inputs) + row.node.op.weight_layer
    return longest[-1]


SAVED_DTYPE_BYTES = {"float32": 4, "int64": 8, "bool": 1}


def saved_for_backward(analysis: Analysis, device: str = "cpu") -> tuple[int, ...]:
    """Bytes autograd keeps for the backward pass, per row, in a training-mode forward pass:
    what each op's `saves` declares, with sharing (docs/memory.md). An input or output is one
    storage, counted once at the first row that saves it: an in-place ReLU's output is also
    the next conv's input, and a view (flatten, permute, chunk) keeps its base's whole storage.
    A tensor an op makes (indices, masks, statistics) is its own. Parameters are not included.
    device: dropout's mask is the activation dtype on the CPU and bool on CUDA."""
    return _saved(analysis, device)[0]


def _saved(analysis: Analysis, device: str) -> tuple[tuple[int, ...], bool]:
    """saved_for_backward's rows, and whether the input batch is among the saved storages."""
    nodes = analysis.graph.nodes
    act = analysis.dtype.bytes
    batch = analysis.batch
    owner = list(range(len(nodes)))  # the storage each node's output lives in
    size = [analysis.input_bytes] + [batch * act * numel(n.shape) for n in nodes[1:]]
    for i, node in enumerate(nodes[1:], start=1):
        if node.op.shares_storage():
            owner[i] = owner[node.inputs[0]]
    counted: set[int] = set()
    mask = act if device == "cpu" else 1
    out = []
    for row in analysis.rows:
        node = row.node
        if node.train_only:
            out.append(0)
            continue
        total = 0
        for saved in node.op.saves(list(row.inputs), row.output):
            if saved.tensor == "new":
                bytes_per = act if saved.dtype == "act" else mask if saved.dtype == "mask" else SAVED_DTYPE_BYTES[saved.dtype]
                total += saved.elems * bytes_per * (batch if saved.per_sample else 1)
                continue
            buf = owner[row.index] if saved.tensor == "y" else owner[node.inputs[int(saved.tensor[1:])]]
            if buf not in counted:
                counted.add(buf)
                total += size[buf]
        out.append(total)
    return tuple(out), owner[0] in counted
