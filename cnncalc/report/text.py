"""Plain-text reports of the layer table: JSON with exact integers (for scripts), and the
Markdown, CSV, LaTeX and HTML tables of report/grid.py.

Stage: report (pure). In: Analysis + View. Out: a string. No rich, no printing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncalc.report import view as v

if TYPE_CHECKING:
    from cnncalc.engine.analysis import Analysis
    from cnncalc.report.grid import Grid

# the text formats of report/grid.py (whose modules the JSON path does not import, issue 35)
FORMATS = ("markdown", "csv", "latex", "html")


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
        from cnncalc.report.model import receptive_fields

        fields = receptive_fields(analysis)
        for entry, row in zip(entries, analysis.rows):
            f = fields[row.index]
            # a jump below one input pixel (after upsampling: dcgan, unet_bilinear) is a fraction, "1/2"
            entry["receptive_field"] = {"size": [x if isinstance(x, int) else str(x) for x in f.size],
                                        "jump": [x if isinstance(x, int) else str(x) for x in f.jump],
                                        "start": [str(x) for x in f.start]}
    t = analysis.totals
    profile = get_profile(view.convention)
    return {
        "name": g.name, "description": g.description, "input": list(g.input_shape),
        "outputs": [{"name": g.nodes[i].name, "shape": list(g.nodes[i].shape)} for i in g.output_nodes],
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


try:  # a str as json.dumps writes it (ensure_ascii), by json's own C function: the JSON path
    # imports no json package (its decoder and scanner are ~1 ms of a run, issue 35)
    from _json import encode_basestring_ascii as _string
except ImportError:  # (a Python without the C accelerator)
    from json.encoder import encode_basestring_ascii as _string


def _value(value: Any, indent: str) -> str:
    """value as json.dumps(value, indent=2) writes it, nested `indent` deep: the document's head
    holds only dicts, lists, str, int, bool and None (tests/test_reports.py compares the two on
    every bundled spec)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return int.__repr__(value)
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        return ("{\n" + ",\n".join(f"{inner}{_string(k)}: {_value(v, inner)}" for k, v in value.items())
                + f"\n{indent}}}")
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(inner + _value(v, inner) for v in value) + f"\n{indent}]"
    import json  # anything else (a float): json's own writing

    return json.dumps(value, indent=2).replace("\n", "\n" + indent)


def render_json(analysis: Analysis, view: v.View) -> str:
    """Indented JSON with one layer per line: readable, and fast (json.dumps(indent=...) uses the
    pure-Python encoder, 10x slower on a big network). Each layer is written as json.dumps
    would write it (same keys, order and spacing as to_dict), directly: json.dumps per layer
    builds a new encoder each call and costs 3x more; names and shapes, which repeat, are
    written once each."""
    data = to_dict(analysis, view, layers=view.rf)
    head = _value({k: val for k, val in data.items() if k != "layers"}, "")[:-2]
    if view.rf:
        import json

        body = ",\n    ".join(json.dumps(layer) for layer in data["layers"])
        return f'{head},\n  "layers": [\n    {body}\n  ]\n}}\n'
    quoted = [_string(node.name) for node in analysis.graph.nodes]
    shapes: dict[tuple, str] = {}

    def ints(shape: tuple) -> str:
        text = shapes.get(shape)
        if text is None:
            text = shapes[shape] = "[" + ", ".join(map(str, shape)) + "]"
        return text

    flops, counted = analysis.counted("torch"), analysis.counted(view.convention)
    weights_only = view.weights_only
    lines = []
    for i, row in enumerate(analysis.rows):
        node, inputs = row.node, row.inputs
        shape_in = ints(inputs[0]) if len(inputs) == 1 else "[" + ", ".join(map(ints, inputs)) + "]"
        params = row.weights if weights_only else row.weights + row.biases
        lines.append(
            f'{{"name": {quoted[row.index]}, "type": {_string(node.op.type)}, "input": {shape_in}, '
            f'"output": {ints(node.shape)}, "params": {params}, "weights": {row.weights}, '
            f'"biases": {row.biases}, "macs": {row.macs}, "flops": {flops[i]}, "counted": {counted[i]}, '
            f'"elementwise_ops": {row.elem_ops}, "memory_bytes": {row.memory_bytes}, '
            f'"output_bytes": {row.output_bytes}, "inplace": {"true" if node.op.inplace else "false"}, '
            f'"train_only": {"true" if node.train_only else "false"}, '
            f'"inputs": [{", ".join([quoted[j] for j in node.inputs])}]}}')
    body = ",\n    ".join(lines)
    return f'{head},\n  "layers": [\n    {body}\n  ]\n}}\n'


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
    from cnncalc.report.grid import WRITERS
    from cnncalc.report.model import table_grid

    if fmt == "csv":
        return WRITERS[fmt](_csv_grid(analysis, view))
    return WRITERS[fmt](table_grid(analysis, view))


def _csv_grid(analysis: Analysis, view: v.View) -> Grid:
    """The CSV's grid: every layer (unless --depth asks for block rows), raw integers, raw-unit headers."""
    from cnncalc.report.model import table_grid

    grid = table_grid(analysis, (view if view.depth is not None else view._replace(fold=False))._replace(columns=None))
    grid.headers = [*grid.headers[:-3], *v.headers(view._replace(units="raw"))]
    if view.columns:  # chosen after the raw headers are in place
        from cnncalc.report.columns import select

        grid = select(grid, view.columns, view.rf)
    return grid


def render_any(analysis: Analysis, view: v.View, fmt: str, width: int | None = None) -> str:
    """Any report format as a string: the text formats, or `rich` (the terminal table as plain
    text, `width` columns: 120 unsaid, as the golden files pin it)."""
    if fmt != "rich":
        if fmt not in ("json", *FORMATS):
            from cnncalc.errors import UsageError

            raise UsageError(None, f"unknown format '{fmt}'", "choose one of: rich, json, " + ", ".join(FORMATS))
        return render(analysis, view, fmt)
    import io

    from cnncalc.report.console import SafeConsole
    from cnncalc.report.table import render_table

    out = io.StringIO()
    SafeConsole(file=out, width=width or 120, color_system=None).print(render_table(analysis, view, width or 120))
    return out.getvalue()


def render_several(analyses: list[Analysis], view: v.View, fmt: str, names: list[str]) -> str:
    """Several tables in one text format (`cnncalc table A B`): json a list of the documents,
    html one page of tables (the interactive report draws one network), csv one table with a
    leading spec column (names: how each spec was given), the others one after another."""
    if fmt == "json":
        return "[\n" + ",\n".join(render(a, view, fmt).rstrip("\n") for a in analyses) + "\n]\n"
    if fmt == "html":
        from cnncalc.report.grid import to_html_many
        from cnncalc.report.model import table_grid

        return to_html_many([table_grid(a, view) for a in analyses])
    if fmt == "csv":
        from cnncalc.report.grid import Grid, to_csv
  # one table: a cell with a line break spans lines, so rows are joined as grids
        grids = [_csv_grid(a, view) for a in analyses]
        rows = [[name, *row] for name, grid in zip(names, grids) for row in (grid.raw_rows or grid.rows)]
        return to_csv(Grid("", ["spec", *grids[0].headers], rows))
    return "\n".join(render(a, view, fmt) for a in analyses)


def render_csv(analysis: Analysis, view: v.View) -> str:
    """CSV of the displayed rows with raw integers (bytes, params, MACs or FLOPs)."""
    return render(analysis, view, "csv")


def render_markdown(analysis: Analysis, view: v.View) -> str:
    """A GitHub-flavoured Markdown table with a totals row and the caption under it."""
    return render(analysis, view, "markdown")
