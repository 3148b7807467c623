"""The Swin ops (cnncalc/ops/window.py): window_attention, window_attention_v2, patch_merging.

Hand-worked layers of torchvision's swin_t, swin_v2_t and swin3d_t (H x W x C and T x H x W x C
maps), the counting rules per profile, shape errors, and every configuration against its torch
twin (cnncalc/torchcheck/window.py) under FlopCounterMode, and, where the tools (and torchvision)
are installed, under each tool (and against torchvision's own modules)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from cnncalc.errors import ShapeError
from cnncalc.ops import build_op
from cnncalc.ops.registry import Saved
from tests.conftest import ORDER, analyse_bundled, layer


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


# ---- 3-D: torchvision's Video Swin (swin3d_*) on T x H x W x C -----------------------------------
# Every count below was measured on torchvision 0.29.1's ShiftedWindowAttention3d as well
# (FlopCounterMode, fvcore, ptflops, torchinfo, thop; saved_tensors_hooks for what it saves).

def test_swin3d_t_stage1_window_attention_by_hand():
    # torchvision swin3d_t features[0][0].attn: C = 96 on 8 x 56 x 56, 8 x 7 x 7 windows, 3 heads
    op, y, cost, counts = layer("window_attention", {"heads": 3, "window": [8, 7, 7]}, (8, 56, 56, 96))
    assert y == (8, 56, 56, 96)
    # params: qkv 96*288 + 288 = 27,936; proj 96*96 + 96 = 9,312; bias table
    # (2*8-1)*(2*7-1)*(2*7-1) rows * 3 heads = 15*13*13*3 = 7,605
    assert (cost.weights, cost.biases) == (96 * 288 + 96 * 96 + 7_605, 288 + 96)
    assert cost.weights + cost.biases == 44_853
    # nW = (8/8)*(56/7)*(56/7) = 64 windows of N = 8*7*7 = 392 tokens; per window qkv
    # 392*96*288 = 10,838,016, q k^T 392*392*96 = 14,751,744, weights x v 14,751,744, proj
    # 392*96*96 = 3,612,672: 43,954,176 -> 64 * 43,954,176 = 2,813,067,264
    assert cost.macs == 2_813_067_264
    # torch 2 x; fvcore 1 x; ptflops the two Tensor.matmul 2*64*14,751,744 = 1,888,223,232 +
    # F.softmax on 64*3*392*392 = 29,503,488 scores = 1,917,726,720; torchinfo and thop: 0
    assert counts == (2_813_067_264, 5_626_134_528, 2_813_067_264, 1_917_726_720, 0, 0)
    # saved for backward, per sample over T = 64*392 = 25,088 tokens: the windows of x, q
    # scaled, k and v copied, the heads' output (5*T*C = 12,042,240) and the softmax weights
    # (heads*T*N = 3*25,088*392 = 29,503,488)
    assert op.saves([(8, 56, 56, 96)], y) == (Saved("new", 41_545_728),)
    # the receptive field grows as under a (2w-1) kernel: 15 x 13 x 13, stride 1, pad w-1
    assert op.rf_window([(8, 56, 56, 96)]) == ((15, 13, 13), (1, 1, 1), (7, 6, 6), (1, 1, 1))


def test_swin3d_shift_is_dropped_along_an_axis_one_window_covers():
    # features[0][1].attn: shift [4, 3, 3] on 8 x 56 x 56; T = 8 is one window (8 <= 8), so
    # torchvision's _get_window_and_shift_size drops the T shift: rolled by [0, 3, 3]
    x = (8, 56, 56, 96)
    op, _, cost, counts = layer("window_attention", {"heads": 3, "window": [8, 7, 7], "shift": [4, 3, 3]}, x)
    assert op.geometry(x).shift == (0, 3, 3) and op.shifted(x)
    _, _, plain, plain_counts = layer("window_attention", {"heads": 3, "window": [8, 7, 7]}, x)
    assert counts == plain_counts and cost.macs == plain.macs
    # only the mask add differs, one per score: 64*3*392*392 = 29,503,488 elementwise ops
    assert cost.elem_ops - plain.elem_ops == 29_503_488
    # features[6][1].attn of swin3d_t: 8 x 7 x 7 x 768 is one window on every axis, no shift
    x = (8, 7, 7, 768)
    op, _, cost, counts = layer("window_attention", {"heads": 24, "window": [8, 7, 7], "shift": [4, 3, 3]}, x)
    assert not op.shifted(x)
    # 1 * (392*768*2304 + 2*392*392*768 + 392*768*768) = 693,633,024 + 236,027,904 + 231,211,008;
    # ptflops 2*392*392*768 + 24*392*392 = 236,027,904 + 3,687,936 = 239,715,840
    assert counts == (1_160_871_936, 2_321_743_872, 1_160_871_936, 239_715_840, 0, 0)


def test_3d_window_shrinks_to_a_smaller_map_where_2d_pads():
    # 3 x 6 x 7 x 8, window 4 on every axis, shift 2, 2 heads: T = 3 <= 4, so the 3-D window
    # shrinks to 3 x 4 x 4 and the T shift is dropped; H 6 -> 8, W 7 -> 8 padded with zeros:
    # nW = 1*2*2 = 4 windows of N = 3*4*4 = 48 tokens
    x = (3, 6, 7, 8)
    op, y, cost, counts = layer("window_attention", {"heads": 2, "window": 4, "shift": 2}, x)
    g = op.geometry(x)
    assert (g.size, g.shift, g.padded, g.windows, g.tokens) == ((3, 4, 4), (0, 2, 2), (3, 8, 8), 4, 48)
    # params: 4*64 + 4*8 = 288, the table of the configured 4 x 4 x 4 window 7*7*7*2 = 686
    assert cost.weights + cost.biases == 974
    # 4 * (4*48*64 + 2*48*48*8) = 4 * (12,288 + 36,864) = 196,608; ptflops 2*4*48*48*8 +
    # 4*2*48*48 = 147,456 + 18,432 = 165,888
    assert counts == (196_608, 393_216, 196_608, 165_888, 0, 0)
    # saved: T = 4*48 = 192 tokens, 5*192*8 + 2*192*48 = 7,680 + 18,432 = 26,112 a sample, and
    # once the bias index rows of the shrunk window (index[:48, :48].flatten(), a copy): 48*48
    assert op.saves([x], y) == (Saved("new", 26_112), Saved("new", 2_304, "int64", per_sample=False))
    # the 2-D module keeps its window and pads the map up to it: 3 x 7 x 8 by 4 x 4 -> 4 x 8,
    # nW = 2 of N = 16: 2 * (4*16*64 + 2*16*16*8) = 2 * (4,096 + 4,096) = 16,384
    assert layer("window_attention", {"heads": 2, "window": 4, "shift": 2}, (3, 7, 8))[2].macs == 16_384


def test_one_head_keeps_the_packed_qkv():
    # 5 x 3 x 2 x 4, window [2, 3, 2], 1 head: T 5 -> 6 (3 windows), H and W one window each:
    # T = 36 tokens, N = 12. With one head k and v are views of the packed qkv (3*T*C, kept
    # whole) instead of two T*C copies: 6*T*C + T*N = 864 + 432 (2-D alike)
    x = (5, 3, 2, 4)
    op, y, _, _ = layer("window_attention", {"heads": 1, "window": [2, 3, 2], "shift": 1}, x)
    assert op.saves([x], y) == (Saved("new", 1_296),)


def test_patch_merging_keeps_t():
    # Video Swin reuses the 2-D gather on the last three axes: H and W halve, T stays
    # 8 x 56 x 56 x 96 -> 8 x 28 x 28 x 384; odd sizes padded: 3 x 5 x 7 x 6 -> 3 x 3 x 4 x 24
    assert layer("patch_merging", {}, (8, 56, 56, 96))[1] == (8, 28, 28, 384)
    op, y, cost, counts = layer("patch_merging", {}, (3, 5, 7, 6))
    assert y == (3, 3, 4, 24) and cost.weights + cost.biases + cost.macs == 0 and counts == (0,) * 6
    assert op.rf_window([(3, 5, 7, 6)]) == ((1, 2, 2), (1, 2, 2), (0, 0, 0), (1, 1, 1))


@pytest.mark.parametrize(("op_type", "args", "x", "message"), [
    ("window_attention", {"heads": 5, "window": 7}, (56, 56, 96), "must divide the 96 channels"),
    ("window_attention", {"heads": 3, "window": 4, "shift": 4}, (8, 8, 12), "smaller than the window"),
    ("window_attention_v2", {"heads": 3, "window": 4}, (64, 12), "H x W x C channels-last"),
    # rank 4 is T x H x W x C now (Video Swin): rank 5 is refused
    ("patch_merging", {}, (2, 96, 56, 56, 1), "H x W x C channels-last"),
    ("window_attention", {"heads": 5, "window": [8, 7, 7]}, (8, 56, 56, 96), "must divide the 96 channels"),
    ("window_attention", {"heads": 3, "window": [7, 7]}, (8, 56, 56, 96),
     "'window' has 2 values, one per spatial axis, but the input has 3 (T x H x W)"),
    ("window_attention", {"heads": 3, "window": [8, 7, 7]}, (56, 56, 96), "'window' has 3 values"),
    ("window_attention", {"heads": 3, "window": [8, 7, 7], "shift": [8, 3, 3]}, (8, 56, 56, 96),
     "shift [8, 3, 3] must be smaller than the window [8, 7, 7]"),
    ("window_attention", {"heads": 3, "window": 7}, (2, 8, 56, 56, 96), "T x H x W x C channels-last"),
    ("window_attention_v2", {"heads": 3, "window": 8}, (8, 64, 64, 96), "torchvision has no 3-D Swin v2"),
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


@pytest.mark.parametrize(("name", "params", "torch_macs"), [
    # verify --against torchvision: torchvision's swin3d_* params and FlopCounterMode / 2 on a
    # 3 x 16 x 224 x 224 clip (meta device, batch 1)
    ("swin3d_t", 28_158_070, 43_882_229_760),
    ("swin3d_s", 49_816_678, 82_841_284_608),
    ("swin3d_b", 88_048_984, 140_666_617_856),
])
def test_bundled_swin3ds_equal_torchvision(name, params, torch_macs):
    analysis = analyse_bundled(name)
    assert analysis.totals.params == params
    assert analysis.total_counted("torch") == 2 * torch_macs
    assert list(analysis.rows[-1].output) == [400]


@pytest.mark.parametrize(("name", "expected"), [
    ("swin_t", {"fvcore": 4_509_232_128, "ptflops": 3_128_183_416, "torchinfo": 34_368_232, "thop": 2_978_099_712}),
    ("swin_v2_t", {"fvcore": 5_962_349_568, "ptflops": 4_045_391_848, "torchinfo": 38_970_472,
                   "thop": 3_906_813_696}),
    ("swin3d_t", {"fvcore": 44_031_252_480, "ptflops": 33_105_780_112, "torchinfo": 252_774_544,
                  "thop": 23_934_561_024}),
    ("swin3d_b", {"fvcore": 140_961_652_736, "ptflops": 101_898_031_504, "torchinfo": 370_609_552,
                  "thop": 81_931_396_096}),
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


CONFIGS_3D = [  # (heads, window, shift, T x H x W x C)
    (3, [8, 7, 7], [4, 3, 3], (8, 14, 14, 12)),  # torchvision's window: T one window, unshifted
    (2, [2, 4, 4], [1, 2, 2], (3, 6, 7, 8)),  # padded on every axis
    (2, 4, 2, (3, 6, 7, 8)),  # T shrinks to 3
    (1, [2, 3, 2], 1, (5, 3, 2, 4)),  # one head; H and W one window each
    (2, [4, 4, 4], [2, 2, 2], (9, 3, 5, 8)),  # H shrinks, T padded 9 -> 12
    (4, [8, 7, 7], [4, 3, 3], (8, 7, 7, 16)),  # one window
]


@pytest.mark.parametrize(("heads", "window", "shift", "x"), CONFIGS_3D)
def test_3d_window_attention_matches_its_twin(heads, window, shift, x):
    pytest.importorskip("torch")
    from tests.test_against_torch import check_agreement

    assert check_agreement(build_op("window_attention", {"heads": heads, "window": window, "shift": shift}, {},
                                    None), [x])


@pytest.mark.parametrize(("heads", "window", "shift", "x"), CONFIGS_3D)
def test_twin_is_torchvision_shifted_window_attention_3d(heads, window, shift, x):
    # where torchvision is installed: the twin takes torchvision's state dict (same parameters
    # and buffers), computes the same output, FlopCounterMode counts the same, and autograd
    # saves the same storages as the op declares
    torch = pytest.importorskip("torch")
    video = pytest.importorskip("torchvision.models.video.swin_transformer", exc_type=ImportError)
    from cnncalc.torchcheck.tools import tool_count
    from tests.test_saved import measured_op, predicted_op

    op = build_op("window_attention", {"heads": heads, "window": window, "shift": shift}, {}, None)
    per_axis = [w if isinstance(w, list) else [w] * 3 for w in (window, shift)]
    theirs = video.ShiftedWindowAttention3d(x[-1], per_axis[0], per_axis[1], heads).eval()
    ours = op.to_torch([x]).eval()
    ours.load_state_dict(theirs.state_dict())
    sample = torch.randn(2, *x)
    with torch.no_grad():
        assert torch.equal(ours(sample), theirs(sample))
    y = op.output_shape([x], None)
    assert tool_count("torch", theirs, x, 2)[0] == 2 * op.counted("torch", (x,), y, op.cost([x], y))
    torchvision_op = SimpleNamespace(to_torch=lambda shapes: theirs, reads_ids=False)  # what measured_op reads
    assert measured_op(torchvision_op, [x]) == predicted_op(op, [x])


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
    ("window_attention", {"heads": 2, "window": [2, 4, 4], "shift": [1, 2, 2]}, (3, 6, 7, 8)),
    ("window_attention", {"heads": 2, "window": 4, "shift": 2}, (3, 6, 7, 8)),  # T shrinks
    ("patch_merging", {}, (3, 5, 7, 6)),
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
