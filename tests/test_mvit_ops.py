"""The MViT ops (cnncalc/ops/mvit.py): pool_attention, token_maxpool, st_pos_encoding.

Hand-worked layers of torchvision's mvit_v1_b and mvit_v2_s (a 3 x 16 x 224 x 224 clip: 25,089
tokens, the class token and an 8 x 56 x 56 grid), the counting rules per profile, shape errors,
configurations against their torch twins (cnncalc/torchcheck/mvit.py) under FlopCounterMode and
under each tool where installed, and against torchvision's own modules where it is installed."""

from __future__ import annotations

import pytest

from cnncalc.errors import ShapeError, SpecError
from cnncalc.ops import build_op
from tests.conftest import ORDER, analyse_bundled, layer, saved_storages

V1_ATTN0 = {"heads": 1, "grid": [8, 56, 56], "kernel_kv": 3, "stride_kv": [1, 8, 8]}
V2_ATTN1 = {"heads": 2, "out": 192, "grid": [8, 56, 56], "kernel_q": 3, "stride_q": [1, 2, 2], "kernel_kv": 3,
            "stride_kv": [1, 4, 4], "rel_pos": True, "residual_pool": True}


def test_mvit_v1_b_block0_attention_by_hand():
    # torchvision mvit_v1_b blocks[0].attn: D = C = 96, 1 head, N = 1 + 8*56*56 = 25,089 tokens;
    # k and v pooled by a 3x3x3 depthwise conv, stride 1x8x8, pad 1: (8+2-3)//1+1 = 8,
    # (56+2-3)//8+1 = 7 -> Nk = 1 + 8*7*7 = 393; q is not pooled (Nq = N)
    _, y, cost, counts = layer("pool_attention", V1_ATTN0, (25_089, 96))
    assert y == (25_089, 96)
    # params: qkv 96*288 + 288 = 27,936; project 96*96 + 96 = 9,312; pool_k and pool_v each a
    # conv 96*27 = 2,592 and a LayerNorm 2*96 = 192: 42,816
    assert (cost.weights, cost.biases) == (96 * 288 + 96 * 96 + 2 * (2_592 + 96), 288 + 96 + 2 * 96)
    assert cost.weights + cost.biases == 42_816
    # qkv 25,089*96*288 = 693,660,672; pool convs 2*96*392*27 = 2,032,128; q k^T and weights x v
    # 2*25,089*393*96 = 1,893,115,584; project 25,089*96*96 = 231,220,224: 2,820,028,608
    assert cost.macs == 2_820_028_608
    # fvcore: the same + the pool norms 5*(2*393*96) = 377,280 = 2,820,405,888.
    # ptflops: qkv hook 25,089*(96*288 + 288) = 700,886,304, project 25,089*(96*96 + 96) =
    # 233,628,768, convs 2,032,128, norms 2*393*96 = 75,456, torch.matmul 1,893,115,584: 2,829,738,240.
    # torchinfo: the linears' parameters 27,936 + 9,312, the convs' MACs 2,032,128, the norms
    # 2*192: 2,069,760. thop: linears 693,660,672 + 231,220,224, convs 2,032,128, norms
    # 4*75,456 = 301,824: 927,214,848 (no rule for the matmuls).
    assert counts == (2_820_028_608, 5_640_057_216, 2_820_405_888, 2_829_738_240, 2_069_760, 927_214_848)


def test_mvit_v2_s_block1_attention_by_hand():
    # torchvision mvit_v2_s blocks[1].attn: D = 96 -> C = 192, 2 heads of dh = 96; q pooled with
    # stride 1x2x2 to 8x28x28 (Gq = 6,272, Nq = 6,273), k and v with 1x4x4 to 8x14x14 (Gk = 1,568,
    # Nk = 1,569); relative positions and residual pooling
    _, y, cost, counts = layer("pool_attention", V2_ATTN1, (25_089, 96))
    assert y == (6_273, 192)
    # params: qkv 96*576 + 576 = 55,872; project 192*192 + 192 = 37,056; three pools, conv 96*27
    # + LayerNorm 2*96 each: 8,352; rel_pos: size 56, 56 // 2 = 28 and 56 // 4 = 14, S = 2*28 - 1
    # = 55 rows for h and w, 2*8 - 1 = 15 for t: (55 + 55 + 15)*96 = 12,000. Total 113,280
    assert cost.weights + cost.biases == 55_872 + 37_056 + 3 * (2_592 + 192) + 12_000 == 113_280
    # qkv 25,089*96*576 = 1,387,321,344; pool convs 192*(6,272*27 + 2*1,568*27) = 48,771,072;
    # q k^T and weights x v 2*6,273*1,569*192 = 3,779,457,408; rel_pos 192*6,272*(8 + 14 + 14) =
    # 43,352,064; project 6,273*192*192 = 231,247,872: 5,490,149,760
    assert cost.macs == 5_490_149_760
    # fvcore: linears 1,618,569,216, convs 48,771,072, norms 5*(6,273 + 2*1,569)*192 = 9,034,560,
    # matmuls 3,779,457,408 + 192*6,272*8 = 9,633,792 (rel t), and each einsum (192*6,272*14 =
    # 16,859,136) as numpy's "2 x" figure printed 3.372e+07, halved: 16,860,000: 5,499,186,048.
    # ptflops: qkv 25,089*(96*576 + 576), project 6,273*(192*192 + 192), convs, norms
    # 1,806,912, matmuls incl. rel t (the einsums are not patched): 5,473,894,080.
    # torchinfo: 55,872 + 37,056 + 48,771,072 + 3*192 = 48,864,576.
    # thop: linears 1,618,569,216 + convs 48,771,072 + norms 4*1,806,912: 1,674,567,936.
    assert counts == (5_490_149_760, 10_980_299_520, 5_499_186_048, 5_473_894_080, 48_864_576, 1_674_567_936)


def test_token_maxpool_by_hand():
    # mvit_v1_b blocks[1].pool_skip: MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)) on the grid of
    # 25,089 x 192 tokens: 8x56x56 -> 8x28x28, the class token kept: 1 + 6,272 = 6,273 tokens.
    # Window reads 192*6,272*9 = 10,838,016; ptflops: the MaxPool3d hook and the patched
    # F.max_pool3d each count the 192 x 8x56x56 grid, 2*4,816,896 = 9,633,792; the rest 0
    args = {"kernel": [1, 3, 3], "stride": [1, 2, 2], "pad": [0, 1, 1], "grid": [8, 56, 56]}
    _, y, cost, counts = layer("token_maxpool", args, (25_089, 192))
    assert y == (6_273, 192) and cost.weights + cost.biases == 0
    assert counts == (10_838_016, 0, 0, 9_633_792, 0, 0)
    # stride defaults to the kernel: 2x2x2 on 2x4x4 -> 1x2x2
    assert layer("token_maxpool", {"kernel": 2, "grid": [2, 4, 4]}, (33, 8))[1] == (5, 8)


def test_st_pos_encoding_by_hand():
    # mvit_v1_b pos_encoding: 25,088 grid tokens of 96 -> 25,089; class_token 96, spatial_pos
    # 56*56*96 = 301,056, temporal_pos 8*96 = 768, class_pos 96: 302,016 params; no tool counts it
    _, y, cost, counts = layer("st_pos_encoding", {"grid": [8, 56, 56]}, (25_088, 96))
    assert y == (25_089, 96) and cost.weights + cost.biases == 302_016 and counts == (0,) * 6
    # v2 (relative positions in the attention): the class token alone, 96 params
    _, y, cost, _ = layer("st_pos_encoding", {"grid": [8, 56, 56], "pos_embed": False}, (25_088, 96))
    assert y == (25_089, 96) and cost.weights + cost.biases == 96


def test_pools_exist_only_where_torchvision_makes_them():
    # no pools (kernel and stride 1): plain attention, 4*C*C + 4*C params, 4*N*C*C + 2*N*N*C macs
    # on 5 x 6 tokens: 4*36 + 24 = 168; 4*5*36 + 2*25*6 = 1,020
    _, y, cost, _ = layer("pool_attention", {"heads": 3, "grid": [1, 2, 2]}, (5, 6))
    assert y == (5, 6) and cost.weights + cost.biases == 168 and cost.macs == 1_020
    # kernel 3, stride 1 (v2's query in most blocks): a pool that keeps the grid
    op, y, _, _ = layer("pool_attention", {"heads": 1, "grid": [2, 3, 3], "kernel_q": 3}, (19, 4))
    assert y == (19, 4) and op.pools_q() and not op.pools_kv()


def test_a_grid_not_square_resizes_the_h_table():
    # grid 2x3x4, D = C = 8, 2 heads of 4; q pooled 3x3x3 stride 1 (2x3x4, Nq = 25), k and v
    # stride 1x2x2: (3+2-3)//2+1 = 2, (4+2-3)//2+1 = 2 -> 2x2x2 (Nk = 9). The tables are sized
    # from max(H, W) = 4: S = 2*4 - 1 = 7 rows; h needs 2*max(3, 2) - 1 = 5 and is interpolated
    # (w needs 7, t 2*2 - 1 = 3, both as sized). ptflops counts the interpolation's output, 4*5:
    # qkv 25*(8*24 + 24) = 5,400, project 25*(64 + 8) = 1,800, convs 8*24*27 + 2*8*8*27 = 8,640,
    # norms 25*8 + 2*9*8 = 344, matmuls 2*25*9*8 = 3,600, rel t 8*24*2 = 384, + 20: 20,188
    args = {"heads": 2, "grid": [2, 3, 4], "kernel_q": 3, "kernel_kv": 3, "stride_kv": [1, 2, 2], "rel_pos": True,
            "residual_pool": True}
    _, _, cost, counts = layer("pool_attention", args, (25, 8))
    assert counts[3] == 5_400 + 1_800 + 8_640 + 344 + 3_600 + 384 + 20 == 20_188
    # the tables' parameters are as sized: (7 + 7 + 3)*4 = 68, beside qkv 216, project 72, pools
    # 3*(4*27 + 8) = 348: 704
    assert cost.weights + cost.biases == 216 + 72 + 348 + 68 == 704


@pytest.mark.parametrize(("op_type", "args", "x", "message"), [
    ("pool_attention", V1_ATTN0, (25_088, 96), "25,088 tokens are not 1 + T*H*W = 1 + 8*56*56 = 25,089"),
    ("pool_attention", {**V1_ATTN0, "heads": 5}, (25_089, 96), "heads=5 must divide the attention's width C = 96"),
    ("pool_attention", {**V2_ATTN1, "heads": 5}, (25_089, 96), "C = 192 (out)"),
    ("pool_attention", V1_ATTN0, (96, 8, 56, 56), "pool_attention acts on N x D tokens"),
    ("pool_attention", {**V1_ATTN0, "kernel_kv": [3, 3]}, (25_089, 96), "'kernel_kv' has 2 values"),
    ("pool_attention", {"heads": 1, "grid": [1, 1, 1], "stride_q": 2, "stride_kv": 2, "rel_pos": True}, (2, 4),
     "gives position tables of 2*max(1 // 2, 1 // 2) - 1 = -1 rows"),
    ("token_maxpool", {"kernel": 3, "pad": 2, "grid": [2, 4, 4]}, (33, 8), "pad 2 is more than half the kernel 3"),
    ("token_maxpool", {"kernel": [1, 5, 5], "grid": [2, 3, 3]}, (19, 8), "kernel 5 is larger than the padded grid"),
    ("token_maxpool", {"kernel": 3, "grid": [2, 4, 4]}, (32, 8), "32 tokens are not 1 + T*H*W"),
    ("st_pos_encoding", {"grid": [8, 56, 56]}, (25_089, 96), "25,089 tokens are not T*H*W = 8*56*56 = 25,088"),
    ("st_pos_encoding", {"grid": [8, 56, 56]}, (96, 8, 56, 56), "st_pos_encoding acts on N x D tokens"),
])
def test_shape_errors(op_type, args, x, message):
    with pytest.raises(ShapeError) as err:
        build_op(op_type, args, {}, None).output_shape([x], None)
    assert message in err.value.message


@pytest.mark.parametrize("op_type", ["pool_attention", "token_maxpool", "st_pos_encoding"])
@pytest.mark.parametrize("grid", [[8, 56], [8, 0, 56], [1, 2, 3, 4]])
def test_grid_must_be_three_positive_sizes(op_type, grid):
    args = {"grid": grid, **({"heads": 1} if op_type == "pool_attention" else {}),
            **({"kernel": 3} if op_type == "token_maxpool" else {})}
    with pytest.raises(SpecError) as err:
        build_op(op_type, args, {}, None)
    assert "'grid' must be three positive sizes [T, H, W]" in err.value.message


@pytest.mark.parametrize(("name", "params", "torch_macs"), [
    # verify --against torchvision: torchvision's params (its weights' num_params) and
    # FlopCounterMode / 2 at the weights' clip, 3 x 16 x 224 x 224
    ("mvit_v1_b", 36_610_672, 70_599_407_808),
    ("mvit_v2_s", 34_537_744, 64_223_815_872),
])
def test_bundled_mvits_equal_torchvision(name, params, torch_macs):
    analysis = analyse_bundled(name)
    assert analysis.totals.params == params
    assert analysis.total_counted("torch") == 2 * torch_macs
    assert list(analysis.rows[-1].output) == [400]


@pytest.mark.parametrize(("name", "expected"), [
    ("mvit_v1_b", {"fvcore": 70_803_884_928, "ptflops": 70_896_008_272, "torchinfo": 1_375_046_800,
                   "thop": 56_333_137_152}),
    ("mvit_v2_s", {"fvcore": 64_456_924_584, "ptflops": 64_323_830_320, "torchinfo": 1_641_352_816,
                   "thop": 49_686_009_600}),
])
def test_mvit_tool_totals(name, expected):
    # what fvcore, ptflops, torchinfo and thop report for torchvision's own model (torchvision
    # 0.29.1, the tool versions of docs/profiles.md; scripts/freeze_tools.py -o -, batch 1)
    analysis = analyse_bundled(name)
    assert {p: analysis.total_counted(p) for p in ORDER[2:]} == expected


def test_bundled_names_follow_torchvisions_modules():
    names = {row.name for row in analyse_bundled("mvit_v2_s").rows}
    assert {"conv_proj", "pos_encoding", "blocks.0.attn", "blocks.1.project", "blocks.1.pool_skip",
            "blocks.15.mlp.3", "norm", "head.1"} <= names
    names = {row.name for row in analyse_bundled("mvit_v1_b").rows}
    assert {"blocks.0.project", "blocks.1.pool_skip", "blocks.13.project", "blocks.14.pool_skip"} <= names
    assert "blocks.1.project" not in names and "blocks.0.pool_skip" not in names


# ---- against the torch twins ------------------------------------------------------------------

CONFIGS = [  # (args, tokens): v1 and v2 blocks in small, and the edges the rules handle
    ({"heads": 2, "grid": [2, 4, 4], "kernel_kv": 3, "stride_kv": [1, 2, 2]}, (33, 8)),
    ({"heads": 2, "grid": [2, 4, 4], "out": 12, "kernel_q": 3, "stride_q": [1, 2, 2], "kernel_kv": 3,
      "stride_kv": [1, 2, 2], "rel_pos": True, "residual_pool": True}, (33, 8)),
    ({"heads": 2, "grid": [2, 3, 4], "kernel_q": 3, "kernel_kv": 3, "stride_kv": [1, 2, 2], "rel_pos": True,
      "residual_pool": True}, (25, 8)),  # the h table resized
    ({"heads": 4, "grid": [2, 7, 7], "kernel_q": 3, "stride_q": [1, 2, 2], "kernel_kv": 3, "stride_kv": [1, 2, 2],
      "rel_pos": True, "residual_pool": True}, (99, 16)),
    ({"heads": 2, "grid": [3, 5, 6], "kernel_q": [1, 3, 3], "stride_q": [1, 2, 2], "kernel_kv": [3, 3, 1],
      "stride_kv": [2, 1, 2], "rel_pos": True, "residual_pool": True}, (91, 8)),
    ({"heads": 4, "grid": [2, 3, 3], "kernel_kv": 3, "stride_kv": 1, "rel_pos": True}, (19, 4)),  # dh = 1
    ({"heads": 1, "grid": [1, 4, 4], "out": 1, "kernel_q": 3, "stride_q": [1, 2, 2], "rel_pos": True}, (17, 4)),
    ({"heads": 1, "grid": [2, 3, 3], "out": 4}, (19, 4)),  # one head, nothing pooled
    ({"heads": 3, "grid": [1, 2, 2]}, (5, 6)),
]


@pytest.mark.parametrize(("args", "x"), CONFIGS)
def test_pool_attention_matches_its_twin(args, x):
    pytest.importorskip("torch")
    from tests.test_against_torch import check_agreement

    assert check_agreement(build_op("pool_attention", args, {}, None), [x])


@pytest.mark.parametrize(("args", "x"), [
    ({"kernel": [1, 3, 3], "stride": [1, 2, 2], "pad": [0, 1, 1], "grid": [8, 8, 8]}, (513, 4)),
    ({"kernel": 3, "stride": 2, "pad": 1, "grid": [3, 5, 5]}, (76, 4)),
    ({"kernel": [2, 1, 3], "stride": [1, 1, 2], "grid": [2, 2, 7]}, (29, 3)),
])
def test_token_maxpool_matches_its_twin(args, x):
    pytest.importorskip("torch")
    from tests.test_against_torch import check_agreement

    assert check_agreement(build_op("token_maxpool", args, {}, None), [x])


@pytest.mark.parametrize(("op_type", "args", "x"), [
    ("pool_attention", {"heads": 1, "grid": [1, 1, 1], "stride_q": 2, "stride_kv": 2, "rel_pos": True}, (2, 4)),
    ("pool_attention", {"heads": 3, "grid": [1, 2, 2]}, (5, 8)),  # torch's reshape refuses too
    ("token_maxpool", {"kernel": 3, "pad": 2, "grid": [2, 4, 4]}, (33, 8)),
])
def test_twin_agrees_or_both_reject(op_type, args, x):
    pytest.importorskip("torch")
    from tests.test_against_torch import check_agreement

    check_agreement(build_op(op_type, args, {}, None), [x])


TOOL_CASES = [
    ("pool_attention", CONFIGS[0][0], CONFIGS[0][1]),
    ("pool_attention", CONFIGS[2][0], CONFIGS[2][1]),  # rel_pos, a table resized (ptflops' F.interpolate)
    ("pool_attention", CONFIGS[5][0], CONFIGS[5][1]),  # dh = 1: the einsums uncounted by FlopCounterMode
    ("token_maxpool", {"kernel": [1, 3, 3], "stride": [1, 2, 2], "pad": [0, 1, 1], "grid": [2, 4, 4]}, (33, 6)),
    ("st_pos_encoding", {"grid": [2, 3, 3]}, (18, 8)),
]


@pytest.mark.parametrize("profile", ORDER[1:])
@pytest.mark.parametrize(("op_type", "args", "x"), TOOL_CASES)
def test_each_tool_counts_the_twin_as_the_rule_says(profile, op_type, args, x):
    # batch 1: fvcore rounds each einsum of the whole batch to 4 significant digits, so its
    # per-sample rule holds at batch 1; ptflops always runs one sample
    pytest.importorskip("torch")
    pytest.importorskip({"torch": "torch", "fvcore": "fvcore.nn"}.get(profile, profile))
    from cnncalc.torchcheck.tools import tool_count

    op, y, cost, _ = layer(op_type, args, x)
    count, _ = tool_count(profile, op.to_torch([x]).eval(), x, 1)
    assert count == op.counted(profile, (x,), y, cost)


# ---- against torchvision's own modules (where torchvision is installed) ------------------------

def _torchvision_module(op_type, args, x):
    """torchvision's module for the op, wrapped so that it takes the tokens alone (the tools hook
    a model's children: the module as one child)."""
    torch = pytest.importorskip("torch")
    tvm = pytest.importorskip("torchvision.models.video.mvit", exc_type=ImportError)
    from functools import partial

    op = build_op(op_type, args, {}, None)
    grid = tuple(args["grid"])
    if op_type == "pool_attention":
        module = tvm.MultiscaleAttention(
            list(grid), x[1], op.out or x[1], op.heads, kernel_q=list(op.axes("kernel_q")),
            kernel_kv=list(op.axes("kernel_kv")), stride_q=list(op.axes("stride_q")),
            stride_kv=list(op.axes("stride_kv")), residual_pool=op.residual_pool, residual_with_cls_embed=False,
            rel_pos_embed=op.rel_pos, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6))
    elif op_type == "token_maxpool":
        module = tvm.Pool(torch.nn.MaxPool3d(op.axes("kernel"), stride=op.axes("stride"), padding=op.axes("pad")),
                          None)
    else:
        return tvm.PositionalEncoding(x[1], grid[1:], grid[0], not op.pos_embed)

    class Wrap(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = module

        def forward(self, tokens):
            return self.inner(tokens, grid)[0]

    return Wrap()


@pytest.mark.parametrize("profile", ORDER[1:])
@pytest.mark.parametrize(("op_type", "args", "x"), TOOL_CASES)
def test_each_tool_counts_torchvisions_module_as_the_rule_says(profile, op_type, args, x):
    pytest.importorskip({"torch": "torch", "fvcore": "fvcore.nn"}.get(profile, profile))
    from cnncalc.torchcheck.tools import tool_count

    module = _torchvision_module(op_type, args, x).eval()
    op, y, cost, _ = layer(op_type, args, x)
    assert tool_count(profile, module, x, 1)[0] == op.counted(profile, (x,), y, cost)


@pytest.mark.parametrize(("op_type", "args", "x"), [*[("pool_attention", a, x) for a, x in CONFIGS], *TOOL_CASES[3:]])
def test_twin_computes_what_torchvision_computes(op_type, args, x):
    # the same parameters (state dicts load both ways), the same output, on the same input
    torch = pytest.importorskip("torch")
    theirs = _torchvision_module(op_type, args, x).eval()
    ours = build_op(op_type, args, {}, None).to_torch([x]).eval()
    state = theirs.state_dict()
    ours.load_state_dict({k.removeprefix("inner."): v for k, v in state.items()})
    tokens = torch.randn(2, *x)
    with torch.no_grad():
        assert torch.allclose(ours(tokens), theirs(tokens), atol=1e-6)


@pytest.mark.parametrize(("op_type", "args", "x"), [*[("pool_attention", a, x) for a, x in CONFIGS], *TOOL_CASES[3:]])
def test_saved_tensors_of_torchvisions_module(op_type, args, x):
    # what autograd keeps on torchvision's own module, against the op's `saves` (batch 2, float32)
    torch = pytest.importorskip("torch")
    from tests.test_saved import predicted_op

    module = _torchvision_module(op_type, args, x).train()
    with saved_storages(module) as seen:
        module(torch.randn(2, *x).requires_grad_() * 1)
    assert sum(seen.values()) == predicted_op(build_op(op_type, args, {}, None), [x])
