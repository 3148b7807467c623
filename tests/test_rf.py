"""Receptive fields (cnncalc/rf.py): hand-derived values, with their arithmetic, for small graphs,
AlexNet, VGG-16, MobileNet v1 and ResNet-50, checked against the published values of Araujo et
al., "Computing Receptive Fields of Convolutional Neural Networks" (Distill 2019; the table of
google-research/receptive_field: alexnet_v2 195, vgg_16 212, mobilenet_v1 315, resnet_v1_50 483).

Per axis: k_eff = d*(k-1)+1; size += (k_eff-1)*jump; jump *= stride;
start += ((k_eff-1)/2 - pad)*jump (the old jump). Coordinates: 0 = centre of input pixel 0.
"""

from __future__ import annotations

from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.errors import ShapeError
from cnncalc.rf import Field, receptive_fields
from tests.conftest import analyse_bundled, analyse_text


def fields(text: str, **kw) -> dict[str, Field]:
    graph = analyse_text(text, **kw).graph
    return {n.name: f for n, f in zip(graph.nodes, receptive_fields(graph))}


def bundled(name: str, **kw) -> dict[str, Field]:
    graph = analyse_bundled(name, **kw).graph
    return {n.name: f for n, f in zip(graph.nodes, receptive_fields(graph))}


def square(size: int, jump: int, start) -> Field:
    return Field((size, size), (jump, jump), (F(start), F(start)))


def test_one_field_per_node_and_the_input_is_one_pixel_at_0():
    graph = analyse_text("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 3}\n  - relu\n").graph
    out = receptive_fields(graph)
    assert len(out) == len(graph.nodes) == 3
    assert out[0] == Field((1, 1), (1, 1), (F(0), F(0)))
    assert all(isinstance(s, F) for f in out for s in f.start)
    assert all(type(v) is int for f in out for v in (*f.size, *f.jump))


# ---- (1) stacked 3x3 convs: the VGG / CS231n claim ------------------------------------------------

STACK = """
input: [3, 32, 32]
layers:
  - conv: {out: 8, kernel: 3, pad: 1}
  - relu
  - conv: {out: 8, kernel: 3, pad: 1}
  - relu
  - conv: {out: 8, kernel: 3, pad: 1}
"""


def test_three_3x3_convs_see_7x7_and_two_see_5x5():
    f = fields(STACK)
    # stride 1 keeps the jump at 1, so each 3x3 adds (3-1)*1 = 2: 1 -> 3 -> 5 -> 7;
    # pad 1 = (3-1)/2 keeps every window centred: start stays 0
    assert f["conv1"] == square(3, 1, 0)
    assert f["relu1"] == f["conv1"]  # elementwise: passes through
    assert f["conv2"] == square(5, 1, 0)
    assert f["conv3"] == square(7, 1, 0)
    one_5 = fields("input: [3, 32, 32]\nlayers:\n  - conv: {out: 8, kernel: 5, pad: 2}\n")
    one_7 = fields("input: [3, 32, 32]\nlayers:\n  - conv: {out: 8, kernel: 7, pad: 3}\n")
    assert one_5["conv1"] == f["conv2"]  # two 3x3 = one 5x5: 1 + (5-1)*1 = 5
    assert one_7["conv1"] == f["conv3"]  # three 3x3 = one 7x7: 1 + (7-1)*1 = 7


# ---- (2) AlexNet, CS231n simplified listing -------------------------------------------------------

def test_alexnet_2012_layer_by_layer():
    f = bundled("alexnet-2012")
    # layer   size                  jump        start (centre of output 0)
    # conv1   1 + (11-1)*1 = 11     1*4 = 4     0 + (5-0)*1 = 5
    # pool1   11 + (3-1)*4 = 19     4*2 = 8     5 + (1-0)*4 = 9
    # conv2   19 + (5-1)*8 = 51     8           9 + (2-2)*8 = 9
    # pool2   51 + (3-1)*8 = 67     8*2 = 16    9 + (1-0)*8 = 17
    # conv3   67 + (3-1)*16 = 99    16          17 + (1-1)*16 = 17
    # conv4   99 + 2*16 = 131       16          17
    # conv5   131 + 2*16 = 163      16          17
    # pool3   163 + 2*16 = 195      16*2 = 32   17 + (1-0)*16 = 33
    expected = {"conv1": (11, 4, 5), "pool1": (19, 8, 9), "conv2": (51, 8, 9), "pool2": (67, 16, 17),
                "conv3": (99, 16, 17), "conv4": (131, 16, 17), "conv5": (163, 16, 17),
                "pool3": (195, 32, 33)}
    for name, (size, jump, start) in expected.items():
        assert f[name] == square(size, jump, start), name
    # LRN mixes channels only: norm1/norm2 pass the field through
    assert f["norm1"] == f["pool1"] and f["norm2"] == f["pool2"]
    # 195 is the published alexnet_v2 value. The table's effective padding 64 means a start of
    # (195-1)/2 - 64 = 33: the same as ours (conv1 and the pools are unpadded in both).
    # flatten = one window over pool3's whole 6x6 map: 195 + (6-1)*32 = 355, jump 32*6 = 192,
    # start 33 + (5/2)*32 = 113, the centre of the 227-pixel image (pixels 0..226)
    assert f["flatten"] == square(355, 192, 113)
    assert f["fc6"] == f["fc7"] == f["fc8"] == f["flatten"]  # linear: identity on a flat input
    # the two-GPU form only changes groups, not windows
    assert bundled("alexnet-2012", overrides={"groups": 2})["pool3"] == f["pool3"]


# ---- (3) ResNet-50 ----------------------------------------------------------------------------

def test_resnet50_paper_layout_gives_the_published_483():
    """He et al. Table 1 (stride 2 on the first 1x1 conv of conv3_x..conv5_x).

    stem:    conv1 7x7/2 pad 3: 1 + 6*1 = 7, jump 2, start 0 + (3-3)*1 = 0
             pool1 3x3/2 pad 1: 7 + 2*2 = 11, jump 4, start 0 + (1-1)*2 = 0
    Only the 3x3 conv of a bottleneck grows the field (1x1 convs add (1-1)*jump = 0), by 2*jump,
    and the shortcut (identity, or a 1x1 projection) never sees more than the body, so an add
    takes the body's field.
    conv2_x: 3 blocks at jump 4:              11 + 3*8  = 35
    conv3_x: the 1x1/2 makes jump 8 first:    35 + 4*16 = 99
    conv4_x: jump 16:                         99 + 6*32 = 291
    conv5_x: jump 32:                        291 + 3*64 = 483   = resnet_v1_50 in Araujo et al.
    (TF-slim's resnet_v1_50 puts the stride on the 3x3 of a stage's LAST unit; every 3x3 then
    still runs at the same jump as here, so it gives 483 too.) Starts: every window is centred
    (pad = (k-1)/2), so start stays 0. The table's effective padding 239 means a start of
    (483-1)/2 - 239 = 2: TF's 'SAME' 3x3/2 max pool on 112 pixels pads 0 before and 1 after,
    shifting the start by +1 * jump 2 = 2; torch pads 1 on both sides.
    """
    f = bundled("resnet50")
    assert f["conv1"] == square(7, 2, 0)
    assert f["pool1"] == square(11, 4, 0)
    stages = {"conv2_x.2": (35, 4), "conv3_x.3": (99, 8), "conv4_x.5": (291, 16), "conv5_x.2": (483, 32)}
    for block, (size, jump) in stages.items():
        assert f[f"{block}.add1"] == square(size, jump, 0), block
        assert f[f"{block}.relu3"] == f[f"{block}.add1"]  # the ReLU after the add
    # block by block inside conv3_x: 35 + 16 = 51, 67, 83, 99
    assert [f[f"conv3_x.{i}.add1"].size[0] for i in range(4)] == [51, 67, 83, 99]
    # global pool = one window over the 7x7 map: 483 + (7-1)*32 = 675, jump 32*7 = 224,
    # start 0 + (6/2)*32 = 96 (the middle of output positions 0, 32, ..., 192)
    assert f["pool5"] == square(675, 224, 96)
    assert f["fc"] == f["flatten"] == f["pool5"]  # flatten of a 1x1 map is a 1x1 window


def test_resnet50_torchvision_layout_gives_427_not_483():
    """torchvision's v1.5 puts a stage's stride on the 3x3 conv of its first block, so that 3x3
    runs at the OLD jump: each of layer2..layer4 loses half of one 3x3's growth.

    stem as in the paper: 11 at jump 4
    layer1: 3 blocks at jump 4:                        11 + 3*8 = 35
    layer2: first 3x3 at jump 4 (+8), 3 at jump 8:     35 + 8 + 3*16 = 91
    layer3: first 3x3 at jump 8 (+16), 5 at jump 16:   91 + 16 + 5*32 = 267
    layer4: first 3x3 at jump 16 (+32), 2 at jump 32: 267 + 32 + 2*64 = 427
    i.e. 483 - (8 + 16 + 32) = 427. The published 483 is the paper (and TF-slim) layout.
    """
    f = bundled("resnet50-tv")
    stages = {"layer1.2": (35, 4), "layer2.0": (43, 8), "layer2.3": (91, 8), "layer3.0": (107, 16),
              "layer3.5": (267, 16), "layer4.0": (299, 32), "layer4.2": (427, 32)}
    for block, (size, jump) in stages.items():
        assert f[f"{block}.add1"] == square(size, jump, 0), block
    # adaptive pool to 1x1 = global: 427 + (7-1)*32 = 619, jump 224, start 96
    assert f["avgpool"] == square(619, 224, 96)


def test_vgg16_and_mobilenet_v1_match_the_published_table():
    # VGG-16: 2x2/2 pools; each 3x3 adds 2*jump, each pool adds 1*jump
    # block1: 1+2+2 = 5, pool1 5+1 = 6 (jump 2); block2: 6+4+4 = 14, pool2 14+2 = 16 (jump 4)
    # block3: 16+3*8 = 40, pool3 40+4 = 44 (jump 8); block4: 44+3*16 = 92, pool4 92+8 = 100 (jump 16)
    # block5: 100+3*32 = 196, pool5 196+16 = 212 (jump 32)   = vgg_16 in Araujo et al.
    # start: each 2x2 pool moves it by (1/2)*jump: 1/2 + 1 + 2 + 4 + 8 = 31/2, which is the table's
    # (212-1)/2 - 90 (effective padding 90) = 31/2
    f = bundled("vgg16")
    assert f["conv5_3"] == square(196, 16, F(15, 2))
    assert f["pool5"] == square(212, 32, F(31, 2))
    # MobileNet v1: conv1 3x3/2 -> 3 (jump 2); only the depthwise 3x3s grow it (+2*jump):
    # conv2 7; conv3 (s2) 11, jump 4; conv4 19; conv5 (s2) 27, jump 8; conv6 43;
    # conv7 (s2) 59, jump 16; conv8 x5: 59 + 5*32 = 219; conv9 (s2) 251, jump 32; conv10 315
    # = mobilenet_v1 in Araujo et al. (their start, (315-1)/2 - 126 = 31, differs from our 0 by
    # TF's 'SAME' stride-2 padding, 0 before and 1 after: +1+2+4+8+16 = 31)
    m = bundled("mobilenet_v1")
    assert m["conv8.4.pw"] == square(219, 16, 0)
    assert m["conv10.pw"] == square(315, 32, 0)


# ---- (4) dilation, branches, non-square kernels -----------------------------------------------

def test_dilated_3x3_sees_5():
    f = fields("input: [3, 16, 16]\nlayers:\n  - conv: {out: 4, kernel: 3, dilation: 2}\n")
    # k_eff = 2*(3-1)+1 = 5: size 1 + 4*1 = 5; unpadded, centre at 0 + 4/2 = 2
    assert f["conv1"] == square(5, 1, 2)


def test_branch_concat_takes_the_widest_branch():
    text = """
input: [4, 16, 16]
layers:
  - parallel:
      name: mix
      branches:
        a: [conv: {out: 4, kernel: 1}]
        b: [conv: {out: 4, kernel: 5, pad: 2}]
"""
    f = fields(text)
    assert f["mix.a.conv1"] == square(1, 1, 0)
    assert f["mix.b.conv1"] == square(5, 1, 0)  # 1 + 4*1 = 5, start 0 + (2-2) = 0
    assert f["mix.concat1"] == square(5, 1, 0)  # max(1, 5)


def test_residual_add_takes_the_body_field_and_its_start():
    text = """
input: [4, 16, 16]
layers:
  - residual:
      body: [conv: {out: 4, kernel: 3}, zeropad: {pad: 1}]
      shortcut: identity
"""
    f = fields(text)
    # body: conv 3x3 pad 0 -> size 3, start 0 + (1-0)*1 = 1; zeropad 1 -> start 1 - 1*1 = 0
    # shortcut: the input, size 1 start 0; add: max(3, 1) = 3 with the body's start 0
    assert f["add1"] == square(3, 1, 0)
    text = text.replace("pad: 1}", "pad: [2, 0, 2, 0]}")  # left 2, top 2: 14 + 2 = 16
    f = fields(text)
    assert f["zeropad1"] == square(3, 1, -1)  # 1 - 2*1 = -1
    assert f["add1"] == square(3, 1, -1)  # the widest input's start, not the shortcut's 0


def test_non_square_kernels_1x7_then_7x1_see_7x7():
    text = """
input: [4, 17, 17]
layers:
  - conv: {out: 4, kernel: [1, 7], pad: [0, 3]}
  - conv: {out: 4, kernel: [7, 1], pad: [3, 0]}
"""
    f = fields(text)
    assert f["conv1"] == Field((1, 7), (1, 1), (F(0), F(0)))  # h: 1 + 0; w: 1 + 6*1 = 7
    assert f["conv2"] == Field((7, 7), (1, 1), (F(0), F(0)))  # h: 1 + 6*1 = 7; w stays 7


def test_axes_are_independent():
    f = fields("input: [1, 32, 32]\nlayers:\n  - conv: {out: 1, kernel: [3, 5], stride: [1, 2]}\n"
               "  - conv: {out: 1, kernel: 3}\n")
    # conv1: h 1+2 = 3, jump 1, start 1; w 1+4 = 5, jump 2, start 2
    # conv2: h 3+2*1 = 5, start 1+1 = 2; w 5+2*2 = 9, start 2+1*2 = 4
    assert f["conv1"] == Field((3, 5), (1, 2), (F(1), F(2)))
    assert f["conv2"] == Field((5, 9), (1, 2), (F(2), F(4)))


# ---- (5) jump and start -----------------------------------------------------------------------

def test_padded_strided_convs_jump_and_start():
    text = """
input: [3, 32, 32]
layers:
  - conv: {out: 4, kernel: 3, stride: 2, pad: 1}
  - conv: {out: 4, kernel: 3, stride: 2, pad: 1}
"""
    f = fields(text)
    # conv1: size 1 + 2*1 = 3, jump 1*2 = 2, start 0 + (1-1)*1 = 0 (window on pixels -1, 0, 1)
    # conv2: size 3 + 2*2 = 7, jump 2*2 = 4, start 0 + (1-1)*2 = 0 (pixels -3..3)
    assert f["conv1"] == square(3, 2, 0)
    assert f["conv2"] == square(7, 4, 0)


def test_fractional_and_negative_starts():
    text = """
input: [1, 32, 32]
layers:
  - maxpool: {kernel: 2}
  - zeropad: {pad: [3, 0, 1, 0]}
  - conv: {out: 1, kernel: 3, pad: 2}
"""
    f = fields(text)
    # 2x2/2 pool: size 1 + 1*1 = 2, jump 2, start 0 + (1/2 - 0)*1 = 1/2 (between pixels 0 and 1)
    assert f["maxpool1"] == square(2, 2, F(1, 2))
    # zeropad left 3, top 1: size and jump kept; start h 1/2 - 1*2 = -3/2, w 1/2 - 3*2 = -11/2
    assert f["zeropad1"] == Field((2, 2), (2, 2), (F(-3, 2), F(-11, 2)))
    # conv 3x3 pad 2: size 2 + 2*2 = 6; start + (1 - 2)*2 = -2: h -7/2, w -15/2
    assert f["conv1"] == Field((6, 6), (2, 2), (F(-7, 2), F(-15, 2)))


def test_ceil_mode_does_not_change_the_field():
    text = "input: [1, 14, 14]\nlayers:\n  - maxpool: {kernel: 3, stride: 2, ceil_mode: CEIL}\n"
    floor, ceil = fields(text.replace("CEIL", "false")), fields(text.replace("CEIL", "true"))
    # 7 outputs with ceil_mode instead of 6, but every window is 3 wide: size 3, jump 2, start 1
    assert floor["maxpool1"] == ceil["maxpool1"] == square(3, 2, 1)


def test_pool_stride_defaults_to_the_kernel():
    f = fields("input: [1, 12, 12]\nlayers:\n  - avgpool: {kernel: 3}\n")
    assert f["avgpool1"] == square(3, 3, 1)  # size 1 + 2, jump 3, start 0 + 1


# ---- adaptive pooling, flatten, linear, multi-input jumps -------------------------------------

def test_adaptive_pool_uses_the_largest_window():
    # 6 -> 3 divides: windows [0,2) [2,4) [4,6): kernel 2 stride 2: size 2, jump 2, start 1/2
    f = fields("input: [1, 6, 6]\nlayers:\n  - adaptive_avgpool: {out: 3}\n")
    assert f["adaptive_avgpool1"] == square(2, 2, F(1, 2))
    # 5 -> 3: windows [0,2) [1,4) [3,5), lengths 2, 3, 2: the largest is 3 (ceil(5/3) = 2 would
    # miss the middle one); stride floor(5/3) = 1; start (3-1)/2 = 1
    f = fields("input: [1, 5, 5]\nlayers:\n  - adaptive_avgpool: {out: 3}\n")
    assert f["adaptive_avgpool1"] == square(3, 1, 1)
    # 2 -> 5 (upsampling): windows [floor(2i/5), ceil(2(i+1)/5)) = [0,1) [0,1) [0,2) [1,2) [1,2):
    # the largest is 2 (ceil(2/5) = 1 would miss it); stride floor(2/5) = 0 is raised to 1;
    # start (2-1)/2 = 1/2
    f = fields("input: [1, 2, 2]\nlayers:\n  - adaptive_avgpool: {out: 5}\n")
    assert f["adaptive_avgpool1"] == square(2, 1, F(1, 2))
    # non-square: h 7 -> 1 (global: 7, jump 7, start 3), w 8 -> 2 ([0,4) [4,8): 4, jump 4, start 3/2)
    f = fields("input: [1, 7, 8]\nlayers:\n  - adaptive_avgpool: {out: [1, 2]}\n")
    assert f["adaptive_avgpool1"] == Field((7, 4), (7, 4), (F(3), F(3, 2)))


def test_global_pool_and_flatten_see_the_whole_map():
    text = """
input: [3, 16, 16]
layers:
  - conv: {out: 4, kernel: 3, stride: 2, pad: 1}
  - CLOSE
  - linear: {out: 10}
"""
    # conv: 8x8 map, size 3, jump 2, start 0. Whole 8x8 window: 3 + (8-1)*2 = 17, jump 2*8 = 16,
    # start 0 + (7/2)*2 = 7 (the middle of output positions 0, 2, ..., 14)
    for close, name in (("global_avgpool", "global_avgpool1"), ("flatten", "flatten1")):
        f = fields(text.replace("CLOSE", close if close == "flatten" else f"{close}\n  - flatten"))
        assert f[name] == square(17, 16, 7), close
        assert f["linear1"] == square(17, 16, 7), close


def test_multi_input_with_different_jumps_takes_the_largest():
    text = """
input: [1, 8, 8]
layers:
  - conv: {name: a, out: 1, kernel: 1, stride: 2, inputs: input}
  - conv: {name: b, out: 1, kernel: 5, inputs: input}
  - concat: {name: cat, inputs: [a, b]}
"""
    f = fields(text)
    # a: 1x1/2 on 8 -> 4: size 1, jump 2, start 0;  b: 5x5 on 8 -> 4: size 5, jump 1, start 2
    assert f["a"] == square(1, 2, 0) and f["b"] == square(5, 1, 2)
    assert f["cat"] == square(5, 2, 2)  # size max(1, 5) with b's start; jump max(2, 1)


# ---- against an independent enumeration --------------------------------------------------------

LAYER = st.one_of(
    st.builds(lambda k, s, p, d: ("conv", k, s, p, d), st.integers(1, 5), st.integers(1, 3),
              st.integers(0, 2), st.integers(1, 2)),
    st.integers(1, 4).flatmap(lambda k: st.builds(lambda s, p: ("maxpool", k, s, p, 1),
                                                  st.integers(1, 3), st.integers(0, k // 2))),
    st.builds(lambda a, b: ("zeropad", a, b), st.integers(0, 2), st.integers(0, 2)),
)


def _yaml(layer) -> str:
    if layer[0] == "zeropad":
        _, before, after = layer
        return f"  - zeropad: {{pad: [{before}, {after}, {before}, {after}]}}\n"
    kind, k, s, p, d = layer
    extra = f", dilation: {d}" if kind == "conv" else ""
    args = "out: 1, " if kind == "conv" else ""
    return f"  - {kind}: {{{args}kernel: {k}, stride: {s}, pad: {p}{extra}}}\n"


def _taps(layers, position: int) -> set[int]:
    """Input pixels (padding included, as coordinates) that output `position` reads, found by
    walking the windows back layer by layer: output o of a window reads o*s - p + t*d."""
    seen = {position}
    for layer in reversed(layers):
        if layer[0] == "zeropad":
            seen = {o - layer[1] for o in seen}
        else:
            _, k, s, p, d = layer
            seen = {o * s - p + t * d for o in seen for t in range(k)}
    return seen


@settings(max_examples=200, deadline=None)
@given(st.lists(LAYER, min_size=1, max_size=5))
def test_matches_enumerating_the_windows(layers):
    text = "input: [1, 160, 160]\nlayers:\n" + "".join(_yaml(x) for x in layers)
    try:
        graph = analyse_text(text).graph
    except ShapeError:
        return  # the map got too small: nothing to check
    field = receptive_fields(graph)[-1]
    first, second = _taps(layers, 0), _taps(layers, 1)
    assert field.size == (max(first) - min(first) + 1,) * 2
    assert field.start == (F(min(first) + max(first), 2),) * 2
    assert field.jump == (min(second) - min(first),) * 2


@pytest.mark.parametrize("name", ["alexnet-2012", "resnet50", "resnet50-tv", "vgg16", "mobilenet_v1",
                                  "googlenet", "lenet5", "zfnet"])
def test_bundled_fields_only_grow(name):
    """Along any edge, size and jump never shrink (each op adds (k_eff-1)*jump >= 0)."""
    graph = analyse_bundled(name).graph
    out = receptive_fields(graph)
    for node, f in zip(graph.nodes, out):
        for i in node.inputs:
            assert all(a >= b for a, b in zip(f.size, out[i].size)), node.name
            assert all(a >= b for a, b in zip(f.jump, out[i].jump)), node.name
