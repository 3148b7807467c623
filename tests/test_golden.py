"""Golden files: the rendered lecture tables, byte for byte (`pytest --update-golden` rewrites them).

The golden files guard the layout; their numbers are not trusted on their own: the Markdown
golden is parsed back and every cell compared with the slide's table (tests/seed_tables).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from cnncalc.report.table import render_table
from cnncalc.report.text import render_csv, render_markdown
from cnncalc.report.view import View
from tests.conftest import analyse_bundled

GOLDEN = Path(__file__).parent / "golden"
LECTURE = View(weights_only=True)  # the EECS 498 AlexNet table counts FC weights only


def render(fmt: str) -> str:
    analysis = analyse_bundled("alexnet")
    if fmt == "txt":
        console = Console(file=io.StringIO(), width=120, color_system=None, legacy_windows=False)
        console.print(render_table(analysis, LECTURE))
        return console.file.getvalue()
    return {"md": render_markdown, "csv": render_csv}[fmt](analysis, LECTURE)


@pytest.mark.parametrize("fmt", ["txt", "md", "csv"])
def test_alexnet_golden(fmt, update_golden):
    path = GOLDEN / f"alexnet_weights.{fmt}"
    text = render(fmt)
    if update_golden:
        path.write_text(text)
    assert text == path.read_text()


def test_markdown_golden_matches_the_slide():
    table = yaml.safe_load((Path(__file__).parent / "seed_tables" / "alexnet.yaml").read_text())
    errata = {(e["layer"], e["column"]): e["correct"] for e in table["errata"]}
    lines = (GOLDEN / "alexnet_weights.md").read_text().splitlines()
    head = [h.strip() for h in lines[0].strip("|").split("|")]
    # a row is named by its layer, then the layers folded into it: "conv1 +relu"
    cells = {r[0].split(" +")[0]: dict(zip(head, r)) for r in
             ([c.strip() for c in line.strip("|").split("|")] for line in lines[2:] if line.startswith("| ") and "total" not in line)}
    for row in table["rows"]:
        got = cells[row["layer"]]
        for column, header in (("memory", "memory (KB)"), ("params", "params (k)"), ("flop", "flop (M)"),
                               ("out_c", "Output C"), ("in_c", "Input C")):
            expected = errata.get((row["layer"], column), row[column])
            assert int(got[header].replace(",", "")) == expected, (row["layer"], column)
