"""Analysis -> what autograd saves for the backward pass, and each tensor's dtype under autocast.

Stage: engine (pure; no torch). In: an Analysis (its graph and element type). Out: exact ints.
Each op declares what it saves (`saves` in cnncalc/ops/); here those declarations become
storages, shared where PyTorch shares them (an in-place op's output, a view), in each tensor's
dtype. memory.py (the parts and peaks) and liveness.py (the step's timeline) read this plan.
docs/memory.md says what each op saves.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cnncalc.engine.analysis import Analysis
from cnncalc.errors import UsageError
from cnncalc.ops.registry import numel
from cnncalc.record import Record

SAVED_DTYPE_BYTES = {"float32": 4, "int64": 8, "bool": 1}
AMP_DTYPES = ("bfloat16", "float16")


class Bytes(Record):
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


# ---- what autograd saves --------------------------------------------------------------------

# What one row saves: the storage (the node that owns it), or None for a tensor of the op's own,
# or WEIGHT_COPY for autocast's low-dtype copy of its weights; and its bytes
SavedItem = tuple[int | None, Bytes]
WEIGHT_COPY = -1


class SavedPlan(Record):
    """Per row, what it saves; the per-sample bytes of every storage; the storage of every node."""

    items: list[list[SavedItem]]
    size: list[int]
    owner: list[int]


def saved_plan(analysis: Analysis, device: str, amp: str | None, training: bool = False,
               attention: str | None = None) -> SavedPlan:
    """What each row's declared `saves` are (ops/registry.py), resolved to storages: an input or
    output is one storage, shared by the views and in-place ops over it; a tensor an op makes
    (indices, masks, statistics, autocast's cast copy) is its own. training: the train-only rows
    (an auxiliary head) run and save too, as in a real training step. attention: the kernel of
    the ops that call scaled_dot_product_attention (ops/sdpa.py; None: the one torch picks)."""
    from cnncalc.ops.sdpa import check_kernel

    check_kernel(attention)
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
        if (node.train_only and not training) or (node.eval_only and training):
            continue
        op, act = node.op, width[row.index]
        rule = _autocast_rule(op, device, row.inputs[0] if row.inputs else ()) if amp else ""
        dtype = amp or analysis.dtype.name  # q, k and v's, where the op calls scaled_dot_product_attention
        kernel = op.attention_kernel(list(row.inputs), device, dtype, attention)
        declared = (op.saves_attention(list(row.inputs), row.output, kernel, dtype, device) if kernel
                    else op.saves_autocast(list(row.inputs), row.output) if amp else op.saves(list(row.inputs), row.output))
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


def saved_for_backward(analysis: Analysis, device: str = "cpu", amp: str | None = None,
                       attention: str | None = None) -> tuple[int, ...]:
    """Bytes autograd keeps for the backward pass, per row, in a training-mode forward pass:
    what each op's `saves` declares, with sharing (docs/memory.md). An input or output is one
    storage, counted once at the first row that saves it: an in-place ReLU's output is also
    the next conv's input, and a view (flatten, permute, chunk) keeps its base's whole storage.
    A tensor an op makes (indices, masks, statistics) is its own. Parameters are not included.
    device: dropout's mask is the activation dtype on the CPU and bool on CUDA. amp: under
    autocast, each tensor in its dtype (element_bytes); a low-precision op saves the low-dtype
    copy of a float32 input (its own), and the copies of its weights (weight_copy_bytes).
    attention: the scaled_dot_product_attention kernel, "math", "flash", "efficient" or
    "cudnn"; None: the one torch picks for the device, dtype and shapes (attention_kernels)."""
    rows, _ = charged(saved_plan(analysis, device, amp, attention=attention).items)
    return tuple(b.at(analysis.batch) for b in rows)


def attention_kernels(analysis: Analysis, device: str = "cpu", amp: str | None = None,
                      attention: str | None = None) -> dict[str, str]:
    """The scaled_dot_product_attention kernel of every row whose op calls it (ops/sdpa.py), by
    row name: the one torch picks on `device` (attention=None), or the one asked for."""
    dtype = amp or analysis.dtype.name
    kernels = {row.name: row.node.op.attention_kernel(list(row.inputs), device, dtype, attention) for row in analysis.rows}
    return {name: kernel for name, kernel in kernels.items() if kernel}
