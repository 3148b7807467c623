"""report/term.py draws what rich 15 draws, byte for byte: every table cnncalc prints (against
goldens captured from rich before the reports moved off it, and against rich live), random
tables and texts (hypothesis), the cell widths, the console's colour and width rules, and rich
still printing cnncalc's results. The fast commands import no rich at all.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc.report import term
from tests.term_cases import CASES, golden_path, render_rich, render_term, to_rich

REPO = Path(__file__).resolve().parent.parent
PROFILE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# term.py is a port of rich 15.0.0: another rich draws differently in places (the goldens stay the check)
RICH_15 = version("rich").startswith("15.")
needs_rich_15 = pytest.mark.skipif(not RICH_15, reason=f"term.py draws as rich 15; rich {version('rich')} is installed")


# ---- every table cnncalc prints ------------------------------------------------------------------

@pytest.mark.parametrize("name", list(CASES))
def test_report_is_rich_byte_for_byte(name):
    # each width's report is built once, then drawn by term and by rich, plain and in colour;
    # term must also write the golden captured from rich (scripts/make_term_goldens.py)
    build, widths = CASES[name]
    drawn: dict[bool, list[str]] = {False: [], True: []}
    for fit, console_width in widths:
        renderable = build(fit)
        for colour in (False, True):
            ours = render_term(renderable, console_width, colour)
            if RICH_15:
                assert ours == render_rich(renderable, console_width, colour), (name, fit, console_width, colour)
            drawn[colour] += [f"--- fitted to {fit}, console {console_width} ---\n", ours]
    for colour in (False, True):
        assert "".join(drawn[colour]) == golden_path(name, colour).read_text(encoding="utf-8"), (name, colour)


def test_the_cases_cover_every_report():
    kinds = {name.split("-")[0] for name in CASES}
    assert kinds == {"table", "memory", "compare", "sweep", "verify", "list"}


def test_colour_output_has_the_share_bars_styles():
    text = render_term(CASES["table-alexnet"][0](160), 160, colour=True)
    assert "\x1b[36m" in text and "\x1b[35m" in text and "\x1b[33m" in text  # memory, params, flop bars
    assert "\x1b[1m" in text and "\x1b[2;3m" in text  # bold headers, the dim italic caption


# ---- random tables and texts against rich ---------------------------------------------------------

WORDS = st.sampled_from(["a", "layer", "conv2_x.0", "64x56x56", "1,792", "网络", "卷积层一", "😀", "👍🏽",
                         "👨\u200d👩\u200d👧", "❤\ufe0f", "#\ufe0f", "e\u0301te\u0301", "n\u0308", "x" * 23,
                         "supercalifragilistic", "[bold]", "·", "…", "✓", "✗", "█▁", "é", "Ω", "ﾊﾟ"])
SPACES = st.sampled_from([" ", " ", "  ", "\n", " \n", "\n\n", "   "])


@st.composite
def cell_text(draw) -> str:
    parts = draw(st.lists(st.tuples(WORDS, SPACES), max_size=6))
    text = "".join(w + s for w, s in parts)
    if draw(st.booleans()):
        text = text.strip(" ")
    return text


STYLES = st.sampled_from(["", "bold", "dim", "italic", "red", "bold red", "dim italic", "cyan", "on blue",
                          "not bold", "magenta", "bright_green"])


@st.composite
def text_object(draw) -> term.Text:
    text = term.Text(draw(cell_text()), style=draw(STYLES))
    for _ in range(draw(st.integers(0, 3))):
        if len(text):
            start = draw(st.integers(0, len(text)))
            text.stylize(draw(STYLES) or "bold", start, draw(st.integers(start, len(text))))
    if draw(st.booleans()):
        text.append(draw(cell_text()), style=draw(STYLES) or None)
    return text


cells = st.one_of(cell_text(), text_object(), st.none())
justify = st.sampled_from(["left", "center", "right", "full", "default"])
overflow = st.sampled_from(["fold", "ellipsis", "crop"])
maybe_width = st.one_of(st.none(), st.integers(0, 25))


@st.composite
def table(draw) -> term.Table:
    t = term.Table(title=draw(st.one_of(st.none(), cell_text(), text_object())),
                   caption=draw(st.one_of(st.none(), cell_text(), text_object())),
                   caption_justify=draw(st.sampled_from(["left", "center", "right"])),
                   title_justify=draw(st.sampled_from(["left", "center", "right"])),
                   box=draw(st.sampled_from([term.HEAVY_HEAD, term.SQUARE, None])),
                   show_header=draw(st.booleans()), show_footer=draw(st.booleans()), show_edge=draw(st.booleans()),
                   pad_edge=draw(st.booleans()), padding=draw(st.sampled_from([(0, 1), (0, 0), 1, (0, 2, 0, 1)])),
                   show_lines=draw(st.booleans()), expand=draw(st.booleans()),
                   header_style=draw(st.sampled_from(["table.header", "bold", "", "italic red"])),
                   width=draw(st.one_of(st.none(), st.integers(5, 90))), min_width=draw(st.one_of(st.none(), st.integers(0, 60))))
    for _ in range(draw(st.integers(1, 5))):
        t.add_column(draw(cells) or "", footer=draw(cells) or "", justify=draw(justify), overflow=draw(overflow),
                     no_wrap=draw(st.booleans()), width=draw(maybe_width), min_width=draw(maybe_width),
                     max_width=draw(maybe_width), vertical=draw(st.sampled_from(["top", "middle", "bottom"])),
                     style=draw(st.sampled_from(["", "dim", "green"])))
    for _ in range(draw(st.integers(0, 5))):
        t.add_row(*draw(st.lists(cells, max_size=len(t.columns))), style=draw(st.sampled_from([None, "italic", "bold"])),
                  end_section=draw(st.booleans()))
    return t


def _drawn(render, renderable, width: int, colour: bool) -> str:
    """What a console prints, or the error it stops with (rich asserts on a few degenerate tables:
    term must stop on the same)."""
    try:
        return render(renderable, width, colour)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


@needs_rich_15
@PROFILE
@given(t=table(), width=st.integers(1, 120))
def test_random_tables_draw_as_rich_draws_them(t, width):
    for colour in (False, True):
        assert _drawn(render_term, t, width, colour) == _drawn(render_rich, t, width, colour)


@needs_rich_15
@PROFILE
@given(texts=st.lists(text_object(), min_size=1, max_size=3), width=st.integers(1, 60), justify=justify,
       overflow=overflow, no_wrap=st.sampled_from([None, True, False]))
def test_random_texts_wrap_as_rich_wraps_them(texts, width, justify, overflow, no_wrap):
    for text in texts:
        text.justify, text.overflow, text.no_wrap = justify, overflow, no_wrap
    group = term.Group(*texts)
    for colour in (False, True):
        assert render_term(group, width, colour) == render_rich(group, width, colour)


@needs_rich_15
@settings(max_examples=500, deadline=None)
@given(text=st.lists(st.one_of(st.characters(), WORDS, SPACES), max_size=12).map("".join), width=st.integers(1, 12))
def test_cells_are_counted_and_cut_as_rich_does(text, width):
    from rich import cells
    from rich._wrap import divide_line

    assert term.cell_len(text) == cells.cell_len(text)
    assert term.set_cell_size(text, width) == cells.set_cell_size(text, width)
    assert term.chop_cells(text, width) == cells.chop_cells(text, width)
    for fold in (True, False):
        assert term.divide_line(text, width, fold) == divide_line(text, width, fold)


@needs_rich_15
def test_the_width_table_is_rich_latest():
    from rich._unicode_data import load

    table = load("latest")
    term._load_widths()
    assert term.UNICODE_VERSION == table.unicode_version
    ours = [(s, e, w) for s, e, w in zip(term._WIDTH_STARTS, term._WIDTH_ENDS, term._WIDTH_OF)]
    assert ours == [tuple(r) for r in table.widths if r[2] != 1]
    assert term._WIDE_WITH_VS16 == table.narrow_to_wide


# ---- the console: when it colours and how wide it is ----------------------------------------------

class _Tty(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@needs_rich_15
@pytest.mark.parametrize("tty", [True, False])
@pytest.mark.parametrize("env", [{}, {"NO_COLOR": "1"}, {"TERM": "dumb"}, {"FORCE_COLOR": "1"}, {"FORCE_COLOR": ""},
                                 {"TERM": "xterm-256color"}, {"COLORTERM": "truecolor"}, {"TTY_COMPATIBLE": "0"},
                                 {"TTY_COMPATIBLE": "1", "NO_COLOR": "x"}, {"COLUMNS": "93"}, {"COLUMNS": "93", "LINES": "9",
                                                                                              "TERM": "dumb"},
                                 {"TERM": "dumb", "FORCE_COLOR": "1", "COLUMNS": "70"}])
def test_console_colours_and_sizes_as_rich_does(tty, env):
    from rich.console import Console

    ours, theirs = term.Console(file=_Tty(tty), environ=env), Console(file=_Tty(tty), _environ=env)
    assert (ours.is_terminal, ours.color_system, ours.no_color, ours.size) == \
        (theirs.is_terminal, theirs.color_system, theirs.no_color, tuple(theirs.size))
    text = term.Text("ok ", style="bold green")
    text.append("dim", style="dim")
    theirs.print(to_rich(text))
    ours.print(text)
    assert ours.file.getvalue() == theirs.file.getvalue()


def test_an_output_that_cannot_encode_box_lines_gets_ascii_ones():
    class AsciiFile(io.StringIO):
        encoding = "ascii"

    out = AsciiFile()
    term.Console(file=out, width=80, color_system=None).print(CASES["table-alexnet"][0](80))
    assert out.getvalue().splitlines()[1].startswith("+----") and "┃" not in out.getvalue()


# ---- rich still prints cnncalc's results -----------------------------------------------------------

@needs_rich_15
@pytest.mark.parametrize("colour", [False, True])
def test_rich_prints_a_result_as_cnncalc_does(colour):
    from rich.console import Console

    import cnncalc
    from cnncalc.report.console import SafeConsole

    for result in (cnncalc.analyze("alexnet"), cnncalc.analyze("lenet5").memory(), cnncalc.compare(["lenet5", "alexnet"])):
        theirs, ours = io.StringIO(), io.StringIO()
        kw = {"color_system": "standard", "force_terminal": True} if colour else {"color_system": None}
        Console(file=theirs, width=90, **kw).print(result)  # __rich_console__: term draws, rich writes
        SafeConsole(file=ours, width=90, **kw).print(result)
        assert theirs.getvalue() == ours.getvalue()


def test_a_name_handed_to_rich_is_never_markup():
    from rich.console import Console

    from tests.conftest import analyse_text

    a = analyse_text('name: "[bold]x[/bold] \\x1b[31m"\ninput: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 3, name: "[red]c"}\n')
    out = io.StringIO()
    Console(file=out, width=100, force_terminal=True, color_system="standard").print(a)
    assert "[bold]x[/bold] \\x1b[31m" in out.getvalue() and "[red]c" in out.getvalue()


# ---- no rich on the fast paths --------------------------------------------------------------------

@pytest.mark.parametrize("args", [["table", "resnet152"], ["memory", "resnet50"], ["compare", "alexnet", "vgg16"],
                                  ["explain", "alexnet"], ["list"], ["sweep", "resnet50", "--batch", "1,2,4"],
                                  ["check", "alexnet"]])
def test_a_command_imports_no_rich(args, tmp_path):
    code = ("import sys\nfrom cnncalc.cli import run\nstatus = run(sys.argv[1:])\n"
            "sys.stderr.write('\\n' + ' '.join(m for m in sys.modules if m == 'rich' or m.startswith('rich.')))\n"
            "sys.exit(status)\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "CNNCALC_CACHE": str(tmp_path), "FORCE_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.splitlines()[-1] == "", proc.stderr.splitlines()[-1]
