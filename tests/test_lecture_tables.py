"""Every table of numbers in ../shared/seeds, cell by cell, after the slide's own rounding.

The data files in tests/seed_tables/ were transcribed from the seeds (each names its source and
convention). A cell the slide gets wrong is listed under `errata:` with its arithmetic (and in
docs/errata.md); the test asserts the corrected value there, never the typo.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from cnncalc.cli import parse_input
from cnncalc.ops.registry import numel
from cnncalc.report.view import View, display_rows, round_half_up
from tests.conftest import analyse_bundled

TABLES = sorted((Path(__file__).parent / "seed_tables").glob("*.yaml"))
MiB = 1024 * 1024


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def analysis_for(table: dict, architecture: str | None = None):
    opts = table.get("options") or {}
    return analyse_bundled(architecture or table["architecture"], parse_input(opts.get("input")), opts.get("set"))


def rows_by_name(table: dict):
    analysis = analysis_for(table)
    view = View(weights_only=(table.get("options") or {}).get("params") == "weights")
    return {r.lead.name: r for r in display_rows(analysis, view)}, view


def two_sig_figs(n: int) -> int:
    """Round to two significant figures, as the CS231n listing prints 802,816 as 800K."""
    digits = len(str(n))
    scale = 10 ** max(digits - 2, 0)
    return round_half_up(n, scale) * scale


def parse_slide_text(text: str) -> int:
    """'3.2M' -> 3,200,000; '150K' -> 150,000; '4096' -> 4096."""
    mult = {"K": 1000, "M": 1_000_000}.get(text[-1], 1)
    return int(Decimal(text.rstrip("KM")) * mult)


def cell(row, column: str, table: dict, view: View):
    """The value the table shows in `column`, in the unit the slide uses."""
    units = table.get("units") or {}
    lead = row.lead
    cols = lead.node.op.columns(list(lead.inputs))
    x, y = lead.inputs[0], row.output
    if column == "in_c":
        return x[0]
    if column == "in_hw":
        return x[1]
    if column == "in_features":
        return x[0]
    if column in ("out_c", "out_features"):
        return y[0]
    if column == "out_hw":
        return y[1] if len(y) == 3 else 1  # a flat vector is the lecture's [1x1xC]
    if column in ("filters", "kernel", "stride", "pad"):
        value = cols.get(column)
        return value[0] if isinstance(value, tuple) else value
    if column == "memory":
        if units.get("memory") == "elements":
            return numel(y)
        return round_half_up(row.memory_bytes(), 1024)
    if column == "params":
        n = row.params(view)
        return n if units.get("params") == "count" else round_half_up(n, 1000)
    if column == "flop":
        n = sum(m.macs for m in row.members)  # the lecture's flop column (counted("lecture") == macs)
        return n if units.get("flop") == "count" else round_half_up(n, 1_000_000)
    raise KeyError(column)


CASES = []
for _path in TABLES:
    _table = load(_path)
    if not _table.get("architecture"):
        continue
    _errata = {(e["layer"], e["column"]): e["correct"] for e in _table.get("errata") or []}
    for _row in _table["rows"]:
        for _column, _value in _row.items():
            if _column == "layer" or _column.endswith("_text"):
                continue
            expected = _errata.get((_row["layer"], _column), _value)
            CASES.append(pytest.param(_path.name, _row["layer"], _column, expected,
                                      id=f"{_path.stem}-{_row['layer']}-{_column}"))


@pytest.fixture(scope="module")
def tables():
    cache: dict = {}

    def get(name: str):
        if name not in cache:
            table = load(Path(__file__).parent / "seed_tables" / name)
            cache[name] = (table, *rows_by_name(table))
        return cache[name]

    return get


@pytest.mark.parametrize(("file", "layer", "column", "expected"), CASES)
def test_seed_table_cell(tables, file, layer, column, expected):
    table, rows, view = tables(file)
    assert layer in rows, f"{table['architecture']} has no row named {layer}"
    assert cell(rows[layer], column, table, view) == expected


def test_every_seed_table_is_checked():
    assert len(TABLES) >= 10
    assert len(CASES) > 300


def test_cs231n_vgg16_memory_texts_are_two_significant_figures():
    table = load(Path(__file__).parent / "seed_tables" / "vgg16_cs231n.yaml")
    rows, _ = rows_by_name(table)
    texts = [(r["layer"], r["memory_text"]) for r in table["rows"]]
    for layer, text in texts:
        n = numel(rows[layer].output)
        # K/M figures are rounded to two significant digits; plain ones (4096, 1000) are exact
        assert (two_sig_figs(n) if text[-1] in "KM" else n) == parse_slide_text(text), layer
    # the INPUT line: 224*224*3 = 150,528 -> "150K"
    assert two_sig_figs(3 * 224 * 224) == parse_slide_text(table["input"]["memory_text"])


def test_cs231n_vgg16_totals():
    analysis = analyse_bundled("vgg16")
    listed = [r for r in display_rows(analysis, View()) if r.lead.type != "flatten"]
    elements = sum(numel(r.output) for r in listed) + 3 * 224 * 224
    # erratum: the per-layer rows (input included) add up to 15,237,608 elements, not "24M"
    assert elements == 15_237_608
    # "TOTAL params: 138M": 138,344,128 weights (the listing counts no biases); 138,357,544 with them
    assert analysis.totals.weights == 138_344_128
    assert analysis.totals.params == 138_357_544
    assert round_half_up(analysis.totals.params, 1_000_000) == 138


def _sum(analysis, layers, what, view=View()):
    rows = {r.lead.name: r for r in display_rows(analysis, view)}
    args = {"memory_bytes": (), "params": (view,), "flop": (analysis.counted(view.convention),)}[what]
    return sum(getattr(rows[name], what)(*args) for name in layers)


def test_googlenet_stem_total_from_224_to_28():
    stem = ["conv1", "pool1", "conv2_reduce", "conv2", "pool2"]
    g = analyse_bundled("googlenet")
    memory = _sum(g, stem, "memory_bytes")
    assert memory == 7644 * 1024 and f"{memory / MiB:.1f}" == "7.5"  # "Memory: 7.5 MB"
    assert round_half_up(_sum(g, stem, "params"), 1000) == 124  # "Params: 124K"
    # erratum: "MFLOP: 418"; the five rows give 480,836,608 multiply-adds = 481 M (their cells sum to 481)
    assert _sum(g, stem, "flop") == 480_836_608


def test_googlenet_slide_compare_vgg16():
    # "Compare VGG-16: Memory 42.9 MB, Params 1.1M, MFLOP 7485": reproduced exactly by VGG-16's six
    # convs conv1_1 .. conv3_2 (the slide leaves out conv3_3 and the pools; see docs/errata.md)
    convs = ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2"]
    v = analyse_bundled("vgg16")
    assert f"{_sum(v, convs, 'memory_bytes') / MiB:.1f}" == "42.9"
    assert f"{_sum(v, convs, 'params') / 1e6:.1f}" == "1.1"
    assert _sum(v, convs, "flop") == 7_485_456_384


@pytest.mark.parametrize("row", load(Path(__file__).parent / "seed_tables" / "resnet_flops.yaml")["rows"],
                         ids=lambda r: r["architecture"])
def test_resnet_flops_row_within_two_percent(row):
    macs = analyse_bundled(row["architecture"]).totals.macs
    assert abs(macs / 1e9 - row["flop_e9"]) <= 0.02 * row["flop_e9"], macs
