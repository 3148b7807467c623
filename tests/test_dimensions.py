"""One geometry for every dimension: conv, conv_transpose and pooling on C x L, C x H x W and
C x T x H x W inputs, shown, explained and followed by the receptive field. Each expected number
is worked out by hand in the comment beside it; test_against_torch.py runs every op's samples
(1-D and 3-D among them) against torch itself, and test_conventions.py against the counting tools."""

from __future__ import annotations

from fractions import Fraction

import pytest

import cnncalc


def spec(shape, *layers: str) -> str:
    return f"name: t\ninput: {list(shape)}\nlayers:\n" + "".join(f"  - {layer}\n" for layer in layers)


@pytest.mark.parametrize(("shape", "layer", "out", "params", "macs"), [
    # M5 (1-D audio): 128 filters of 1x80, stride 4, on 1 x 8000: (8000 - 80) // 4 + 1 = 1981;
    # params 128*80 + 128 = 10,368; MACs 128 * 1981 * 80 = 20,285,440
    ((1, 8000), "conv1d: {out: 128, kernel: 80, stride: 4}", (128, 1981), 10_368, 20_285_440),
    # r3d_18's stem: 64 filters of 3x3x7x7, stride [1, 2, 2], pad [1, 3, 3], no bias, on 3x16x112x112:
    # T' = 16, H' = W' = (112 + 6 - 7) // 2 + 1 = 56; params 64*3*147 = 28,224; MACs 64*16*56*56 * 441
    ((3, 16, 112, 112), "conv3d: {out: 64, kernel: [3, 7, 7], stride: [1, 2, 2], pad: [1, 3, 3], bias: false}",
     (64, 16, 56, 56), 28_224, 64 * 16 * 56 * 56 * 441),
    # DCGAN's first layer: 100 -> 512, kernel 4, on 100x1x1: (1-1)*1 - 0 + 3 + 0 + 1 = 4; params
    # 100*512*16 = 819,200 (no bias); MACs: 100 inputs x 512*16 = 819,200
    ((100, 1, 1), "conv_transpose: {out: 512, kernel: 4, bias: false}", (512, 4, 4), 819_200, 819_200),
    # U-Net's up-convolution: 1024 -> 512, kernel 2, stride 2 on 1024x28x28: 56x56; params
    # 1024*512*4 + 512 = 2,097,664; MACs 1024*28*28 * 512*4 = 1,644,167,168
    ((1024, 28, 28), "deconv: {out: 512, kernel: 2, stride: 2}", (512, 56, 56), 2_097_664, 1_644_167_168),
    # pix2pix's last layer: 128 -> 3, kernel 4, stride 2, pad 1 on 128x128x128: (128-1)*2 - 2 + 3 + 1 = 256
    ((128, 128, 128), "conv_transpose: {out: 3, kernel: 4, stride: 2, pad: 1}", (3, 256, 256), 6_147,
     128 * 128 * 128 * 3 * 16),
    # output_pad adds one on the far side: (7-1)*2 - 2 + 2 + 1 + 1 = 14
    ((8, 7, 7), "conv_transpose: {out: 4, kernel: 3, stride: 2, pad: 1, output_pad: 1}", (4, 14, 14),
     8 * 4 * 9 + 4, 8 * 49 * 36),
    # 3-D max pooling [1, 3, 3] / [1, 2, 2], pad [0, 1, 1] on 64x16x56x56: 64 x 16 x 28 x 28; 9 reads each
    ((64, 16, 56, 56), "maxpool3d: {kernel: [1, 3, 3], stride: [1, 2, 2], pad: [0, 1, 1]}", (64, 16, 28, 28), 0,
     64 * 16 * 28 * 28 * 9),
    # global average pooling of a clip: 512 x 2 x 7 x 7 read once each
    ((512, 2, 7, 7), "global_avgpool", (512, 1, 1, 1), 0, 512 * 2 * 49),
    # 1-D average pooling, kernel 3 stride 3 on 128 x 30: 128 x 10, 3 reads each
    ((128, 30), "avgpool1d: {kernel: 3}", (128, 10), 0, 128 * 10 * 3),
])
def test_any_dimension_by_hand(shape, layer, out, params, macs):
    row = cnncalc.analyze(spec(shape, layer)).rows[0]
    assert (row.output, row.params, row.macs) == (out, params, macs)


def test_the_table_shows_any_rank():
    a = cnncalc.analyze(spec((3, 16, 112, 112), "conv: {out: 64, kernel: [3, 7, 7], stride: [1, 2, 2], "
                                                "pad: [1, 3, 3]}"))
    line = a.render("markdown").splitlines()[2]
    cells = [c.strip() for c in line.strip("|").split("|")]
    # Layer | Input C | Input H/W | filters | kernel | stride | pad | Output C | Output H/W
    assert cells[:9] == ["conv1", "3", "16x112x112", "64", "3x7x7", "1x2x2", "1x3x3", "64", "16x56x56"]


def test_explain_works_the_transposed_arithmetic():
    text = cnncalc.analyze(spec((128, 128, 128), "conv_transpose: {name: up, out: 3, kernel: 4, stride: 2, pad: 1}"))\
        .explain("up")
    assert "H' = W' = (W - 1)*S - 2P + D*(K - 1) + OP + 1 = (128 - 1)*2 - 2*1 + 1*(4 - 1) + 0 + 1 = 256" in text
    assert "number of params = 128 * 3 * 4 * 4 + 3 = 6,147" in text
    assert "(128 * 128 * 128) * (3 * 4 * 4) = 2,097,152 * 48 = 100,663,296" in text
    text = cnncalc.analyze(spec((3, 16, 112, 112), "conv3d: {name: stem, out: 64, kernel: [3, 7, 7], "
                                                   "stride: [1, 2, 2], pad: [1, 3, 3]}")).explain("stem")
    assert "T' = (T - K + 2P) / S + 1 = (16 - 3 + 2*1) / 1 + 1 = 15 / 1 + 1 = 16" in text
    assert "H' = W' = floor((W - K + 2P) / S + 1) = floor((112 - 7 + 2*3) / 2 + 1)" in text
    assert "C * T' * H' * W' = 64 * 16 * 56 * 56" in text


def test_receptive_field_through_a_transposed_conv():
    # conv 3x3 stride 2 pad 1: size 3, jump 2, start 0; a transposed 4x4 stride 2 pad 1 back up:
    # size 3 + (4-1)//2 * 2 = 5, jump 2/2 = 1, start 0 + (1 - 3/2)/2 * 2 = -1/2
    a = cnncalc.analyze(spec((1, 16, 16), "conv: {name: down, out: 4, kernel: 3, stride: 2, pad: 1}",
                             "conv_transpose: {name: up, out: 4, kernel: 4, stride: 2, pad: 1}"))
    fields = a.receptive_fields()
    assert fields["down"].size == (3, 3) and fields["down"].jump == (2, 2)
    assert fields["up"].size == (5, 5) and fields["up"].jump == (1, 1)
    assert fields["up"].start == (Fraction(-1, 2), Fraction(-1, 2))
    # a transposed conv on the input itself: jump 1/2 of a pixel, exact
    up = cnncalc.analyze(spec((1, 8), "conv_transpose: {name: up, out: 1, kernel: 2, stride: 2}")).receptive_fields()
    assert up["up"].jump == (Fraction(1, 2),) and up["up"].size == (1,)


def test_a_3d_field_has_three_axes():
    a = cnncalc.analyze(spec((3, 8, 32, 32), "conv: {name: c, out: 4, kernel: [3, 7, 7], stride: [1, 2, 2], "
                                             "pad: [1, 3, 3]}"))
    f = a.receptive_fields()["c"]
    assert f.size == (3, 7, 7) and f.jump == (1, 2, 2)
    assert "3x7x7" in a.render("markdown", rf=True)


@pytest.mark.parametrize(("layer", "shape", "message"), [
    ("conv1d: {out: 4, kernel: 3}", (3, 8, 8), "conv1d acts on a C x L sequence (1-D), got 3x8x8"),
    ("conv3d: {out: 4, kernel: 3}", (3, 8, 8), "conv3d acts on a C x T x H x W volume (3-D), got 3x8x8"),
    ("conv: {out: 4, kernel: [3, 3]}", (3, 8, 8, 8), "'kernel' has 2 values, one per spatial axis, but the input has 3"),
    ("maxpool: {kernel: [2, 2, 2]}", (3, 8, 8), "'kernel' has 3 values, one per spatial axis, but the input has 2"),
])
def test_rank_errors_say_what_to_write(layer, shape, message):
    with pytest.raises(cnncalc.ShapeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cnncalc.analyze(spec(shape, layer))


def test_conv1d_hint_names_the_plain_op():
    with pytest.raises(cnncalc.ShapeError) as err:
        cnncalc.analyze(spec((3, 8, 8), "conv1d: {out: 4, kernel: 3}"))
    assert "`conv` takes the dimension from its input" in err.value.hint


OUTPUTS = """name: two-outputs
input: [3, 32, 32]
layers:
  - conv: {name: stem, out: 8, kernel: 3, pad: 1}
  - conv: {name: c2, out: 16, kernel: 3, stride: 2, pad: 1}
  - conv: {name: c3, out: 32, kernel: 3, stride: 2, pad: 1}
outputs: [stem, c3]
"""


def test_several_outputs_are_kept_shown_and_built():
    a = cnncalc.analyze(OUTPUTS)
    assert a.outputs == (("stem", (8, 32, 32)), ("c3", (32, 8, 8)))
    assert a.to_dict()["outputs"] == [{"name": "stem", "shape": [8, 32, 32]}, {"name": "c3", "shape": [32, 8, 8]}]
    assert "outputs: stem (8x32x32), c3 (32x8x8)" in a.render("markdown")
    # inference peak, in elements: the input 3,072 (the caller holds it); + stem 8,192; + c2 4,096
    # (stem is an output: kept); + c3 2,048 = 3,072 + 8,192 + 4,096 + 2,048 = 17,408 elements,
    # 69,632 B; params 8*27 + 8 + 16*72 + 16 + 32*144 + 32 = 6,032 -> 24,128 B
    assert a.memory(optimizer="sgd").peak.inference == 69_632 + 24_128
    # with only the last layer as output, stem is freed after c2: the peak is at c2, 3,072 + 8,192
    # + 4,096
    single = cnncalc.analyze(OUTPUTS.replace("outputs: [stem, c3]\n", ""))
    assert single.outputs == (("c3", (32, 8, 8)),)
    assert single.memory(optimizer="sgd").peak.inference == 4 * 15_360 + 24_128


def test_several_outputs_verify_in_torch():
    pytest.importorskip("torch")
    assert cnncalc.verify(OUTPUTS, device="cpu").ok


@pytest.mark.parametrize(("outputs", "message"), [
    ("[stem, c4]", "`outputs:` names 'c4', which is no layer of the network"),
    ("[stem, stem]", "`outputs:` names 'stem' twice"),
    ("stem", "`outputs:` must be a list of layer names"),
])
def test_bad_outputs(outputs, message):
    with pytest.raises(cnncalc.SpecError, match=message):
        cnncalc.analyze(OUTPUTS.replace("[stem, c3]", outputs))


def test_projection_shortcut_in_3d():
    # a 3-D residual block whose body halves T, H and W: the projection is a 1x1x1 conv, stride 2
    # on each axis, + bn: 4*8 + 2*4 = 40 params beside the body's
    a = cnncalc.analyze("input: [4, 8, 8, 8]\nlayers:\n  - residual:\n      body:\n"
                        "        - conv: {out: 4, kernel: 3, stride: 2, pad: 1, bias: false}\n"
                        "      shortcut: projection\n")
    body = 4 * 4 * 27
    assert a.totals.params == body + 4 * 4 + 2 * 4 and a.rows[-1].output == (4, 4, 4, 4)


def test_a_layer_left_out_names_no_inputs():
    # repeat: 0 leaves the add out, so its inputs (one of them left out too) are never looked up
    a = cnncalc.analyze("input: [3, 8, 8]\nargs: {a: 0}\nlayers:\n  - conv: {name: x, out: 4, kernel: 1}\n"
                        "  - conv: {name: y, out: 4, kernel: 1, repeat: $a}\n  - add: {inputs: [x, y], repeat: $a}\n")
    assert [r.name for r in a.rows] == ["x"]


def test_inputs_name_a_block_or_a_repeated_item_by_its_output():
    # `stage1` (repeated twice) names its last repetition's output, stage1.1.relu1; a block
    # instance (`stage2`) its own output, also from inside another block by its full name
    a = cnncalc.analyze("input: [3, 8, 8]\nblocks:\n  unit:\n    layers:\n      - conv: {out: 4, kernel: 3, pad: 1}\n"
                        "      - relu\n  side:\n    layers:\n      - conv: {name: c, out: 4, kernel: 1, inputs: [stage1]}\n"
                        "layers:\n  - unit: {name: stage1, repeat: 2}\n  - unit: {name: stage2}\n  - side: {name: s}\n"
                        "  - add: {inputs: [s.c, stage2]}\n")
    inputs = {r.name: [a.graph.nodes[i].name for i in r.node.inputs] for r in a.rows}
    assert inputs["s.c"] == ["stage1.1.relu1"] and inputs["add1"] == ["s.c", "stage2.relu1"]
