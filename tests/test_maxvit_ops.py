"""The MaxViT ops (cnncalc/ops/maxvit.py): partition, unpartition, rel_attention.

Hand-worked layers of torchvision's maxvit_t, the counting rules per profile, shape errors, and
configurations against their torch twins (cnncalc/torchcheck/maxvit.py) under FlopCounterMode,
under each tool where installed, and against torchvision's own modules where it is installed."""

from __future__ import annotations

import pytest

from cnncalc.errors import ShapeError
from cnncalc.ops import build_op
from tests.conftest import ORDER, analyse_bundled, layer


def test_maxvit_t_stage1_rel_attention_by_hand():
    # torchvision maxvit_t blocks[0].layers[0].window_attention.attn_layer[1]: C = 64 on 56 x 56
    # cut into 7 x 7 windows: G = (56/7)^2 = 64 groups of N = 49 tokens, heads = 64 / 32 = 2
    _, y, cost, counts = layer("rel_attention", {"heads": 2, "size": 7}, (64, 49, 64))
    assert y == (64, 49, 64)
    # params: to_qkv 64*192 + 192 = 12,480; merge 64*64 + 64 = 4,160; table 13*13*2 = 338
    assert (cost.weights, cost.biases) == (4 * 64 * 64 + 338, 4 * 64)
    assert cost.weights + cost.biases == 16_978
    # per group: to_qkv 49*64*192 = 602,112, q k^T 49*49*64 = 153,664, weights x v 153,664,
    # merge 49*64*64 = 200,704: 1,110,144 -> 64 * 1,110,144 = 71,049,216
    assert cost.macs == 71_049_216
    # torch: 2 x. fvcore: linears 4*64*49*64*64 = 51,380,224 exact; each einsum is numpy's
    # "Optimized FLOP count" 2*64*49*49*64 = 19,668,992 printed as 1.967e+07, halved: 9,835,000
    # (not 9,834,496): 51,380,224 + 2*9,835,000 = 71,050,224.
    # ptflops: the two nn.Linear hooks, (C*out + out) per token: 64*49*(4*64*64 + 4*64) =
    # 52,183,040, + F.softmax on 64*2*49*49 = 307,328 scores = 52,490,368 (einsum not patched).
    # torchinfo: the two linears' parameters, 12,480 + 4,160 = 16,640.
    # thop: count_linear 64 * 64*49*192 + 64 * 64*49*64 = 51,380,224.
    assert counts == (71_049_216, 142_098_432, 71_050_224, 52_490_368, 16_640, 51_380_224)


def test_partition_shapes_and_inverse():
    # 64 x 56 x 56 by 7: 64 groups of 49 tokens, in both modes; unpartition gives the map back
    for mode in ("window", "grid"):
        _, y, cost, counts = layer("partition", {"size": 7, "mode": mode}, (64, 56, 56))
        assert y == (64, 49, 64) and cost == (0, 0, 0, 0) and counts == (0,) * 6
        assert layer("unpartition", {"size": 7, "mode": mode}, y)[1] == (64, 56, 56)
    # not square: 6 x 12 x 8 by 2 -> (12/2)*(8/2) = 24 groups of 4; back with height 12
    y = layer("partition", {"size": 2}, (6, 12, 8))[1]
    assert y == (24, 4, 6)
    assert layer("unpartition", {"size": 2, "height": 12}, y)[1] == (6, 12, 8)


@pytest.mark.parametrize(("op_type", "args", "x", "message"), [
    ("partition", {"size": 7}, (64, 56, 50), "must divide H and W"),
    ("partition", {"size": 7}, (49, 64), "C x H x W"),
    ("unpartition", {"size": 7}, (64, 48, 64), "is not a square map"),
    ("unpartition", {"size": 2, "height": 5}, (24, 4, 6), "a map of height 5"),
    ("rel_attention", {"heads": 3, "size": 7}, (64, 49, 64), "must divide the 64 channels"),
    ("rel_attention", {"heads": 2, "size": 7}, (64, 36, 64), "groups of 7*7 = 49 tokens"),
])
def test_shape_errors(op_type, args, x, message):
    with pytest.raises(ShapeError) as err:
        build_op(op_type, args, {}, None).output_shape([x], None)
    assert message in err.value.message


def test_bundled_maxvit_t_equals_torchvision():
    # verify --against torchvision: params 30,919,624 and FlopCounterMode / 2 = 5,558,046,720
    # (MHA fast path off, math SDPA) at the default weights' crop, 224
    analysis = analyse_bundled("maxvit_t")
    assert analysis.totals.params == 30_919_624
    assert analysis.total_counted("torch") == 2 * 5_558_046_720
    assert list(analysis.rows[-1].output) == [1000]


def test_maxvit_t_tool_totals():
    # what fvcore, ptflops, torchinfo and thop report for torchvision's own maxvit_t (torchvision
    # 0.29.1, the tool versions of docs/profiles.md; cnncalc.torchcheck.tools.tool_count, batch 1)
    analysis = analyse_bundled("maxvit_t")
    assert {p: analysis.total_counted(p) for p in ORDER[2:]} == {
        "fvcore": 5_608_201_264, "ptflops": 5_483_328_960, "torchinfo": 2_013_574_048, "thop": 5_456_315_648}


# ---- against the torch twins ------------------------------------------------------------------

ATTENTION = [  # (heads, size, G, C)
    (2, 7, 64, 64), (3, 3, 4, 12), (2, 2, 2, 8), (1, 1, 5, 4), (4, 2, 3, 16),
]


@pytest.mark.parametrize(("heads", "size", "g", "c"), ATTENTION)
def test_rel_attention_matches_its_twin(heads, size, g, c):
    pytest.importorskip("torch")
    from tests.test_against_torch import check_agreement

    assert check_agreement(build_op("rel_attention", {"heads": heads, "size": size}, {}, None),
                           [(g, size * size, c)])


@pytest.mark.parametrize("mode", ["window", "grid"])
@pytest.mark.parametrize(("size", "c", "h", "w"), [(7, 4, 14, 14), (2, 3, 4, 6), (3, 2, 9, 3), (1, 2, 3, 5)])
def test_partitions_match_their_twins_and_invert(mode, size, c, h, w):
    torch = pytest.importorskip("torch")
    from tests.test_against_torch import check_agreement

    part = build_op("partition", {"size": size, "mode": mode}, {}, None)
    assert check_agreement(part, [(c, h, w)])
    y = part.output_shape([(c, h, w)], None)
    back = build_op("unpartition", {"size": size, "mode": mode, "height": h}, {}, None)
    assert check_agreement(back, [y])
    x = torch.arange(2 * c * h * w, dtype=torch.float32).reshape(2, c, h, w)
    groups = part.to_torch([(c, h, w)])(x)
    assert torch.equal(back.to_torch([y])(groups), x)
    # a group: s x s neighbours (window) or s x s positions (H/s, W/s) apart (grid)
    first = groups[0, 0, :, 0].tolist()
    step_h, step_w = (1, 1) if mode == "window" else (h // size, w // size)
    assert first == [float(i * step_h * w + j * step_w) for i in range(size) for j in range(size)]


@pytest.mark.parametrize(("op_type", "args", "x"), [
    ("rel_attention", {"heads": 5, "size": 2}, (3, 4, 12)),  # torch's reshape refuses too
    ("partition", {"size": 3}, (2, 4, 6)),
])
def test_twin_agrees_or_both_reject(op_type, args, x):
    pytest.importorskip("torch")
    from tests.test_against_torch import check_agreement

    check_agreement(build_op(op_type, args, {}, None), [x])


@pytest.mark.parametrize("profile", ORDER[1:])
@pytest.mark.parametrize(("op_type", "args", "x"), [
    ("rel_attention", {"heads": 2, "size": 7}, (64, 49, 64)),
    ("rel_attention", {"heads": 3, "size": 3}, (4, 9, 12)),
    ("partition", {"size": 2, "mode": "grid"}, (3, 4, 6)),
    ("unpartition", {"size": 2, "mode": "grid"}, (4, 4, 3)),
])
def test_each_tool_counts_the_twin_as_the_rule_says(profile, op_type, args, x):
    # batch 1: fvcore rounds each einsum of the whole batch to 4 significant digits, so its
    # per-sample rule holds at batch 1 (at (4, 9, 12), batch 2, it reports 57,022, not 2 * 28,512)
    pytest.importorskip("torch")
    pytest.importorskip({"torch": "torch", "fvcore": "fvcore.nn"}.get(profile, profile))
    from cnncalc.torchcheck.tools import tool_count

    op, y, cost, _ = layer(op_type, args, x)
    count, _ = tool_count(profile, op.to_torch([x]).eval(), x, 1)
    assert count == op.counted(profile, (x,), y, cost)


@pytest.mark.parametrize("profile", ORDER[1:])
def test_each_tool_counts_torchvisions_attention_as_the_rule_says(profile):
    # the same rules on torchvision's own RelativePositionalMultiHeadAttention (where installed)
    torch = pytest.importorskip("torch")
    maxvit = pytest.importorskip("torchvision.models.maxvit")
    pytest.importorskip({"torch": "torch", "fvcore": "fvcore.nn"}.get(profile, profile))
    from cnncalc.torchcheck.tools import tool_count

    class Wrap(torch.nn.Module):  # the tools hook a model's children: attention as one child
        def __init__(self) -> None:
            super().__init__()
            self.attn = maxvit.RelativePositionalMultiHeadAttention(12, 4, 9)

        def forward(self, x):
            return self.attn(x)

    x = (4, 9, 12)
    op, y, cost, _ = layer("rel_attention", {"heads": 3, "size": 3}, x)
    assert tool_count(profile, Wrap().eval(), x, 1)[0] == op.counted(profile, (x,), y, cost)
