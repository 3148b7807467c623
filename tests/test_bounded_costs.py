"""Every cost bounded by the input's size (issue 31), checked by counting work, never by timing:
"did you mean" hints only for the errors shown and over a bounded set of candidates; a table
row's members stored once; the drawing's clusters found once per analysis; a batch sweep and
--max-batch from one analysis; the training peaks of many batches from one upper envelope."""

from __future__ import annotations

import difflib
import json

import pytest

import cnncalc
from cnncalc.errors import MAX_ERRORS, SpecError
from cnncalc.spec import expr
from tests.conftest import run_cli


def counting(monkeypatch, owner, name: str) -> list:
    """Replace owner.name by a wrapper that records each call's arguments; returns the record."""
    calls: list = []
    real = getattr(owner, name)

    def wrapper(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
    return calls


# ---- did you mean ----------------------------------------------------------------------------

def test_did_you_mean_gives_no_hint_for_a_word_past_the_bound():
    word = "x" * (expr.MAX_HINT_WORD + 1)
    assert expr.did_you_mean(word, [word + "y"]) == ""
    word = "x" * expr.MAX_HINT_WORD  # at the bound a close name is still suggested
    assert expr.did_you_mean(word, [word[:-1] + "y"]) == f"did you mean '{word[:-1]}y'?"


def test_did_you_mean_compares_a_bounded_number_of_candidates(monkeypatch):
    calls = counting(monkeypatch, difflib, "get_close_matches")
    choices = [f"layer{i:05d}" for i in range(20_000)]  # 20,000 names of the word's length
    hint = expr.did_you_mean("layer00042", [*choices, "layer00042x"])
    assert len(calls) == 1 and len(calls[0][1]) <= expr.MAX_HINT_CANDIDATES
    assert hint.startswith("did you mean 'layer")
    # names whose length rules out difflib's 0.6 ratio are never compared: 3/7 .. 7/3 of 10 characters
    calls.clear()  # 2 * 4 / (10 + 4) < 0.6 <= 2 * 5 / (10 + 5); 2 * 10 / (10 + 23) >= 0.6 > 2 * 10 / (10 + 24)
    expr.did_you_mean("abcdefghij", ["abcd", "abcde", "a" * 23, "a" * 24])
    assert sorted(calls[0][1], key=len) == ["abcde", "a" * 23]


def test_did_you_mean_still_finds_the_close_name():
    assert expr.did_you_mean("conv", ["relu", "conv1", "pool"]) == "did you mean 'conv1'?"
    assert expr.did_you_mean("zzz", ["relu", "conv1"]) == ""


def bad_references(n: int) -> str:
    """n layers named l0..l{n-1}; then n layers reading a name that is not there and n reading an
    argument that is not there: 2n errors."""
    lines = ["name: bad", "input: [4, 8, 8]", "args: {width: 4}", "layers:"]
    lines += [f"  - relu: {{name: l{i}}}" for i in range(n)]
    lines += [f"  - relu: {{inputs: [l{i}x]}}" for i in range(n)]
    lines += [f"  - conv: {{out: $widht{i}, kernel: 1}}" for i in range(n)]
    return "\n".join(lines) + "\n"


def test_hints_only_for_the_errors_shown(monkeypatch):
    import cnncalc.graph

    in_graph = counting(monkeypatch, cnncalc.graph, "did_you_mean")
    in_expr = counting(monkeypatch, expr, "did_you_mean")
    with pytest.raises(SpecError) as caught:
        cnncalc.analyze(bad_references(2_000))
    errors = caught.value.errors
    assert len(errors) == 4_000  # every error is still counted ...
    # ... but only those shown get a hint: past them the graph passes no names to compare
    assert sum(1 for _, choices in in_graph if len(choices)) + len(in_expr) <= MAX_ERRORS
    assert errors[0].hint == "did you mean 'l0'?"
    assert errors[-1].hint == ""
    text = caught.value.render()
    assert text.endswith("4,000 errors") and f"... and {4_000 - MAX_ERRORS:,} more" in text


def test_variant_hints_only_for_the_errors_shown(monkeypatch):
    import cnncalc.spec.model

    calls = counting(monkeypatch, cnncalc.spec.model, "did_you_mean")
    text = ("name: v\ninput: [4, 8, 8]\nargs: {width: 4}\nlayers: [relu]\nvariants:\n"
            + "".join(f"  v{i}: {{args: {{widht: {i}}}}}\n" for i in range(1_000)))
    with pytest.raises(SpecError) as caught:
        cnncalc.analyze(text)
    assert len(caught.value.errors) == 1_000
    assert len(calls) == MAX_ERRORS
    assert caught.value.errors[0].hint == "did you mean 'width'?"


# ---- folded rows and the drawing ---------------------------------------------------------------

FOLD_CHAIN = ("name: fold\ninput: [4, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 3, pad: 1}\n"
              "  - relu: {repeat: 10000}\n  - relu: {repeat: 10000}\n")  # a conv, then 20,000 relus that fold into it


def test_a_fold_chain_is_one_row_whose_members_are_stored_once():
    from cnncalc.report.view import View, display_rows

    a = cnncalc.analyze(FOLD_CHAIN, limits={"layers": 30_000})
    rows = display_rows(a, View())
    assert len(rows) == 1 and len(rows[0].members) == 20_001
    assert rows[0].members is rows[0].members  # stored, not rebuilt at each look
    assert rows[0].lead is a.rows[0] and rows[0].output == (4, 8, 8)
    # the csv table: one row, its numbers the conv's plus 20,000 in-place relus
    lines = [line for line in a.render("markdown").splitlines() if line.startswith("| conv1 +relu+relu")]
    assert len(lines) == 1 and lines[0].count("+relu") == 20_000


def test_the_drawing_finds_its_clusters_once_per_analysis(monkeypatch):
    from cnncalc.report import drawing, web
    from cnncalc.report.view import View

    scopes = counting(monkeypatch, drawing, "_scope_kinds")
    repeats = counting(monkeypatch, drawing, "_repeat_counts")
    drawings = counting(monkeypatch, web, "drawing")  # the page draws every depth
    a = cnncalc.analyze("resnet18")
    web.graphs(a, View(), "macs")
    assert len(drawings) >= 3 and len(scopes) == len(repeats) == 1


# ---- sweeps ---------------------------------------------------------------------------------

def test_a_batch_sweep_is_one_analysis(monkeypatch):
    import cnncalc.api
    import cnncalc.engine.liveness
    import cnncalc.engine.memory

    analyses = counting(monkeypatch, cnncalc.api, "analyze")
    walks = counting(monkeypatch, cnncalc.engine.memory, "training_walk")
    s = cnncalc.sweep("lenet5", batch=list(range(1, 2_001)))
    assert len(analyses) == 1 and len(walks) == 1
    assert [r["batch"] for r in s.rows] == list(range(1, 2_001))
    assert not any(isinstance(v, cnncalc.Analysis) for v in vars(s).values())  # no analysis kept


def test_other_axes_keep_numbers_not_analyses(monkeypatch):
    import cnncalc.api

    analyses = counting(monkeypatch, cnncalc.api, "analyze")
    s = cnncalc.sweep("lenet5", input=[(1, 32, 32), (1, 36, 36), (1, 40, 40)])
    assert len(analyses) == 3 and len(s.measured) == 3
    kept = [x for v in vars(s).values() for x in (v if isinstance(v, list) else [v])]
    assert not any(isinstance(x, cnncalc.Analysis) for x in kept)
    assert [m.input for m in s.measured] == [(1, 32, 32), (1, 36, 36), (1, 40, 40)]


@pytest.mark.parametrize(("spec", "batches", "optimizer", "convention"), [
    ("resnet18", [1, 3, 64, 7], "adam", "lecture"),
    ("mobilenet_v2", [2, 1, 33], "sgd", "torch"),
    ("vit", [1, 5, 4_000_000_000_000], "adamw", "fvcore"),
])
def test_a_batch_sweep_equals_separate_analyses(spec, batches, optimizer, convention):
    from cnncalc.engine.memory import training_memory_estimate

    s = cnncalc.sweep(spec, batch=batches, optimizer=optimizer, convention=convention)
    for row, b in zip(s.rows, batches):
        a = cnncalc.analyze(spec, batch=b)  # each batch analysed on its own
        t = a.totals
        assert (row["batch"], row["params"], row["macs"], row["memory_bytes"]) == (b, t.params, t.macs, t.memory_bytes)
        assert row["counted"] == a.total_counted(convention)
        assert row["training_bytes"] == training_memory_estimate(a, optimizer)


def test_training_peaks_are_the_envelope_of_the_moments():
    from cnncalc.engine.memory import training_model

    a = cnncalc.analyze("resnet18")
    model = training_model(a, "adam")
    batches = [1, 2, 3, 10, 64, 1000, 7, 10**17, 5]
    # each peak written out as the definition says: the largest moment at that batch
    assert model.peaks(batches) == [max(m.at(b) for m in model.moments) for b in batches]
    assert model.peaks(batches) == [model.at(b)["total"] for b in batches]


def test_the_cli_batch_sweep_json_matches_the_library():
    out = json.loads(run_cli("sweep", "lenet5", "--batch", "1..300", "--format", "json").stdout)
    assert len(out["points"]) == 300
    first, last = out["points"][0], out["points"][-1]
    assert last["macs"] == 300 * first["macs"] and last["memory_bytes"] == 300 * first["memory_bytes"]


# ---- --max-batch -------------------------------------------------------------------------------

def test_max_batch_is_solved_from_one_analysis(monkeypatch):
    import cnncalc.engine.analysis
    import cnncalc.engine.memory

    analyses = counting(monkeypatch, cnncalc.engine.analysis, "analyze")
    walks = counting(monkeypatch, cnncalc.engine.memory, "training_walk")
    result = run_cli("memory", "resnet18", "--gpu-memory", "24GB", "--max-batch", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert len(analyses) == 1 and len(walks) == 1
    data = json.loads(result.stdout)
    assert data["max_batch"] > 1
