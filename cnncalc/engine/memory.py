"""Analysis -> memory: the inference and training peaks by part and where they fall, activation
checkpointing, and the largest batch that fits; the library's entry to the memory model.

Stage: engine (pure). In: an Analysis (its graph and element type; its batch is where the
numbers are read). Out: exact ints. What autograd saves, in which dtype, is saved.py (its names
are re-exported here); the moment-by-moment walk of a step is liveness.py. Every byte count is
an affine function of the batch (`Bytes`: fixed + per_sample x batch), so the largest batch that
fits a budget is solved from one analysis, never searched by rebuilding it. docs/memory.md says
what each part is.
"""

from __future__ import annotations

from collections.abc import Sequence

from cnncalc.engine import segments as segmenting
from cnncalc.engine.analysis import Analysis
from cnncalc.engine.liveness import STATE, Moment, inference_walk, training_walk
from cnncalc.engine.saved import (  # noqa: F401  (the saved-tensor plan, re-exported for callers of memory)
    AMP_DTYPES,
    SAVED_DTYPE_BYTES,
    WEIGHT_COPY,
    Bytes,
    SavedItem,
    SavedPlan,
    _autocast_rule,
    _sample_bytes,
    attention_kernels,
    charged,
    check_amp,
    element_bytes,
    saved_for_backward,
    saved_plan,
    total,
)
from cnncalc.engine.segments import CheckpointArg
from cnncalc.errors import UsageError
from cnncalc.record import Record

OPTIMIZER_STATES = {name: tensors for name, (tensors, _) in STATE.items()}  # state tensors per parameter
DEVICES = ("cpu", "cuda")
MAX_BATCH = 10**18  # the largest batch any command takes: where a budget would allow more


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


# ---- inference ----------------------------------------------------------------------------

def inference_moments(analysis: Analysis, amp: str | None = None, device: str = "cpu") -> list[Moment]:
    """One eval-mode forward pass under no_grad, moment by moment (liveness.inference_walk): the
    parameters, buffers and input batch, each activation from its op to its last reader (a
    block's input until the block returns), and under autocast the cached weight copies."""
    check_amp(analysis, amp)
    return inference_walk(analysis, amp, device)


def inference_peak(analysis: Analysis, amp: str | None = None, device: str = "cpu") -> Moment:
    """The moment of the inference pass with the most bytes alive at the analysis' batch."""
    return max(inference_moments(analysis, amp, device), key=lambda m: m.at(analysis.batch))


def weight_copy_bytes(analysis: Analysis, device: str = "cpu") -> int:
    """Under autocast: the low-dtype (2-byte) copies of the weights the low-precision ops
    multiply by, once per model."""
    return 2 * sum(r.node.op.cast_weights(list(r.inputs), r.output) for r in analysis.rows
                   if _autocast_rule(r.node.op, device, r.inputs[0] if r.inputs else ()) == "low" and not r.node.train_only)


def param_bytes(analysis: Analysis) -> int:
    """Bytes of all parameters in the element type of the analysis."""
    return analysis.totals.params * analysis.dtype.bytes


def forward_memory_estimate(analysis: Analysis, amp: str | None = None, device: str = "cpu") -> int:
    """What an inference pass needs at its peak: parameters, buffers, the input batch and the
    largest live set of activations (inference_moments)."""
    return inference_peak(analysis, amp, device).at(analysis.batch)


# ---- activation checkpointing ----------------------------------------------------------------

class Checkpointing(Record):
    """Activation checkpointing in segments, as torch.utils.checkpoint.checkpoint_sequential runs
    it: every segment but the last keeps only its input during the forward pass and runs its
    forward again during the backward pass; the last segment saves as usual."""

    starts: tuple[int, ...]  # the first row of each segment (row indices into analysis.rows)
    activations_saved: int  # the largest set of saved bytes alive at once (docs/memory.md#checkpointing)
    without: int  # the same without checkpointing (sum of saved_for_backward, the input apart)
    recompute_macs: int  # the checkpointed segments' multiply-adds, run a second time
    candidates: tuple[Bytes, ...] = ()  # each moment that can be the peak; activations_saved is their max
    notes: tuple[str, ...] = ()  # each segment start moved off checkpoint_sequential's (segments.py)

    @property
    def segments(self) -> int:
        return len(self.starts)


def cut_points(analysis: Analysis) -> list[int]:
    """Rows after which one tensor alone crosses to the rest of the network (the only places a
    sequential checkpoint can cut): segments.cut_points."""
    return segmenting.cut_points(analysis)


def checkpointing(analysis: Analysis, segments: CheckpointArg, device: str = "cpu", amp: str | None = None,
                  attention: str | None = None) -> Checkpointing:
    """What checkpointing in `segments` segments (or segments starting at those names) keeps
    and recomputes. The cuts are checkpoint_sequential's over the spec's top-level items
    (segments.checkpoint_starts: item k * (L // N), never inside a block, a checkpointed
    segment never starting by overwriting its input in place). The peak is the larger of
    the end of the forward pass (the checkpointed segments' inputs + what the last segment
    saves) and each checkpointed segment's recomputation in the backward pass (the inputs of it
    and the segments before it + what it saves). Neither the input batch nor autocast's weight
    copies are counted (training_memory counts them apart, the copies whole: autocast's cache
    holds them all until the forward pass ends)."""
    chosen = segmenting.checkpoint_starts(analysis, segments)  # checkpoint_sequential's split (engine/segments.py)
    plan = saved_plan(analysis, device, amp, attention=attention)
    size, owner, rows, batch = plan.size, plan.owner, analysis.rows, analysis.batch
    items = [[(buf, n) for buf, n in row_items if buf != WEIGHT_COPY] for row_items in plan.items]
    whole = total(charged(items, already=(0,))[0])
    starts = chosen.starts
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
    return Checkpointing(starts, max(c.at(batch) for c in candidates), whole.at(batch), recompute, tuple(candidates),
                         chosen.notes)


# ---- training ------------------------------------------------------------------------------

class TrainingModel(Record):
    """A training step's timeline (engine/liveness.py): every moment's bytes by part as functions
    of the batch; the peak at a batch is the largest moment, and where it falls."""

    moments: tuple[Moment, ...]
    plan: Checkpointing | None

    def peak(self, batch: int) -> Moment:
        """The moment with the most bytes alive at this batch (the first of equals)."""
        best = self.moments[0]
        top = best.at(batch)
        for moment in self.moments:
            here = moment.at(batch)
            if here > top:
                best, top = moment, here
        return best

    def at(self, batch: int) -> dict[str, int]:
        """Every part alive at the peak, in bytes, and "total": the training peak."""
        out = self.peak(batch).parts_at(batch)
        out["total"] = sum(out.values())
        return out

    def peaks(self, batches: Sequence[int]) -> list[int]:
        """The training peak at each batch (at(b)["total"] for every b), from one pass: each
        moment is a line, fixed + per_sample x batch, and the peak their upper envelope, built
        once and read at the batches in increasing order: O((moments + batches) log), not
        moments x batches (a sweep over 10,000 batches of ResNet-152). Exact integers throughout."""
        best: dict[int, int] = {}  # slope -> the largest intercept of that slope
        for moment in self.moments:
            slope, fixed = sum(moment.per_sample), sum(moment.fixed)
            if best.get(slope, fixed - 1) < fixed:
                best[slope] = fixed
        hull: list[tuple[int, int]] = []  # (slope, intercept), slopes increasing: the upper envelope
        for s3, c3 in sorted(best.items()):
            while len(hull) >= 2:
                (s1, c1), (s2, c2) = hull[-2], hull[-1]
                # the middle line is never above both: where 1 meets 3 is at or left of where 1 meets 2
                if (c1 - c3) * (s2 - s1) <= (c1 - c2) * (s3 - s1):
                    hull.pop()
                else:
                    break
            hull.append((s3, c3))
        out = [0] * len(batches)
        k = 0
        for i in sorted(range(len(batches)), key=batches.__getitem__):
            b = batches[i]
            while k + 1 < len(hull) and hull[k + 1][1] + hull[k + 1][0] * b >= hull[k][1] + hull[k][0] * b:
                k += 1
            out[i] = hull[k][1] + hull[k][0] * b
        return out

    def largest_batch(self, capacity: int) -> int:
        """The largest batch whose training peak is at most capacity bytes (0: not even batch 1;
        MAX_BATCH where the budget allows any). Exact: the peak is the largest of affine functions
        of the batch (one per moment), so each gives its own bound and the smallest holds for all."""
        best = MAX_BATCH
        for moment in self.moments:
            room, slope = capacity - sum(moment.fixed), sum(moment.per_sample)
            if room < 0:
                return 0
            if slope:
                best = min(best, room // slope)
        return best


def training_model(analysis: Analysis, optimizer: str = "sgd", device: str = "cpu", amp: str | None = None,
                   checkpoint: CheckpointArg | None = None, keep_grads: bool = False,
                   attention: str | None = None) -> TrainingModel:
    """A training step's timeline (see training_memory)."""
    check_options(analysis, optimizer, device, amp)
    plan = checkpointing(analysis, checkpoint, device, amp, attention=attention) if checkpoint is not None else None
    moments = training_walk(analysis, optimizer, device, amp, plan.starts if plan else (0,), keep_grads,
                            attention=attention)
    return TrainingModel(tuple(moments), plan)


def training_memory(analysis: Analysis, optimizer: str = "sgd", device: str = "cpu",
                    amp: str | None = None, checkpoint: CheckpointArg | None = None, keep_grads: bool = False,
                    attention: str | None = None) -> dict[str, int]:
    """Bytes alive at a training step's peak, by part (docs/memory.md): the parameters and
    buffers; the gradients that exist by then; the optimizer state (per parameter: 0 for SGD, 1
    for momentum / RMSprop / Adagrad, 2 for Adam / AdamW, in the parameters' dtype, as
    torch.optim keeps them, and a step count per parameter where it keeps one); what autograd
    still keeps for the backward pass (activations_saved), autocast's low-dtype weight copies
    apart; the input batch; and everything else alive then (transient: activations not saved,
    gradients in flight, the optimizer's temporaries). "total" is the training peak: the
    largest moment of the step's timeline (engine/liveness.py). amp: autocast to "bfloat16" or
    "float16" (parameters, gradients and optimizer state stay float32). checkpoint: activation
    checkpointing in that many segments (checkpointing). keep_grads: zero_grad(set_to_none=
    False), the gradients alive throughout. attention: the scaled_dot_product_attention kernel
    (saved_for_backward; None: the one torch picks)."""
    return training_model(analysis, optimizer, device, amp, checkpoint, keep_grads,
                          attention=attention).at(analysis.batch)


def training_memory_estimate(analysis: Analysis, optimizer: str = "sgd", device: str = "cpu",
                             amp: str | None = None, checkpoint: CheckpointArg | None = None,
                             attention: str | None = None) -> int:
    """The training peak in bytes (see training_memory)."""
    return training_memory(analysis, optimizer, device, amp, checkpoint, attention=attention)["total"]


def max_batch(analysis: Analysis, capacity: int, optimizer: str = "sgd", device: str = "cpu",
              amp: str | None = None, checkpoint: CheckpointArg | None = None, attention: str | None = None) -> int:
    """The largest batch whose training peak fits in capacity bytes (0: not even batch 1): solved
    from this one analysis (TrainingModel.largest_batch), whatever its own batch."""
    from cnncalc.engine.trainable import largest_trainable  # 0 too where only a batch torch cannot train fits
    return largest_trainable(analysis.graph, training_model(analysis, optimizer, device, amp, checkpoint,
                                                            attention=attention).largest_batch(capacity))


class Training(Record):
    """How a network is trained, for the training memory of `sweep` and `compare` (as `memory`'s
    flags say it: --optimizer, --amp, --checkpoint, --device)."""

    optimizer: str = "adam"
    amp: str | None = None
    checkpoint: CheckpointArg | None = None
    device: str = "cpu"

    def model(self, analysis: Analysis) -> TrainingModel:
        return training_model(analysis, self.optimizer, self.device, self.amp, self.checkpoint)

    def peak(self, analysis: Analysis) -> int:
        """The training step's peak at the analysis' batch."""
        return self.model(analysis).at(analysis.batch)["total"]

    def __str__(self) -> str:
        """"adam", or "adamw, bfloat16 autocast, 4 checkpointed segments, cuda"."""
        parts = [self.optimizer]
        if self.amp:
            parts.append(f"{self.amp} autocast")
        if self.checkpoint is not None:
            parts.append(f"{self.checkpoint} checkpointed segments" if isinstance(self.checkpoint, int) else
                         "checkpointed from " + ", ".join(self.checkpoint))
        if self.device != "cpu":
            parts.append(self.device)
        return ", ".join(parts)


def as_training(optimizer: str | Training) -> Training:
    """An optimizer's name as a Training (the other settings their defaults), or the Training."""
    return optimizer if isinstance(optimizer, Training) else Training(optimizer)
