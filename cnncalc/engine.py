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
        """Jupyter shows the lecture table (an HTML table, not a whole page): not the interactive
        report, whose script notebook viewers strip or do not trust (JupyterLab after a reload,
        GitHub, nbviewer) and whose <html> page does not belong in a cell. The report is
        cnncalc.report.web.report_page(analysis, view)."""
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


SAVED_DTYPE_BYTES = {"float32": 4, "int64": 8, "bool": 1}
AMP_DTYPES = ("bfloat16", "float16")


def element_bytes(analysis: Analysis, amp: str | None = None, device: str = "cpu") -> list[int]:
    """Bytes per element of every node's output in a forward pass: the analysis dtype, or under
    autocast (amp: "bfloat16" or "float16", the model and its input in float32) what each op's
    `autocast` category gives it (registry.py; docs/memory.md#autocast)."""
    if amp is None:
        return [analysis.dtype.bytes] * len(analysis.graph.nodes)
    if amp not in AMP_DTYPES or analysis.dtype.name != "float32":
        raise ValueError(f"autocast to {amp} needs a float32 model (got {analysis.dtype.name})")
    low = 2
    out = [4]  # the input batch
    for node in analysis.graph.nodes[1:]:
        rule = _autocast_rule(node.op, device)
        ins = [out[i] for i in node.inputs]
        out.append(low if rule == "low" else 4 if rule in ("float32", "float32_out")
                   else max(ins) if rule == "widest" else ins[0])
    return out


def _autocast_rule(op: Any, device: str) -> str:
    return (op.autocast_cuda or op.autocast) if device.startswith("cuda") else op.autocast


def peak_live_bytes(analysis: Analysis, amp: str | None = None, device: str = "cpu") -> int:
    """Largest set of activations alive at once in a forward pass that frees each tensor after its
    last use (the input included; an in-place layer writes into its input's buffer). Under
    autocast, each tensor in its own dtype, plus the low-dtype weight copies autocast caches
    for the forward pass."""
    nodes = analysis.graph.nodes
    width = element_bytes(analysis, amp, device)
    owner = list(range(len(nodes)))  # the buffer each node's output lives in
    size = [analysis.input_bytes] + [0 if r.output_bytes == 0 else
                                     analysis.batch * width[r.index] * numel(r.output) for r in analysis.rows]
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
    return peak + (weight_copy_bytes(analysis, device) if amp else 0)


def weight_copy_bytes(analysis: Analysis, device: str = "cpu") -> int:
    """Under autocast: the low-dtype (2-byte) copies of the weights the low-precision ops
    multiply by, once per model."""
    return 2 * sum(r.node.op.cast_weights(list(r.inputs), r.output) for r in analysis.rows
                   if _autocast_rule(r.node.op, device) == "low" and not r.node.train_only)


def param_bytes(analysis: Analysis) -> int:
    """Bytes of all parameters in the element type of the analysis."""
    return analysis.totals.params * analysis.dtype.bytes


def forward_memory_estimate(analysis: Analysis, amp: str | None = None, device: str = "cpu") -> int:
    """Parameters + the largest live set of activations: what an inference pass needs at its peak."""
    return param_bytes(analysis) + peak_live_bytes(analysis, amp, device)


OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "rmsprop": 1, "adagrad": 1, "adam": 2, "adamw": 2}


def backward_transient_bytes(analysis: Analysis, amp: str | None = None, device: str = "cpu") -> int:
    """The largest set of gradients alive at one step of the backward pass: while a layer's
    backward runs, the gradient of its output and the gradients of its inputs (one tensor each,
    in that tensor's dtype). docs/memory.md says what this leaves out."""
    width = element_bytes(analysis, amp, device)
    batch, nodes = analysis.batch, analysis.graph.nodes
    best = 0
    for row in analysis.rows:
        if row.node.train_only:
            continue
        grads = width[row.index] * numel(row.output) + sum(width[i] * numel(nodes[i].shape)
                                                           for i in row.node.inputs if i)
        best = max(best, batch * grads)
    return best


def training_memory(analysis: Analysis, optimizer: str = "sgd", device: str = "cpu",
                    amp: str | None = None, checkpoint: int | None = None) -> dict[str, int]:
    """Bytes a training step holds at its peak, by part (docs/memory.md): the parameters, their
    gradients and the optimizer state (per parameter: 0 for SGD, 1 for momentum / RMSprop /
    Adagrad, 2 for Adam / AdamW, in the parameters' dtype, as torch.optim keeps them); what
    autograd saves for the backward pass (saved_for_backward), the low-dtype weight copies
    under autocast apart; the input batch when no layer saves it; and the largest transient of
    the backward pass. "total" is the training peak. amp: autocast to "bfloat16" or "float16"
    (parameters, gradients and optimizer state stay float32). checkpoint: activation
    checkpointing in that many segments (checkpointing); the input batch is then apart."""
    params = param_bytes(analysis)
    saved, input_saved = _saved(analysis, device, amp)
    copies = weight_copy_bytes(analysis, device) if amp else 0
    activations = sum(saved) - copies
    if checkpoint is not None:
        activations, input_saved = checkpointing(analysis, checkpoint, device, amp).activations_saved, False
    parts = {"parameters": params, "gradients": params, "optimizer_state": OPTIMIZER_STATES[optimizer] * params,
             "activations_saved": activations, "weight_copies": copies,
             "input": 0 if input_saved else analysis.input_bytes,
             "backward_transient": backward_transient_bytes(analysis, amp, device)}
    parts["total"] = sum(parts.values())
    return parts


def training_memory_estimate(analysis: Analysis, optimizer: str = "sgd", device: str = "cpu",
                             amp: str | None = None, checkpoint: int | None = None) -> int:
    """The training peak in bytes (see training_memory)."""
    return training_memory(analysis, optimizer, device, amp, checkpoint)["total"]


def depth(analysis: Analysis) -> int:
    """Weight layers (conv, linear: parameters and multiply-adds) on the longest path from input
    to output: the depth that names networks (AlexNet 8, VGG-16 16, GoogLeNet 22, ResNet-50 50)."""
    longest = [0] * len(analysis.graph.nodes)
    for row in analysis.rows:
        longest[row.index] = max(longest[j] for j in row.node.inputs) + row.node.op.weight_layer
    return longest[-1]


def saved_for_backward(analysis: Analysis, device: str = "cpu", amp: str | None = None) -> tuple[int, ...]:
    """Bytes autograd keeps for the backward pass, per row, in a training-mode forward pass:
    what each op's `saves` declares, with sharing (docs/memory.md). An input or output is one
    storage, counted once at the first row that saves it: an in-place ReLU's output is also
    the next conv's input, and a view (flatten, permute, chunk) keeps its base's whole storage.
    A tensor an op makes (indices, masks, statistics) is its own. Parameters are not included.
    device: dropout's mask is the activation dtype on the CPU and bool on CUDA. amp: under
    autocast, each tensor in its dtype (element_bytes); a low-precision op saves the low-dtype
    copy of a float32 input (its own), and the copies of its weights (weight_copy_bytes)."""
    return _saved(analysis, device, amp)[0]


def _saved(analysis: Analysis, device: str, amp: str | None = None) -> tuple[tuple[int, ...], bool]:
    """saved_for_backward's rows, and whether the input batch is among the saved storages."""
    items = _saved_items(analysis, device, amp)[0]
    counted: set[int] = set()
    out = []
    for row_items in items:
        total = 0
        for buf, nbytes in row_items:
            if buf is None or buf < 0 or buf not in counted:
                total += nbytes
                if buf is not None:
                    counted.add(buf)
        out.append(total)
    return tuple(out), 0 in counted


# What one row saves: (the storage, by the node that owns it, or None for a tensor of the op's
# own, or WEIGHT_COPY for autocast's low-dtype copy of its weights; bytes)
SavedItem = tuple[int | None, int]
WEIGHT_COPY = -1


def _saved_items(analysis: Analysis, device: str,
                 amp: str | None) -> tuple[list[list[SavedItem]], list[int], list[int]]:
    """Per row, what it saves: a shared storage (by the node that owns it) or a tensor of its
    own with its bytes; the bytes of every storage; and the storage every node's output is in."""
    nodes = analysis.graph.nodes
    width = element_bytes(analysis, amp, device)
    batch = analysis.batch
    owner = list(range(len(nodes)))  # the storage each node's output lives in
    size = [analysis.input_bytes] + [batch * width[i] * numel(n.shape) for i, n in enumerate(nodes[1:], start=1)]
    for i, node in enumerate(nodes[1:], start=1):
        if node.op.shares_storage():
            owner[i] = owner[node.inputs[0]]
    out: list[list[SavedItem]] = []
    for row in analysis.rows:
        node = row.node
        items: list[SavedItem] = []
        out.append(items)
        if node.train_only:
            continue
        op, act = node.op, width[row.index]
        rule = _autocast_rule(op, device) if amp else ""
        declared = op.saves_autocast(list(row.inputs), row.output) if amp else op.saves(list(row.inputs), row.output)
        for saved in declared:
            if saved.tensor == "new":
                bytes_per = (act if saved.dtype == "act" else (act if device == "cpu" else 1) if saved.dtype == "mask"
                             else SAVED_DTYPE_BYTES[saved.dtype])
                items.append((None, saved.elems * bytes_per * (batch if saved.per_sample else 1)))
                continue
            source = row.index if saved.tensor == "y" else node.inputs[int(saved.tensor[1:])]
            cast = {"low": 2, "float32": 4}.get(rule)
            if cast is not None and saved.tensor != "y" and width[source] != cast:
                items.append((None, batch * cast * numel(nodes[source].shape)))  # autocast's cast copy: its own
                continue
            items.append((owner[source], size[owner[source]]))
        if rule == "low":
            items.append((WEIGHT_COPY, 2 * op.cast_weights(list(row.inputs), row.output)))
    return out, size, owner


class Checkpointing(NamedTuple):
    """Activation checkpointing in segments, as torch.utils.checkpoint.checkpoint_sequential runs
    it: every segment but the last keeps only its input during the forward pass and runs its
    forward again during the backward pass; the last segment saves as usual."""

    starts: tuple[int, ...]  # the first row of each segment (row indices into analysis.rows)
    activations_saved: int  # the largest set of saved bytes alive at once (docs/memory.md#checkpointing)
    without: int  # the same without checkpointing (sum of saved_for_backward, the input apart)
    recompute_macs: int  # the checkpointed segments' multiply-adds, run a second time

    @property
    def segments(self) -> int:
        return len(self.starts)


def cut_points(analysis: Analysis) -> list[int]:
    """Rows after which one tensor alone crosses to the rest of the network (the only places a
    sequential checkpoint can cut): every later layer reads that row's output or later ones."""
    nodes = analysis.graph.nodes
    cuts = []
    earliest = len(nodes)  # the earliest node read by any node after i
    for i in range(len(nodes) - 1, 0, -1):
        if earliest >= i and i < len(nodes) - 1:
            cuts.append(i - 1)  # node i is row i - 1
        earliest = min([earliest, *nodes[i].inputs])
    return sorted(cuts)


def checkpointing(analysis: Analysis, segments: int, device: str = "cpu", amp: str | None = None) -> Checkpointing:
    """What checkpointing in `segments` segments keeps and recomputes. The cuts are
    checkpoint_sequential's: equal numbers of layers, each cut moved to the nearest of
    cut_points (the k-th segment ends near row k*len(rows)//segments). The peak is the larger of
    the end of the forward pass (the checkpointed segments' inputs + what the last segment
    saves) and each checkpointed segment's recomputation in the backward pass (the inputs of it
    and the segments before it + what it saves). Neither the input batch nor autocast's weight
    copies are counted (training_memory counts them apart, the copies whole: autocast's cache
    holds them all until the forward pass ends)."""
    items, size, owner = _saved_items(analysis, device, amp)
    rows = analysis.rows
    items = [[(buf, n) for buf, n in row_items if buf != WEIGHT_COPY] for row_items in items]
    per_row, counted = [], {0}
    for row_items in items:  # each storage charged to its first saver, as saved_for_backward does
        total = 0
        for buf, nbytes in row_items:
            if buf is None or buf not in counted:
                total += nbytes
                if buf is not None:
                    counted.add(buf)
        per_row.append(total)
    whole = sum(per_row)
    cuts = cut_points(analysis)
    if segments < 1:
        raise ValueError("checkpoint segments must be at least 1")
    if segments - 1 > len(cuts):
        raise ValueError(f"{analysis.graph.name} can be cut into at most {len(cuts) + 1} segments "
                         f"(a cut needs one tensor alone crossing it)")
    chosen: list[int] = []
    for k in range(1, segments):  # checkpoint_sequential's equal split, moved to the nearest cut
        target = k * len(rows) // segments - 1  # the last row of segment k
        room = len(cuts) - (segments - 1 - k)  # leave a cut for each later segment
        options = [c for c in cuts[:room] if not chosen or c > chosen[-1]]
        chosen.append(min(options, key=lambda c: (abs(c - target), c)))
    starts = (0, *[c + 1 for c in chosen])
    bounds = [*starts, len(rows)]

    def kept(seg: int) -> set[int]:  # the storages a segment's rows save
        return {buf for r in range(bounds[seg], bounds[seg + 1]) for buf, _ in items[r] if buf is not None} - {0}

    def saved(seg: int) -> int:  # a segment's own tensors + its storages, each once
        own = sum(n for r in range(bounds[seg], bounds[seg + 1]) for buf, n in items[r] if buf is None)
        return own + sum(size[b] for b in kept(seg))

    def boundary(seg: int) -> int:  # the storage a segment starts from
        return owner[analysis.graph.nodes[rows[bounds[seg]].index].inputs[0]] if seg else 0

    last = len(starts) - 1
    inputs = [boundary(k) for k in range(last)]  # what each checkpointed segment keeps
    ends = sum(size[b] for b in set(inputs[1:]) - kept(last)) + saved(last)
    peak = ends
    for k in range(last - 1, -1, -1):
        held = {b for b in inputs[1:k + 1]} - kept(k)
        peak = max(peak, sum(size[b] for b in held) + saved(k))
    recompute = sum(r.macs for r in rows[:bounds[last]])
    return Checkpointing(starts, peak, whole, recompute)
