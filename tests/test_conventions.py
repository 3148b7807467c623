"""Convention profiles: the AlexNet conv1 anchor, hand-worked layers per op, and each profile
against the real tool where it is installed (fvcore, ptflops, torchinfo, thop are not in the main
venv: those tests skip; run them in a venv that has the tools)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cnncalc
from cnncalc.conventions import PROFILES, get_profile
from cnncalc.errors import UsageError
from cnncalc.ops import REGISTRY
from cnncalc.sources import bundled_names
from tests.conftest import analyse_bundled, analyse_text

load = cnncalc.load

ORDER = ("lecture", "torch", "fvcore", "ptflops", "torchinfo", "thop")


def test_profiles_are_the_six_tools_and_ultralytics_fork_of_thop():
    assert tuple(PROFILES) == (*ORDER, "ultralytics")


@pytest.mark.parametrize(("profile", "expected"), [
    # 64 filters x 56*56 positions x (3*11*11 = 363) multiply-adds = 200,704 x 363 = 72,855,552
    ("lecture", 72_855_552),
    # FlopCounterMode: 2 FLOPs per multiply-add, bias ignored: 2 x 72,855,552 = 145,711,104
    ("torch", 145_711_104),
    # fvcore: 1 flop per multiply-add, bias ignored: 72,855,552
    ("fvcore", 72_855_552),
    # ptflops: + one bias add per output element: 72,855,552 + 64*56*56 (200,704) = 73,056,256
    ("ptflops", 73_056_256),
    # torchinfo: (weights + biases) x positions = (64*363 + 64 = 23,296) x 3,136 = 73,056,256
    ("torchinfo", 73_056_256),
    # thop: N x C_out x H' x W' x (C_in/g) x K x K, bias ignored: 72,855,552
    ("thop", 72_855_552),
])
def test_alexnet_conv1_anchor(profile, expected):
    for batch in (1, 3):
        analysis = analyse_bundled("alexnet", batch=batch)
        row = next(r for r in analysis.rows if r.name == "conv1")
        assert analysis.counted(profile)[row.index - 1] == batch * expected
        assert row.params == 23_296


# One layer on a small input; the numbers are (lecture, torch, fvcore, ptflops, torchinfo, thop).
LAYERS = [
    # conv 8 filters 3x3 pad 1 on 4x6x6 -> 8x6x6: 8*36 outputs x (4*9 = 36) = 10,368 MACs;
    # bias adds 8*36 = 288; params 8*36 + 8 = 296, and torchinfo's 296 x 36 positions = 10,656
    pytest.param([4, 6, 6], "- conv: {out: 8, kernel: 3, pad: 1}",
                 (10_368, 20_736, 10_368, 10_656, 10_656, 10_368), id="conv"),
    # same without bias: every tool agrees on 10,368 multiply-adds (torch: x2)
    pytest.param([4, 6, 6], "- conv: {out: 8, kernel: 3, pad: 1, bias: false}",
                 (10_368, 20_736, 10_368, 10_368, 10_368, 10_368), id="conv-no-bias"),
    # linear 144 -> 10 with bias: 1,440 MACs; ptflops and torchinfo add the 10 biases = 1,450
    pytest.param([4, 6, 6], "- flatten\n- linear: {out: 10}",
                 (1_440, 2_880, 1_440, 1_450, 1_450, 1_440), id="linear"),
    # bn on 4x6x6 = 144 elements: fvcore and ptflops 2 x 144 = 288; torchinfo gamma + beta =
    # 2*4 = 8 (parameters x batch, no spatial factor); thop 2 x 144 x 2 (affine) = 576
    pytest.param([4, 6, 6], "- bn", (0, 0, 288, 288, 8, 576), id="bn"),
    # bn on a 2x4x6x6 clip (BatchNorm3d): 288 elements, as bn above; torchinfo 2 x 2 channels = 4
    pytest.param([2, 4, 6, 6], "- bn", (0, 0, 576, 576, 4, 1_152), id="bn3d"),
    # bn without gamma and beta: fvcore and ptflops 1 per element (144), thop 2 per element, no params
    pytest.param([4, 6, 6], "- bn: {affine: false}", (0, 0, 144, 144, 0, 288), id="bn-affine-false"),
    # torchvision's FrozenBatchNorm2d: x * scale + bias, which no tool counts, and no parameters
    pytest.param([4, 6, 6], "- bn: {frozen: true}", (0, 0, 0, 0, 0, 0), id="bn-frozen"),
    # nearest upsampling 4x6x6 -> 4x12x12 = 576 outputs: fvcore 1 each (upsample_nearest2d);
    # ptflops 2 x 576 (module hook + patched F.interpolate); thop 1 each
    pytest.param([4, 6, 6], "- upsample: {scale: 2}", (0, 0, 576, 1_152, 0, 576), id="upsample-nearest"),
    # bilinear: fvcore 4 per output (upsample_bilinear2d) = 2,304; thop 11 per output = 6,336
    pytest.param([4, 6, 6], "- upsample: {scale: 2, mode: bilinear}", (0, 0, 2_304, 1_152, 0, 6_336),
                 id="upsample-bilinear"),
    # as F.interpolate (torchvision's segmentation heads): ptflops once (576), thop nothing
    pytest.param([4, 6, 6], "- upsample: {scale: 2, mode: bilinear, call: function}", (0, 0, 2_304, 576, 0, 0),
                 id="interpolate-bilinear"),
    # 1-D linear 4x6 -> 4x12 = 48 outputs: fvcore has no handle; ptflops 2 x 48; thop 5 x 48
    pytest.param([4, 6], "- upsample: {scale: 2, mode: linear}", (0, 0, 0, 96, 0, 240), id="upsample-linear"),
    # trilinear 2x2x4x4 -> 2x4x8x8 = 512: ptflops 2 x 512; thop: "not implemented yet", 0
    pytest.param([2, 2, 4, 4], "- upsample: {scale: 2, mode: trilinear}", (0, 0, 0, 1_024, 0, 0),
                 id="upsample-trilinear"),
    # pixel shuffle is a copy: no tool counts it
    pytest.param([8, 6, 6], "- pixel_shuffle: {factor: 2}", (0, 0, 0, 0, 0, 0), id="pixel_shuffle"),
    # reductions, sub, div, split and log_softmax: tensor methods and operators no tool hooks
    pytest.param([4, 6, 6], "- mean: {axes: [1, 2]}", (0, 0, 0, 0, 0, 0), id="mean"),
    pytest.param([4, 6, 6], "- amax: {axes: [1, 2], keepdim: true}", (0, 0, 0, 0, 0, 0), id="amax"),
    pytest.param([6, 6, 6], "- split: {sizes: [2, 4], index: 1}", (0, 0, 0, 0, 0, 0), id="split"),
    pytest.param([10], "- log_softmax", (0, 0, 0, 0, 0, 0), id="log_softmax"),
    pytest.param([4, 6, 6], "- conv: {name: a, out: 4, kernel: 1, bias: false}\n- sub: {inputs: [a, input]}",
                 (0, 0, 0, 0, 0, 0), id="sub"),
    # torch.relu(x) / x.sigmoid() (call: method): no module hook, no patched function sees it
    pytest.param([4, 6, 6], "- relu: {call: method}", (0, 0, 0, 0, 0, 0), id="relu-method"),
    pytest.param([4, 6, 6], "- sigmoid: {call: method}", (0, 0, 0, 0, 0, 0), id="sigmoid-method"),
    # relu on 144 elements: only ptflops counts it, twice: module hook 144 + patched F.relu 144
    pytest.param([4, 6, 6], "- relu", (0, 0, 0, 288, 0, 0), id="relu"),
    # relu6: ptflops' module hook only (nn.ReLU6 calls F.hardtanh, which it does not patch): 144
    pytest.param([4, 6, 6], "- relu6", (0, 0, 0, 144, 0, 0), id="relu6"),
    # maxpool 2x2 on 4x6x6 -> 4x3x3: lecture 36 outputs x 4 window reads = 144; ptflops
    # 2 x 144 input elements (hook + F.max_pool2d) = 288; fvcore, torchinfo, thop: 0
    pytest.param([4, 6, 6], "- maxpool: {kernel: 2}", (144, 0, 0, 288, 0, 0), id="maxpool"),
    # avgpool 2x2: as maxpool, but thop counts 1 per output element: 4*3*3 = 36
    pytest.param([4, 6, 6], "- avgpool: {kernel: 2}", (144, 0, 0, 288, 0, 36), id="avgpool"),
    # global average pool 4x6x6 -> 4x1x1: lecture 4*36 = 144 reads; fvcore 144 input elements;
    # ptflops 2 x 144; thop (36/1 + 1) x 4 outputs = 148
    pytest.param([4, 6, 6], "- global_avgpool", (144, 0, 144, 288, 0, 148), id="global_avgpool"),
    # adaptive 4x6x6 -> 4x2x3: lecture 4 x (sum of window heights 6) x (widths 6) = 144;
    # thop (6*6 / (2*3) + 1) x 24 outputs = 7 x 24 = 168
    pytest.param([4, 6, 6], "- adaptive_avgpool: {out: [2, 3]}",
                 (144, 0, 144, 288, 0, 168), id="adaptive_avgpool"),
    # conv1d 6 filters of 4x3, pad 1, on 4x10 -> 6x10: 60 outputs x 12 = 720 MACs; bias adds 60;
    # params 6*12 + 6 = 78, and torchinfo's 78 x 10 positions = 780
    pytest.param([4, 10], "- conv: {out: 6, kernel: 3, pad: 1}", (720, 1_440, 720, 780, 780, 720), id="conv1d"),
    # conv3d 3 filters of 2x3x3x3, pad 1, on 2x4x6x6 -> 3x4x6x6: 432 outputs x 54 = 23,328;
    # bias adds 432; params 3*54 + 3 = 165, torchinfo 165 x 144 positions = 23,760
    pytest.param([2, 4, 6, 6], "- conv: {out: 3, kernel: 3, pad: 1}", (23_328, 46_656, 23_328, 23_760, 23_760, 23_328),
                 id="conv3d"),
    # conv_transpose 4 -> 2 channels, 4x4 kernel, stride 2, pad 1: 4x3x3 -> 2x6x6 ((3-1)*2 - 2 + 3 + 1 = 6).
    # Each of the 36 input elements times its 2x4x4 kernel: 1,152 MACs (torch, fvcore). ptflops
    # adds the 72 bias adds (2x6x6 outputs); torchinfo: params (4*2*16 + 2 = 130) x 36 output
    # positions = 4,680; thop by output positions: 72 x (4 * 16) = 4,608
    pytest.param([4, 3, 3], "- conv_transpose: {out: 2, kernel: 4, stride: 2, pad: 1}",
                 (1_152, 2_304, 1_152, 1_224, 4_680, 4_608), id="conv_transpose"),
    # 1-D: 4x5 -> 2x11 ((5-1)*2 + 2 + 1): 20 inputs x 2*3 = 120; ptflops + 22 biases = 142;
    # torchinfo (4*2*3 + 2 = 26) x 11 = 286; thop 22 x 4*3 = 264
    pytest.param([4, 5], "- conv_transpose: {out: 2, kernel: 3, stride: 2}", (120, 240, 120, 142, 286, 264),
                 id="conv_transpose1d"),
    # maxpool 2 on 2x4x6x6 -> 2x2x3x3: lecture 36 outputs x 8 reads = 288; ptflops 2 x 288 inputs
    pytest.param([2, 4, 6, 6], "- maxpool: {kernel: 2}", (288, 0, 0, 576, 0, 0), id="maxpool3d"),
    # adaptive max 4x6x6 -> 4x2x3: lecture 4 x 6 x 6 = 144 reads; ptflops 2 x 144; fvcore, thop 0
    pytest.param([4, 6, 6], "- adaptive_maxpool: {out: [2, 3]}", (144, 0, 0, 288, 0, 0), id="adaptive_maxpool"),
    # global average pool on 4x10: 40 reads; fvcore has no aten::adaptive_avg_pool1d handle: 0;
    # thop (10/1 + 1) x 4 = 44
    pytest.param([4, 10], "- global_avgpool", (40, 0, 0, 80, 0, 44), id="global_avgpool1d"),
    # softmax over 144 features: ptflops 144 (patched F.softmax); thop 144 exps + 143 adds +
    # 144 divides = 431
    pytest.param([4, 6, 6], "- flatten\n- softmax", (0, 0, 0, 144, 0, 431), id="softmax"),
    # lrn size 3 on 4x6x6: ptflops counts the Tensor.mul, Tensor.mul, Tensor.add (3 x 144) and
    # avg_pool3d over the input padded to 4 + 3 - 1 = 6 channels (6*36 = 216): 648
    pytest.param([4, 6, 6], "- lrn: {size: 3}", (0, 0, 0, 648, 0, 0), id="lrn"),
    # a residual add of two 4x6x6 tensors: no tool counts `a + b`
    pytest.param([4, 6, 6], "- residual:\n    body: [identity]", (0, 0, 0, 0, 0, 0), id="add"),
    # called as functions (F.relu, F.max_pool2d, F.adaptive_avg_pool2d): ptflops sees only its
    # patched function, once (144 elements); thop hooks modules only, so counts nothing
    pytest.param([4, 6, 6], "- relu: {call: function}", (0, 0, 0, 144, 0, 0), id="relu-function"),
    pytest.param([4, 6, 6], "- maxpool: {kernel: 2, call: function}", (144, 0, 0, 144, 0, 0), id="maxpool-function"),
    pytest.param([4, 6, 6], "- avgpool: {kernel: 2, call: function}", (144, 0, 0, 144, 0, 0), id="avgpool-function"),
    pytest.param([4, 6, 6], "- adaptive_avgpool: {out: 1, call: function}", (144, 0, 144, 144, 0, 0),
                 id="adaptive-function"),
    # linear 6 -> 5 on 3 tokens of 6 (3x6 -> 3x5): 3*6*5 = 90 MACs; torch 180; ptflops + one bias
    # add per output element, 3*5 = 105; torchinfo params once, no token factor: 6*5 + 5 = 35
    pytest.param([3, 6], "- linear: {out: 5}", (90, 180, 90, 105, 35, 90), id="linear-tokens"),
    # layernorm over 6 features of 3x6 tokens (18 elements): fvcore 5 x 18 = 90 (aten::layer_norm,
    # affine); ptflops 18 (its hook doubles only modules with `affine`); torchinfo gamma + beta = 12; thop 2 x 18 x 2 = 72
    pytest.param([3, 6], "- layernorm", (0, 0, 90, 18, 12, 72), id="layernorm"),
    # gelu on 18 elements: ptflops' nn.GELU hook + patched F.gelu = 36
    pytest.param([3, 6], "- gelu", (0, 0, 0, 36, 0, 0), id="gelu"),
    # groupnorm, 3 groups, on 6x5x7 (210 elements), measured on the tools: fvcore 5 x 210 =
    # 1,050 (aten::group_norm, affine); ptflops numel x 2 (affine) = 420; torchinfo gamma + beta =
    # 12; thop has no rule for nn.GroupNorm: 0
    pytest.param([6, 5, 7], "- groupnorm: {groups: 3}", (0, 0, 1_050, 420, 12, 0), id="groupnorm"),
    # instancenorm (torch's default: no gamma, beta) on 210 elements: fvcore 4 x 210 = 840;
    # ptflops 210; thop count_normalization 2 x 210 = 420; affine doubles ptflops and thop
    pytest.param([6, 5, 7], "- instancenorm", (0, 0, 840, 210, 0, 420), id="instancenorm"),
    pytest.param([6, 5, 7], "- instancenorm: {affine: true}", (0, 0, 1_050, 420, 12, 840), id="instancenorm-affine"),
    pytest.param([6, 35], "- instancenorm", (0, 0, 840, 210, 0, 420), id="instancenorm1d"),
]


def last_row(shape, layers, batch=1):
    body = "\n".join("  " + line for line in layers.splitlines())
    analysis = analyse_text(f"name: t\ninput: {shape}\nlayers:\n{body}\n", batch=batch)
    return analysis, analysis.rows[-1]


@pytest.mark.parametrize(("shape", "layers", "expected"), LAYERS)
def test_layer_count_per_profile(shape, layers, expected):
    for batch in (1, 2):
        analysis, _ = last_row(shape, layers, batch)
        assert tuple(analysis.counted(p)[-1] for p in ORDER) == tuple(batch * n for n in expected)


def test_every_op_has_a_rule_in_every_profile():
    # each op declares (itself or through its family base class) what every tool counts for it
    for name, cls in REGISTRY.items():
        # (ultralytics is thop's fork: an op without a rule of its own follows its thop rule)
        missing = [p for p in PROFILES if p not in cls.counts and not (p == "ultralytics" and "thop" in cls.counts)]
        assert not missing, f"op {name} has no counting rule for {missing}"


def test_unknown_profile_is_a_usage_error():
    with pytest.raises(UsageError) as err:
        get_profile("fvcor")
    assert "did you mean 'fvcore'?" in err.value.hint


@pytest.mark.parametrize("name", ["alexnet", "resnet18"])
def test_lecture_and_torch_totals_follow_the_macs_column(name):
    analysis = analyse_bundled(name, batch=2)
    assert analysis.counted("lecture") == tuple(r.macs for r in analysis.rows)
    assert analysis.total_counted("torch") == 2 * sum(r.macs for r in analysis.rows if r.type in ("conv", "linear"))


# ---- against the real tools (skipped where a tool is not installed) ----------------------------

def measure(profile, graph, batch):
    """(count, params) as the tool itself reports them for the graph's torch twin on CPU."""
    pytest.importorskip("torch")
    pytest.importorskip({"torch": "torch", "fvcore": "fvcore.nn"}.get(profile, profile))
    from cnncalc.torchcheck.build import build_model
    from cnncalc.torchcheck.tools import tool_count

    model = build_model(graph, "cpu").eval()  # eval: fvcore counts BN as 5/element in training
    return tool_count(profile, model, tuple(graph.input_shape), batch, tokens=graph.tokens)


TOOLS = ORDER[1:]


@pytest.mark.parametrize("profile", TOOLS)
@pytest.mark.parametrize("name", ["lenet5", "alexnet", "resnet18", "googlenet-tv", "shufflenet_v2_x1_0"])
def test_profile_total_matches_the_tool(name, profile):
    analysis = analyse_bundled(name)
    assert measure(profile, analysis.graph, 1) == (analysis.total_counted(profile), analysis.totals.params)


@pytest.mark.parametrize("profile", TOOLS)
@pytest.mark.parametrize(("shape", "layers", "expected"), LAYERS)
def test_layer_count_matches_the_tool(shape, layers, expected, profile):
    batch = 1 if profile == "ptflops" else 2
    analysis, _ = last_row(shape, layers, batch)
    assert measure(profile, analysis.graph, batch)[0] == analysis.total_counted(profile)


TEXT_CNN = ("name: t\ninput: [50]\ntokens: true\nlayers:\n  - embedding: {vocab: 10000, dim: 64}\n"
            "  - permute: {dims: [1, 0]}\n  - conv1d: {out: 100, kernel: 3}\n")


def test_embedding_per_profile():
    # embedding 10,000 x 64 = 640,000 params, a lookup: no tool counts multiply-adds for it but
    # torchinfo, which counts its parameters (x the batch); the conv1d after it: 100 x 48 outputs
    # x 64*3 = 921,600 MACs, ptflops + 4,800 bias adds, torchinfo (19,300 params) x 48 positions
    a = analyse_text(TEXT_CNN)
    assert tuple(a.total_counted(p) for p in ORDER) == (921_600, 1_843_200, 921_600, 926_400,
                                                          640_000 + 926_400, 921_600)


@pytest.mark.parametrize("profile", TOOLS)
def test_embedding_matches_the_tool(profile):
    a = analyse_text(TEXT_CNN, batch=1)
    assert measure(profile, a.graph, 1)[0] == a.total_counted(profile)


def test_thop_adaptive_pool_rounds_down_in_floating_point():
    # 6x8x7 -> 6x3x2: exactly 6 x (8*7 + 3*2) = 372; thop computes (8/3 * 7/2 + 1) * 36 in
    # doubles, 371.99999999999994, and truncates to 371
    analysis, row = last_row([6, 8, 7], "- adaptive_avgpool: {out: [3, 2]}")
    assert analysis.counted("thop")[-1] == 372
    assert measure("thop", analysis.graph, 1)[0] == 371


# ---- against the tools on torchvision's own models ---------------------------------------------
# tests/data/tool_reference.json holds what each tool reports for torchvision's model of every
# paired spec (scripts/freeze_tools.py). Every profile must equal it exactly; where the tools are
# installed (CI's second environment), they are run on torchvision's model again and must agree.

TOOL_REFERENCE = json.loads((Path(__file__).parent / "data" / "tool_reference.json").read_text())


def _paired() -> list[str]:
    """Paired specs of the same network (a `differs:` note marks a different one: ResNet v1 vs
    torchvision's v1.5, ...; its -tv twin is the exact one)."""
    return [n for n in bundled_names() if (p := load(n).torchvision) and not p["differs"]]


def test_every_paired_spec_is_frozen():
    paired = _paired()  # (once: each call loads every bundled spec)
    assert sorted(paired) == sorted(n for n in TOOL_REFERENCE["specs"] if n in paired)
    missing = [n for n in paired if n not in TOOL_REFERENCE["specs"]]
    assert not missing, f"rerun scripts/freeze_tools.py for {missing}"


@pytest.mark.parametrize("profile", ORDER[1:])
@pytest.mark.parametrize("name", _paired())
def test_profile_equals_the_tool_on_torchvision(name, profile):
    analysis = analyse_bundled(name)
    ref = TOOL_REFERENCE["specs"][name]
    pairing = analysis.graph.torchvision
    assert (ref["model"], ref["kwargs"], ref["input"]) == (pairing["model"], pairing["kwargs"],
                                                           list(analysis.graph.input_shape))
    ours, theirs = analysis.total_counted(profile), ref[profile]
    if pairing["tools"] and profile in ("fvcore", "ptflops", "thop"):
        # a layer only the tools see (an identity-sized adaptive pool): the note must be real
        assert ours < theirs, pairing["tools"]
    else:
        assert ours == theirs


# Re-measured live: the models up to 10 GFLOPs (FlopCounterMode; every family has one), so that
# CI's second environment stays within minutes on 2 cores; the larger ones (ViT-L/H, EfficientNet
# B5-B7, the big RegNets, ...) are built from the same op rules and checked against their frozen
# numbers above, measured once by scripts/freeze_tools.py.
LIVE = [n for n in _paired() if n in TOOL_REFERENCE["specs"] and TOOL_REFERENCE["specs"][n]["torch"] <= 10 * 10**9]


@pytest.mark.parametrize("profile", ORDER[1:])
@pytest.mark.parametrize("name", LIVE)
def test_frozen_tool_numbers_are_current(name, profile):
    try:
        import torchvision  # noqa: F401
    except Exception:  # missing, or built for another torch ("operator torchvision::nms does not exist")
        pytest.skip("torchvision not importable beside this torch; the frozen numbers are checked above")
    pytest.importorskip({"torch": "torch", "fvcore": "fvcore.nn"}.get(profile, profile))
    from cnncalc.torchcheck.tools import tool_count, torchvision_model

    ref = TOOL_REFERENCE["specs"][name]
    count, _ = tool_count(profile, torchvision_model(ref["model"], ref["kwargs"]), tuple(ref["input"]))
    assert count == ref[profile]
