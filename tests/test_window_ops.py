"""The Swin ops (cnncalc/ops/window.py): window_attention, window_attention_v2, patch_merging.

Hand-worked layers of torchvision's swin_t and swin_v2_t, the counting rules per profile, shape
errors, and every configuration against its torch twin (cnncalc/torchcheck/window.py) under
FlopCounterMode, and, where the tools are installed, under each tool."""

from __future__ import annotations

import pytest

from cnncalc.errors import ShapeError
from cnncalc.ops import build_op
from tests.conftest import analyse_bundled

ORDER = ("lecture", "torch", "fvcore", "ptflops", "torchinfo", "thop")


def layer(op_type, args, x):
    op = build_op(op_type, args, {}, None)
    y = op.output_shape([x], None)
    cost = op.cost([x], y)
    return op, y, cost, tuple(op.counted(p, (x,), y, cost) for p in ORDER)


def test_swin_t_stage1_window_attention_by_hand():
    # torchvision swin_t features[1][0].attn: C = 96 on 56 x 56, 7 x 7 windows, 3 heads
    _, y, cost, counts = layer("window_attention", {"heads": 3, "window": 7}, (56, 56, 96))
    assert y == (56, 56, 96)
    # params: qkv 96*288 + 288 = 27,936; proj 96*96 + 96 = 9,312; bias table 13*13*3 = 507
    assert (cost.weights, cost.biases) == (96 * 288 + 96 * 96 + 507, 288 + 96)
    assert cost.weights + cost.biases == 37_755
    # nW = (56/7)^2 = 64 windows of N = 49 tokens; per window qkv 49*96*288 = 1,354,752,
    # q k^T 49*49*96 = 230,496, weights x v 230,496, proj 49*96*96 = 451,584: 2,267,328
    # -> 64 * 2,267,328 = 145,108,992
    assert cost.macs == 145_108_992
    # torch 2 x; fvcore 1 x; ptflops the two Tensor.matmul 2*64*230,496 = 29,503,488 + F.softmax
    # on 64*3*49*49 = 460,992 scores = 29,964,480; torchinfo and thop see no module doing it
    assert counts == (145_108_992, 290_217_984, 145_108_992, 29_964_480, 0, 0)


def test_swin_v2_t_stage1_window_attention_by_hand():
    # torchvision swin_v2_t features[1][0].attn: C = 96 on 64 x 64, 8 x 8 windows, 3 heads
    _, _, cost, counts = layer("window_attention_v2", {"heads": 3, "window": 8}, (64, 64, 96))
    # params: qkv + proj 4*96*96 + 4*96 = 37,248; logit scale 3; position-bias MLP
    # Linear(2, 512) 1,024 + 512, Linear(512, 3, no bias) 1,536: 40,323
    assert (cost.weights, cost.biases) == (36_864 + 3 + 1_024 + 1_536, 384 + 512)
    assert cost.weights + cost.biases == 40_323
    # windows: nW = 8*8 = 64 of N = 64: 64 * (4*64*96^2 + 2*64^2*96) = 64 * 3,145,728 = 201,326,592;
    # MLP on T = 15*15 = 225 coordinates: 225 * (2*512 + 512*3) = 576,000 -> 201,902,592
    assert cost.macs == 201_902_592
    # ptflops: MLP hooks 225*(2*512 + 512) = 345,600 + ReLU hook and F.relu 2*225*512 = 230,400
    # + 225*512*3 = 345,600; attn.matmul(v) 64*64*64*96 = 25,165,824 (the scores are `@`, not
    # patched); F.softmax 64*3*64*64 = 786,432: 26,873,856
    # torchinfo: the MLP's linears' parameters once, 1,536 + 1,536 = 3,072; thop: the MLP's 576,000
    assert counts == (201_902_592, 403_805_184, 201_902_592, 26_873_856, 3_072, 576_000)


def test_padding_to_whole_windows_and_the_dropped_shift():
    # 6 x 7 padded to 8 x 8 by 4 x 4 windows: 4 windows of 16 tokens, C = 12:
    # 4 * (4*16*144 + 2*256*12) = 4 * (9,216 + 6,144) = 61,440
    op, y, cost, _ = layer("window_attention", {"heads": 3, "window": 4, "shift": 2}, (6, 7, 12))
    assert y == (6, 7, 12) and cost.macs == 61_440
    assert op.shifted((6, 7, 12))
    # swin_t's last stage: a 7 x 7 map is one 7 x 7 window; torchvision drops the shift there
    op, _, cost, _ = layer("window_attention", {"heads": 24, "window": 7, "shift": 3}, (7, 7, 768))
    assert not op.shifted((7, 7, 768))
    unshifted = layer("window_attention", {"heads": 24, "window": 7}, (7, 7, 768))[2]
    assert cost == unshifted


def test_patch_merging_shapes():
    # 56 x 56 x 96 -> 28 x 28 x 384; odd sizes are padded: 5 x 7 x 6 -> 3 x 4 x 24
    assert layer("patch_merging", {}, (56, 56, 96))[1] == (28, 28, 384)
    _, y, cost, counts = layer("patch_merging", {}, (5, 7, 6))
    assert y == (3, 4, 24) and cost.weights + cost.biases + cost.macs == 0 and counts == (0,) * 6


@pytest.mark.parametrize(("op_type", "args", "x", "message"), [
    ("window_attention", {"heads": 5, "window": 7}, (56, 56, 96), "must divide the 96 channels"),
    ("window_attention", {"heads": 3, "window": 4, "shift": 4}, (8, 8, 12), "smaller than the window"),
    ("window_attention_v2", {"heads": 3, "window": 4}, (64, 12), "H x W x C channels-last"),
    ("patch_merging", {}, (96, 56, 56, 1), "H x W x C channels-last"),
])
def test_shape_errors(op_type, args, x, message):
    with pytest.raises(ShapeError) as err:
        build_op(op_type, args, {}, None).output_shape([x], None)
    assert message in err.value.message


@pytest.mark.parametrize(("name", "params", "torch_macs"), [
    # verify --against torchvision: torchvision's params and FlopCounterMode / 2 (MHA fast path off,
    # math SDPA) at the default weights' crop, 224 (v1) and 256 (v2)
    ("swin_t", 28_288_354, 4_490_566_656),
    ("swin_s", 49_606_258, 8_740_875_264),
    ("swin_b", 87_768_224, 15_430_946_816),
    ("swin_v2_t", 28_351_570, 5_939_690_496),
    ("swin_v2_s", 49_737_442, 11_545_857_024),
    ("swin_v2_b", 87_930_848, 20_325_134_336),
])
def test_bundled_swins_equal_torchvision(name, params, torch_macs):
    analysis = analyse_bundled(name)
    assert analysis.totals.params == params
    assert analysis.total_counted("torch") == 2 * torch_macs
    assert list(analysis.rows[-1].output) == [1000]


@pytest.mark.parametrize(("name", "expected"), [
    ("swin_t", {"fvcore": 4_509_232_128, "ptflops": 3_128_183_416, "torchinfo": 34_368_232, "thop": 2_978_099_712}),
    ("swin_v2_t", {"fvcore": 5_962_349_568, "ptflops": 4_045_391_848, "torchinfo": 38_970_472,
                   "thop": 3_906_813_696}),
])
def test_swin_tool_totals(name, expected):
    # what fvcore, ptflops, torchinfo and thop report for torchvision's own model (torchvision
    # 0.29.1, the tool versions of docs/profiles.md; cnncalc.torchcheck.tools.tool_count, batch 1)
    analysis = analyse_bundled(name)
    assert {p: analysis.total_counted(p) for p in ORDER[2:]} == expected


# ---- against the torch twins ------------------------------------------------------------------

CONFIGS = [  # (heads, window, shift, H, W, C): square and not, padded and not, shifted and not
    (3, 4, 0, 8, 8, 12), (3, 4, 2, 6, 7, 12), (2, [4, 8], [2, 3], 6, 7, 12), (2, 3, 1, 4, 4, 8),
    (1, 2, 1, 5, 3, 4), (4, 7, 3, 7, 7, 16), (2, [3, 2], [1, 0], 7, 5, 6),
]


@pytest.mark.parametrize("op_type", ["window_attention", "window_attention_v2"])
@pytest.mark.parametrize(("heads", "window", "shift", "h", "w", "c"), CONFIGS)
def test_window_attention_matches_its_twin(op_type, heads, window, shift, h, w, c):
    pytest.importorskip("torch")
    from tests.test_against_torch import check_agreement

    args = {"heads": heads, "window": window, "shift": shift}
    if op_type == "window_attention_v2":
        args["hidden"] = 16
    assert check_agreement(build_op(op_type, args, {}, None), [(h, w, c)])


@pytest.mark.parametrize(("op_type", "args", "x"), [
    ("window_attention", {"heads": 5, "window": 4}, (8, 8, 12)),  # torch's reshape refuses too
    ("patch_merging", {}, (1, 1, 3)),
    ("patch_merging", {}, (8, 6, 5)),
])
def test_twin_agrees_or_both_reject(op_type, args, x):
    pytest.importorskip("torch")
    from tests.test_against_torch import check_agreement

    check_agreement(build_op(op_type, args, {}, None), [x])


@pytest.mark.parametrize("profile", ORDER[1:])
@pytest.mark.parametrize(("op_type", "args", "x"), [
    ("window_attention", {"heads": 3, "window": 4, "shift": 2}, (6, 7, 12)),
    ("window_attention_v2", {"heads": 2, "window": [4, 8], "shift": [2, 3], "hidden": 16}, (6, 7, 12)),
    ("patch_merging", {}, (5, 7, 6)),
])
def test_each_tool_counts_the_twin_as_the_rule_says(profile, op_type, args, x):
    # where the tools are installed; the same rules hold on torchvision's own modules (checked
    # when these ops were written, and on whole torchvision models by test_swin_tool_totals)
    pytest.importorskip("torch")
    pytest.importorskip({"torch": "torch", "fvcore": "fvcore.nn"}.get(profile, profile))
    from cnncalc.torchcheck.tools import tool_count

    op, y, cost, _ = layer(op_type, args, x)
    batch = 1 if profile == "ptflops" else 2
    count, _ = tool_count(profile, op.to_torch([x]).eval(), x, batch)
    assert count == batch * op.counted(profile, (x,), y, cost)
