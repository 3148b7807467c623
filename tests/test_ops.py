"""Hand-worked per-op cases: one row per case, with the arithmetic in a comment."""

from __future__ import annotations

import pytest

from cnncalc.ops import REGISTRY, build_op
from cnncalc.ops.conv import window_out
from cnncalc.ops.pool import adaptive_windows
from cnncalc.errors import ShapeError


def op_cost(spec: dict, x: tuple):
    args = {k: v for k, v in spec.items() if k != "type"}
    op = build_op(spec["type"], args, {}, None)
    y = op.output_shape([x], None)
    return op, y, op.cost([x], y)


@pytest.mark.parametrize(("spec", "x", "y", "params", "macs"), [
    # AlexNet-2012 conv1: 96*(3*11*11) + 96 = 34,944 params; 55*55*96 outputs x 363 MACs = 105,415,200
    ({"type": "conv", "out": 96, "kernel": 11, "stride": 4}, (3, 227, 227), (96, 55, 55), 34_944, 105_415_200),
    # EECS 498 AlexNet conv1: (227-11+2*2)//4+1 = 56; 64*3*11*11+64 = 23,296; 64*56*56*363 = 72,855,552
    ({"type": "conv", "out": 64, "kernel": 11, "stride": 4, "pad": 2}, (3, 227, 227), (64, 56, 56), 23_296, 72_855_552),
    # grouped: 64*(32/4)*3*3 = 4,608 weights, no bias; 64*8*8 outputs x 72 = 294,912
    ({"type": "conv", "out": 64, "kernel": 3, "pad": 1, "groups": 4, "bias": False}, (32, 8, 8), (64, 8, 8), 4_608, 294_912),
    # depthwise: 32*(32/32)*3*3 + 32 = 320; stride 2: (16+2-3)//2+1 = 8; 32*8*8*9 = 18,432
    ({"type": "conv", "out": 32, "kernel": 3, "stride": 2, "pad": 1, "groups": 32}, (32, 16, 16), (32, 8, 8), 320, 18_432),
    # dilation 2, kernel 3 reaches 5: (10-5)//1+1 = 6; 4*2*9 = 72 weights + 4; 4*6*6*18 = 2,592
    ({"type": "conv", "out": 4, "kernel": 3, "dilation": 2}, (2, 10, 10), (4, 6, 6), 76, 2_592),
    # non-square 1x7, pad [0,3]: h 17, w (17+6-7)+1 = 17; 192*768*7 + 192 = 1,032,384; 192*17*17*(768*7) = 298,303,488
    ({"type": "conv", "out": 192, "kernel": [1, 7], "pad": [0, 3]}, (768, 17, 17), (192, 17, 17), 1_032_384, 298_303_488),
    # EECS 498 AlexNet pool1: (56-3)//2+1 = 27; 64*27*27*(3*3) = 419,904 window reads
    ({"type": "maxpool", "kernel": 3, "stride": 2}, (64, 56, 56), (64, 27, 27), 0, 419_904),
    # GoogLeNet stem pool: (112+2-3)//2+1 = 56; 64*56*56*9 = 1,806,336
    ({"type": "maxpool", "kernel": 3, "stride": 2, "pad": 1}, (64, 112, 112), (64, 56, 56), 0, 1_806_336),
    # ceil_mode: ceil((14-3)/2)+1 = 7 (floor would give 6); 16*7*7*9 = 7,056
    ({"type": "maxpool", "kernel": 3, "stride": 2, "ceil_mode": True}, (16, 14, 14), (16, 7, 7), 0, 7_056),
    # stride defaults to the kernel: 28/2 = 14; 8*14*14*4 = 6,272
    ({"type": "avgpool", "kernel": 2}, (8, 28, 28), (8, 14, 14), 0, 6_272),
    # GoogLeNet avg-pool 7x7 s1 on 1024x7x7 -> 1024x1x1; 1024*49 = 50,176
    ({"type": "avgpool", "kernel": 7, "stride": 1}, (1024, 7, 7), (1024, 1, 1), 0, 50_176),
    # global average pool reads every element once: 2048*7*7 = 100,352
    ({"type": "global_avgpool"}, (2048, 7, 7), (2048, 1, 1), 0, 100_352),
    # adaptive 13 -> 6: windows [0,3) [2,5) [4,7) [6,9) [8,11) [10,13) = 6 x 3 = 18 per axis; 256*18*18 = 82,944
    ({"type": "adaptive_avgpool", "out": 6}, (256, 13, 13), (256, 6, 6), 0, 82_944),
    # EECS 498 fc6: 9216*4096 + 4096 = 37,752,832 params; 9216*4096 = 37,748,736 MACs
    ({"type": "linear", "out": 4096}, (9216,), (4096,), 37_752_832, 37_748_736),
    # GoogLeNet fc: 1024*1000 + 1000 = 1,025,000
    ({"type": "linear", "out": 1000}, (1024,), (1000,), 1_025_000, 1_024_000),
    # no bias: 512*10 = 5,120
    ({"type": "linear", "out": 10, "bias": False}, (512,), (10,), 5_120, 5_120),
    # flatten: 256*6*6 = 9216, a view
    ({"type": "flatten"}, (256, 6, 6), (9216,), 0, 0),
    # batch norm: gamma + beta = 2*64 params, outside the lecture's flop column
    ({"type": "bn"}, (64, 56, 56), (64, 56, 56), 128, 0),
    ({"type": "relu"}, (64, 56, 56), (64, 56, 56), 0, 0),
    ({"type": "lrn", "size": 5}, (96, 27, 27), (96, 27, 27), 0, 0),
    ({"type": "dropout", "p": 0.5}, (4096,), (4096,), 0, 0),
    # linear on the last axis of 197 x 768 tokens (ViT's MLP): 768*3072 + 3072 = 2,362,368 params;
    # 197 positions x 768 x 3072 = 464,781,312 MACs
    ({"type": "linear", "out": 3072}, (197, 768), (197, 3072), 2_362_368, 464_781_312),
    # channels-last 56 x 56 x 96 (ConvNeXt's pointwise linear): 96*384 + 384 = 37,248; 56*56*96*384 = 115,605,504
    ({"type": "linear", "out": 384}, (56, 56, 96), (56, 56, 384), 37_248, 115_605_504),
    # layernorm over 768 features: gamma + beta = 1,536; over the 96 channels of 96x56x56: 192
    ({"type": "layernorm"}, (197, 768), (197, 768), 1_536, 0),
    ({"type": "layernorm", "axis": 0}, (96, 56, 56), (96, 56, 56), 192, 0),
    # self-attention, D = 768, 12 heads, N = 197: params 4*768^2 + 4*768 = 2,362,368;
    # MACs 4*N*D^2 + 2*N^2*D = 464,781,312 + 59,610,624 = 524,391,936
    ({"type": "attention", "heads": 12}, (197, 768), (197, 768), 2_362_368, 524_391_936),
    # class token: 768 params, 196 + 1 tokens; position embedding 197*768 = 151,296 params
    ({"type": "param", "shape": [1, 768], "merge": "concat"}, (196, 768), (197, 768), 768, 0),
    ({"type": "param", "shape": [197, 768], "merge": "add"}, (197, 768), (197, 768), 151_296, 0),
    # layer scale: 96 x 1 x 1 = 96 params, broadcast over 96 x 56 x 56
    ({"type": "param", "shape": [96, 1, 1], "merge": "mul"}, (96, 56, 56), (96, 56, 56), 96, 0),
    # ViT's patches: 768 x 14 x 14 -> flatten axes 1..2 -> 768 x 196 -> permute -> 196 x 768
    ({"type": "flatten", "start": 1}, (768, 14, 14), (768, 196), 0, 0),
    ({"type": "permute", "dims": [1, 0]}, (768, 196), (196, 768), 0, 0),
    ({"type": "reshape", "shape": [-1, 12, 64]}, (197, 768), (197, 12, 64), 0, 0),
    ({"type": "select", "index": 0}, (197, 768), (768,), 0, 0),
    ({"type": "chunk", "chunks": 3, "index": 1, "axis": -1}, (197, 2304), (197, 768), 0, 0),
    ({"type": "softmax", "axis": -1}, (12, 197, 197), (12, 197, 197), 0, 0),
])
def test_op_shape_params_macs(spec, x, y, params, macs):
    op, out, cost = op_cost(spec, x)
    assert out == y
    assert cost.weights + cost.biases == params
    assert cost.macs == macs


@pytest.mark.parametrize(("size", "kernel", "stride", "pad", "dilation", "ceil"), [
    (s, k, st, p, d, c) for s in (1, 5, 8, 13, 27) for k in (1, 2, 3) for st in (1, 2, 3)
    for p in (0, 1) for d in (1, 2) for c in (False, True)
    if (not c or (2 * p <= k and d == 1))  # ceil_mode is a pooling option; pools keep pad <= k/2
    and s + 2 * p >= d * (k - 1) + 1  # a kernel larger than the padded input is rejected earlier
])
def test_window_out_matches_enumeration(size, kernel, stride, pad, dilation, ceil):
    """Count window positions directly, in padded coordinates (the padded input is 0..size+2*pad).
    Window i starts at i*stride and reaches `reach` cells. floor: it must fit entirely. ceil
    (Caffe/torch): one more, partial window is allowed, but only if it starts before the right
    padding, i.e. at a padded position < size + pad."""
    reach = dilation * (kernel - 1) + 1
    last = size + 2 * pad - reach  # the last start at which a window still fits
    starts = [i * stride for i in range(size + 2 * pad + 1)]
    if ceil:
        expected = len([s for s in starts if s < last + stride and s < size + pad])
    else:
        expected = len([s for s in starts if s <= last])
    assert window_out(size, kernel, stride, pad, dilation, ceil) == expected


@pytest.mark.parametrize(("size", "out"), [(13, 6), (7, 7), (7, 1), (10, 3), (5, 4)])
def test_adaptive_windows_matches_torch_rule(size, out):
    # torch: start = floor(i*size/out), end = ceil((i+1)*size/out)
    import math
    assert adaptive_windows(size, out) == sum(math.ceil((i + 1) * size / out) - math.floor(i * size / out)
                                              for i in range(out))


@pytest.mark.parametrize(("spec", "x", "message"), [
    ({"type": "conv", "out": 8, "kernel": 5}, (3, 4, 4), "larger than the padded input"),
    ({"type": "conv", "out": 8, "kernel": 3, "groups": 2}, (3, 8, 8), "groups=2 must divide"),
    ({"type": "maxpool", "kernel": 2, "pad": 2}, (3, 8, 8), "more than half the kernel"),
    ({"type": "bn"}, (2, 3, 4, 5, 6), r"bn acts on channels \(C, C x L, C x H x W or C x T x H x W\), got 2x3x4x5x6"),
    ({"type": "bn", "frozen": True}, (4, 5), "frozen is torchvision's FrozenBatchNorm2d, on a C x H x W map"),
    ({"type": "conv", "out": 8, "kernel": 3}, (4096,), "conv acts on a C x L, C x H x W or C x T x H x W feature "
     "map, got 4096"),
    ({"type": "conv2d", "out": 8, "kernel": 3}, (197, 768), "conv2d acts on a C x H x W feature map, got 197x768"),
    ({"type": "conv1d", "out": 8, "kernel": 3}, (3, 8, 8), "conv1d acts on a C x L sequence"),
    ({"type": "conv", "out": 8, "kernel": [3, 3]}, (3, 8, 8, 8), "'kernel' has 2 values, one per spatial axis, "
     "but the input has 3"),
    ({"type": "conv_transpose", "out": 8, "kernel": 3, "stride": 2, "output_pad": 2}, (3, 8, 8),
     "output_pad 2 along h must be smaller than the stride"),
    ({"type": "attention", "heads": 5}, (197, 768), "heads=5 must divide the 768 features"),
    ({"type": "attention", "heads": 2}, (3, 8, 8), "attention acts on N x D tokens"),
    ({"type": "permute", "dims": [0, 1]}, (3, 4, 5), "is not an order of the 3 axes"),
    ({"type": "reshape", "shape": [5, -1]}, (3, 4), "does not split"),
    ({"type": "select", "index": 3}, (3, 4), "outside axis"),
    ({"type": "layernorm", "axis": 2}, (3, 4), "axis 2 is out of range for a rank-2 input"),
    ({"type": "param", "shape": [2, 4], "merge": "add"}, (3, 4), "does not add into 3x4"),
])
def test_op_rejects_inputs_torch_rejects(spec, x, message):
    with pytest.raises(ShapeError, match=message):
        op_cost(spec, x)


@pytest.mark.parametrize(("spec", "xs", "y", "macs"), [
    # attention scores q k^T per head: 12 heads x (197 x 64) @ (64 x 197): 12*197*197*64 = 29,805,312
    ({"type": "matmul", "transpose": True}, [(12, 197, 64), (12, 197, 64)], (12, 197, 197), 29_805_312),
    # weights x v: (197 x 197) @ (197 x 64) per head: the same 29,805,312
    ({"type": "matmul"}, [(12, 197, 197), (12, 197, 64)], (12, 197, 64), 29_805_312),
    # broadcasting add: a 768-vector over 197 x 768 tokens
    ({"type": "add"}, [(197, 768), (768,)], (197, 768), 0),
    # concat along the tokens: 1 + 196
    ({"type": "concat", "axis": 0}, [(1, 768), (196, 768)], (197, 768), 0),
])
def test_multi_input_ops(spec, xs, y, macs):
    op = build_op(spec["type"], {k: v for k, v in spec.items() if k != "type"}, {}, None)
    assert op.output_shape(xs, None) == y
    assert op.cost(xs, y).macs == macs


def test_every_op_has_docstring_and_samples():
    for name, cls in REGISTRY.items():
        assert cls.__doc__ and cls.__doc__.strip(), name
        assert cls.samples, f"{name} has no sample configs for the torch cross-check"
