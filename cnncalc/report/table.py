"""The lecture table as a rich renderable (the EECS 498 columns), plus the bundled-zoo listing.

Stage: report. In: Analysis + View. Out: a rich Table; writing it is the caller's (a Console).
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from cnncalc.engine import Analysis
from cnncalc.report import view as v

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
    blocks (a flat 100k-layer spec): rich spends ~1 ms a row, and nobody reads 100k rows in a
    terminal. --all and the text formats always show every row."""
    if view.fold is False or n_rows <= v.MAX_TERMINAL_ROWS:
        return n_rows, n_rows
    return v.MAX_TERMINAL_ROWS - 20, n_rows - 20


def render_table(analysis: Analysis, view: v.View) -> Table:
    """Layer | Input C | Input H/W | filters | kernel | stride | pad | Output C | Output H/W |
    memory | params | flop | share, one row per (folded) layer, subtotals after each stage of
    blocks, then the totals row and the caption."""
    g = analysis.graph
    title = f"{g.name}: input {'x'.join(map(str, g.input_shape))}"
    table = Table(title=title, caption=v.caption(analysis, view), show_footer=True,
                  caption_justify="left", header_style="bold")
    table.add_column("Layer", footer="total", no_wrap=True, max_width=40, overflow="ellipsis")
    for head in v.COLUMNS[1:] + (v.RF_COLUMNS if view.rf else ()):
        table.add_column(head, justify="right")
    fields = []
    if view.rf:
        from cnncalc.rf import receptive_fields

        fields = receptive_fields(g)
    for head, total in zip(v.headers(view), v.total_cells(analysis, view)):
        table.add_column(head, justify="right", footer=total)
    table.add_column("m p f", justify="left", no_wrap=True)
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
        label = Text(name)
        if row.label:
            label.append(f" ({len(row.members)} layers)", style="dim")
        elif row.folded:
            label.append(" +" + "+".join(r.type for r in row.folded), style="dim")
        if row.lead.node.train_only:
            label.append(" (training only)", style="dim")
        rf = v.rf_cells(row, fields) if view.rf else []
        table.add_row(label, *cells, *rf, *v.number_cells(row, analysis, view), share_cell(row, analysis, view))
        if i in ends:
            start, stage = ends[i]
            sums = v.number_cells(v.merged(rows[start: i + 1]), analysis, view)
            table.add_row(Text(f"  {stage} subtotal", style="italic"),
                          *[""] * (len(v.COLUMNS) - 1 + (len(v.RF_COLUMNS) if view.rf else 0)),
                          *[Text(c, style="italic") for c in sums], "", end_section=True)
    return table


FAMILIES = ("LeNet", "AlexNet & ZFNet", "VGG", "GoogLeNet & Inception", "ResNet", "ResNet variants",
            "DenseNet", "Efficient networks", "NASNet", "RegNet", "ConvNeXt", "Vision transformers")


def render_zoo(entries: list[tuple[str, str, Analysis]]) -> Table:
    """`cnncalc list`: the bundled architectures grouped by family, with their totals (the
    lecture's "comparing complexity" at a glance)."""
    table = Table(title="bundled architectures", caption_justify="left",
                  caption="params = weights + biases · MACs = multiply-adds (conv, linear, pooling) · "
                          "memory = activations of one float32 sample, in-place ops 0")
    for head in ("name", "input", "params (M)", "MACs (M)", "memory (MB)", "description"):
        table.add_column(head, justify="left" if head in ("name", "input", "description") else "right")
    order = {f: i for i, f in enumerate(FAMILIES)}
    groups: dict[str, list] = {}
    for entry in entries:
        groups.setdefault(entry[2].graph.family or "other", []).append(entry)
    for family in sorted(groups, key=lambda f: order.get(f, len(order))):
        table.add_row(Text(family, style="bold"), end_section=False)
        for name, description, a in sorted(groups[family], key=lambda e: (e[2].totals.macs, e[0])):  # small to large
            t = a.totals
            macs = f"{t.macs / 1e6:,.0f}" if t.macs >= 10**7 else f"{t.macs / 1e6:.2f}"
            table.add_row("  " + name, "x".join(map(str, a.graph.input_shape)), f"{t.params / 1e6:.2f}", macs,
                          f"{t.memory_bytes / 2**20:.1f}", description)
        table.rows[-1].end_section = True
    return table
