"""Every output format is inert against hostile names (issue 31): a spec's name, description,
note, layer names and block names are the user's text, and no format lets them change its
structure: Markdown rows and cells, CSV rows and formula-free cells, LaTeX lines and control
sequences, DOT nodes and edges (and no <IMG> of a name), the report page's JSON, the JSON
report, the terminal table and error messages (no raw escape sequence).

Each property draws names from a hostile alphabet and compares the output with the same spec's
output under plain names (N, L, B).
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.errors import CnncalcError, printable_json, safe_text
from cnncalc.sources import Source
from tests.conftest import run_cli

PIECES = ["|", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x85", "\u2028", "\u2029", "\u202e", "<", ">", "&", '"', "'",
          "\\", ":", "{", "}", "%", "$", "#", "_", "^", "~", "=", "+", "-", "@", "\t", "\x7f", "\x9b", "\x1b",
          "\x1b]0;pwn\x07", "\x1b[31m", "<script>alert(1)</script>", '<IMG SRC="x.png"/>', "\\input{/etc/passwd}",
          "\\immediate\\write18{id}", " ]]> ", "=HYPERLINK(\"http://x\")", "😀", "中文", "a", " ",
          *map(chr, range(0x20))]
hostile = st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map("".join)
# a layer name is text without dots, and a $ in it would be an expression (docs/spec.md)
layer_text = hostile.map(lambda s: s.replace("$", "S").replace(".", ","))

PLAIN = ("N", "L", "B")
EXAMPLES = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


PAIR = re.compile(r"\\ud[89ab][0-9a-f]{2}\\ud[c-f][0-9a-f]{2}")


def q(text: str) -> str:
    """text as a YAML double-quoted string: JSON's escapes, but YAML's \\U0001F600 for a character
    past U+FFFF (PyYAML reads no surrogate pairs)."""
    return PAIR.sub(lambda m: "\\U" + format(ord(json.loads('"' + m.group() + '"')), "08x"), json.dumps(text))


def spec_text(name: str, layer: str, block: str) -> str:
    """A small spec with these names: the network, a conv (relu folded into its row), a block
    instance ("<layer>b") of block "B<block>" holding a conv ("<layer>i"). Strings are written
    as JSON, which YAML reads."""
    return "\n".join([
        f"name: {q(name)}", f"description: {q(name)}", f"note: {q(name)}", "input: [3, 8, 8]",
        "blocks:", f"  {q('B' + block)}:", "    layers:",
        f"      - conv: {{name: {q('L' + layer + 'i')}, out: 4, kernel: 3, pad: 1}}",
        "layers:",
        f"  - conv: {{name: {q('L' + layer)}, out: 4, kernel: 3}}",
        "  - relu",
        f"  - {q('B' + block)}: {{name: {q('L' + layer + 'b')}}}",
    ]) + "\n"


def analyse(name: str = "N", layer: str = "", block: str = ""):
    return cnncalc.analyze(Source(spec_text(name, layer, block), "hostile.yaml"))


@pytest.fixture(scope="module")
def plain():
    return analyse()


# ---- Markdown ----------------------------------------------------------------------------------

def md_cells(line: str) -> int:
    """The cells of a table row as GitHub splits it: at each pipe not escaped by a backslash."""
    return sum(tok == "|" for tok in re.findall(r"\\.|\|", line)) - 1


@EXAMPLES
@given(name=hostile, layer=layer_text, block=hostile)
def test_markdown_keeps_rows_and_cells(plain, name, layer, block):
    out = analyse(name, layer, block).render("markdown")
    ref = plain.render("markdown")
    assert len(out.splitlines()) == len(ref.splitlines())
    for got, want in zip(out.splitlines(), ref.splitlines()):
        assert md_cells(got) == md_cells(want)
    assert "<" not in out.replace("<br>", "")  # no <script>, no <img onerror>: HTML as entities
    assert safe_text(out) == out


# ---- CSV ---------------------------------------------------------------------------------------

NUMBER = re.compile(r"[+-]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def formula_cells(rows: list[list[str]]) -> list[str]:
    return [c for row in rows for c in row if c.startswith(("=", "+", "-", "@", "\t", "\r")) and not NUMBER.fullmatch(c)]


@EXAMPLES
@given(name=hostile, layer=layer_text, block=hostile)
def test_csv_keeps_rows_and_has_no_formula(plain, name, layer, block):
    rows = list(csv.reader(io.StringIO(analyse(name, layer, block).render("csv"))))
    ref = list(csv.reader(io.StringIO(plain.render("csv"))))
    assert [len(r) for r in rows] == [len(r) for r in ref]
    assert formula_cells(rows) == []


def test_csv_neutralises_a_formula_name_and_keeps_numbers():
    rows = list(csv.reader(io.StringIO(analyse(layer='=HYPERLINK("http://x")').render("csv"))))
    assert rows[1][0] == "L=HYPERLINK(\"http://x\")"  # prefixed by L: not a formula; the cell as is
    from cnncalc.report.grid import Grid, to_csv

    grid = Grid("t", ["a", "b", "c", "d", "e", "f"], [['=HYPERLINK("http://x")', "-5", "1.25", "+cmd", "@SUM(1)", "-x"]])
    assert list(csv.reader(io.StringIO(to_csv(grid))))[1] == ["'=HYPERLINK(\"http://x\")", "-5", "1.25", "'+cmd",
                                                            "'@SUM(1)", "'-x"]


def test_csv_of_several_specs_neutralises_the_spec_column(tmp_path):
    (tmp_path / "=cmd.yaml").write_text(spec_text("N", "", ""), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(spec_text("N", "a\nb", ""), encoding="utf-8")
    result = run_cli("table", str(tmp_path / "=cmd.yaml"), str(tmp_path / "b.yaml"), "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert [len(r) for r in rows] == [13] * 7  # header + 3 layers of each spec, a cell with a line break included
    assert rows[4][:2] == [str(tmp_path / "b.yaml"), "La\nb"]


# ---- LaTeX -------------------------------------------------------------------------------------

ESCAPES = {"\\textbackslash", "\\textless", "\\textgreater", "\\textbar", "\\textasciitilde", "\\textasciicircum",
           "\\cdot", "\\times"}  # what tex_escape writes for a special character


def commands(text: str) -> Counter:
    return Counter(c for c in re.findall(r"\\[A-Za-z]+", text) if c not in ESCAPES)


def shape(line: str) -> tuple:
    """What a line of the tabular is made of: a comment, or its unescaped & and row ends."""
    if line.startswith("%"):
        return ("comment",)
    braces = len(re.findall(r"(?<!\\)\{", line)) - len(re.findall(r"(?<!\\)\}", line))
    return ("line", len(re.findall(r"(?<!\\)&", line)), line.endswith(r" \\"), braces)


@EXAMPLES
@given(name=hostile, layer=layer_text, block=hostile)
def test_latex_keeps_lines_and_control_sequences(plain, name, layer, block):
    out = analyse(name, layer, block).render("latex")
    ref = plain.render("latex")
    assert [shape(line) for line in out.splitlines()] == [shape(line) for line in ref.splitlines()]
    body = "\n".join(line for line in out.splitlines() if not line.startswith("%"))
    assert commands(body) == commands("\n".join(line for line in ref.splitlines() if not line.startswith("%")))
    assert commands(out) == commands(ref)  # comments too: nothing of a name is a command
    assert safe_text(out) == out


def test_latex_input_after_a_newline_in_note_stays_a_comment():
    out = analyse(name="net\n\\input{/etc/passwd}\r\\immediate\\write18{id}\u2028\\x").render("latex")
    assert all(line.startswith(("%", "\\begin", "\\end", "\\toprule", "\\midrule", "\\bottomrule", "\\centering",
                                "\\caption", "\\label", "Layer", "L", "total"))
               for line in out.splitlines())
    assert "\\input" not in out and "\\write18" not in out and "\\textbackslash{}input" in out


# ---- DOT ---------------------------------------------------------------------------------------

DOT = shutil.which("dot")
needs_dot = pytest.mark.skipif(DOT is None, reason="Graphviz's dot is not installed (apt-get install graphviz)")


def dot_source(analysis) -> str:
    pytest.importorskip("graphviz", reason="the graphviz package writes the DOT source")
    return analysis.draw("dot").data.decode()


def dot_json(source: str) -> dict:
    proc = subprocess.run([DOT, "-Tjson"], input=source.encode(), capture_output=True, timeout=60)  # type: ignore[list-item]
    assert proc.returncode == 0 and not proc.stderr, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def structure(doc: dict) -> tuple:
    objects = doc.get("objects", [])
    return (len(objects), sum("nodes" in o for o in objects), len(doc.get("edges", [])),
            sorted((e["tail"], e["head"]) for e in doc.get("edges", [])))


NODE_STATEMENT = re.compile(r"^\s*([^\s\[]+) \[", re.M)
QUOTED = re.compile(r'"(?:\\.|[^"\\])*"')  # a DOT quoted string: text, never HTML


@pytest.fixture(scope="module")
def plain_dot(plain):
    return structure(dot_json(dot_source(plain)))


@needs_dot
@EXAMPLES
@given(name=hostile, layer=layer_text, block=hostile)
def test_dot_keeps_nodes_and_edges(plain_dot, name, layer, block):
    source = dot_source(analyse(name, layer, block))
    assert structure(dot_json(source)) == plain_dot
    assert {m for m in NODE_STATEMENT.findall(source)} - {"graph", "node", "edge"} == {"n0", "n1", "n2"}
    html = QUOTED.sub("", source).lower()  # the HTML-like labels: only escaped text in them
    assert "<img" not in html and "<script" not in html
    assert safe_text(source.replace("\t", "")) == source.replace("\t", "")  # tabs indent; nothing else unprintable


@needs_dot
@pytest.mark.parametrize("layer", ['<IMG SRC="/usr/share/pixmaps/debian-logo.png"/>', "ends\\", "a:port",
                                   "x\x1b[31m\x00y", "<<TABLE>>"])
def test_dot_draws_hostile_names_as_text(tmp_path, layer):
    a = analyse(name=layer, layer=layer.replace(".", ","), block=layer)
    source = dot_source(a)
    doc = dot_json(source)
    assert structure(doc)[:3] == (4, 1, 2)  # input, two boxes and a cluster; 2 edges, no phantom node
    svg = a.draw("svg").data.decode()
    assert "<image" not in svg  # no local file copied into the drawing
    out = tmp_path / "x.svg"
    result = run_cli("graph", _write(tmp_path, spec_text(layer, layer.replace(".", ","), layer)), "-o", str(out))
    assert result.exit_code == 0 and result.stderr == f"wrote {out}\n"


def _write(tmp_path, text: str) -> str:
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_dot_bounds_a_20000_layer_fold(tmp_path):
    text = "name: chain\ninput: [3, 8, 8]\nlayers:\n  - conv: {name: conv1, out: 4, kernel: 3}\n" + \
        "  - bn\n  - relu\n" * 10_000
    source = dot_source(cnncalc.analyze(Source(text, "chain.yaml")))
    # 29 of the 20,000 folded layers fit in 120 characters: " +bn+relu+...+bn", the rest counted
    assert "<B>conv1</B> +bn+relu+bn+relu" in source and "+bn +19,971 more</TD>" in source
    assert max(map(len, source.splitlines())) < 16_384 // 2
    if DOT is not None:
        result = run_cli("graph", _write(tmp_path, text), "-o", str(tmp_path / "chain.svg"))
        assert result.exit_code == 0 and result.stderr == f"wrote {tmp_path / 'chain.svg'}\n"


def test_dot_failure_is_one_escaped_sentence(tmp_path, monkeypatch):
    pytest.importorskip("graphviz")
    from cnncalc.report import graph_dot

    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\nprintf 'Error: bad \\033]0;pwn\\007 thing\\n' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(graph_dot.shutil, "which", lambda name: str(fake))
    with pytest.raises(CnncalcError) as exc:
        graph_dot.render("digraph {}", "svg")
    assert exc.value.message == ("Graphviz's dot could not draw the svg (exit status 1: bad \\x1b]0;pwn\\x07 thing); "
                                 "--depth N draws a smaller graph")
    result = run_cli("graph", "lenet5", "-o", str(tmp_path / "x.svg"))
    assert result.exit_code == 2
    assert result.stderr == ("error: Graphviz's dot could not draw the svg (exit status 1: bad \\x1b]0;pwn\\x07 thing); "
                             "--depth N draws a smaller graph\n")


# ---- the HTML report's JSON, and the JSON report -----------------------------------------------

SCRIPT = re.compile(r'<script type="application/json" id="cnncalc-data">(.*?)</script>', re.S)


@EXAMPLES
@given(name=hostile, layer=layer_text, block=hostile)
def test_report_page_json_round_trips(name, layer, block):
    page = analyse(name, layer, block).render("html")
    (raw,) = SCRIPT.findall(page)
    assert safe_text(raw) == raw and "\u2028" not in raw and "<" not in raw
    data = json.loads(raw)
    assert data["payload"]["title"] == f"{name}: input 3x8x8"
    assert [r["name"] for r in data["payload"]["rows"]] == ["L" + layer, f"L{layer}b.L{layer}i"]
    (shown,) = SCRIPT.findall(safe_text(page))  # what `table --format html` prints
    assert json.loads(shown) == data


def test_report_page_with_u0085_through_the_cli(tmp_path):
    name = "net\x85\u2028\x9b31m"
    result = run_cli("table", _write(tmp_path, spec_text(name, "a\x85b", "")), "--format", "html")
    assert result.exit_code == 0, result.stderr
    data = json.loads(SCRIPT.findall(result.stdout)[0])
    assert data["payload"]["title"] == "net\x85\u2028\x9b31m: input 3x8x8"
    assert data["payload"]["rows"][0]["name"] == "La\x85b"


@EXAMPLES
@given(name=hostile, layer=layer_text, block=hostile)
def test_json_report_parses_and_is_printable(name, layer, block):
    out = analyse(name, layer, block).render("json")
    assert safe_text(out) == out
    doc = json.loads(out)
    assert (doc["name"], doc["description"]) == (name, name)
    assert [r["name"] for r in doc["layers"]] == ["L" + layer, "relu1", f"L{layer}b.L{layer}i"]


def test_printable_json_escapes_what_is_not_printable():
    text = json.dumps({"k": "a\x85\u2028\x9b\u202e\x7f\U000e0001 é中😀"}, ensure_ascii=False)
    out = printable_json(text)
    assert out == '{"k": "a\\u0085\\u2028\\u009b\\u202e\\u007f\\udb40\\udc01 é中😀"}'
    assert json.loads(out) == json.loads(text)


# ---- the terminal ------------------------------------------------------------------------------

@EXAMPLES
@given(name=hostile, layer=layer_text, block=hostile)
def test_terminal_table_has_no_raw_escape(name, layer, block):
    out = analyse(name, layer, block).render("rich")
    assert safe_text(out) == out  # no ESC, CSI (\x9b), OSC, BEL, U+2028: each shown as an escape


@EXAMPLES
@given(name=hostile, layer=layer_text)
def test_error_messages_have_no_raw_escape(name, layer):
    text = spec_text(name, layer, "") + \
        f"  - add: {{name: {q('Lsum' + layer)}, inputs: [{q('L' + layer)}, {q('Lmissing' + layer)}]}}\n"
    with pytest.raises(CnncalcError) as exc:
        cnncalc.analyze(Source(text, "hostile\x1b[31m.yaml"))
    message = exc.value.render(text)
    assert safe_text(message) == message and "\x1b" not in message


def test_safe_text_shows_controls_and_keeps_printable_text():
    assert safe_text("a\x1b[31m\n\u2028\t\x9b\x00é中😀") == "a\\x1b[31m\n\\u2028\\t\\x9b\\x00é中😀"
    text = "line\n" * 1000
    assert safe_text(text) is text  # printable but for newlines: returned as it is (no copy)


def test_bundled_fallback_note_is_escaped():
    from cnncalc.sources import find

    assert find("\x1b[31m/lenet5.yaml").note == ("note: \\x1b[31m/lenet5.yaml not found; using the bundled "
                                                 "architecture 'lenet5'")


def test_wrote_line_is_escaped(tmp_path):
    pytest.importorskip("graphviz")
    out = tmp_path / "x\x1b[31m.dot"
    result = run_cli("graph", "lenet5", "-o", str(out))
    assert result.exit_code == 0 and result.stderr == f"wrote {tmp_path}/x\\x1b[31m.dot\n"
