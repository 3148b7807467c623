"""Analysis -> the timeline of one training step and of one inference pass: what is alive after
every op, so the peak is the largest moment PyTorch really has, and where it falls.

Stage: engine (pure; no torch). In: an Analysis and the saved-tensor plan (saved.saved_plan).
Out: Moments, each a phase, a row and its bytes by part as functions of the batch (Bytes), so
the peak at any batch and the largest batch under a budget are read from one walk.

The walk follows what PyTorch does in a steady-state step (docs/memory.md#the-walk):
- forward: each op's output is allocated; a tensor is freed after its last reader unless autograd
  saved it; autograd's own tensors (statistics, masks) and autocast's weight copies accumulate;
- backward, in reverse order of the forward (autograd runs the newest node first): each op's
  input gradients and parameter gradients are allocated while its output's gradient and its
  saved tensors are alive; then those are released; a gradient reaching a tensor that already
  has one is summed out of place (both and the sum alive for a moment); under autocast the
  low-precision gradients of float32 tensors are cast back (both alive for a moment);
- optimizer.step(): every gradient and the optimizer's temporaries (torch.optim's single-tensor
  code on the CPU, foreach on CUDA);
- zero_grad(set_to_none=True) frees the gradients (keep_grads: they stay, zeroed).
Activation checkpointing runs each checkpointed segment's forward again, saving, just before its
backward.
"""

from __future__ import annotations

from collections.abc import Sequence

from cnncalc.engine.analysis import Analysis
from cnncalc.engine.saved import SAVED_DTYPE_BYTES, WEIGHT_COPY, element_bytes, saved_plan
from cnncalc.ops.registry import numel
from cnncalc.record import Record

# The parts of a moment, in this order (Moment.fixed, Moment.per_sample)
PARTS = ("parameters", "buffers", "gradients", "optimizer_state", "activations_saved", "weight_copies", "input",
         "transient")
_P, _BUF, _GRAD, _STATE, _SAVED, _COPY, _INPUT, _TMP = range(len(PARTS))

# Optimizer state: tensors the size of each parameter, and whether it keeps a step count per
# parameter (a float32 scalar tensor in torch.optim)
STATE = {"sgd": (0, False), "momentum": (1, False), "rmsprop": (1, True), "adagrad": (1, True), "adam": (2, True),
         "adamw": (2, True)}


class Moment(Record):
    """One instant of the timeline: the phase (forward, backward, step, inference), the row
    whose op runs (an index into analysis.rows; -1 for none) and the bytes alive by part (PARTS),
    each fixed + per_sample x batch."""

    phase: str
    row: int
    fixed: tuple[int, ...]
    per_sample: tuple[int, ...]

    def at(self, batch: int) -> int:
        return sum(self.fixed) + sum(self.per_sample) * batch

    def parts_at(self, batch: int) -> dict[str, int]:
        return {name: f + p * batch for name, f, p in zip(PARTS, self.fixed, self.per_sample)}


class _Live:
    """The bytes alive, by part: fixed and per-sample, changed as the walk goes."""

    def __init__(self) -> None:
        self.fixed = [0] * len(PARTS)
        self.per_sample = [0] * len(PARTS)
        self.moments: list[Moment] = []

    def add(self, part: int, fixed: int = 0, per_sample: int = 0) -> None:
        self.fixed[part] += fixed
        self.per_sample[part] += per_sample

    def mark(self, phase: str, row: int) -> None:
        self.moments.append(Moment(phase, row, tuple(self.fixed), tuple(self.per_sample)))


def param_tensors(analysis: Analysis) -> list[tuple[int, int]]:
    """Every parameter tensor as (row, elements), in the order the model registers them (the
    optimizer's order); a row that shares another's weights has none of its own."""
    out: list[tuple[int, int]] = []
    for r, row in enumerate(analysis.rows):
        if row.node.shares < 0:
            out.extend((r, n) for n in row.node.op.param_tensors(list(row.inputs), row.output))
    return out


def buffer_bytes(analysis: Analysis) -> int:
    """Bytes of every buffer (BatchNorm's running statistics...): floats in the model's dtype,
    counters int64."""
    total = 0
    for row in analysis.rows:
        if row.node.shares < 0:
            floats, ints = row.node.op.buffers(list(row.inputs), row.output)
            total += floats * analysis.dtype.bytes + 8 * ints
    return total


def step_temporaries(sizes: Sequence[int], optimizer: str, foreach: bool) -> tuple[int, int]:
    """The largest bytes optimizer.step() allocates beside the state (sizes: each parameter's
    bytes, in order), and the index of the parameter where it falls. Single-tensor Adam/AdamW
    divides a new sqrt of the second moment into a new tensor, `denom`
    (`(exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)`), while the previous parameter's
    denom is still bound: its bytes + 2x this one's. RMSprop and Adagrad take one sqrt (`avg`,
    `std`): the previous one's + this one's. Foreach: one sqrt of the whole group at once. SGD,
    with or without momentum, updates in place."""
    if optimizer in ("sgd", "momentum") or not sizes:
        return 0, -1
    if foreach:
        return sum(sizes), len(sizes) - 1
    copies = 2 if optimizer in ("adam", "adamw") else 1
    best, where = -1, -1
    for k, size in enumerate(sizes):
        here = (sizes[k - 1] if k else 0) + copies * size
        if here > best:
            best, where = here, k
    return best, where


class _Graph:
    """What the walks read from an analysis, once: every tensor's bytes per sample in its dtype,
    the storage it lives in, its last reader, and the rows' saved tensors."""

    def __init__(self, analysis: Analysis, device: str, amp: str | None, training: bool,
                 attention: str | None = None) -> None:
        self.analysis = analysis
        self.nodes = nodes = analysis.graph.nodes
        self.rows = rows = analysis.rows
        self.width = width = element_bytes(analysis, amp, device)
        self.tensor = [width[i] * numel(node.shape) for i, node in enumerate(nodes)]
        # an auxiliary head runs only in training, a detector's decoding only in inference
        self.runs = [not row.node.eval_only if training else not row.node.train_only for row in rows]
        self.plan = saved_plan(analysis, device, amp, training=training, attention=attention) if training else None
        self.owner = list(range(len(nodes)))
        for i, node in enumerate(nodes[1:], start=1):
            if node.op.shares_storage():
                self.owner[i] = self.owner[node.inputs[0]]
        # the outputs: the network's, and in training the ends of the auxiliary heads
        readers = [0] * len(nodes)
        for r, row in enumerate(rows):
            if self.runs[r]:
                for j in row.node.inputs:
                    readers[j] += 1
        runs_node = {row.index: run for row, run in zip(rows, self.runs)}
        self.outputs = {o for o in analysis.graph.output_nodes if runs_node.get(o, True)}
        if training:
            self.outputs |= {row.index for row in rows if row.node.train_only and not readers[row.index]}
        self.last_read = list(range(len(nodes)))  # by storage: the last node that reads it
        for r, row in enumerate(rows):
            if self.runs[r]:
                for j in row.node.inputs:
                    s = self.owner[j]
                    self.last_read[s] = max(self.last_read[s], row.index)
        # a block is a module: its caller holds its input until it returns
        first: dict[str, int] = {}
        last: dict[str, int] = {}
        for r, row in enumerate(rows):
            if self.runs[r]:
                for block in row.node.scope:
                    first.setdefault(block, row.index)
                    last[block] = row.index
        for r, row in enumerate(rows):
            if self.runs[r]:
                for block in row.node.scope:
                    for j in row.node.inputs:
                        if j < first[block]:
                            s = self.owner[j]
                            self.last_read[s] = max(self.last_read[s], last[block])
        self.frees: list[list[int]] = [[] for _ in nodes]  # by node: the storages its end lets go
        self.kept = {self.owner[o] for o in self.outputs}  # the outputs' storages: alive to the loss
        for s, node_index in enumerate(self.last_read):
            if self.owner[s] == s and s not in self.kept and s:
                self.frees[node_index].append(s)
        self.rule = [row.node.op.autocast_rule(device, len(row.inputs[0]) if row.inputs else 0) if amp else ""
                     for row in rows]  # autocast's category of each row's op ("" without autocast)
        self.low = [rule == "low" for rule in self.rule]


def inference_walk(analysis: Analysis, amp: str | None = None, device: str = "cpu") -> list[Moment]:
    """One eval-mode forward pass under no_grad: the parameters, the buffers and the input batch
    (the caller holds it) throughout; each output from its op to its last reader (the network's
    outputs to the end; an in-place op or a view adds none); under autocast the low-dtype copies
    of the weights, cached from their first use to the end of the pass, and each op's cast copy
    of an input in another dtype while it runs."""
    g = _Graph(analysis, device, amp, training=False)
    live = _Live()
    pbytes = analysis.dtype.bytes
    live.add(_P, sum(n for _, n in param_tensors(analysis)) * pbytes)
    live.add(_BUF, buffer_bytes(analysis))
    live.add(_INPUT, 0, g.tensor[0])
    for r, row in enumerate(g.rows):
        if not g.runs[r]:
            continue
        i, node = row.index, row.node
        if g.owner[i] == i:
            live.add(_TMP, 0, g.tensor[i])
        cast = {"low": 2, "float32": 4}.get(g.rule[r])
        casts = 0
        if cast:
            casts = sum(cast * numel(g.nodes[j].shape) for j in set(node.inputs) if g.width[j] != cast)
            if g.low[r] and node.shares < 0:  # every parameter cast once, cached to the end of the pass
                live.add(_COPY, 2 * sum(node.op.param_tensors(list(row.inputs), row.output)))
        act = g.width[i]
        work = sum(w.elems * (act if w.dtype in ("act", "mask") else SAVED_DTYPE_BYTES[w.dtype])
                   for w in node.op.workspace(list(row.inputs), row.output))
        live.add(_TMP, 0, casts + work)
        live.mark("inference", r)
        live.add(_TMP, 0, -casts - work)
        for s in g.frees[i]:
            live.add(_TMP, 0, -g.tensor[s])
    return live.moments


def training_walk(analysis: Analysis, optimizer: str = "sgd", device: str = "cpu", amp: str | None = None,
                  starts: Sequence[int] = (0,), keep_grads: bool = False, foreach: bool | None = None,
                  attention: str | None = None) -> list[Moment]:
    """One steady-state training step (the optimizer's state exists; module docstring): forward,
    backward, optimizer.step(). starts: the first row of each activation-checkpointing segment
    (every segment but the last is checkpointed; (0,): none). keep_grads: zero_grad(set_to_none=
    False), the gradients alive throughout. foreach: the optimizer's implementation (None: the
    device's default, foreach on CUDA, single-tensor on the CPU). attention: the
    scaled_dot_product_attention kernel (memory.saved_for_backward; None: the one torch picks)."""
    g = _Graph(analysis, device, amp, training=True, attention=attention)
    assert g.plan is not None
    nodes, rows, owner, size, items = g.nodes, g.rows, g.owner, g.plan.size, g.plan.items
    pbytes = analysis.dtype.bytes
    tensors = param_tensors(analysis)
    total_params = sum(n for _, n in tensors) * pbytes
    row_params = [0] * len(rows)
    row_tensors: list[list[int]] = [[] for _ in rows]
    for r, n in tensors:
        row_params[r] += n * pbytes
        row_tensors[r].append(n)
    index_row = {row.index: r for r, row in enumerate(rows)}
    grad_row = [index_row[row.node.shares] if row.node.shares >= 0 else r for r, row in enumerate(rows)]

    live = _Live()
    live.add(_P, total_params)
    live.add(_BUF, buffer_bytes(analysis))
    states, counts_steps = STATE[optimizer]
    live.add(_STATE, states * total_params + (4 * len(tensors) if counts_steps else 0))
    live.add(_INPUT, 0, size[0])
    if keep_grads:
        live.add(_GRAD, total_params)

    bounds = [*starts, len(rows)]
    segment = [0] * len(rows)
    for k in range(len(starts)):
        for r in range(bounds[k], bounds[k + 1]):
            segment[r] = k
    checkpointed = len(starts) - 1  # segments 0 .. checkpointed - 1 keep only their input

    # every storage's state: None (not alive), "tmp" (alive, not kept for backward), "held" (kept
    # for backward until the backward of row release[s] is done)
    state: list[str | None] = [None] * len(nodes)
    state[0] = "input"
    release = [len(rows)] * len(nodes)
    copies_cached: list[int] = []  # autocast's cache: weight copies not saved (checkpointed segments)

    def hold(s: int, r: int) -> None:
        if state[s] == "tmp":
            live.add(_TMP, 0, -size[s])
            live.add(_SAVED, 0, size[s])
            state[s] = "held"
        if state[s] == "held":
            release[s] = min(release[s], r)

    def forward(first: int, end: int, saving: bool, phase: str) -> None:
        for r in range(first, end):
            if not g.runs[r]:  # a detector's decoding: not part of a training step
                continue
            i = rows[r].index
            if owner[i] == i:
                live.add(_TMP, 0, size[i])
                state[i] = "tmp"
            if g.low[r]:  # autocast casts every parameter: cached to the forward's end, the weights saved
                cast = 2 * row_params[grad_row[r]] // pbytes - sum(n.fixed for b, n in items[r] if b == WEIGHT_COPY)
                live.add(_COPY, cast)
                copies_cached.append(cast)
            for buf, nbytes in items[r]:
                if buf == WEIGHT_COPY:  # in autocast's cache from here to the forward's end; saved: longer
                    live.add(_COPY, nbytes.fixed)
                    if not saving:
                        copies_cached.append(nbytes.fixed)
                elif saving and buf is None:
                    live.add(_SAVED, nbytes.fixed, nbytes.per_sample)
                elif saving and buf:
                    hold(buf, r)
            live.mark(phase, r)
            for s in g.frees[i]:
                if state[s] == "tmp":
                    live.add(_TMP, 0, -size[s])
                    state[s] = None

    # the forward pass: checkpointed segments save nothing but their input
    for k in range(len(starts)):
        saving = k == checkpointed
        if not saving:
            entry = owner[nodes[rows[bounds[k]].index].inputs[0]]
            hold(entry, bounds[k])
        forward(bounds[k], bounds[k + 1], saving, "forward")
    for fixed in copies_cached:  # autocast's cache is cleared as the forward pass ends
        live.add(_COPY, -fixed)
    copies_cached.clear()

    # the loss: its gradient reaches each output as a tensor of that output's size
    needs_grad = [False] * len(nodes)
    for r, row in enumerate(rows):
        needs_grad[row.index] = g.runs[r] and (row_params[grad_row[r]] > 0 or
                                               any(needs_grad[j] for j in row.node.inputs))
    pending: dict[int, int] = {}  # node -> bytes per sample of the gradient waiting for it
    for o in sorted(g.outputs):
        s = owner[o]
        if state[s] == "tmp":  # the output itself is let go once the loss is taken
            live.add(_TMP, 0, -size[s])
            state[s] = None
        if needs_grad[o]:
            pending[o] = g.tensor[o]
            live.add(_TMP, 0, g.tensor[o])
    has_grad = [False] * len(rows)

    for r in range(len(rows) - 1, -1, -1):
        k = segment[r]
        if k < checkpointed and r == bounds[k + 1] - 1:  # the segment's forward runs again, saving
            forward(bounds[k], bounds[k + 1], True, "recompute")
            for fixed in copies_cached:  # the recomputation's autocast cache
                live.add(_COPY, -fixed)
            copies_cached.clear()
            for s in range(len(nodes)):
                if state[s] == "tmp" and s not in g.kept:
                    live.add(_TMP, 0, -size[s])
                    state[s] = None
        i, node = rows[r].index, rows[r].node
        grad = pending.pop(i, None)
        new: list[tuple[int, int, int]] = []  # (input node, bytes computed, bytes after its cast)
        param_low = param_final = 0
        if grad is not None:
            cast = {"low": 2, "float32": 4}.get(g.rule[r])
            for j in dict.fromkeys(node.inputs):
                if not needs_grad[j]:
                    continue
                if node.op.view and numel(nodes[j].shape) == numel(node.shape):
                    new.append((j, 0, grad))  # the gradient of a view is a view of the gradient
                    continue
                final = g.tensor[j]
                computed = cast * numel(nodes[j].shape) if cast and g.width[j] != cast else final
                new.append((j, computed, final))
            owner_row = grad_row[r]
            if row_params[owner_row]:
                n = row_params[owner_row] // pbytes
                param_final = row_params[owner_row]
                param_low = 2 * n if g.low[r] else 0
        alias = any(c == 0 for _, c, _ in new)
        live.add(_TMP, 0, sum(c for _, c, _ in new))
        direct = param_final if not param_low and not keep_grads and not has_grad[grad_row[r]] else 0
        live.add(_GRAD, direct)
        live.add(_TMP, param_low or (param_final - direct))
        if grad is not None:
            live.mark("backward", r)
        # the op is done: its output's gradient and what it saved are let go
        if grad is not None and not alias:
            live.add(_TMP, 0, -grad)
        for buf, nbytes in items[r]:
            if buf is None:
                live.add(_SAVED, -nbytes.fixed, -nbytes.per_sample)
            elif buf == WEIGHT_COPY:
                live.add(_COPY, -nbytes.fixed)
        held = {b for b, _ in items[r] if b and b != WEIGHT_COPY}
        if r in starts and node.inputs:  # a checkpointed segment's input
            held.add(owner[node.inputs[0]])
        for buf in held:
            if state[buf] == "held" and release[buf] == r:
                live.add(_SAVED, 0, -size[buf])
                state[buf] = None
        if grad is None:
            continue
        # autocast: low-precision gradients of float32 weights and tensors cast back (ToCopyBackward)
        if param_low:  # each tensor's in turn
            first = not keep_grads and not has_grad[grad_row[r]]
            for n in row_tensors[grad_row[r]]:
                live.add(_GRAD if first else _TMP, n * pbytes)
                live.mark("backward", r)
                live.add(_TMP, -2 * n - (0 if first else n * pbytes))
        elif param_final and not direct:
            live.add(_TMP, -param_final)  # summed into the gradient in place
        if param_final:
            has_grad[grad_row[r]] = True
        for j, computed, final in new:
            if computed and computed != final:
                live.add(_TMP, 0, final)
                live.mark("backward", r)
                live.add(_TMP, 0, -computed)
            if j in pending:  # a second gradient for j: summed out of place
                live.add(_TMP, 0, g.tensor[j])
                live.mark("backward", r)
                live.add(_TMP, 0, -pending[j] - final)
                pending[j] = g.tensor[j]
            else:
                pending[j] = final
    for leftover in pending.values():
        live.add(_TMP, 0, -leftover)

    sizes = [n * pbytes for _, n in tensors]
    if not keep_grads:
        live.fixed[_GRAD] = total_params  # every parameter has its gradient now
    temp, where = step_temporaries(sizes, optimizer, device == "cuda" if foreach is None else foreach)
    live.add(_TMP, temp)
    live.mark("step", tensors[where][0] if where >= 0 else -1)
    live.add(_TMP, -temp)
    return live.moments
