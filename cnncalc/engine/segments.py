"""Analysis -> where activation checkpointing cuts the network: the first row of each segment.

Stage: engine (pure). In: an Analysis and `checkpoint`: a number of segments, or the names of
the layers that start them. Out: Segments (row indices into analysis.rows, and a note for each
start moved). No torch, no printing. The rule, checked against torch in
tests/test_checkpoint_segments.py, is docs/memory.md#activation-checkpointing---checkpoint-n.
"""

from __future__ import annotations

from collections.abc import Sequence

from cnncalc.engine.analysis import Analysis
from cnncalc.errors import UsageError
from cnncalc.record import Record
from cnncalc.spec.expr import did_you_mean

# What `checkpoint` may be: N segments, or the layers (or top-level items) that start them
CheckpointArg = int | str | Sequence[str]


class Segments(Record):
    """Where checkpointing cuts: every segment but the last is checkpointed."""

    starts: tuple[int, ...]  # the first row of each segment (row indices into analysis.rows), rising
    notes: tuple[str, ...] = ()  # one line per start moved off the place checkpoint_sequential puts it


class Item(Record):
    """One element of the nn.Sequential that checkpoint_sequential is handed: a top-level item of
    the spec's `layers:` (a layer, one repetition of a repeated layer or block, a residual or
    parallel), or several joined where more than one tensor passes between them."""

    name: str  # the top-level item it starts with (a block instance: conv2_x.0; a layer: its name)
    first: int  # its first row


def normalize(checkpoint: object) -> int | tuple[str, ...]:
    """`checkpoint` as the library takes it: a positive int (N segments), one name, or a list of
    names; anything else is a UsageError."""
    if type(checkpoint) is int:
        if checkpoint < 1:
            raise UsageError(None, f"checkpoint={checkpoint!r}: the segments must be a positive integer",
                             param="checkpoint")
        return checkpoint
    names = (checkpoint,) if isinstance(checkpoint, str) else checkpoint
    if (not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) and n for n in names)):
        raise UsageError(None, f"checkpoint={checkpoint!r}: give a number of segments or the names of the "
                         "layers that start them", "e.g. checkpoint=4 or checkpoint=['conv3_x', 'conv4_x']",
                         param="checkpoint")
    twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if twice is not None:
        raise UsageError(None, f"checkpoint={twice!r} is named twice", "name each segment's start once",
                         param="checkpoint")
    return tuple(names)


# ---- where one tensor alone crosses -----------------------------------------------------------

def crossing_counts(analysis: Analysis) -> list[int]:
    """For each node i, how many tensors made before it are still needed from i on (read by a
    later node, or a network output): the tensors a cut just before node i would have to pass."""
    nodes = analysis.graph.nodes
    n = len(nodes)
    last = [0] * n  # the last node that needs each node's output (n: the network's output)
    for i, node in enumerate(nodes):
        for j in node.inputs:
            last[j] = max(last[j], i)
    for out in analysis.graph.output_nodes:
        last[out] = n
    delta = [0] * (n + 2)
    for j in range(n):
        if last[j] > j:  # node j's output crosses every cut before nodes j+1 .. last[j]
            delta[j + 1] += 1
            delta[last[j] + 1] -= 1
    counts, running = [], 0
    for i in range(n):
        running += delta[i]
        counts.append(running)
    return counts


def cut_points(analysis: Analysis) -> list[int]:
    """Rows after which at most one tensor crosses to the rest of the network (the only places a
    sequential checkpoint can cut): no later layer reads an output from before the cut but that
    one tensor, and no network output lies before it. Never after the last row."""
    counts = crossing_counts(analysis)
    # row r is node r + 1; a cut after it is a cut before node r + 2
    return [r for r in range(len(analysis.rows) - 1) if counts[r + 2] <= 1]


def crossing(analysis: Analysis, cut: int) -> list[int]:
    """The nodes before node `cut` whose outputs a cut just before it would pass on."""
    nodes = analysis.graph.nodes
    needed = {j for i in range(cut, len(nodes)) for j in nodes[i].inputs if j < cut}
    return sorted(needed | {o for o in analysis.graph.output_nodes if o < cut})


def _why_not(analysis: Analysis, row: int) -> str:
    """Why a cut before `row` (node row + 1) passes more than one tensor."""
    nodes = analysis.graph.nodes
    cut = row + 1
    early = crossing(analysis, cut)[0]
    reader = next((i for i in range(cut, len(nodes)) if early in nodes[i].inputs), None)
    if reader is None:
        return f"'{nodes[early].name}' (before it) is one of the network's outputs"
    return f"'{nodes[early].name}' (before it) is read by '{nodes[reader].name}' (after it)"


# ---- the sequence checkpoint_sequential sees ---------------------------------------------------

def top_level(scope: tuple[str, ...], name: str) -> str:
    """The top-level item a node belongs to: the outermost block instance (or named residual,
    parallel, branch) it sits in (Node.scope), else the node itself (a layer of `layers:`)."""
    return scope[0] if scope else name


def items(analysis: Analysis) -> list[Item]:
    """The spec's top-level items in order, as the elements of an nn.Sequential: a block
    instance is one item (a block repeated 3 times, three), never cut inside; items are joined
    where more than one tensor passes between them (a later layer reads an earlier one); a
    train-only item (an auxiliary head) hangs on the item before it."""
    counts = crossing_counts(analysis)
    out: list[Item] = []
    previous = None
    for r, row in enumerate(analysis.rows):
        key = top_level(row.node.scope, row.name)
        if key == previous:
            continue
        previous = key
        if row.node.train_only:
            continue
        if not out or counts[r + 1] <= 1:
            out.append(Item(key, r))
    return out


def _owners(analysis: Analysis) -> list[int]:
    """The storage each node's output lives in: its input's for an in-place op or a view."""
    nodes = analysis.graph.nodes
    owner = list(range(len(nodes)))
    for i, node in enumerate(nodes[1:], start=1):
        if node.inputs and node.op.shares_storage():
            owner[i] = owner[node.inputs[0]]
    return owner


def overwriter(analysis: Analysis, first: int, end: int, owner: list[int] | None = None) -> int | None:
    """The row of rows[first:end] that writes in place into the segment's input (an in-place
    ReLU at its start, or one after a view of it), or None. A checkpointed segment must not:
    its input is what it runs again from, and torch's backward pass fails ('modified by an
    inplace operation'; with use_reentrant=True, 'a leaf Variable that requires grad is being
    used in an in-place operation')."""
    owner = owner or _owners(analysis)
    came_in = crossing(analysis, analysis.rows[first].index)
    if not came_in:
        return None
    boundary = owner[came_in[-1]]
    for r in range(first, end):
        node = analysis.rows[r].node
        if node.op.inplace and node.op.shares_storage() and node.inputs and owner[node.inputs[0]] == boundary:
            return r
    return None


# ---- the choice --------------------------------------------------------------------------------

def checkpoint_starts(analysis: Analysis, checkpoint: CheckpointArg) -> Segments:
    """The first row of each segment. An int N: torch.utils.checkpoint.checkpoint_sequential's
    split of the top-level items (items()), segment k starting at item k * (L // N) of L, the
    last taking the rest; a checkpointed segment (all but the last) that would start by
    overwriting its input in place starts at the next item that does not (else the one before),
    with a note. Names: segments start at those layers or top-level items (and at the first)."""
    value = normalize(checkpoint)
    seq = items(analysis)
    owner = _owners(analysis)
    if isinstance(value, int):
        return _equal_split(analysis, value, seq, owner)
    return _named(analysis, value, seq, owner)


def _equal_split(analysis: Analysis, segments: int, seq: list[Item], owner: list[int]) -> Segments:
    if segments > len(seq):
        raise UsageError(None, f"checkpoint={segments}: {analysis.graph.name} can be cut into at most "
                         f"{len(seq)} segments (a cut goes between top-level items, with one tensor alone "
                         "crossing it)", param="checkpoint")
    size = len(seq) // segments  # checkpoint_sequential: segment_size = len(functions) // segments
    at = [k * size for k in range(segments)]  # item indices
    names = [analysis.rows[item.first].name for item in seq]
    notes = []

    def end(k: int) -> int:  # the row after segment k
        return seq[at[k + 1]].first if k + 1 < len(at) else len(analysis.rows)

    def bad(u: int, stop: int) -> int | None:  # a segment from item u to row stop overwrites its input
        return overwriter(analysis, seq[u].first, stop, owner)

    for k in range(1, segments - 1):  # the checkpointed segments after the first
        culprit = bad(at[k], end(k))
        if culprit is None:
            continue
        # the next item whose segment would not overwrite its input (the one before it growing
        # by the in-place op, as torchvision keeps a conv and its ReLU together), else the last
        # one before
        later = (u for u in range(at[k] + 1, at[k + 1])
                 if bad(u, end(k)) is None and (k == 1 or bad(at[k - 1], seq[u].first) is None))
        earlier = (u for u in range(at[k] - 1, at[k - 1], -1) if bad(u, end(k)) is None)
        moved = next(later, None)
        if moved is None:
            moved = next(earlier, None)
        what = _in_place(analysis, culprit, seq[at[k]].first)
        if moved is None:
            raise UsageError(None, f"checkpoint={segments}: checkpoint_sequential would start segment {k + 1} at "
                             f"'{names[at[k]]}', {what}, and a checkpointed segment that overwrites its input "
                             "fails in torch's backward pass; no other item between its neighbours' starts can start it",
                             "ask for fewer segments, or name the layers that start them (docs/memory.md)",
                             param="checkpoint")
        culprit_name = analysis.rows[culprit].name
        notes.append(f"segment {k + 1} starts at {names[moved]}, not at {names[at[k]]} where checkpoint_sequential "
                     f"puts it: {culprit_name} " + ("runs in place" if culprit == seq[at[k]].first else
                                                    "overwrites the segment's input in place (through a view)")
                     + ", and a checkpointed segment that overwrites its input fails in torch's backward pass")
        at[k] = moved
    return Segments(tuple(seq[u].first for u in at), tuple(notes))


def _in_place(analysis: Analysis, culprit: int, first: int) -> str:
    """Words for the row that overwrites a segment's input: the one it starts at, or a later one."""
    name = analysis.rows[culprit].name
    return "which runs in place" if culprit == first else f"where '{name}' overwrites its input in place"


def _named(analysis: Analysis, names: tuple[str, ...], seq: list[Item], owner: list[int]) -> Segments:
    rows = analysis.rows
    row_of = {row.name: r for r, row in enumerate(rows)}
    item_of = {item.first: u for u, item in enumerate(seq)}
    first_of: dict[str, int] = {}  # a top-level item, or a repeated one as a whole (conv2_x), -> its first row
    for r, row in enumerate(rows):
        key = top_level(row.node.scope, row.name)
        first_of.setdefault(key, r)
        base, dot, tail = key.rpartition(".")
        if dot and tail.isdigit():
            first_of.setdefault(base, r)
    chosen = {0}
    for name in names:
        found = first_of.get(name, row_of.get(name))
        if found is None:
            raise UsageError(None, f"checkpoint={name!r}: {analysis.graph.name} has no layer of that name",
                             did_you_mean(name, [*first_of, *row_of]) or "names as `cnncalc table` shows them, "
                             "or a top-level item (a block instance such as conv3_x.0)", param="checkpoint")
        r = found
        key = top_level(rows[r].node.scope, rows[r].name)
        if first_of[key] != r:
            u = max(v for v, item in enumerate(seq) if item.first <= r)
            nearby = " or ".join(f"'{item.name}'" for item in seq[u: u + 2])
            raise UsageError(None, f"checkpoint={name!r} is inside '{key}': a segment starts at a top-level item "
                             "of the spec (checkpoint_sequential never cuts inside one)", f"start it at {nearby}",
                             param="checkpoint")
        if rows[r].node.train_only:
            raise UsageError(None, f"checkpoint={name!r} runs only in training, beside the network: a segment "
                             "cannot start there", param="checkpoint")
        if r not in item_of:
            raise UsageError(None, f"checkpoint={name!r}: a segment cannot start there: {_why_not(analysis, r)}, "
                             "and checkpoint_sequential passes one tensor from a segment to the next",
                             param="checkpoint")
        chosen.add(r)
    starts = sorted(chosen)
    for k in range(1, len(starts) - 1):  # the checkpointed segments after the first
        culprit = overwriter(analysis, starts[k], starts[k + 1], owner)
        if culprit is not None:
            u = item_of[starts[k]]
            after = next((seq[v] for v in range(u + 1, len(seq)) if seq[v].first < starts[k + 1]
                          and overwriter(analysis, seq[v].first, starts[k + 1], owner) is None), None)
            raise UsageError(None, f"checkpoint={rows[starts[k]].name!r}: a checkpointed segment cannot start there, "
                             f"{_in_place(analysis, culprit, starts[k])}: torch's backward pass fails when a "
                             "checkpointed segment overwrites its input ('modified by an inplace operation')",
                             f"start it at '{after.name}', the item after it" if after else
                             "start it elsewhere (the last segment, which is not checkpointed, may start there)",
                             param="checkpoint")
    return Segments(tuple(starts))
