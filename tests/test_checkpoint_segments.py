"""Where `--checkpoint` cuts (cnncalc/engine/segments.py), checked against torch itself: the
segments torch.utils.checkpoint.checkpoint_sequential makes of an nn.Sequential over the spec's
top-level items, observed by which layers run again in the backward pass; the in-place rule
(a checkpointed segment never starts by overwriting its input), observed as torch's failure in
backward; and named cut points with their errors through the CLI (exit 2, one message)."""

from __future__ import annotations

import functools
import json

import pytest

import cnncalc
from cnncalc.engine.segments import Segments, checkpoint_starts, crossing, items
from tests.conftest import run_cli

# input 1 x 8 x 8; three 3x3 convs of 4 filters (pad 1), each followed by an in-place ReLU;
# flatten; a linear to 10 (tests/test_memory_options.py's chain). Eight top-level items.
CHAIN = """\
name: chain
input: [1, 8, 8]
layers:
  - conv: {name: a, out: 4, kernel: 3, pad: 1}
  - relu: {name: relu_a}
  - conv: {name: b, out: 4, kernel: 3, pad: 1}
  - relu: {name: relu_b}
  - conv: {name: c, out: 4, kernel: 3, pad: 1}
  - relu: {name: relu_c}
  - flatten: {name: flatten}
  - linear: {name: fc, out: 10}
"""

# every kind of top-level item: an unnamed residual (its layers are top-level names, but the
# shortcut crosses any cut inside it), a block repeated twice (two items, never cut inside),
# a repeated conv (two items), a layer reading an earlier item (`join` reads stage_relu: the
# items from rep.0 to join are one), a named parallel, and an in-place ReLU after a view
MIXED = """\
name: mixed
input: [3, 8, 8]
blocks:
  pair:
    args: {width: 4}
    layers:
      - conv: {out: $width, kernel: 3, pad: 1}
      - relu
      - conv: {out: $width, kernel: 3, pad: 1}
layers:
  - conv: {name: stem, out: 4, kernel: 3, pad: 1}
  - relu: {name: stem_relu}
  - residual:
      body:
        - conv: {name: body_a, out: 4, kernel: 3, pad: 1}
        - relu: {name: body_relu}
        - conv: {name: body_b, out: 4, kernel: 3, pad: 1}
      shortcut: identity
  - relu: {name: after_add}
  - pair: {name: stage, repeat: 2}
  - relu: {name: stage_relu}
  - conv: {name: rep, out: 4, kernel: 3, pad: 1, repeat: 2}
  - conv: {name: side, out: 4, kernel: 1}
  - add: {name: join, inputs: [side, stage_relu]}
  - relu: {name: join_relu}
  - parallel:
      name: fork
      branches:
        left: [conv: {name: l, out: 2, kernel: 1}]
        right: [conv: {name: r, out: 2, kernel: 3, pad: 1}]
  - flatten: {name: flat}
  - relu: {name: flat_relu}
  - linear: {name: fc, out: 5}
"""

SPECS = {
    "chain": (CHAIN, {}),
    "mixed": (MIXED, {}),
    "lenet5": ("lenet5", {}),
    "vgg11": ("vgg11", {"input": (3, 32, 32), "args": {"hidden": 32, "classes": 10}}),
    "resnet18": ("resnet18", {"input": (3, 32, 32), "args": {"classes": 10}}),
}


def analysis_of(spec: str) -> cnncalc.Analysis:
    source, options = SPECS[spec]
    return cnncalc.analyze(source, batch=2, **options)


def names(analysis, starts) -> list[str]:
    return [analysis.rows[r].name for r in starts]


# ---- the top-level items --------------------------------------------------------------------

def test_items_are_the_top_level_items_never_inside_a_block():
    a = analysis_of("mixed")
    assert [(i.name, a.rows[i.first].name) for i in items(a)] == [
        ("stem", "stem"), ("stem_relu", "stem_relu"),
        ("body_a", "body_a"),  # the unnamed residual: body_a .. add1, one item
        ("after_add", "after_add"),
        ("stage.0", "stage.0.conv1"), ("stage.1", "stage.1.conv1"),  # a block repeated twice: two items
        ("stage_relu", "stage_relu"),
        ("rep.0", "rep.0"),  # rep.0, rep.1, side, join: join reads stage_relu, from before rep.0
        ("join_relu", "join_relu"), ("fork", "fork.left.l"), ("flat", "flat"), ("flat_relu", "flat_relu"),
        ("fc", "fc")]
    # ResNet-18: the stem's four layers, 8 basic blocks, the head's three
    r18 = cnncalc.analyze("resnet18")
    assert [i.name for i in items(r18)] == ["conv1", "bn1", "relu1", "pool1",
                                            *[f"conv{s}_x.{b}" for s in range(2, 6) for b in range(2)],
                                            "pool5", "flatten", "fc"]


@pytest.mark.parametrize(("segments", "starts"), [
    # 8 items // 2 = 4: items 0 and 4
    (2, ["a", "c"]),
    # 8 // 3 = 2: items 0, 2, 4 (the old rule snapped over rows: a, b, relu_c)
    (3, ["a", "b", "c"]),
    # 8 // 4 = 2: items 0, 2, 4, 6; the last segment (flatten, fc) is not checkpointed
    (4, ["a", "b", "c", "flatten"]),
])
def test_chain_splits_at_k_times_items_over_n(segments, starts):
    a = analysis_of("chain")
    assert checkpoint_starts(a, segments) == Segments(tuple(i for i, r in enumerate(a.rows) if r.name in starts))


def test_a_cut_landing_on_an_in_place_relu_moves_to_the_next_item():
    # vgg16: 39 items // 3 = 13; item 13 is relu6 (in place): segment 2 starts at conv3_3 instead
    a = cnncalc.analyze("vgg16")
    plan = checkpoint_starts(a, 3)
    assert names(a, plan.starts) == ["conv1_1", "conv3_3", "conv5_2"]
    assert plan.notes == ("segment 2 starts at conv3_3, not at relu6 where checkpoint_sequential puts it: relu6 "
                          "runs in place, and a checkpointed segment that overwrites its input fails in torch's "
                          "backward pass",)
    # the last segment is not checkpointed: it may start at one (39 // 4 = 9: item 27, relu12)
    assert names(a, checkpoint_starts(a, 4).starts) == ["conv1_1", "pool2", "conv4_2", "relu12"]


# ---- against torch ------------------------------------------------------------------------------

@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """These models are tiny: one thread is faster than several contending for a busy CPU."""
    try:
        import torch
    except ImportError:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@functools.cache
def harness(spec: str):
    """The spec's analysis, the model torchcheck builds for it (built once: no step is taken, so
    its parameters stay as they are), an nn.Sequential over its top-level items (items()): what
    a user hands checkpoint_sequential, each item running its layers as the graph wires them,
    from the one tensor that crosses into it to the one that crosses out; and a log: once
    `log[0]` is a list, each item appends the row of every layer it runs to it."""
    import torch
    from torch import nn

    from cnncalc.torchcheck.build import build_model

    analysis = analysis_of(spec)
    torch.manual_seed(0)
    model = build_model(analysis.graph)
    model.train()
    graph, rows = analysis.graph, analysis.rows
    seq = items(analysis)
    bounds = [i.first for i in seq] + [len(rows)]
    row_of = {r.index: k for k, r in enumerate(rows)}
    log: list = [None]  # log[0]: the list to append to, or None

    class Item(nn.Module):
        def __init__(self, first: int, end: int) -> None:
            super().__init__()
            self.nodes = [rows[r].index for r in range(first, end) if not rows[r].node.train_only]
            self.layers = nn.ModuleList(model.get_submodule(graph.nodes[i].name) for i in self.nodes)
            self.source = crossing(analysis, rows[first].index)[-1]
            self.out = crossing(analysis, rows[end].index)[-1] if end < len(rows) else graph.output_nodes[0]

        def forward(self, x):
            env = {self.source: x}
            for i, layer in zip(self.nodes, self.layers):
                env[i] = layer(*[env[j] for j in graph.nodes[i].inputs])
                if log[0] is not None:
                    log[0].append(row_of[i])
            return env[self.out]

    return analysis, model, nn.Sequential(*[Item(bounds[u], bounds[u + 1]) for u in range(len(seq))]), log


def run_torch(spec: str, segments=None, starts=None, reentrant=True):
    """One training step (forward and backward, no optimizer step) of the spec's item sequential
    under checkpointing: checkpoint_sequential in `segments`, or torch.utils.checkpoint.checkpoint
    over each segment from `starts` (rows). Returns the rows that ran again in the backward pass,
    in order, and the parameters' gradients; an error in backward propagates."""
    import torch
    from torch.utils.checkpoint import checkpoint, checkpoint_sequential

    analysis, model, seq, log = harness(spec)
    model.zero_grad(set_to_none=True)
    torch.manual_seed(1)
    x = torch.randn(2, *analysis.graph.input_shape).requires_grad_()
    if segments is not None:
        y = checkpoint_sequential(seq, segments, x, use_reentrant=reentrant)
    else:
        firsts = [i.first for i in items(analysis)]
        cuts = [firsts.index(r) for r in starts] + [len(seq)]
        y = x
        for k in range(len(starts)):
            part = torch.nn.Sequential(*seq[cuts[k]:cuts[k + 1]])
            y = checkpoint(part, y, use_reentrant=reentrant) if k < len(starts) - 1 else part(y)
    again: list[int] = []
    log[0] = again
    try:
        y.float().pow(2).sum().backward()
    finally:
        log[0] = None
    return again, [p.grad for p in model.parameters() if p.grad is not None]


@functools.cache
def reference(spec: str):
    """The gradients without checkpointing."""
    return run_torch(spec, 1)[1]


def same(grads, expected) -> bool:
    import torch

    return len(grads) == len(expected) and all(torch.allclose(g, h, atol=1e-5) for g, h in zip(grads, expected))


def recomputed_starts(again: list[int]) -> list[int]:
    """The first row of each segment run again: reentrant checkpointing reruns whole segments,
    the last checkpointed one first, so a segment ends where the rows run again go back."""
    starts = [again[k] for k in range(len(again)) if k == 0 or again[k] < again[k - 1]]
    return sorted(starts)


def torch_starts(analysis, segments: int) -> list[int]:
    """checkpoint_sequential's split, read off its source: segment k starts at item k * (L // N)."""
    firsts = [i.first for i in items(analysis)]
    return [firsts[k * (len(firsts) // segments)] for k in range(segments)]


CASES = [(spec, n) for spec in SPECS for n in range(1, len(items(analysis_of(spec))) + 2)]


@pytest.mark.parametrize(("spec", "segments"), CASES)
def test_segments_are_checkpoint_sequentials_or_torch_fails(spec, segments):
    pytest.importorskip("torch")
    a = analysis_of(spec)
    try:
        plan = checkpoint_starts(a, segments)
    except cnncalc.UsageError as err:
        if segments > len(items(a)):  # more segments than items: torch's split has a step of 0
            assert "can be cut into at most" in err.message
            with pytest.raises(ValueError):
                run_torch(spec, segments)
            return
        # refused: checkpoint_sequential's own split fails in backward, both variants
        assert "runs in place" in err.message or "overwrites" in err.message
        for reentrant in (False, True):
            with pytest.raises(RuntimeError, match=r"inplace|in-place"):
                run_torch(spec, segments, reentrant=reentrant)
        return
    expected = torch_starts(a, segments)
    if not plan.notes:
        # cnncalc's segments are checkpoint_sequential's: the rows run again in backward are
        # exactly the checkpointed segments' (all but the last), split where torch split them
        assert list(plan.starts) == expected
        again, grads = run_torch(spec, segments)
        assert recomputed_starts(again) == expected[:-1]
        assert sorted(again) == [r for r in range(plan.starts[-1]) if not a.rows[r].node.train_only]
        assert same(grads, reference(spec))
        return
    # a start moved off an in-place op: checkpoint_sequential's split fails in backward, in both
    # variants; cnncalc's segments, checkpointed one by one, train and give the same gradients
    assert list(plan.starts) != expected and len(plan.notes) == sum(s != e for s, e in zip(plan.starts, expected))
    for reentrant in (False, True):
        with pytest.raises(RuntimeError, match=r"inplace|in-place"):
            run_torch(spec, segments, reentrant=reentrant)
        again, grads = run_torch(spec, starts=plan.starts, reentrant=reentrant)
        assert same(grads, reference(spec))
    again, _ = run_torch(spec, starts=plan.starts)
    assert recomputed_starts(again) == list(plan.starts[:-1])


def test_the_torch_cases_cover_every_outcome():
    # the parametrised cases above see an equal split kept, moved and refused
    outcomes = set()
    for spec, n in CASES:
        a = analysis_of(spec)
        try:
            outcomes.add("moved" if checkpoint_starts(a, n).notes else "kept")
        except cnncalc.UsageError as err:
            outcomes.add("too many" if "at most" in err.message else "refused")
    assert outcomes == {"kept", "moved", "refused", "too many"}


@pytest.mark.parametrize(("spec", "starts"), [
    ("mixed", ["body_a", "stage.1", "fork"]),
    ("resnet18", ["conv2_x", "conv4_x.1", "fc"]),
    ("vgg11", ["conv2", "relu5"]),  # the last segment may start at an in-place op
])
def test_named_segments_train_in_torch(spec, starts):
    pytest.importorskip("torch")
    plan = checkpoint_starts(analysis_of(spec), starts)
    for reentrant in (False, True):
        again, grads = run_torch(spec, starts=plan.starts, reentrant=reentrant)
        assert same(grads, reference(spec))
    assert recomputed_starts(again) == list(plan.starts[:-1])


# ---- named cut points -----------------------------------------------------------------------------

def test_named_starts_by_layer_or_item():
    a = cnncalc.analyze("resnet18")
    # a top-level item (a block instance), a repeated block as a whole (its first instance), the
    # first layer of an instance as `cnncalc table` shows it; the first segment always starts at
    # the first item; order and repeats do not matter
    for given in (["conv3_x.0", "conv5_x"], ["conv5_x.0.conv1", "conv3_x"],
                  ["conv3_x", "conv1", "conv3_x.0", "conv5_x"]):
        assert names(a, checkpoint_starts(a, given).starts) == ["conv1", "conv3_x.0.conv1", "conv5_x.0.conv1"]
    assert names(a, checkpoint_starts(a, "pool5").starts) == ["conv1", "pool5"]  # one name alone
    memory = a.memory(checkpoint=["conv3_x", "conv5_x"])
    assert memory.checkpoint.segments == 3
    assert memory.to_dict()["checkpoint"]["starts"] == ["conv1", "conv3_x.0.conv1", "conv5_x.0.conv1"]
    assert a.max_batch("8GB", checkpoint=["conv3_x"]) >= a.max_batch("8GB")


def test_named_starts_in_the_cli_json():
    data = json.loads(run_cli("memory", "resnet18", "--checkpoint", "conv3_x, conv5_x.0", "--format",
                              "json").stdout)
    assert data["checkpoint"]["segments"] == 3
    assert data["checkpoint"]["starts"] == ["conv1", "conv3_x.0.conv1", "conv5_x.0.conv1"]
    assert "notes" not in data["checkpoint"]
    moved = json.loads(run_cli("memory", "vgg16", "--checkpoint", "3", "--format", "json").stdout)["checkpoint"]
    assert moved["starts"] == ["conv1_1", "conv3_3", "conv5_2"]
    assert moved["notes"][0].startswith("segment 2 starts at conv3_3, not at relu6")


@pytest.mark.parametrize(("args", "message"), [
    (["resnet18", "--checkpoint", "conv3_y"],
     "error: --checkpoint 'conv3_y': resnet18 has no layer of that name\n  hint: did you mean 'conv3_x'?\n"),
    (["resnet18", "--checkpoint", "conv3_x.0.conv2"],
     "error: --checkpoint 'conv3_x.0.conv2' is inside 'conv3_x.0': a segment starts at a top-level item of the "
     "spec (checkpoint_sequential never cuts inside one)\n  hint: start it at 'conv3_x.0' or 'conv3_x.1'\n"),
    (["MIXED", "--checkpoint", "side"],
     "error: --checkpoint 'side': a segment cannot start there: 'stage_relu' (before it) is read by 'join' "
     "(after it), and checkpoint_sequential passes one tensor from a segment to the next\n"),
    (["MIXED", "--checkpoint", "body_relu"],  # inside the unnamed residual: the shortcut crosses
     "error: --checkpoint 'body_relu': a segment cannot start there: 'stem_relu' (before it) is read by 'add1' "
     "(after it)"),
    (["vgg11", "--checkpoint", "relu3,conv5_1"],
     "error: --checkpoint 'relu3': a checkpointed segment cannot start there, which runs in place: torch's "
     "backward pass fails when a checkpointed segment overwrites its input ('modified by an inplace "
     "operation')\n  hint: start it at 'conv3_2', the item after it\n"),
    (["MIXED", "--checkpoint", "flat,fc"],
     "error: --checkpoint 'flat': a checkpointed segment cannot start there, where 'flat_relu' overwrites its "
     "input in place"),
    (["vgg11", "--checkpoint", "conv2,,conv3"], "error: --checkpoint 'conv2,,conv3': an empty name\n"),
    (["vgg11", "--checkpoint", "0"], "error: --checkpoint 0: the segments must be a positive integer\n"),
    (["vgg11", "--checkpoint", "-3"], "error: --checkpoint -3: the segments must be a positive integer\n"),
    (["resnet18", "--checkpoint", "16"],
     "error: --checkpoint 16: resnet18 can be cut into at most 15 segments (a cut goes between top-level items, "
     "with one tensor alone crossing it)\n"),
    (["resnet18", "--checkpoint", "8"],
     "error: --checkpoint 8: checkpoint_sequential would start segment 3 at 'relu1', which runs in place, and a "
     "checkpointed segment that overwrites its input fails in torch's backward pass; no other item between its "
     "neighbours' starts can start it\n  hint: ask for fewer segments, or name the layers that start them "
     "(docs/memory.md)\n"),
])
def test_checkpoint_errors_in_the_cli(args, message, tmp_path):
    if args[0] == "MIXED":
        args = [str(tmp_path / "mixed.yaml"), *args[1:]]
        (tmp_path / "mixed.yaml").write_text(MIXED)
    result = run_cli("memory", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message) and result.stderr.count("error:") == 1
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_checkpoint_errors_in_the_library():
    a = cnncalc.analyze("resnet18")
    with pytest.raises(cnncalc.UsageError, match=r"checkpoint='conv3_y': resnet18 has no layer") as err:
        a.memory(checkpoint=["conv3_x", "conv3_y"])
    assert err.value.hint == "did you mean 'conv3_x'?"
    for bad in ([], [3], 2.0, True, [""]):
        with pytest.raises(cnncalc.UsageError, match="give a number of segments or the names"):
            a.memory(checkpoint=bad)
