"""Plain-text reports of the layer table: JSON with exact integers (for scripts), and the
Markdown, CSV, LaTeX and HTML tables of report/grid.py.

Stage: report (pure). In: Analysis + View. Out: a string. No rich, no printing.
"""

from __future__ import annotations

import json
from typing import Any

from cnncalc.engine import Analysis
from cnncalc.report import view as v
from cnncalc.report.grid import WRITERS, Grid


def to_dict(analysis: Analysis, view: v.View, layers: bool = True) -> dict[str, Any]:
    """Every graph node (folded ones too) with exact integers, plus totals and the convention.

    flops is FlopCounterMode's count (the torch profile); counted is what the chosen profile's
    tool reports (the flop column of the table)."""
    from cnncalc.conventions import get_profile

    g = analysis.graph
    flops, counted = analysis.counted("torch"), analysis.counted(view.convention)

    def layer(row) -> dict[str, Any]:
        inputs = [list(s) for s in row.inputs]
        return {"name": row.name, "type": row.type, "input": inputs[0] if len(inputs) == 1 else inputs,
                "output": list(row.output), "params": v.params_of(row, view),
                "weights": row.weights, "biases": row.biases, "macs": row.macs, "flops": flops[row.index - 1],
                "counted": counted[row.index - 1],
                "elementwise_ops": row.elem_ops, "memory_bytes": row.memory_bytes,
                "output_bytes": row.output_bytes, "inplace": row.node.op.inplace,
                "train_only": row.node.train_only, "inputs": [g.nodes[i].name for i in row.node.inputs]}

    entries = [layer(r) for r in analysis.rows] if layers else []
    if view.rf and layers:
        fields = _fields(g)
        for entry, row in zip(entries, analysis.rows):
            f = fields[row.index]
            entry["receptive_field"] = {"size": list(f.size), "jump": list(f.jump), "start": [str(x) for x in f.start]}
    t = analysis.totals
    profile = get_profile(view.convention)
    return {
        "name": g.name, "description": g.description, "input": list(g.input_shape),
        "convention": {"profile": profile.name, "unit": profile.unit_label, "tool": profile.tool,
                       "counts": profile.description,
                       "params": "weights" if view.weights_only else "all", "macs": "multiply-adds",
                       "flops": "FlopCounterMode FLOPs (the torch profile)", "batch": analysis.batch,
                       "dtype": analysis.dtype.name, "bytes_per_element": analysis.dtype.bytes},
        "layers": entries,
        "total": {"params": v.params_of(t, view), "weights": t.weights, "biases": t.biases,
                  "macs": t.macs, "flops": sum(flops), "counted": sum(counted), "elementwise_ops": t.elem_ops,
                  "memory_bytes": t.memory_bytes, "input_bytes": analysis.input_bytes},
    }


def _fields(graph):
    from cnncalc.rf import receptive_fields  # only for --rf

    return receptive_fields(graph)


def _ints(values) -> str:
    return "[" + ", ".join(map(str, values)) + "]"


def _layer_line(row, names: list[str], weights_only: bool, flops: int, counted: int) -> str:
    """One layer as json.dumps would write it (same keys, order and spacing as to_dict), written
    directly: json.dumps per layer builds a new encoder each call and costs 3x more."""
    inputs = row.inputs
    shape_in = _ints(inputs[0]) if len(inputs) == 1 else "[" + ", ".join(map(_ints, inputs)) + "]"
    sources = "[" + ", ".join(json.dumps(names[i]) for i in row.node.inputs) + "]"
    params = row.weights if weights_only else row.weights + row.biases
    return (f'{{"name": {json.dumps(row.name)}, "type": {json.dumps(row.type)}, "input": {shape_in}, '
            f'"output": {_ints(row.output)}, "params": {params}, "weights": {row.weights}, '
            f'"biases": {row.biases}, "macs": {row.macs}, "flops": {flops}, "counted": {counted}, '
            f'"elementwise_ops": {row.elem_ops}, "memory_bytes": {row.memory_bytes}, '
            f'"output_bytes": {row.output_bytes}, "inplace": {"true" if row.node.op.inplace else "false"}, '
            f'"train_only": {"true" if row.node.train_only else "false"}, '
            f'"inputs": {sources}}}')


def render_json(analysis: Analysis, view: v.View) -> str:
    """Indented JSON with one layer per line: readable, and fast (json.dumps(indent=...) uses the
    pure-Python encoder, 10x slower on a big network)."""
    data = to_dict(analysis, view, layers=view.rf)
    head = json.dumps({k: val for k, val in data.items() if k != "layers"}, indent=2)[:-2]
    if view.rf:
        body = ",\n    ".join(json.dumps(layer) for layer in data["layers"])
    else:
        names = [node.name for node in analysis.graph.nodes]
        flops, counted = analysis.counted("torch"), analysis.counted(view.convention)
        body = ",\n    ".join(_layer_line(row, names, view.weights_only, flops[i], counted[i])
                              for i, row in enumerate(analysis.rows))
    return f'{head},\n  "layers": [\n    {body}\n  ]\n}}\n'



def table_grid(analysis: Analysis, view: v.View) -> Grid:
    """The lecture table as a Grid, folded as the terminal table is: relu/bn/... rows folded into
    the row above and named after it ("conv1 +bn+relu"), a subtotal after each stage of blocks
    (view.fold False, --all: every layer, no subtotals). CSV cells are raw integers."""
    raw = view._replace(units="raw")
    rows = v.display_rows(analysis, view)
    g = analysis.graph
    fields = _fields(g) if view.rf else []
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
    return grid


def render(analysis: Analysis, view: v.View, fmt: str) -> str:
    """The table in one of the text formats: markdown, latex, html folded like the lecture (as
    the view says; html: the interactive report of report/web.py around that table); csv every
    layer, raw integers (a spreadsheet sums its own subtotals; an explicit --depth still gives one
    row per block); json: render_json, every layer too."""
    if fmt == "json":
        return render_json(analysis, view)
    if fmt == "html":  # the interactive report: graph and lecture table, one self-contained page
        from cnncalc.report.web import report_page

        return report_page(analysis, view)
    if fmt == "csv":  # every layer (unless --depth asks for block rows), raw integers, raw-unit headers
        grid = table_grid(analysis, view if view.depth is not None else view._replace(fold=False))
        grid.headers = [*grid.headers[:-3], *v.headers(view._replace(units="raw"))]
        return WRITERS[fmt](grid)
    return WRITERS[fmt](table_grid(analysis, view))


def render_any(analysis: Analysis, view: v.View, fmt: str) -> str:
    """Any report format as a string: the text formats, or `rich` (the terminal table as plain
    text, 120 columns, as the golden files pin it)."""
    if fmt != "rich":
        if fmt not in ("json", *WRITERS):
            from cnncalc.errors import UsageError

            raise UsageError(None, f"unknown format '{fmt}'", "choose one of: rich, json, " + ", ".join(WRITERS))
        return render(analysis, view, fmt)
    import io

    from cnncalc.report.console import SafeConsole
    from cnncalc.report.table import render_table

    out = io.StringIO()
    SafeConsole(file=out, width=120, color_system=None).print(render_table(analysis, view, 120))
    return out.getvalue()


def render_csv(analysis: Analysis, view: v.View) -> str:
    """CSV of the displayed rows with raw integers (bytes, params, MACs or FLOPs)."""
    return render(analysis, view, "csv")


def render_markdown(analysis: Analysis, view: v.View) -> str:
    """A GitHub-flavoured Markdown table with a totals row and the caption under it."""
    return render(analysis, view, "markdown")
