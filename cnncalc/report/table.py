"""The lecture table as a rich renderable (the EECS 498 columns), plus the bundled-zoo listing.

Stage: report. In: Analysis + View. Out: a rich Table; writing it is the caller's (a Console).
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from cnncalc.engine import Analysis
from cnncalc.report import view as v


def render_table(analysis: Analysis, view: v.View) -> Table:
    """Layer | Input C | Input H/W | filters | kernel | stride | pad | Output C | Output H/W |
    memory | params | flop, one row per (folded) layer, then the totals row and the caption."""
    mem_h, par_h, flop_h = v.headers(view)
    g = analysis.graph
    title = f"{g.name}: input {'x'.join(map(str, g.input_shape))}"
    table = Table(title=title, caption=v.caption(analysis, view), show_footer=True,
                  caption_justify="left", header_style="bold")
    table.add_column("Layer", footer="total", no_wrap=True)
    for head in ("Input C", "Input H/W", "filters", "kernel", "stride", "pad", "Output C", "Output H/W"):
        table.add_column(head, justify="right")
    rows = v.display_rows(analysis, view)
    t = analysis.totals
    table.add_column(mem_h, justify="right", footer=v.fmt_memory(t.memory_bytes, view))
    table.add_column(par_h, justify="right", footer=v.fmt_params(t.params(view.weights_only), view))
    table.add_column(flop_h, justify="right", footer=v.fmt_flop(t.macs * (2 if view.flops else 1), view))
    for row in rows:
        lead = row.lead
        cols = lead.node.op.columns()
        label = Text(lead.name)
        if row.folded:
            label.append(" +" + "+".join(r.type for r in row.folded), style="dim")
        in_c, in_hw = v.input_cells(lead)
        out = row.output
        table.add_row(label, in_c, in_hw, v.fmt_pair(cols.get("filters")), v.fmt_pair(cols.get("kernel")),
                      v.fmt_pair(cols.get("stride")), v.fmt_pad(cols), str(out[0]), v.fmt_hw(out),
                      v.fmt_memory(row.memory_bytes(), view), v.fmt_params(row.params(view), view),
                      v.fmt_flop(row.flop(view), view))
    return table
