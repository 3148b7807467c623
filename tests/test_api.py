"""The library API: docs/api.md's examples run as a doctest, plus what a notebook user relies on."""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

import pytest

import cnncalc

ROOT = Path(__file__).resolve().parent.parent


def test_docs_api_examples_run():
    pytest.importorskip("torch")  # the page ends with cnncalc.verify on the meta device
    result = doctest.testfile(str(ROOT / "docs" / "api.md"), module_relative=False,
                              optionflags=doctest.ELLIPSIS)
    assert result.attempted > 20 and result.failed == 0


def test_import_cnncalc_exposes_the_api_and_stays_light():
    code = ("import sys, cnncalc; print(sorted(n for n in dir(cnncalc) if not n.startswith('_')));"
            "print([m for m in ('torch', 'yaml', 'rich', 'click', 'cnncalc.api') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout.splitlines()
    assert "analyze" in out[0] and "SpecError" in out[0] and "verify" in out[0]
    assert out[1] == "[]"  # `import cnncalc` loads nothing heavy until a name is used


def test_resnet50_params_from_a_fresh_interpreter():
    # the acceptance line, as a user types it
    out = subprocess.run([sys.executable, "-c", "import cnncalc; print(cnncalc.analyze('resnet50-tv').totals.params)"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out == "25557032\n"


def test_spec_forms_agree(tmp_path):
    text = "name: t\ninput: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 3}\n  - relu\n"
    path = tmp_path / "t.yaml"
    path.write_text(text)
    as_dict = {"name": "t", "input": (3, 8, 8), "layers": [{"conv": {"out": 4, "kernel": 3}}, "relu"]}
    results = [cnncalc.analyze(s).totals for s in (text, str(path), path, as_dict)]
    # 4 * 3 * 3 * 3 + 4 = 112 params; 4 * 6 * 6 outputs x 27 = 3,888 MACs
    assert all(t.params == 112 and t.macs == 3_888 for t in results)


def test_analyze_options():
    a = cnncalc.analyze("lenet5", batch=3, dtype="float16")
    one = cnncalc.analyze("lenet5")
    assert a.totals.macs == 3 * one.totals.macs
    assert a.totals.memory_bytes * 2 == one.totals.memory_bytes * 3  # 3 samples, 2 B instead of 4
    assert (a.dtype.name, a.dtype.bytes) == ("float16", 2)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"batch": 0}, "batch must be a positive integer"),
    ({"input": "3x32x32"}, "input must be a shape"),
    ({"dtype": "float13"}, "unknown dtype 'float13'"),
    ({"args": {"clases": 10}}, "did you mean 'classes'?"),
    ({"limits": {"layer": 10}}, "no limit named 'layer'"),
])
def test_bad_arguments_raise_usage_errors(kwargs, message):
    with pytest.raises(cnncalc.CnncalcError, match=message) as err:
        cnncalc.analyze("vgg11", **kwargs)
    assert isinstance(err.value, cnncalc.UsageError) or "did you mean" in str(err.value)


def test_spec_errors_carry_their_place():
    with pytest.raises(cnncalc.SpecError) as err:
        cnncalc.analyze("input: [3, 8, 8]\nlayers:\n  - flatten\n  - conv: {out: 4, kernel: 3}\n")
    e = err.value
    assert (e.file, e.line, e.column) == ("<string>", 4, 5)
    assert isinstance(e, cnncalc.ShapeError) and "conv acts on a C x L, C x H x W or C x T x H x W feature map, got 192" in e.message
    with pytest.raises(cnncalc.SpecError) as err:
        cnncalc.analyze({"input": [3, 8, 8], "layers": [{"conv": {"out": 4}}]})
    assert err.value.file == "<dict>" and "missing required argument 'kernel'" in str(err.value)
    with pytest.raises(cnncalc.UsageError, match="no such file or bundled architecture"):
        cnncalc.analyze("resnet5O")


def test_the_library_never_prints(capsys):
    cnncalc.analyze("alexnet.yaml")  # the CLI notes "using the bundled architecture"; the library stays quiet
    with pytest.raises(cnncalc.SpecError):
        cnncalc.analyze("input: [3, 8, 8]\nlayers: [conv]\n")
    assert capsys.readouterr() == ("", "")


def test_to_dict_is_the_cli_json(tmp_path):
    import json

    from tests.conftest import run_cli

    for convention in ("lecture", "ptflops"):
        cli = json.loads(run_cli("table", "resnet18", "--format", "json", "--convention", convention).stdout)
        assert cli == cnncalc.analyze("resnet18").to_dict(convention=convention)


def test_render_every_format_and_the_notebook_view():
    a = cnncalc.analyze("alexnet")
    for fmt in ("markdown", "csv", "latex", "html", "json", "rich"):
        assert "conv1" in a.render(fmt)
    assert "<table" in a._repr_html_() and "conv1" in a._repr_html_()
    with pytest.raises(cnncalc.UsageError, match="unknown format"):
        a.render("docx")


def test_to_dataframe_or_a_clear_error():
    a = cnncalc.analyze("lenet5")
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(cnncalc.UsageError, match=r"pip install 'cnncalc\[pandas\]'"):
            a.to_dataframe()
        return
    df = a.to_dataframe()
    assert list(df["name"]) == [r.name for r in a.rows] and int(df["params"].sum()) == a.totals.params
