"""`cnncalc explain`: the slides' worked examples, number for number.

Source: ../shared/seeds/002_32522c6d5151c0fe.txt (EECS 498 Lecture 8), the derivations under the
AlexNet table. The slide's fc6 "9216 x 4096 + 4096 = 37,725,832" is a typo for 37,752,832
(docs/errata.md), so the corrected value is asserted.
"""

from __future__ import annotations

import re

import pytest

from cnncalc.report.explain import default_layers
from cnncalc.report.view import View, fmt_flop, fmt_memory, fmt_params
from cnncalc.sources import bundled_names
from tests.conftest import analyse_bundled, run_cli


@pytest.fixture(scope="module")
def alexnet_text() -> str:
    result = run_cli("explain", "alexnet", "conv1", "pool1", "flatten", "fc6")
    assert result.exit_code == 0
    return result.stdout


@pytest.mark.parametrize("expected", [
    # conv1: "W' = (W - K + 2P) / S + 1 = (227 - 11 + 2*2) / 4 + 1 = 220/4 + 1 = 56"
    "(227 - 11 + 2*2) / 4 + 1 = 220 / 4 + 1 = 56",
    "Output channels = number of filters = 64",
    # "Number of output elements = C * H' * W' = 64*56*56 = 200,704"; 4 bytes per element
    "C * H' * W' = 64 * 56 * 56 = 200,704",
    "bytes per element = 4",
    "784",
    # "Weight shape = Cout x Cin x K x K = 64 x 3 x 11 x 11; Bias shape = Cout = 64; 64*3*11*11 + 64 = 23,296"
    "64 x 3 x 11 x 11", "bias shape = C_out = 64", "64 * 3 * 11 * 11 + 64 = 23,296",
    # "(Cout x H' x W') * (Cin x K x K) = (64 * 56 * 56) * (3 * 11 * 11) = 200,704 * 363 = 72,855,552"
    "(64 * 56 * 56) * (3 * 11 * 11) = 200,704 * 363 = 72,855,552",
    # pool1: "W' = floor((W - K) / S + 1) = floor(53 / 2 + 1) = floor(27.5) = 27"
    "floor(53 / 2 + 1) = floor(27.5) = 27",
    "pooling layers have no learnable parameters",
    # "(Cout * H' * W') * (K * K) = (64 * 27 * 27) * (3 * 3) = 419,904"
    "(64 * 27 * 27) * (3 * 3) = 419,904",
    # flatten: "C_in x H x W = 256 * 6 * 6 = 9216"
    "256 * 6 * 6 = 9,216",
    # fc6: "FC params = Cin x Cout + Cout = 9216 x 4096 + 4096" (= 37,752,832; the slide's 37,725,832 is a typo)
    "9216 * 4096 + 4096 = 37,752,832",
    # "FC flops = Cin x Cout = 9216 x 4096 = 37,748,736"
    "9216 * 4096 = 37,748,736",
])
def test_explain_reproduces_the_slide(alexnet_text, expected):
    assert expected in alexnet_text


def test_each_explanation_ends_in_the_values_of_its_row():
    analysis = analyse_bundled("alexnet")
    text = run_cli("explain", "alexnet").stdout
    view = View()
    for row in analysis.rows:
        if row.name in default_layers(analysis):
            line = f"memory {fmt_memory(row.memory_bytes, view)} KB, params {fmt_params(row.params, view)} k, " \
                   f"flop {fmt_flop(row.macs, view)} M"
            assert line in text, row.name


@pytest.mark.parametrize("name", bundled_names())
def test_explain_runs_for_every_kind_of_layer(name):
    result = run_cli("explain", name)
    assert result.exit_code == 0
    analysis = analyse_bundled(name)
    assert result.stdout.count("its row (table --all)") == len(default_layers(analysis))


def test_grouped_dilated_and_ceil_mode_are_explained(tmp_path):
    spec = tmp_path / "g.yaml"
    spec.write_text("input: [32, 17, 17]\nlayers:\n"
                    "  - conv: {name: dw, out: 32, kernel: 3, pad: 1, groups: 32}\n"
                    "  - conv: {name: dil, out: 8, kernel: 3, dilation: 2}\n"
                    "  - maxpool: {name: p, kernel: 3, stride: 2, ceil_mode: true}\n")
    text = run_cli("explain", str(spec), "dw", "dil", "p").stdout
    # depthwise: each filter sees 32/32 = 1 channel: 32 * (32/32) * 3 * 3 + 32 = 320 params
    assert "C_in / groups = 32 / 32 = 1 channels (depthwise" in text
    assert "32 * (32/32) * 3 * 3 + 32 = 320" in text
    # dilation 2: the kernel reaches 2*(3-1)+1 = 5: (17 - 5) / 1 + 1 = 13
    assert "(17 - (2*(3-1)+1)) / 1 + 1 = 12 / 1 + 1 = 13" in text
    # ceil_mode: ceil((13 - 3) / 2 + 1) = ceil(6) = 6 exactly divisible -> plain form
    assert re.search(r"H' = W' = .* = 6", text)


def test_unknown_layer_suggests_one():
    result = run_cli("explain", "alexnet", "conv9")
    assert result.exit_code == 2 and "has no layer named 'conv9'" in result.stderr
