"""Reports: every export format round-trips to the same numbers, depth grouping, memory, compare."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from cnncalc.engine import depth, forward_memory_estimate, saved_for_backward, training_memory
from tests.conftest import analyse_bundled, run_cli

REPO = Path(__file__).resolve().parent.parent


def json_layers(*args: str) -> dict:
    return {layer["name"]: layer for layer in json.loads(run_cli("table", *args, "--format", "json").stdout)["layers"]}


class Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def parse(fmt: str, text: str) -> list[list[str]]:
    """Header + body rows of any text format, as cell strings."""
    if fmt == "csv":
        return list(csv.reader(io.StringIO(text)))
    if fmt == "markdown":
        rows = [line.strip("|").split("|") for line in text.splitlines() if line.startswith("|")]
        return [[c.strip().strip("*") for c in r] for r in rows if not set("".join(r)) <= set("-: ")]
    if fmt == "latex":
        body = [line for line in text.splitlines() if line.endswith(r"\\")]
        return [[c.strip().replace(r"\_", "_") for c in line[:-2].split("&")] for line in body]
    if fmt == "html":
        parser = Cells()
        parser.feed(text)
        return parser.rows
    raise AssertionError(fmt)


@pytest.mark.parametrize("fmt", ["csv", "markdown", "latex", "html"])
def test_every_format_shows_the_json_numbers(fmt):
    # --all: one row per graph node, so each row can be matched with its JSON layer exactly
    layers = json_layers("resnet18", "--all")
    args = ["table", "resnet18", "--all", "--format", fmt] + ([] if fmt == "csv" else ["--units", "raw"])
    rows = parse(fmt, run_cli(*args).stdout)
    head, body = rows[0], rows[1:]
    assert head[:3] == ["Layer", "Input C", "Input H/W"]
    body = [r for r in body if r[0] != "total"]
    assert [r[0] for r in body] == list(layers)
    for r in body:
        layer = layers[r[0]]
        memory, params, flop = (int(c.replace(",", "")) for c in r[-3:])
        assert (memory, params, flop) == (layer["memory_bytes"], layer["params"], layer["macs"]), r[0]


@pytest.mark.parametrize("fmt", ["markdown", "latex", "html"])
def test_lecture_units_agree_across_formats(fmt):
    md = parse("markdown", run_cli("table", "alexnet", "--format", "markdown").stdout)
    other = parse(fmt, run_cli("table", "alexnet", "--format", fmt).stdout)
    assert other == md


def test_html_is_self_contained():
    # the interactive report inlines its style, script and layout library: opened with no
    # network, it fetches nothing (no src=, href=, @import, url() but to its own #fragments)
    import re

    page = run_cli("table", "vgg16", "--format", "html").stdout
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "<script>" in page
    assert "http" not in page.split("<body")[0]  # no external stylesheet
    assert not re.search(r"<(link|img|iframe|object|embed)\b|<[a-zA-Z][^<>]*\s(src|href)\s*=|@import", page)
    assert set(re.findall(r"url\(([^)]*)\)", page)) <= {"#arrow"}
    assert "sourceMappingURL" not in page


def test_latex_escapes_names():
    text = run_cli("table", "vgg16", "--format", "latex").stdout
    assert r"conv1\_1" in text and r"\begin{tabular}" in text and r"\end{tabular}" in text


def test_depth_collapses_stages_into_subtotals():
    layers = json_layers("resnet50")
    rows = parse("csv", run_cli("table", "resnet50", "--depth", "1", "--format", "csv").stdout)[1:]
    assert [r[0] for r in rows] == ["conv1", "pool1", "conv2_x", "conv3_x", "conv4_x", "conv5_x", "pool5", "flatten", "fc"]
    for stage in ("conv2_x", "conv3_x", "conv4_x", "conv5_x"):
        row = next(r for r in rows if r[0] == stage)
        members = [v for k, v in layers.items() if k.startswith(stage + ".")]
        assert int(row[-2]) == sum(m["params"] for m in members)
        assert int(row[-1]) == sum(m["macs"] for m in members)
    # depth 2: one row per bottleneck: 3 + 4 + 6 + 3 = 16 block rows
    rows2 = parse("csv", run_cli("table", "resnet50", "--depth", "2", "--format", "csv").stdout)[1:]
    assert sum(r[0].count(".") == 1 for r in rows2) == 16


def test_rich_view_has_stage_subtotals_and_share_bars():
    out = run_cli("table", "resnet18").stdout
    for stage in ("conv2_x", "conv3_x", "conv4_x", "conv5_x"):
        assert f"{stage} subtotal" in out
    assert "m p f" in out


def test_units_auto():
    out = run_cli("table", "vgg16", "--units", "auto").stdout
    assert "138 M" in out  # 138,357,544 params
    assert "15.5 G" in out  # 15,476,385,792 multiply-adds in the total


def test_depth_of_named_networks():
    # the number in the name is the count of weight layers on the longest path
    for name, expected in (("alexnet", 8), ("vgg16", 16), ("vgg19", 19), ("googlenet", 22), ("resnet18", 18),
                           ("resnet50", 50), ("resnet152", 152), ("densenet121", 121)):
        assert depth(analyse_bundled(name)) == expected, name


def test_training_memory_by_hand_for_lenet5():
    # What autograd saves (docs/memory.md), float32, batch 1, each storage once:
    #   c1 conv saves its input, the 1x32x32 image: 1,024 elements; tanh saves its output 6x28x28 = 4,704;
    #   s2 avgpool saves its input (tanh's output: already counted); c3 saves its input 6x14x14 = 1,176;
    #   tanh 16x10x10 = 1,600; s4 shares; c5 saves 16x5x5 = 400; tanh 120; flatten is a view;
    #   f6 saves its input (the view of tanh's output: counted); tanh 84; output saves tanh's output.
    #   1,024 + 4,704 + 1,176 + 1,600 + 400 + 120 + 84 = 9,108 elements = 36,432 bytes (the measured
    #   figure: scripts/check_saved.py lenet5).
    analysis = analyse_bundled("lenet5")
    assert sum(saved_for_backward(analysis)) == 36_432
    # Params 61,706 * 4 = 246,824 bytes in 10 tensors; adam keeps two states per parameter and a
    # float32 step count per tensor (40 bytes). At batch 1 the peak is adam's step on c5's weight
    # (120 x 400 = 48,000 floats = 192,000 bytes, the largest): the sqrt of its second moment and
    # the quotient `denom` (2 x 192,000) while c3's bias's denom (16 floats) is still bound; every
    # gradient exists then, nothing is saved any more, the input batch (4,096) is held.
    parts = training_memory(analysis, "adam")
    assert parts == {"parameters": 246_824, "buffers": 0, "gradients": 246_824,
                     "optimizer_state": 2 * 246_824 + 40, "activations_saved": 0, "weight_copies": 0,
                     "input": 4_096, "transient": 2 * 192_000 + 64,
                     "total": 4 * 246_824 + 40 + 4_096 + 384_064}
    # inference peak: while tanh1 runs, c1's output and tanh1's (18,816 bytes each) are both
    # alive, and the input the caller holds
    assert forward_memory_estimate(analysis) == 246_824 + 4_096 + 2 * 18_816


def test_memory_command_fits_or_not():
    yes = run_cli("memory", "resnet50", "--batch", "64", "--dtype", "bfloat16", "--optimizer", "adam",
                  "--gpu-memory", "24GB")
    assert yes.exit_code == 0 and "fits on a 24GB GPU at batch 64? yes" in yes.stdout
    data = json.loads(run_cli("memory", "vgg16", "--batch", "512", "--optimizer", "adam", "--gpu-memory", "24GB",
                              "--device", "cpu", "--format", "json").stdout)
    # VGG-16 saves 73,254,912 bytes a sample for backward on the CPU (measured with
    # saved_tensors_hooks at batch 2: 146,509,824): 512 of them are 34.9 GiB > 24 GiB (on CUDA,
    # the default with --gpu-memory, its two dropout masks are bool: 3 * 8,192 bytes less a sample)
    assert data["saved_for_backward"] == 512 * 146_509_824 // 2
    assert data["fits"] is False
    assert data["peak"]["training"] == sum(data["parts"].values())
    assert run_cli("memory", "vgg16", "--gpu-memory", "lots").exit_code == 2


def test_memory_max_batch_by_hand_for_lenet5():
    # lenet5 (see above), adam. The moment that grows fastest with the batch is tanh1's backward:
    # per sample the input (4,096), tanh1's saved output (18,816), its output's gradient and its
    # input's (18,816 each) = 60,544 bytes; fixed: parameters 246,824, adam's state 493,688 and
    # every gradient but c1's (246,824 - 4 * 156 = 246,200) = 986,712. In 10 MiB = 10,485,760 bytes:
    # (10,485,760 - 986,712) // 60,544 = 9,499,048 // 60,544 = 156. (--reserve 0B: all of the 10 MiB
    # for the tensors; the CLI otherwise keeps 1 GiB for the CUDA context.)
    data = json.loads(run_cli("memory", "lenet5", "--optimizer", "adam", "--gpu-memory", "10MB", "--reserve", "0B",
                              "--max-batch", "--format", "json").stdout)
    assert data["max_batch"] == 156
    assert "largest batch that fits in 10MB: 156" in run_cli("memory", "lenet5", "--optimizer", "adam",
                                                             "--gpu-memory", "10MB", "--reserve", "0B",
                                                             "--max-batch").stdout
    # 1 MiB = 1,048,576 does not even hold adam's step on c5: 4 * 246,824 + 40 + 384,064 = 1,371,400
    assert json.loads(run_cli("memory", "lenet5", "--optimizer", "adam", "--gpu-memory", "1MB", "--reserve", "0B",
                              "--max-batch", "--format", "json").stdout)["max_batch"] == 0
    # with the default 1 GiB reserve, 1 GiB + 10 MiB leaves the same 10 MiB for the tensors
    assert json.loads(run_cli("memory", "lenet5", "--optimizer", "adam", "--gpu-memory", "1034MB", "--max-batch",
                              "--format", "json").stdout)["max_batch"] == 156
    assert run_cli("memory", "lenet5", "--max-batch").exit_code == 2  # needs --gpu-memory


def test_compare_side_by_side_in_every_format():
    out = run_cli("compare", "alexnet", "vgg16", "googlenet", "resnet50").stdout
    for name in ("alexnet", "vgg16", "googlenet", "resnet50"):
        assert name in out
    data = json.loads(run_cli("compare", "alexnet", "resnet50", "--format", "json").stdout)
    assert [d["depth"] for d in data] == [8, 50]
    assert data[1]["params"] == 25_557_032
    rows = parse("csv", run_cli("compare", "alexnet", "resnet50", "--format", "csv").stdout)
    assert rows[2][2] == "25557032"


def test_plot_without_matplotlib_is_a_clear_message(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None\nfrom cnncalc.cli import cli\n"
            f"cli(['plot', 'vgg16', '-o', {str(tmp_path / 'x.png')!r}])\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 2 and "plotting needs matplotlib: pip install 'cnncalc[plot]'" in proc.stderr
    assert not (tmp_path / "x.png").exists()


def test_plot_bad_suffix(tmp_path):
    result = run_cli("plot", "vgg16", "-o", str(tmp_path / "x.bmp"))
    assert result.exit_code == 2 and "use a .png, .svg or .pdf" in result.stderr


# ---- --columns and slide-ready LaTeX (issue 32) --------------------------------------------------

def test_columns_choose_and_order_the_cells_in_every_format():
    # EECS 498's AlexNet conv1: output 64 x 56 x 56, 23k params (weights + biases: 23,296), 73 M MACs
    args = ("table", "alexnet", "--columns", "layer,output,params,flop")
    md = run_cli(*args, "--format", "markdown").stdout.splitlines()
    assert md[0] == "| Layer | Output C | Output H/W | params (k) | flop (M) |"
    assert md[1] == "|---|---:|---:|---:|---:|"
    assert md[2] == "| conv1 +relu | 64 | 56 | 23 | 73 |"
    rows = list(csv.reader(io.StringIO(run_cli(*args, "--format", "csv").stdout)))
    assert rows[0] == ["Layer", "Output C", "Output H/W", "params", "flop"]
    assert rows[1] == ["conv1", "64", "56", str(64 * 3 * 11 * 11 + 64), str(64 * 56 * 56 * 3 * 11 * 11)]
    latex = run_cli(*args, "--format", "latex").stdout
    assert r"\begin{tabular}{lrrrr}" in latex and "conv1 +relu & 64 & 56 & 23 & 73 \\\\" in latex
    html = run_cli(*args, "--format", "html").stdout
    assert "<th class=n>Output C</th><th class=n>Output H/W</th><th class=n>params (k)</th>" in html
    rich = run_cli(*args, env={"COLUMNS": "100"}).stdout
    assert "Input C" not in rich and "│ conv1 +relu       │       64 │         56 │         23 │       73 │" in rich
    # order is the user's; a group (numbers) expands in the table's order
    rows = list(csv.reader(io.StringIO(run_cli("table", "alexnet", "--columns", "flop,layer", "--format", "csv").stdout)))
    assert rows[0] == ["flop", "Layer"]


@pytest.mark.parametrize(("columns", "message"), [
    ("layer,outptu", "--columns 'outptu' is not a column of the table"),
    ("layer,,flop", "give column names separated by commas"),
    ("layer,rf", "--columns 'rf': the receptive-field columns come with rf=True"),
])
def test_a_wrong_column_is_one_error(columns, message):
    result = run_cli("table", "alexnet", "--columns", columns)
    assert result.exit_code == 2 and result.stdout == "" and message in result.stderr


def test_latex_is_a_table_with_booktabs_a_caption_and_a_width():
    text = run_cli("table", "lenet5", "--format", "latex").stdout
    assert text.startswith("% lenet5: input 1x32x32: needs \\usepackage{booktabs}\n\\begin{table}[htbp]\n\\centering\n")
    assert "\\caption[lenet5: input 1x32x32]{lenet5: input 1x32x32. flop = multiply-adds" in text
    assert "\\label{tab:lenet5}" in text and "\\toprule" in text and "\\bottomrule" in text and "\\hline" not in text
    wide = run_cli("table", "resnet50", "--depth", "1", "--format", "latex", "--latex-width", "\\linewidth").stdout
    assert "\\resizebox{\\linewidth}{!}{%\n\\begin{tabular}" in wide and "\\end{tabular}}\n\\end{table}" in wide
    bad = run_cli("table", "lenet5", "--format", "latex", "--latex-width", "\\input{x}")
    assert bad.exit_code == 2 and "--latex-width '\\input{x}' is not a LaTeX length" in bad.stderr


def test_latex_compiles_in_a_beamer_frame_without_overflow(tmp_path):
    import shutil

    if shutil.which("pdflatex") is None or shutil.which("kpsewhich") is None:
        pytest.skip("pdflatex is not installed (apt-get install texlive-latex-recommended texlive-pictures)")
    if not subprocess.run(["kpsewhich", "beamer.cls"], capture_output=True, text=True).stdout.strip():
        pytest.skip("the beamer class is not installed (apt-get install texlive-latex-recommended texlive-pictures)")
    table = run_cli("table", "resnet50", "--depth", "1", "--format", "latex", "--latex-width", "\\linewidth").stdout
    (tmp_path / "table.tex").write_text(table)
    (tmp_path / "slides.tex").write_text("\\documentclass{beamer}\n\\usepackage{booktabs}\n\\begin{document}\n"
                                         "\\begin{frame}{ResNet-50}\n\\input{table.tex}\n\\end{frame}\n\\end{document}\n")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "slides.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    log = (tmp_path / "slides.log").read_text(errors="replace")
    assert done.returncode == 0, log[-2000:]
    assert "Overfull \\hbox" not in log  # the table fits the frame's width
