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
    y = op.infer([x], None)
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
    ({"type": "linear", "out": 10}, (256, 6, 6), "needs a flat input"),
    ({"type": "bn"}, (4096,), "needs a c x h x w input"),
])
def test_op_rejects_inputs_torch_rejects(spec, x, message):
    with pytest.raises(ShapeError, match=message):
        op_cost(spec, x)


def test_every_op_has_docstring_and_samples():
    for name, cls in REGISTRY.items():
        assert cls.__doc__ and cls.__doc__.strip(), name
        assert cls.samples, f"{name} has no sample configs for the torch cross-check"
