"""Analysis -> memory: what autograd saves for the backward pass, autocast's dtypes, the
inference and training peaks, activation checkpointing, and the largest batch that fits.

Stage: engine (pure). In: an Analysis (its graph and element type; its batch is where the
numbers are read). Out: exact ints. Every byte count of the model is an affine function of the
batch (`Bytes`: fixed + per_sample x batch), so the largest batch that fits a budget is solved
from one analysis, never searched by rebuilding it. docs/memory.md says what each part is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from cnncalc.engine.analysis import Analysis
from cnncalc.errors import UsageError
from cnncalc.ops.registry import numel

SAVED_DTYPE_BYTES = {"float32": 4, "int64": 8, "bool": 1}
AMP_DTYPES = ("bfloat16", "float16")
OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "rmsprop": 1, "adagrad": 1, "adam": 2, "adamw": 2}
DEVICES = ("cpu", "cuda")
MAX_BATCH = 10**18  # the largest batch any command takes: where a budget would allow more


class Bytes(NamedTuple):
    """A memory size as a function of the batch: fixed + per_sample x batch (exact ints)."""

    fixed: int = 0
    per_sample: int = 0

    def at(self, batch: int) -> int:
        return self.fixed + self.per_sample * batch


def total(parts: Iterable[Bytes]) -> Bytes:
    fixed = per_sample = 0
    for part in parts:
        fixed += part.fixed
        per_sample += part.per_sample
    return Bytes(fixed, per_sample)


# ---- checking the options (the library's words; the CLI names its flags: cli/common.py) ------

def check_options(analysis: Analysis, optimizer: str = "sgd", device: str = "cpu", amp: str | None = None) -> None:
    """A UsageError for an optimizer, device or autocast dtype the model does not know."""
    check_optimizer(optimizer)
    if device not in DEVICES:
        raise UsageError(None, f"device={device!r}: memory is modelled for 'cpu' or 'cuda'", param="device")
    check_amp(analysis, amp)


def check_optimizer(optimizer: str) -> None:
    if optimizer not in OPTIMIZER_STATES:
        from cnncalc.spec.expr import did_you_mean

        raise UsageError(None, f"optimizer={optimizer!r} is not one of {', '.join(OPTIMIZER_STATES)}",
                         did_you_mean(str(optimizer), list(OPTIMIZER_STATES)), param="optimizer")


def check_amp(analysis: Analysis, amp: str | None) -> None:
    if amp is None:
        return
    if amp not in AMP_DTYPES:
        raise UsageError(None, f"amp={amp!r} is not an autocast dtype", "amp='bfloat16' or amp='float16'",
                         param="amp")
    if analysis.dtype.name != "float32":
        raise UsageError(None, f"amp={amp} runs a float32 model under autocast; this analysis is "
                         f"{analysis.dtype.name}", f"analyze with dtype='float32', or leave amp out for a model "
                         f"held in {analysis.dtype.name}", param="amp")


# ---- dtypes under autocast -------------------------------------------------------------------

def element_bytes(analysis: Analysis, amp: str | None = None, device: str = "cpu") -> list[int]:
    """Bytes per element of every node's output in a forward pass: the analysis dtype, or under
    autocast (amp: "bfloat16" or "float16", the model and its input in float32) what each op's
    `autocast` category gives it (registry.py; docs/memory.md#autocast)."""
    ids = 8 if analysis.graph.tokens else None  # token ids are int64 whatever the model's dtype
    if amp is None:
        return [ids or analysis.dtype.bytes] + [analysis.dtype.bytes] * (len(analysis.graph.nodes) - 1)
    check_amp(analysis, amp)
    low = 2
    out = [ids or 4]  # the input batch
    for node in analysis.graph.nodes[1:]:
        rule = _autocast_rule(node.op, device, analysis.graph.nodes[node.inputs[0]].shape if node.inputs else ())
        ins = [out[i] for i in node.inputs]
        out.append(low if rule == "low" else 4 if rule in ("float32", "float32_out")
                   else max(ins) if rule == "widest" else ins[0])
    return out


def _autocast_rule(op: Any, device: str, x: tuple[int, ...] = ()) -> str:
    """The op's autocast category on `device` for an input of shape x (OpDef.autocast_rule)."""
    return op.autocast_rule(device, len(x))


def _sample_bytes(analysis: Analysis, width: list[int]) -> list[int]:
    """Bytes of every node's output for one sample, in its dtype (node 0: the input batch)."""
    return [width[i] * numel(node.shape) for i, node in enumerate(analysis.graph.nodes)]


# ---- inference ----------------------------------------------------------------------------

def peak_live(analysis: Analysis, amp: str | None = None, device: str = "cpu") -> Bytes:
    """Largest set of activations alive at once in a forward pass that frees each tensor after its
    last use (the input included; an in-place layer writes into its input's buffer). Under
    autocast, each tensor in its own dtype, plus the low-dtype weight copies autocast caches
    for the forward pass (fixed)."""
    nodes = analysis.graph.nodes
    size = _sample_bytes(analysis, element_bytes(analysis, amp, device))
    for row in analysis.rows:
        if row.node.train_only:  # never runs in inference
            size[row.index] = 0
    owner = list(range(len(nodes)))  # the buffer each node's output lives in
    for i, node in enumerate(nodes[1:], start=1):
        if node.op.inplace:
            owner[i] = owner[node.inputs[0]]
    last_use = {owner[i]: i for i in range(len(nodes))}
    for i, node in enumerate(nodes[1:], start=1):
        for j in node.inputs:
            last_use[owner[j]] = max(last_use[owner[j]], i)
    for out in analysis.graph.output_nodes:  # the network's outputs are kept
        last_use[owner[out]] = len(nodes)
    live = peak = size[0]
    for i in range(1, len(nodes)):
        if owner[i] == i:
            live += size[i]
        peak = max(peak, live)
        for buf in {owner[j] for j in nodes[i].inputs}:
            if last_use[buf] == i:
                live -= size[buf]
    return Bytes(weight_copy_bytes(analysis, device) if amp else 0, peak)


def peak_live_bytes(analysis: Analysis, amp: str | None = None, device: str = "cpu") -> int:
    """peak_live at the analysis' batch, in bytes."""
    return peak_live(analysis, amp, device).at(analysis.batch)


def weight_copy_bytes(analysis: Analysis, device: str = "cpu") -> int:
    """Under autocast: the low-dtype (2-byte) copies of the weights the low-precision ops
    multiply by, once per model."""
    return 2 * sum(r.node.op.cast_weights(list(r.inputs), r.output) for r in analysis.rows
                   if _autocast_rule(r.node.op, device, r.inputs[0] if r.inputs else ()) == "low" and not r.node.train_only)


def param_bytes(analysis: Analysis) -> int:
    """Bytes of all parameters in the element type of the analysis."""
    return analysis.totals.params * analysis.dtype.bytes


def forward_memory_estimate(analysis: Analysis, amp: str | None = None, device: str = "cpu") -> int:
    """Parameters + the largest live set of activations: what an inference pass needs at its peak."""
    return param_bytes(analysis) + peak_live_bytes(analysis, amp, device)


# ---- what autograd saves --------------------------------------------------------------------

# What one row saves: the storage (the node that owns it), or None for a tensor of the op's own,
# or WEIGHT_COPY for autocast's low-dtype copy of its weights; and its bytes
SavedItem = tuple[int | None, Bytes]
WEIGHT_COPY = -1


class SavedPlan(NamedTuple):
    """Per row, what it saves; the per-sample bytes of every storage; the storage of every node."""

    items: list[list[SavedItem]]
    size: list[int]
    owner: list[int]


def saved_plan(analysis: Analysis, device: str, amp: str | None) -> SavedPlan:
    """What each row's declared `saves` are (ops/registry.py), resolved to storages: an input or
    output is one storage, shared by the views and in-place ops over it; a tensor an op makes
    (indices, masks, statistics, autocast's cast copy) is its own."""
    nodes = analysis.graph.nodes
    width = element_bytes(analysis, amp, device)
    size = _sample_bytes(analysis, width)
    owner = list(range(len(nodes)))  # the storage each node's output lives in
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
        rule = _autocast_rule(op, device, row.inputs[0] if row.inputs else ()) if amp else ""
        declared = op.saves_autocast(list(row.inputs), row.output) if amp else op.saves(list(row.inputs), row.output)
        for saved in declared:
            if saved.tensor == "new":
                bytes_per = (act if saved.dtype == "act" else (act if device == "cpu" else 1) if saved.dtype == "mask"
                             else SAVED_DTYPE_BYTES[saved.dtype])
                n = saved.elems * bytes_per
                items.append((None, Bytes(0, n) if saved.per_sample else Bytes(n, 0)))
                continue
            source = row.index if saved.tensor == "y" else node.inputs[int(saved.tensor[1:])]
            cast = {"low": 2, "float32": 4}.get(rule)
            if cast is not None and saved.tensor != "y" and width[source] != cast:
                items.append((None, Bytes(0, cast * numel(nodes[source].shape))))  # autocast's cast copy: its own
                continue
            items.append((owner[source], Bytes(0, size[owner[source]])))
        if rule == "low":
            items.append((WEIGHT_COPY, Bytes(2 * op.cast_weights(list(row.inputs), row.output), 0)))
    return SavedPlan(out, size, owner)


def charged(items: list[list[SavedItem]], already: Iterable[int] = ()) -> tuple[list[Bytes], set[int]]:
    """Each row's saved bytes with every storage charged to the first row that saves it (an
    in-place ReLU's output is also the next conv's input: counted once); a row's own tensors
    and weight copies are always its own. `already`: storages charged elsewhere (the input
    batch). Returns the rows' bytes and every storage charged."""
    counted = set(already)
    out = []
    for row_items in items:
        fixed = per_sample = 0
        for buf, nbytes in row_items:
            if buf is None or buf == WEIGHT_COPY or buf not in counted:
                fixed += nbytes.fixed
                per_sample += nbytes.per_sample
                if buf is not None and buf != WEIGHT_COPY:
                    counted.add(buf)
        out.append(Bytes(fixed, per_sample))
    return out, counted


def saved_for_backward(analysis: Analysis, device: str = "cpu", amp: str | None = None) -> tuple[int, ...]:
    """Bytes autograd keeps for the backward pass, per row, in a training-mode forward pass:
    what each op's `saves` declares, with sharing (docs/memory.md). An input or output is one
    storage, counted once at the first row that saves it: an in-place ReLU's output is also
    the next conv's input, and a view (flatten, permute, chunk) keeps its base's whole storage.
    A tensor an op makes (indices, masks, statistics) is its own. Parameters are not included.
    device: dropout's mask is the activation dtype on the CPU and bool on CUDA. amp: under
    autocast, each tensor in its dtype (element_bytes); a low-precision op saves the low-dtype
    copy of a float32 input (its own), and the copies of its weights (weight_copy_bytes)."""
    rows, _ = charged(saved_plan(analysis, device, amp).items)
    return tuple(b.at(analysis.batch) for b in rows)


# ---- the backward pass -------------------------------------------------------------------------

def backward_transient(analysis: Analysis, amp: str | None = None, device: str = "cpu") -> Bytes:
    """The largest set of gradients alive at one step of the backward pass: while a layer's
    backward runs, the gradient of its output and the gradients of its inputs (one tensor each,
    in that tensor's dtype). docs/memory.md says what this leaves out."""
    size = _sample_bytes(analysis, element_bytes(analysis, amp, device))
    best = 0
    for row in analysis.rows:
        if row.node.train_only:
            continue
        best = max(best, size[row.index] + sum(size[i] for i in row.node.inputs if i))
    return Bytes(0, best)


def backward_transient_bytes(analysis: Analysis, amp: str | None = None, device: str = "cpu") -> int:
    return backward_transient(analysis, amp, device).at(analysis.batch)


# ---- activation checkpointing ----------------------------------------------------------------

class Checkpointing(NamedTuple):
    """Activation checkpointing in segments, as torch.utils.checkpoint.checkpoint_sequential runs
    it: every segment but the last keeps only its input during the forward pass and runs its
    forward again during the backward pass; the last segment saves as usual."""

    starts: tuple[int, ...]  # the first row of each segment (row indices into analysis.rows)
    activations_saved: int  # the largest set of saved bytes alive at once (docs/memory.md#checkpointing)
    without: int  # the same without checkpointing (sum of saved_for_backward, the input apart)
    recompute_macs: int  # the checkpointed segments' multiply-adds, run a second time
    candidates: tuple[Bytes, ...] = ()  # each moment that can be the peak; activations_saved is their max

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
    if type(segments) is not int or segments < 1:
        raise UsageError(None, f"checkpoint={segments!r}: the segments must be a positive integer", param="checkpoint")
    plan = saved_plan(analysis, device, amp)
    size, owner, rows, batch = plan.size, plan.owner, analysis.rows, analysis.batch
    items = [[(buf, n) for buf, n in row_items if buf != WEIGHT_COPY] for row_items in plan.items]
    whole = total(charged(items, already=(0,))[0])
    cuts = cut_points(analysis)
    if segments - 1 > len(cuts):
        raise UsageError(None, f"checkpoint={segments}: {analysis.graph.name} can be cut into at most "
                         f"{len(cuts) + 1} segments (a cut needs one tensor alone crossing it)", param="checkpoint")
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

    def saved(seg: int) -> Bytes:  # a segment's own tensors + its storages, each once
        own = total(n for r in range(bounds[seg], bounds[seg + 1]) for buf, n in items[r] if buf is None)
        return Bytes(own.fixed, own.per_sample + sum(size[b] for b in kept(seg)))

    def held(storages: set[int], seg: int) -> Bytes:
        mine = saved(seg)
        return Bytes(mine.fixed, mine.per_sample + sum(size[b] for b in storages))

    def boundary(seg: int) -> int:  # the storage a segment starts from
        return owner[analysis.graph.nodes[rows[bounds[seg]].index].inputs[0]] if seg else 0

    last = len(starts) - 1
    inputs = [boundary(k) for k in range(last)]  # what each checkpointed segment keeps
    candidates = [held(set(inputs[1:]) - kept(last), last)]  # the end of the forward pass
    for k in range(last - 1, -1, -1):  # each checkpointed segment's recomputation
        candidates.append(held(set(inputs[1:k + 1]) - kept(k), k))
    recompute = sum(r.macs for r in rows[:bounds[last]])
    return Checkpointing(starts, max(c.at(batch) for c in candidates), whole.at(batch), recompute, tuple(candidates))


# ---- training ------------------------------------------------------------------------------

PARTS = ("parameters", "gradients", "optimizer_state", "activations_saved", "weight_copies", "input",
         "backward_transient")


class TrainingModel(NamedTuple):
    """The training peak as a function of the batch: every part but the saved activations is
    one Bytes; the saved activations are the largest of `activations` (one without
    checkpointing; one per moment that can be the peak with it)."""

    parts: dict[str, Bytes]  # PARTS, activations_saved as at no particular batch (see at())
    activations: tuple[Bytes, ...]
    plan: Checkpointing | None

    def at(self, batch: int) -> dict[str, int]:
        """Every part in bytes at this batch, and "total": the training peak."""
        out = {name: (max(a.at(batch) for a in self.activations) if name == "activations_saved" else b.at(batch))
               for name, b in self.parts.items()}
        out["total"] = sum(out.values())
        return out

    def largest_batch(self, capacity: int) -> int:
        """The largest batch whose training peak is at most capacity bytes (0: not even batch 1;
        MAX_BATCH where the budget allows any). Exact: the peak is the largest of affine functions
        of the batch, so each one gives its own bound and the smallest bound holds for all."""
        rest = total(b for name, b in self.parts.items() if name != "activations_saved")
        best = MAX_BATCH
        for a in self.activations:
            room, slope = capacity - rest.fixed - a.fixed, rest.per_sample + a.per_sample
            if room < 0:
                return 0
            if slope:
                best = min(best, room // slope)
        return best


def training_model(analysis: Analysis, optimizer: str = "sgd", device: str = "cpu",
                   amp: str | None = None, checkpoint: int | None = None) -> TrainingModel:
    """The parts of a training step's peak as functions of the batch (see training_memory)."""
    check_options(analysis, optimizer, device, amp)
    params = param_bytes(analysis)
    plan = saved_plan(analysis, device, amp)
    rows, counted = charged(plan.items)
    copies = weight_copy_bytes(analysis, device) if amp else 0
    activations: tuple[Bytes, ...] = (Bytes(total(rows).fixed - copies, total(rows).per_sample),)
    input_saved = 0 in counted
    checkpoints = None
    if checkpoint is not None:
        checkpoints = checkpointing(analysis, checkpoint, device, amp)
        activations, input_saved = checkpoints.candidates, False
    parts = {"parameters": Bytes(params), "gradients": Bytes(params),
             "optimizer_state": Bytes(OPTIMIZER_STATES[optimizer] * params),
             "activations_saved": activations[0], "weight_copies": Bytes(copies),
             "input": Bytes(0, 0 if input_saved else plan.size[0]),
             "backward_transient": backward_transient(analysis, amp, device)}
    return TrainingModel(parts, activations, checkpoints)


def training_memory(analysis: Analysis, optimizer: str = "sgd", device: str = "cpu",
                    amp: str | None = None, checkpoint: int | None = None) -> dict[str, int]:
    """Bytes a training step holds at its peak, by part (docs/memory.md): the parameters, their
    gradients and the optimizer state (per parameter: 0 for SGD, 1 for momentum / RMSprop /
    Adagrad, 2 for Adam / AdamW, in the parameters' dtype, as torch.optim keeps them); what
    autograd saves for the backward pass (activations_saved), the low-dtype weight copies
    under autocast apart; the input batch when no layer saves it; and the largest transient of
    the backward pass. "total" is the training peak. amp: autocast to "bfloat16" or "float16"
    (parameters, gradients and optimizer state stay float32). checkpoint: activation
    checkpointing in that many segments (checkpointing); the input batch is then apart."""
    return training_model(analysis, optimizer, device, amp, checkpoint).at(analysis.batch)


def training_memory_estimate(analysis: Analysis, optimizer: str = "sgd", device: str = "cpu",
                             amp: str | None = None, checkpoint: int | None = None) -> int:
    """The training peak in bytes (see training_memory)."""
    return training_memory(analysis, optimizer, device, amp, checkpoint)["total"]


def max_batch(analysis: Analysis, capacity: int, optimizer: str = "sgd", device: str = "cpu",
              amp: str | None = None, checkpoint: int | None = None) -> int:
    """The largest batch whose training peak fits in capacity bytes (0: not even batch 1): solved
    from this one analysis (TrainingModel.largest_batch), whatever its own batch."""
    return training_model(analysis, optimizer, device, amp, checkpoint).largest_batch(capacity)
