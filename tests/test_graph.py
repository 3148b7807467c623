"""The spec grammar: blocks, repeat, first, residual, parallel, inputs, $arguments, naming."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.errors import CnncalcError, ShapeError, Span, SpecError, UsageError
from cnncalc.sources import bundled_names
from cnncalc.spec.expr import substitute
from tests.conftest import analyse_text

SPAN = Span("t.yaml", 1, 1)


def names_shapes(text: str, **kw) -> dict[str, tuple]:
    return {r.name: r.output for r in analyse_text(text, **kw).rows}


def test_auto_names_count_per_type_and_skip_taken_names():
    out = names_shapes("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 3, pad: 1}\n  - relu\n"
                       "  - conv: {name: conv2, out: 4, kernel: 3, pad: 1}\n  - conv: {out: 2, kernel: 1}\n")
    assert list(out) == ["conv1", "relu1", "conv2", "conv3"]


def test_repeat_with_first_override_and_hierarchical_names():
    text = """
input: [8, 16, 16]
blocks:
  unit:
    args: {out: null, stride: 1}
    layers:
      - conv: {out: $out, kernel: 3, stride: $stride, pad: 1}
      - relu
layers:
  - unit: {name: stage, out: 16, repeat: 3, first: {stride: 2}}
"""
    out = names_shapes(text)
    assert list(out) == ["stage.0.conv1", "stage.0.relu1", "stage.1.conv1", "stage.1.relu1",
                         "stage.2.conv1", "stage.2.relu1"]
    assert out["stage.0.conv1"] == (16, 8, 8)  # (16 + 2 - 3)//2 + 1 = 8: only the first is strided
    assert out["stage.2.conv1"] == (16, 8, 8)


def test_residual_identity_and_projection():
    text = """
input: [64, 56, 56]
blocks:
  basic:
    args: {width: 64, stride: 1}
    layers:
      - residual:
          body:
            - conv: {out: $width, kernel: 3, stride: $stride, pad: 1, bias: false}
            - bn
          shortcut: projection
layers:
  - basic: {name: same}
  - basic: {name: down, width: 128, stride: 2}
"""
    analysis = analyse_text(text)
    rows = {r.name: r for r in analysis.rows}
    assert "same.shortcut.conv1" not in rows  # shape kept: identity
    proj = rows["down.shortcut.conv1"]
    # 1x1 conv, stride 2, no bias: 128*64 = 8,192 weights; (56-1)//2+1 = 28
    assert (proj.output, proj.params) == ((128, 28, 28), 8_192)
    assert rows["down.shortcut.bn1"].params == 256
    assert [analysis.graph.nodes[i].name for i in rows["down.add1"].node.inputs] == ["down.bn1", "down.shortcut.bn1"]


def test_parallel_concat_names_and_channels():
    text = """
input: [192, 28, 28]
layers:
  - parallel:
      name: inception3a
      branches:
        b1: [conv: {out: 64, kernel: 1}]
        b2: [conv: {out: 96, kernel: 1}, conv: {out: 128, kernel: 3, pad: 1}]
        b3: [conv: {out: 16, kernel: 1}, conv: {out: 32, kernel: 5, pad: 2}]
        b4: [maxpool: {kernel: 3, stride: 1, pad: 1}, conv: {out: 32, kernel: 1}]
"""
    out = names_shapes(text)
    assert out["inception3a.b2.conv2"] == (128, 28, 28)
    assert out["inception3a.concat1"] == (64 + 128 + 32 + 32, 28, 28)  # Inception 3a: 256 channels


def test_inputs_make_any_dag_and_input_names_the_network_input():
    text = """
input: [4, 8, 8]
layers:
  - conv: {name: a, out: 4, kernel: 3, pad: 1}
  - conv: {name: b, out: 4, kernel: 1, inputs: input}
  - add: {name: sum, inputs: [a, b]}
  - concat: {name: cat, inputs: [input, sum]}
"""
    analysis = analyse_text(text)
    rows = {r.name: r for r in analysis.rows}
    assert rows["b"].inputs == ((4, 8, 8),)
    assert rows["cat"].output == (8, 8, 8)
    assert rows["sum"].elem_ops == 4 * 8 * 8  # one addition per output element


def test_expressions_and_overrides():
    text = "input: [3, 32, 32]\nargs: {w: 8}\nlayers:\n  - conv: {out: ($w + 1) * 2, kernel: 3}\n  - flatten\n  - linear: {out: $w * 4}\n"
    assert names_shapes(text)["conv1"] == (18, 30, 30)
    assert names_shapes(text, overrides={"w": 3})["linear1"] == (12,)
    assert names_shapes(text, input_shape=[3, 16, 16])["conv1"] == (18, 14, 14)


@pytest.mark.parametrize(("text", "error", "message"), [
    ("input: [3, 8, 8]\nblocks:\n  b: [b]\nlayers: [b]\n", SpecError, "block 'b' uses itself"),
    ("input: [3, 8, 8]\nblocks:\n  a: [b]\n  b: [a]\nlayers: [a]\n", SpecError, "uses itself (a -> b -> a)"),
    ("input: [3, 8, 8]\nlayers:\n  - conv: {out: $width, kernel: 3}\n", SpecError, "unknown argument '$width'"),
    ("input: [3, 8, 8]\nblocks:\n  u: {args: {out: 4}, layers: [conv: {out: $out, kernel: 1}]}\nlayers:\n  - u: {outt: 5}\n",
     SpecError, "has no argument 'outt'"),
    ("input: [3, 8, 8]\nblocks:\n  u: {args: {out: null}, layers: [conv: {out: $out, kernel: 1}]}\nlayers: [u]\n",
     SpecError, "needs argument 'out'"),
    ("input: [3, 8, 8]\nlayers:\n  - conv: {name: x, out: 4, kernel: 1}\n  - conv: {name: x, out: 4, kernel: 1}\n",
     SpecError, "duplicate layer name 'x'"),
    ("input: [3, 8, 8]\nlayers:\n  - add: {inputs: [later, input]}\n  - conv: {name: later, out: 3, kernel: 1}\n",
     SpecError, "which is this layer or one below it"),
    ("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 1, repeat: -1}\n", SpecError,
     "'repeat' must be a non-negative integer"),
    ("input: [3, 8, 8]\nlayers:\n  - conv: {name: a, out: 4, kernel: 1}\n  - add: {inputs: [a, input]}\n",
     ShapeError, "add got 4x8x8 and 3x8x8"),
    ("input: [3, 8, 8]\nlayers:\n  - conv: {name: a, out: 4, kernel: 3}\n  - concat: {inputs: [a, input]}\n",
     ShapeError, "concat got 4x6x6, 3x8x8"),
    ("input: [3, 8, 8]\nlayers:\n  - maxpool: {kernel: 2}\n  - maxpool: {kernel: 2}\n  - maxpool: {kernel: 2}\n  - maxpool: {kernel: 2}\n",
     ShapeError, "layer 'maxpool4'"),
    ("input: [3, 0]\nlayers: [relu]\n", SpecError, "`input:` must be a shape of positive integers"),
    ("input: [3, 8, 8]\nlayers: [relu]\nlayer: [relu]\n", SpecError, "unknown key 'layer'"),
    ("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 1}\n    relu: {}\n", SpecError, ""),
    ("input: [3, 8, 8]\ninput: [3, 8, 8]\nlayers: [relu]\n", SpecError, "duplicate key 'input'"),
])
def test_spec_errors_name_the_problem_and_the_line(text, error, message):
    with pytest.raises(error) as info:
        analyse_text(text)
    assert message in info.value.message
    assert info.value.span is not None and info.value.span.file == "test.yaml" and info.value.span.line >= 1


def test_set_of_unknown_argument_is_a_usage_error():
    with pytest.raises(UsageError, match="no argument 'widht'") as info:
        analyse_text("input: [3, 8, 8]\nargs: {width: 4}\nlayers: [relu]\n", overrides={"widht": 2})
    assert info.value.hint == "did you mean 'width'?"


ints = st.integers(min_value=-50, max_value=50)


@settings(max_examples=200, deadline=None)
@given(a=ints, b=ints, c=st.integers(min_value=1, max_value=9), op1=st.sampled_from("+-*"),
       op2=st.sampled_from(["//", "%", "+", "*"]))
def test_expression_evaluator_agrees_with_integer_arithmetic(a, b, c, op1, op2):
    text = f"($a {op1} $b) {op2} $c"
    expected = eval(f"({a} {op1} {b}) {op2} {c}")  # the test's oracle; the evaluator never uses eval
    assert substitute(text, {"a": a, "b": b, "c": c}, SPAN) == expected


@pytest.mark.parametrize("text", ["__import__('os')", "$a.real", "$a ** 2", "[$a]", "$a if 1 else 2", "lambda: 1"])
def test_expression_evaluator_refuses_anything_but_arithmetic(text):
    with pytest.raises(SpecError):
        substitute(text + " + $a" if "$" not in text else text, {"a": 2}, SPAN)


@pytest.mark.parametrize("name", bundled_names())
def test_replayed_block_instances_equal_a_full_expansion(name, monkeypatch):
    # graph.py keeps the expansion of a block instance that reads only its own input and replays
    # it for the next instance with the same arguments and input shape; the graph must be the
    # one a full expansion of every instance gives: names, ops, inputs, shapes, spans, scopes
    import cnncalc.graph as graph_module

    replayed = cnncalc.load(name)
    monkeypatch.setattr(graph_module, "_env_key", lambda *args: None)
    expanded = cnncalc.load(name)
    assert replayed.nodes == expanded.nodes


SHAPE_CASES = {
    # the same instance on growing inputs (DenseNet): replayed with every shape inferred again
    "dense": """
input: [8, 16, 16]
blocks:
  grow:
    layers:
      - residual: {body: [{bn: {name: n}}, {relu: {}}, {conv: {name: c, out: 4, kernel: 3, pad: 1}}], merge: concat}
layers:
  - grow: {repeat: 5}
  - maxpool: {kernel: 2, stride: 2}
  - grow: {name: late, repeat: 2}
""",
    # a projection shortcut is a choice by shape: never replayed on another shape
    "projection": """
input: [8, 16, 16]
blocks:
  b:
    args: {out: 8}
    layers:
      - residual: {body: [{conv: {out: $out, kernel: 3, pad: 1}}], shortcut: projection}
layers:
  - b: {out: 8}
  - b: {out: 8, name: same}
  - conv: {out: 16, kernel: 1}
  - b: {out: 8, name: projected}
""",
    # a replay whose shapes no longer fit: expanded, and the error is the expansion's
    "misfit": """
input: [8, 16, 16]
blocks:
  b:
    layers:
      - conv: {name: c, out: 8, kernel: 5}
layers:
  - b: {}
  - b: {name: again}
  - b: {name: too_small}
  - b: {name: never}
""",
}


@pytest.mark.parametrize("case", sorted(SHAPE_CASES))
def test_replay_on_another_shape_equals_a_full_expansion(case, monkeypatch):
    import cnncalc.graph as graph_module

    def outcome():
        try:
            return cnncalc.load(SHAPE_CASES[case]).nodes
        except CnncalcError as exc:
            return str(exc)

    replayed = outcome()
    monkeypatch.setattr(graph_module, "_env_key", lambda *args: None)
    assert replayed == outcome()
    if case == "misfit":
        assert "never.c" in replayed  # 16 -> 12 -> 8 -> 4: the fourth cannot take a 5x5 kernel


def test_ops_kept_between_builds_change_nothing():
    # graph.py keeps each layer item's op by the values of the $names it reads (_ITEM_OPS),
    # every op by its arguments (_OPS), and the block templates of a parsed spec (_TEMPLATES),
    # across builds: a second build, or one after clearing them, gives the same graph; and
    # values equal in Python but not in YAML (1, 1.0, true) stay apart
    import cnncalc.graph as graph_module

    for name in ("resnet152-tv", "densenet201", "vit_b_16", "googlenet", "efficientnet_b0", "unet", "mvit_v2_s"):
        graph_module._TEMPLATES.clear()
        cold = cnncalc.load(name)
        expected = list(cold.nodes)
        cold.nodes[5:] = []  # what a user does to a graph they were given touches no later build
        assert cnncalc.load(name).nodes == expected  # the templates of the build before
        graph_module._ITEM_OPS.clear()
        graph_module._OPS.clear()
        assert cnncalc.load(name).nodes == expected
    text = """
input: [4, 8, 8]
blocks:
  b:
    args: {k: 1}
    layers:
      - conv: {out: 4, kernel: $k}
layers:
  - b: {k: 1}
  - b: {k: 1.0}
"""
    assert cnncalc.load(text.replace("  - b: {k: 1.0}\n", "")).nodes[1].shape == (4, 8, 8)
    with pytest.raises(CnncalcError, match="kernel"):  # the op made for k: 1 is not k: 1.0's, refused
        cnncalc.load(text)


def test_an_instance_that_reads_outside_itself_is_expanded_each_time():
    # block `tap` adds the network's stem to its input: it is not a function of its input alone,
    # so each instance must resolve `stem` again (here: the same node, and the right shape)
    text = """
input: [4, 8, 8]
blocks:
  tap:
    layers:
      - conv: {name: c, out: 4, kernel: 3, pad: 1}
      - add: {name: sum, inputs: [c, stem]}
layers:
  - conv: {name: stem, out: 4, kernel: 1}
  - tap: {name: t, repeat: 3}
"""
    g = cnncalc.load(text)
    stem = next(i for i, n in enumerate(g.nodes) if n.name == "stem")
    sums = [n for n in g.nodes if n.name.endswith(".sum")]
    assert [n.name for n in sums] == ["t.0.sum", "t.1.sum", "t.2.sum"]
    assert all(n.inputs[1] == stem for n in sums)
    # and t.1.c reads t.0.sum: the chain is wired through each instance's own output
    names = [n.name for n in g.nodes]
    assert g.nodes[names.index("t.1.c")].inputs == (names.index("t.0.sum"),)


@pytest.mark.parametrize(("expression", "value"), [
    ("$w * $m", 35.2),                       # decimals are allowed inside an expression
    ("make_divisible($w * $m, 8)", 32),      # torchvision _make_divisible(35.2, 8): int(39.2) // 8 * 8 = 32
    ("make_divisible(40 * $m, 8)", 48),      # 44.0 -> int(48.0) // 8 * 8 = 48
    ("make_divisible(3 + $z, 8)", 8),             # never below the divisor
    ("make_divisible(100 + $z, 64)", 128),        # 64 < 0.9 * 100: one more step
    ("ceil($d * $m)", 4),                    # EfficientNet-B1's depth rule: ceil(3 * 1.1) = 4
    ("floor(7 / 2 + $z)", 3),
    ("round(2.5 + $z)", 2),                       # Python's round: halves to even, as torch.round
    ("max(1, $w // 64)", 1),
    ("min($w, 24, 100)", 24),
    ("$w / 2", 16),                          # a float with no fraction is an int
    ("int(3.9) + -1 + $z", 2),
])
def test_expression_functions(expression, value):
    env = {"w": 32, "m": 1.1, "d": 3, "z": 0}  # an expression is a value with a $reference
    result = substitute(expression, env, Span("t.yaml", 1, 1))
    assert result == value and type(result) is type(value)


@pytest.mark.parametrize(("expression", "message"), [
    ("max($w)", r"max\(\) takes 2 to 8 arguments"),
    ("sqrt($w)", "unsupported expression"),
    ("__import__('os') + $w", "unsupported expression"),
    ("$w / 0", "division by zero"),
    ("ceil(1e400 * $w)", "has no finite value"),
    ("$w + " * 300 + "1", "at most 1,000"),
])
def test_expression_errors(expression, message):
    with pytest.raises(SpecError, match=message):
        substitute(expression, {"w": 32}, Span("t.yaml", 1, 1))


def test_a_float_where_a_count_is_needed_says_how_to_round():
    with pytest.raises(SpecError) as err:
        analyse_text("input: [3, 8, 8]\nargs: {m: 1.1}\nlayers:\n  - conv: {out: $m * 32, kernel: 3}\n")
    assert "'out' must be an integer, found 35.2 (a float)" in err.value.message
    assert "round(), ceil(), floor() or make_divisible()" in err.value.hint


FAMILY = """
name: fam
description: a family
input: [3, $size, $size]
args: {size: 32, width: 8}
torchvision: {model: base}
variants:
  fam_small:
    args: {width: 4}
  fam_big:
    description: the big one
    args: {width: 16, size: 64}
    torchvision: {model: big, kwargs: {image_size: 64}}
layers:
  - conv: {name: c, out: $width, kernel: 3}
"""


def test_variants_override_the_top_level():
    from cnncalc.sources import Source

    base = cnncalc.analyze(Source(FAMILY, "fam.yaml"))
    small = cnncalc.analyze(Source(FAMILY, "fam.yaml", variant="fam_small"))
    big = cnncalc.analyze(Source(FAMILY, "fam.yaml", variant="fam_big"))
    assert (base.graph.name, small.graph.name, big.graph.name) == ("fam", "fam_small", "fam_big")
    assert [a.rows[0].output for a in (base, small, big)] == [(8, 30, 30), (4, 30, 30), (16, 62, 62)]
    assert small.graph.torchvision["model"] == "base" and small.graph.description == "a family"
    assert big.graph.torchvision == {"model": "big", "kwargs": {"image_size": 64}, "differs": "", "tools": ""}


@pytest.mark.parametrize(("variant", "body", "message"), [
    ("fam_x", "  fam_x: {args: {widht: 4}}\n", "variant 'fam_x' sets 'widht', which the spec's `args:` does not have"),
    ("fam_x", "  fam_x: {layers: []}\n", "unknown key 'layers' in variant 'fam_x'"),
    ("nope", "  fam_x: {args: {width: 4}}\n", "the spec has no variant 'nope'"),
])
def test_variant_errors(variant, body, message):
    from cnncalc.sources import Source

    text = "input: [3, 8, 8]\nargs: {width: 8}\nlayers: [conv: {out: $width, kernel: 3}]\nvariants:\n" + body
    with pytest.raises(SpecError, match=message):
        cnncalc.analyze(Source(text, "fam.yaml", variant=variant))


def test_bundled_variants_are_found_by_name():
    # the name index reads `variants:` blocks with a pattern; it must see what the parser sees
    import yaml

    from cnncalc.sources import _files, _variant_of, bundled_text, variants

    parsed, seen = {}, []
    for stem in _files():
        for name in (yaml.safe_load(bundled_text(stem)).get("variants") or {}):
            parsed[name] = stem
            seen.append(name)
    assert variants() == parsed
    # one file per variant name (what _variant_of's "the first file that lists it" relies on),
    # and the shortcut finds the same file as the full scan
    assert len(seen) == len(set(seen))
    assert {name: _variant_of(name) for name in parsed} == parsed
    assert _variant_of("no_such_net") is None
    for name, stem in parsed.items():
        assert cnncalc.load(name).name == name and name in cnncalc.architectures()


def test_repeat_zero_leaves_a_layer_out():
    # a variant's missing stage: the next layer reads what the left-out one would have, and the
    # automatic names of later layers do not move
    a = analyse_text("input: [3, 8, 8]\nargs: {n: 0}\nlayers:\n  - conv: {out: 4, kernel: 3}\n"
                     "  - conv: {out: 8, kernel: 1, repeat: $n}\n  - conv: {out: 2, kernel: 1}\n")
    assert [(r.name, r.input, r.output) for r in a.rows] == [("conv1", (3, 8, 8), (4, 6, 6)),
                                                            ("conv2", (4, 6, 6), (2, 6, 6))]


def test_a_train_only_branch_counts_its_params_and_no_work():
    # an auxiliary head (Inception-v3's AuxLogits): built and named, its parameters counted, but an
    # inference pass never runs it, and the next layer reads the trunk, not the head
    text = """
input: [8, 6, 6]
args: {aux: 1}
blocks:
  head: [global_avgpool, flatten, linear: {name: fc, out: 10}]
layers:
  - conv: {name: trunk, out: 8, kernel: 3, pad: 1}
  - head: {name: aux, train_only: true, repeat: $aux}
  - conv: {name: after, out: 4, kernel: 1}
"""
    a = analyse_text(text)
    rows = {r.name: r for r in a.rows}
    assert rows["aux.fc"].node.train_only and not rows["after"].node.train_only
    assert rows["after"].input == (8, 6, 6)  # the trunk's output, not the head's
    assert rows["aux.fc"].params == 8 * 10 + 10 and rows["aux.fc"].macs == 0 and rows["aux.fc"].memory_bytes == 0
    assert a.totals.params == (8 * 8 * 9 + 8) + (8 * 10 + 10) + (4 * 8 + 4)
    assert a.totals.macs == 8 * 36 * 8 * 9 + 4 * 36 * 8  # the two convs only
    assert all(a.counted(p)[rows["aux.fc"].index - 1] == 0 for p in ("torch", "ptflops", "torchinfo"))
    without = analyse_text(text, overrides={"aux": 0})
    assert without.totals.params == a.totals.params - (8 * 10 + 10) and without.totals.macs == a.totals.macs


@pytest.mark.parametrize(("text", "message"), [
    ("input: [4, 6, 6]\nlayers:\n  - conv: {name: a, out: 4, kernel: 1, train_only: true}\n"
     "  - add: {inputs: [a, input]}\n", "reads a layer that runs only in training"),
    ("input: [4, 6, 6]\nlayers:\n  - conv: {out: 4, kernel: 1}\n  - relu: {train_only: true}\n",
     "the network's last layer runs only in training"),
    ("input: [4, 6, 6]\nlayers:\n  - relu: {train_only: yes please}\n", "`train_only:` must be true or false"),
])
def test_train_only_mistakes(text, message):
    with pytest.raises(SpecError, match=message):
        analyse_text(text)


def test_in_names_the_block_instances_own_input():
    # `inputs: [in]` inside a block is the instance's input (ResNet's `out += identity`); at the
    # top level, the network's input. Replayed instances keep it (the template's input, -1).
    text = """
input: [4, 8, 8]
blocks:
  block:
    layers:
      - conv: {name: c, out: 4, kernel: 3, pad: 1}
      - add: {name: add, inputs: [c, in]}
layers:
  - conv: {name: stem, out: 4, kernel: 1}
  - block: {name: b, repeat: 3}
  - add: {name: last, inputs: [b, in]}
"""
    g = cnncalc.load(text)
    index = {n.name: i for i, n in enumerate(g.nodes)}
    assert g.nodes[index["b.0.add"]].inputs == (index["b.0.c"], index["stem"])
    assert g.nodes[index["b.1.add"]].inputs == (index["b.1.c"], index["b.0.add"])
    assert g.nodes[index["b.2.add"]].inputs == (index["b.2.c"], index["b.1.add"])
    assert g.nodes[index["last"]].inputs == (index["b.2.add"], 0)


def test_a_layer_named_in_wins_over_the_keyword():
    g = cnncalc.load("input: [4, 8, 8]\nlayers:\n  - conv: {name: in, out: 4, kernel: 1}\n"
                     "  - conv: {name: c, out: 4, kernel: 1}\n  - add: {inputs: [c, in]}\n")
    assert [g.nodes[i].name for i in g.nodes[-1].inputs] == ["c", "in"]


def test_a_repeated_item_named_with_a_number_counts_on_from_it():
    # a Sequential's children 1, 2, 3 written as one item: `name: "1", repeat: 3`
    g = cnncalc.load("input: [4, 8, 8]\nblocks:\n  b: [conv: {name: c, out: 4, kernel: 1}]\nlayers:\n"
                     "  - b: {name: \"0\"}\n  - b: {name: \"1\", repeat: 3}\n")
    assert [n.name for n in g.nodes[1:]] == ["0.c", "1.c", "2.c", "3.c"]


def test_shares_counts_the_parameters_once_and_the_work_each_time():
    # conv 4 -> 4, 3 x 3 with bias: 4*4*9 + 4 = 148 params; on 8 x 8: 4*8*8*4*9 = 9,216 MACs a call
    text = """
input: [4, 8, 8]
blocks:
  twice:
    layers:
      - conv: {name: c, out: 4, kernel: 3, pad: 1}
      - relu: {name: r}
      - conv: {name: c_1, out: 4, kernel: 3, pad: 1, shares: c}
layers:
  - twice: {name: a}
  - twice: {name: b}
  - conv: {name: again, out: 4, kernel: 3, pad: 1, shares: a.c}
"""
    analysis = analyse_text(text)
    assert analysis.totals.params == 2 * 148  # a.c and b.c; the three shared calls none
    assert analysis.totals.macs == 5 * 9_216
    g = analysis.graph
    owner = {n.name: (g.nodes[n.shares].name if n.shares >= 0 else None) for n in g.nodes}
    assert owner["a.c_1"] == "a.c" and owner["b.c_1"] == "b.c" and owner["again"] == "a.c"


@pytest.mark.parametrize(("line", "message"), [
    ("- conv: {name: b, out: 4, kernel: 5, pad: 2, shares: a}", "'a' is not the same layer"),
    ("- conv: {name: b, out: 4, kernel: 3, pad: 1, shares: nope}", "`shares:` names 'nope'"),
    ("- conv: {name: b, out: 4, kernel: 3, pad: 1, shares: 3}", "`shares:` names the layer"),
])
def test_shares_errors(line, message):
    with pytest.raises(SpecError) as err:
        analyse_text(f"input: [4, 8, 8]\nlayers:\n  - conv: {{name: a, out: 4, kernel: 3, pad: 1}}\n  {line}\n")
    assert message in str(err.value)


def test_shared_layers_are_one_module_in_torch():
    torch = pytest.importorskip("torch")
    from cnncalc.torchcheck.build import build_model

    g = cnncalc.load("input: [4, 8, 8]\nlayers:\n  - conv: {name: a, out: 4, kernel: 3, pad: 1}\n"
                     "  - conv: {name: b, out: 4, kernel: 3, pad: 1, shares: a}\n")
    model = build_model(g)
    assert sum(p.numel() for p in model.parameters()) == 148
    x = torch.randn(1, 4, 8, 8)
    assert torch.equal(model(x), model.a(model.a(x)))


def test_builds_in_threads_share_what_they_keep_safely():
    # `serve` analyses in threads: the templates, ops and $names kept between builds are shared
    # by them; every answer must be the one a lone build gives
    import threading

    import cnncalc.graph as graph_module

    names = ["resnet152-tv", "densenet201", "vit_b_16", "googlenet", "unet", "efficientnet_b0"]
    expected = {n: cnncalc.analyze(n).totals for n in names}
    errors: list[str] = []

    def work(i: int) -> None:
        try:
            for k in range(8):
                if k % 3 == 0:
                    graph_module._TEMPLATES.clear()
                name = names[(i + k) % len(names)]
                assert cnncalc.analyze(name).totals == expected[name], name
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
