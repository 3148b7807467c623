"""Exports fold like the lecture (issue 12, point 4): markdown, LaTeX and HTML show the layers
folded into a row ("+bn+relu") and a subtotal after each stage, as the terminal table does;
CSV and JSON keep every layer; --all unfolds everywhere."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import run_cli


def _json(*args: str) -> dict:
    return json.loads(run_cli("table", *args, "--format", "json").stdout)


def _layer(data: dict, name: str) -> dict:
    return next(layer for layer in data["layers"] if layer["name"] == name)


def test_markdown_names_the_folded_layers_and_their_memory():
    data = _json("resnet50")
    conv, bn = _layer(data, "conv2_x.0.conv1"), _layer(data, "conv2_x.0.bn1")
    # conv1 of the first bottleneck: 64 x 56 x 56 floats = 802,816 B = 784 KB, and so is its bn;
    # the in-place relu adds nothing: the folded row is 1,568 KB and says it holds the bn
    assert conv["memory_bytes"] == bn["memory_bytes"] == 64 * 56 * 56 * 4
    md = run_cli("table", "resnet50", "--format", "markdown").stdout
    row = next(line for line in md.splitlines() if line.startswith("| conv2_x.0.conv1"))
    assert row.startswith("| conv2_x.0.conv1 +bn+relu |")
    assert "| 1,568 |" in row


@pytest.mark.parametrize("fmt, marker", [("markdown", "*conv2_x subtotal*"),
                                         ("latex", r"\textit{conv2\_x subtotal}"),
                                         ("html", '<tr class="subtotal"><td style="text-align:left">conv2_x subtotal</td>')])
def test_human_formats_have_stage_subtotals(fmt, marker):
    text = run_cli("table", "resnet50", "--format", fmt).stdout
    assert marker in text
    data = _json("resnet50")
    stage = [layer for layer in data["layers"] if layer["name"].startswith("conv2_x.")]
    kb = (2 * sum(layer["memory_bytes"] for layer in stage) + 1024) // 2048  # KB, halves up
    line = next(line for line in text.replace(r"\_", "_").splitlines() if "conv2_x subtotal" in line)
    assert f"{kb:,}" in line  # 43,904 KB: the stage's three bottlenecks


def test_all_unfolds_every_format():
    for fmt in ("markdown", "latex", "html"):
        text = run_cli("table", "resnet50", "--format", fmt, "--all").stdout
        assert "+bn" not in text and "subtotal</td>" not in text and "subtotal*" not in text, fmt
        assert r"subtotal}" not in text, fmt
        assert "conv2_x.0.bn1" in text.replace(r"\_", "_")


def test_csv_and_json_keep_every_layer_with_exact_integers():
    data = _json("resnet50")
    rows = list(csv.DictReader(io.StringIO(run_cli("table", "resnet50", "--format", "csv").stdout)))
    assert [r["Layer"] for r in rows] == [layer["name"] for layer in data["layers"]]
    for r, layer in zip(rows, data["layers"]):
        assert int(r["memory (B)"]) == layer["memory_bytes"] and int(r["params"]) == layer["params"]
    assert not any("subtotal" in r["Layer"] or "+" in r["Layer"] for r in rows)
