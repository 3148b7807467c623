"""No cut digit, ever (issue 12, point 1): every rich view fits the terminal's width without
eliding a number or a name, piped output respects COLUMNS, and a narrow layout says in its
caption what it left out.

Expected cells are worked out here from the JSON's exact integers with the lecture's rounding
(KB of 1024 bytes, k of 1000 params, M of 10**6 multiply-adds, halves up), not by the report code.
"""

from __future__ import annotations

import json
import re

import pytest

from cnncalc.sources import bundled_names
from tests.conftest import run_cli

WIDTHS = (60, 80, 100, 120, 160)


def _rounded(n: int, unit: int) -> str:
    return f"{(2 * n + unit) // (2 * unit):,}"


def _at(width: int, *args: str):
    result = run_cli(*args, env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return result.stdout


def _fits(text: str, width: int) -> None:
    assert "…" not in text  # rich's ellipsis: something was cut
    widest = max(len(line) for line in text.splitlines())
    assert widest <= width, f"a line is {widest} wide at COLUMNS={width}"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("spec", ["alexnet", "resnet50", "vgg16", "densenet121", "vit_b_16", "googlenet"])
def test_table_totals_appear_whole_at_every_width(spec, width):
    total = json.loads(run_cli("table", spec, "--format", "json").stdout)["total"]
    text = _at(width, "table", spec)
    _fits(text, width)
    totals_line = next(line for line in text.splitlines() if line.startswith("│ total"))
    cells = [c.strip() for c in totals_line.strip("│").split("│")]
    # memory in KB, params in thousands, multiply-adds in millions, each whole in the totals row
    assert _rounded(total["memory_bytes"], 1024) in cells
    assert _rounded(total["params"], 1000) in cells
    assert _rounded(total["macs"], 10**6) in cells


@pytest.mark.parametrize("width", WIDTHS)
def test_every_row_number_appears_whole(width):
    data = json.loads(run_cli("table", "alexnet", "--format", "json", "--all").stdout)
    text = _at(width, "table", "alexnet", "--all", "--units", "raw")
    _fits(text, width)
    numbers = set(re.findall(r"[\d,]+", text))
    for layer in data["layers"]:  # raw units: the exact integers, with thousands separators
        for key in ("memory_bytes", "params", "macs"):
            assert f"{layer[key]:,}" in numbers, (layer["name"], key)


@pytest.mark.parametrize("width", [60, 80])
def test_a_narrow_table_says_what_it_left_out(width):
    text = " ".join(_at(width, "table", "alexnet").split())
    assert "narrow terminal:" in text
    assert "--format markdown shows every column" in text
    wide = _at(160, "table", "alexnet")
    assert "narrow terminal" not in wide and "filters" in wide and "m p f" in wide


def test_piped_output_respects_columns_and_defaults_to_160():
    assert max(map(len, _at(70, "table", "alexnet").splitlines())) <= 70
    default = run_cli("table", "alexnet", env={"COLUMNS": None})
    assert max(map(len, default.stdout.splitlines())) > 120  # every column at 160


@pytest.mark.parametrize("width", WIDTHS)
def test_list_shows_every_name_whole(width):
    text = _at(width, "list")
    _fits(text, width)
    words = set(re.findall(r"[\w.\-]+", text))
    missing = [n for n in bundled_names() if n not in words]
    assert not missing, missing


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_and_memory_fit(width):
    text = _at(width, "compare", "alexnet", "vgg16", "resnet50", "efficientnet_b0")
    _fits(text, width)
    for name in ("alexnet", "vgg16", "resnet50", "efficientnet_b0"):
        assert name in text
    memory = json.loads(run_cli("memory", "resnet50", "--batch", "64", "--format", "json").stdout)
    text = _at(width, "memory", "resnet50", "--batch", "64")
    _fits(text, width)
    for part, size in [*memory["parts"].items(), ("training", memory["peak"]["training"])]:
        assert f"{size:,}" in text, part


@pytest.fixture(scope="module")
def vgg16_checked():
    pytest.importorskip("torch")
    import cnncalc

    return cnncalc.analyze("vgg16"), cnncalc.verify("vgg16", device="meta")


@pytest.mark.parametrize("width", WIDTHS)
def test_verify_shows_every_analytic_and_torch_number(vgg16_checked, width):
    import io

    from rich.console import Console

    from cnncalc.report.verify import render_verify

    analysis, result = vgg16_checked
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(render_verify(result, analysis, None, width))
    text = out.getvalue()
    _fits(text, width)
    numbers = set(re.findall(r"[\d,]+", text))
    for check in result.checks:
        # FLOPs = 2 x multiply-adds for conv and linear; torch's figure equals it, so one shows
        assert f"{check.flops.analytic:,}" in numbers and f"{check.params.analytic:,}" in numbers
        assert f"{check.output_bytes.analytic:,}" in numbers


def test_verify_mismatch_shows_both_numbers_when_narrow(monkeypatch):
    pytest.importorskip("torch")
    from cnncalc.ops.conv import Conv2d
    from cnncalc.ops.registry import Cost

    honest = Conv2d.cost
    monkeypatch.setattr(Conv2d, "cost", lambda self, xs, y: Cost(*honest(self, xs, y)[:2],
                                                                  honest(self, xs, y).macs + 1,
                                                                  honest(self, xs, y).elem_ops))
    result = run_cli("verify", "lenet5", "--device", "meta", env={"COLUMNS": "60"})
    assert result.exit_code == 1
    _fits(result.stdout, 60)
    # lenet5's c1: 6 filters of 5x5 on 1x32x32 -> 6*28*28*25 = 117,600 MACs = 235,200 FLOPs;
    # one MAC too many is 235,202 analytic against torch's 235,200
    assert "235,202 ✗" in result.stdout and "torch 235,200" in result.stdout
