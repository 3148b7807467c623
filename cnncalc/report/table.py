"""The lecture table as a terminal renderable (the EECS 498 columns), plus the bundled-zoo listing.

Stage: report. In: Analysis + View. Out: a Table (report/term.py); writing it is the caller's (a Console).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cnncalc.errors import safe_text
from cnncalc.record import Record
from cnncalc.report import view as v
from cnncalc.report.console import plain
from cnncalc.report.grid import Grid
from cnncalc.report.term import Table, Text

if TYPE_CHECKING:
    from cnncalc.engine.analysis import Analysis

_LEVELS = " ▁▂▃▄▅▆▇█"


def share_cell(row: v.DisplayRow, analysis: Analysis, view: v.View) -> Text:
    """Three one-character bars: this row's share of total memory, params and flop (a full block
    is 100%), so the heaviest layers stand out: early convs (memory), FC (params), convs (flop)."""
    t = analysis.totals
    parts = [(row.memory_bytes(), t.memory_bytes, "cyan"), (row.params(view), v.params_of(t, view), "magenta"),
             (row.flop(analysis.counted(view.convention)), v.total_flop(analysis, view), "yellow")]
    cell = Text()
    for i, (part, total, style) in enumerate(parts):
        level = -(-part * 8 // total) if total else 0  # ceil: any non-zero share shows
        cell.append(_LEVELS[level], style=style)
        if i < 2:
            cell.append(" ")
    return cell


def _visible(n_rows: int, view: v.View) -> tuple[int, int]:
    """Rows [head, tail) are elided when a terminal table would still be too long after folding
    blocks (a flat 100k-layer spec): drawing takes ~0.3 ms a row, and nobody reads 100k rows in a
    terminal. --all and the text formats always show every row."""
    if view.fold is False or n_rows <= v.MAX_TERMINAL_ROWS:
        return n_rows, n_rows
    return v.MAX_TERMINAL_ROWS - 20, n_rows - 20


class Layout(Record):
    """Which of the lecture table's descriptive columns a terminal table shows (the numbers
    always show, whole). render_table tries LAYOUTS in order and keeps the first that fits."""

    window: str = "columns"  # columns: filters | kernel | stride | pad; cell: one "11 s4 p2" cell; none
    inputs: bool = True  # Input C and Input H/W (each row's input is the row above's output)
    share: bool = True  # the m p f share bars
    output: str = "columns"  # columns: Output C | Output H/W; cell: one "64x56x56" cell; none


LAYOUTS = (Layout(), Layout(window="cell"), Layout(window="cell", inputs=False),
           Layout(window="cell", inputs=False, share=False), Layout(window="none", inputs=False, share=False),
           Layout(window="none", inputs=False, share=False, output="cell"),
           Layout(window="none", inputs=False, share=False, output="none"))
# how far a layout's names may wrap: not at all, at spaces, or mid-word down to 10 cells; the
# narrow layouts (one output cell or none) are tried with wrapped names before the next is
ATTEMPTS = [*((layout, "no") for layout in LAYOUTS[:5]),
            *((layout, wrap) for layout in LAYOUTS[5:] for wrap in ("spaces", "anywhere"))]


def _left_out(layout: Layout) -> str:
    """What the caption says a narrow layout changed (and how to see everything)."""
    said = []
    if layout.window == "cell":
        said.append("kernel = size s stride p pad (filters = Output C)")
    elif layout.window == "none":
        said.append("kernel, stride and pad")
    if not layout.inputs:
        said.append("input columns (each row's input is the row above's output)")
    if not layout.share:
        said.append("share bars")
    if layout.output == "none":
        said.append("output shapes")
    if not said:
        return ""
    moved = [s for s in said if s.startswith("kernel =")]
    dropped = [s for s in said if not s.startswith("kernel =")]
    text = f" · narrow terminal: {moved[0]}" if moved else " · narrow terminal:"
    if dropped:
        text += ("; " if moved else " ") + ", ".join(dropped) + " left out"
    return text + " (a wider terminal or --format markdown shows every column)"


def _window_cell(cells: list[str]) -> str:
    """filters, kernel, stride, pad cells as one: kernel 11, stride 4, pad 2 -> "11 s4 p2"."""
    _, kernel, stride, pad = cells
    if not kernel:
        return ""
    return " ".join(filter(None, (kernel, f"s{stride}" if stride else "", f"p{pad}" if pad else "")))


def render_table(analysis: Analysis, view: v.View, width: int | None = None) -> Table:
    """Layer | Input C | Input H/W | filters | kernel | stride | pad | Output C | Output H/W |
    memory | params | flop | share, one row per (folded) layer, subtotals after each stage of
    blocks, then the totals row and the caption. Given a width, the first of LAYOUTS that fits
    it without cutting a number or wrapping a name (report/fit.py); none fitting, the most compact
    one, its names wrapped (and at worst every cell: digits wrap, never vanish)."""
    from cnncalc.report.fit import fit, fold_everything

    view = v.lecture_scales(analysis, v.terminal_view(analysis, view))
    if view.columns:  # --columns: the chosen cells as every text format shows them
        from cnncalc.report.model import table_grid

        chosen = grid_table(table_grid(analysis, view))
        return chosen if fit(chosen, width, wrap=(0,)) else fold_everything(chosen)
    built: dict[Layout, Table] = {}
    for layout, wrap in ATTEMPTS:  # a row on one line reads best: names wrap only when narrow
        if layout not in built:
            built[layout] = _table(analysis, view, layout)
        table = built[layout]
        if fit(table, width, wrap=() if wrap == "no" else (0,), least_of={0: 10} if wrap == "anywhere" else None):
            return table
    return fold_everything(table)


def _table(analysis: Analysis, view: v.View, layout: Layout) -> Table:
    g = analysis.graph
    title = f"{g.name}: input {'x'.join(map(str, g.input_shape))}"
    table = Table(title=title, caption=v.caption(analysis, view) + _left_out(layout), show_footer=True,
                  caption_justify="left", header_style="bold")
    table.add_column("Layer", footer="total", no_wrap=True, max_width=40, overflow="fold")
    heads = list(v.COLUMNS[1:])
    keep = [layout.inputs, layout.inputs] + [layout.window == "columns"] * 4 + [layout.output != "none"] * 2

    def descriptive(cells: list[str], output: str = "Output") -> list[str]:
        shown = [c for c, k in zip(cells, keep) if k]
        at = 2 if layout.inputs else 0
        if layout.window == "cell":
            shown.insert(at, _window_cell(cells[2:6]))
        if layout.output == "cell":  # the whole output shape: 64x56x56
            shown[-2:] = [output]
        return shown

    shown = descriptive(heads)
    if layout.window == "cell":
        shown[2 if layout.inputs else 0] = "kernel"
    for head in shown:
        table.add_column(head, justify="right")
    for head in v.RF_COLUMNS if view.rf else ():
        table.add_column(head, justify="right")
    fields = []
    if view.rf:
        from cnncalc.report.model import receptive_fields

        fields = receptive_fields(analysis)
    for head, total in zip(v.headers(view), v.total_cells(analysis, view)):
        table.add_column(head, justify="right", footer=total)
    if layout.share:
        table.add_column("m p f", justify="left", no_wrap=True)
    n_described = len(table.columns) - 3 - (1 if layout.share else 0)
    rows = v.display_rows(analysis, view)
    ends = {end: (start, stage) for start, end, stage in v.subtotals(rows)} if view.depth != 1 else {}
    first, tail = _visible(len(rows), view)
    for i, row in enumerate(rows):
        if first <= i < tail:  # too many rows for a terminal: the middle is elided (totals stay exact)
            if i == first:
                table.add_row(Text(f"... {tail - first:,} rows not shown", style="dim italic"),
                              *[""] * (len(table.columns) - 1))
            continue
        name, *cells = v.layer_cells(row)
        label = plain(name)
        label.append(v.row_suffix(row), style="dim")
        rf = v.rf_cells(row, fields) if view.rf else []
        share = [share_cell(row, analysis, view)] if layout.share else []
        table.add_row(label, *descriptive(cells, "x".join(map(str, row.output))), *rf, *v.number_cells(row, analysis, view), *share)
        if i in ends:
            start, stage = ends[i]
            sums = v.number_cells(v.merged(rows[start: i + 1]), analysis, view)
            table.add_row(Text(v.subtotal_label(stage), style="italic"), *[""] * (n_described - 1),
                          *[Text(c, style="italic") for c in sums], *([""] if layout.share else []),
                          end_section=True)
    return table


FAMILIES = ("LeNet", "AlexNet & ZFNet", "VGG", "GoogLeNet & Inception", "ResNet", "ResNet variants",
            "DenseNet", "Efficient networks", "NASNet", "RegNet", "ConvNeXt", "Vision transformers", "Video", "Segmentation",
            "Detection", "Hand-built")


def render_zoo(entries: Sequence[tuple[str, str, Analysis]], width: int | None = None) -> Table:
    """`cnncalc list`: the bundled architectures grouped by family, with their totals (the
    lecture's "comparing complexity" at a glance). Given a width, the descriptions wrap to fit
    it, or go under the names when the terminal is narrow; a name or a number is never cut."""
    from cnncalc.report.fit import fit, fitted

    table = _zoo(entries, stacked=False)
    if fit(table, width, wrap=(5,)):
        return table
    longest = max((len(name) + 2 for name, _, _ in entries), default=0)  # "  name": never cut
    table = _zoo(entries, stacked=True)
    if fit(table, width, wrap=(0,), least_of={0: longest}):
        return table
    # narrower still (deeplabv3_mobilenet_v3_large at 60 columns): the memory column goes
    return fitted(_zoo(entries, stacked=True, memory=False), width, wrap=(0,), least_of={0: longest})


def _zoo(entries: Sequence[tuple[str, str, Analysis]], stacked: bool, memory: bool = True) -> Table:
    caption = ("params = weights + biases · MACs = multiply-adds (conv, linear, pooling) · "
               + ("memory = activations of one float32 sample, in-place ops 0" if memory else
                  "narrow terminal: the memory column left out (cnncalc compare shows it)"))
    table = Table(title="bundled architectures", caption_justify="left", caption=caption)
    heads: tuple[str, ...] = ("name", "input", "params (M)", "MACs (M)", "memory (MB)", "description")
    if stacked:  # narrow: input and description go under the name
        heads = ("name: input, description", *heads[2:5 if memory else 4])
    for head in heads:
        table.add_column(head, justify="left" if head.startswith("name") or head in ("input", "description")
                         else "right")
    order = {f: i for i, f in enumerate(FAMILIES)}
    groups: dict[str, list] = {}
    for entry in entries:
        groups.setdefault(entry[2].graph.family or "other", []).append(entry)
    for family in sorted(groups, key=lambda f: order.get(f, len(order))):
        table.add_row(Text(family, style="bold"), end_section=False)
        for name, description, a in sorted(groups[family], key=lambda e: (e[2].totals.macs, e[0])):  # small to large
            t = a.totals
            macs = v.fixed(t.macs, 10**6, 0 if t.macs >= 10**7 else 2)
            shape = "x".join(map(str, a.graph.input_shape))
            numbers = (v.fixed(t.params, 10**6, 2), macs, v.fixed(t.memory_bytes, 2**20, 1))[:3 if memory else 2]
            if stacked:
                label = plain("  " + name)
                label.append(safe_text(f"\n  {shape}: {description}"), style="dim")
                table.add_row(label, *numbers, end_section=True)
            else:
                table.add_row("  " + name, shape, *numbers, description)
        table.rows[-1].end_section = True
    return table


def grid_table(grid: Grid) -> Table:
    """A Grid (report/grid.py) as a terminal Table: its title, cells, subtotal rows in italics, the
    totals row in bold and its caption."""
    table = Table(title=plain(grid.title), caption=plain(grid.caption), caption_justify="left")
    for i, head in enumerate(grid.headers):
        table.add_column(plain(head), justify="right" if grid.is_numeric(i) else "left")
    subtotals = set(grid.subtotal_rows)
    for i, row in enumerate(grid.rows):
        table.add_row(*map(plain, row), style="italic" if i in subtotals else None, end_section=i + 1 in subtotals)
    if grid.total:
        table.add_section()
        table.add_row(*map(plain, grid.total), style="bold")
    return table
