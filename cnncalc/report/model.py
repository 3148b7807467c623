"""The table model: what every rendering of one (analysis, view) shares, built once.

Stage: report (pure). In: Analysis + View. Out: the display rows (view.display_rows, kept on
the analysis per fold and depth), the receptive fields, and the lecture table as a Grid of
cells, which markdown, csv, latex, html, the notebook and the web page all format; the rich
table (report/table.py), the drawing and the plots read the same rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncalc.report import view as v
from cnncalc.report.grid import Grid

if TYPE_CHECKING:
    from cnncalc.engine.analysis import Analysis


def receptive_fields(analysis: Analysis) -> list[Any]:
    """Every node's receptive field (rf.py), computed once per analysis."""
    fields = analysis.memo.get("rf")
    if fields is None:
        from cnncalc.rf import receptive_fields as compute  # only for --rf

        fields = analysis.memo["rf"] = compute(analysis.graph)
    return fields  # type: ignore[return-value]


def table_grid(analysis: Analysis, view: v.View) -> Grid:
    """The lecture table as a Grid, folded as the terminal table is: relu/bn/... rows folded into
    the row above and named after it ("conv1 +bn+relu"), a subtotal after each stage of blocks
    (view.fold False, --all: every layer, no subtotals). CSV cells are raw integers."""
    view = v.lecture_scales(analysis, view)  # the units that show this network (no non-zero 0)
    raw = view._replace(units="raw")
    rows = v.display_rows(analysis, view)
    g = analysis.graph
    fields = receptive_fields(analysis) if view.rf else []
    extra = (lambda r: v.rf_cells(r, fields)) if view.rf else (lambda r: [])
    rf_head = list(v.RF_COLUMNS) if view.rf else []
    counts = analysis.counted(view.convention)
    ends = {end: (start, stage) for start, end, stage in v.subtotals(rows)} if view.fold and view.depth != 1 else {}
    blank = [""] * (len(v.COLUMNS) + len(rf_head) - 1)
    cells, raw_cells, subtotal_rows = [], [], []
    for i, r in enumerate(rows):
        name, *rest = v.layer_cells(r)
        cells.append([name + v.row_suffix(r), *rest, *extra(r), *v.number_cells(r, analysis, view)])
        raw_cells.append([name, *rest, *extra(r), str(r.memory_bytes()), str(r.params(raw)), str(r.flop(counts))])
        if i in ends:
            start, stage = ends[i]
            subtotal_rows.append(len(cells))
            cells.append([v.subtotal_label(stage).strip(), *blank,
                          *v.number_cells(v.merged(rows[start: i + 1]), analysis, view)])
    grid = Grid(title=f"{g.name}: input {'x'.join(map(str, g.input_shape))}",
                headers=[*v.COLUMNS, *rf_head, *v.headers(view)], rows=cells,
                total=["total", *blank, *v.total_cells(analysis, view)],
                caption=v.caption(analysis, view), raw_rows=raw_cells)
    grid.subtotal_rows = subtotal_rows
    grid.width = view.latex_width
    if view.columns:  # --columns: those, in that order
        from cnncalc.report.columns import select

        return select(grid, view.columns, view.rf)
    return grid
