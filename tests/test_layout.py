"""The slides write shapes H x W x C (issue 12, point 2): a shape that looks channels-last is
never read silently as C x H x W; `--layout hwc` / `layout: hwc` read it as the slides write it."""

from __future__ import annotations

import json

import pytest

from cnncalc.graph import looks_channels_last
from tests.conftest import run_cli

SPEC = "name: hwc\ninput: [32, 32, 3]\n{layout}layers:\n  - conv: {{out: 8, kernel: 3}}\n"


def test_a_channels_last_spec_input_is_an_error_at_its_line_with_the_fix():
    result = run_cli("table", "-", input=SPEC.format(layout=""))
    assert result.exit_code == 2 and result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first == ("<stdin>:2:8: error: `input:` [32, 32, 3] looks like H x W x C (the slides' notation), "
                     "but cnncalc reads C x H x W: 32 channels of 32 x 3")
    assert "write input: [3, 32, 32], or add `layout: hwc`" in result.stderr


def test_layout_hwc_in_the_spec_reads_the_slides_notation():
    data = json.loads(run_cli("table", "-", "--format", "json", input=SPEC.format(layout="layout: hwc\n")).stdout)
    assert data["input"] == [3, 32, 32]
    conv = data["layers"][0]
    # 8 filters of 3x3x3 on 3x32x32: out 8x30x30; 8*3*3*3 + 8 = 224 params; 8*30*30*27 MACs
    assert conv["output"] == [8, 30, 30] and conv["params"] == 224 and conv["macs"] == 8 * 30 * 30 * 27


def test_layout_chw_keeps_the_shape_as_written():
    data = json.loads(run_cli("table", "-", "--format", "json", input=SPEC.format(layout="layout: chw\n")).stdout)
    assert data["input"] == [32, 32, 3] and data["layers"][0]["output"] == [8, 30, 1]


def test_input_flag_written_hxwxc_gets_a_hint_instead_of_a_kernel_error():
    result = run_cli("table", "alexnet", "--input", "227x227x3")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines()[0] == (
        "error: --input 227x227x3 looks like H x W x C (the slides' notation), but cnncalc reads C x H x W: "
        "227 channels of 227 x 3")
    assert "write --input 3x227x227, or add --layout hwc" in result.stderr


def test_layout_hwc_on_the_command_line_matches_chw():
    hwc = json.loads(run_cli("table", "alexnet", "--input", "227x227x3", "--layout", "hwc", "--format", "json").stdout)
    chw = json.loads(run_cli("table", "alexnet", "--format", "json").stdout)
    assert hwc["input"] == [3, 227, 227] and hwc["total"] == chw["total"]
    # the spec's own input, written C x H x W, read as H x W x C needs three axes in that order
    bad = run_cli("table", "alexnet", "--layout", "hwc")
    assert bad.exit_code == 2
    assert "looks like" not in bad.stderr and "Traceback" not in bad.stderr


def test_library_layout_argument():
    import cnncalc

    assert cnncalc.analyze("alexnet", input=(227, 227, 3), layout="hwc").graph.input_shape == (3, 227, 227)
    with pytest.raises(cnncalc.UsageError):
        cnncalc.analyze("alexnet", input=(227, 227, 3))
    with pytest.raises(cnncalc.UsageError):
        cnncalc.analyze("alexnet", layout="nhwc")


def test_a_bad_layout_word_is_refused_at_its_line():
    result = run_cli("table", "-", input=SPEC.format(layout="layout: hw\n"))
    assert result.exit_code == 2
    assert result.stderr.startswith("<stdin>:3:9: error: `layout:` must be chw or hwc")


@pytest.mark.parametrize("shape, verdict", [
    ((227, 227, 3), True), ((28, 28, 1), True), ((32, 32, 3), True),
    ((3, 227, 227), False), ((1, 28, 28), False), ((768, 17, 17), False), ((197, 768), False),
    ((12, 12, 3), False),  # 12 < 8 * 3: too small to tell
])
def test_what_looks_channels_last(shape, verdict):
    assert looks_channels_last(shape) is verdict


def test_no_bundled_spec_looks_channels_last():
    import cnncalc

    for name in cnncalc.architectures():
        assert not looks_channels_last(cnncalc.analyze(name).graph.input_shape), name
