"""The interactive pages: the report (`table --format html`), the graph page (`graph -o x.html`)
and the live editor's page (`cnncalc serve`), one self-contained HTML file each.

Stage: report (pure). In: Analysis + View + the measure that colours the graph. Out: a string
(or, for the live editor, plain data the server sends as JSON). The page carries everything
inline: cnncalc/data/web/app.css, app.js and the vendored dagre layout (read from the package,
never fetched), and the drawing model (report/drawing.py) with the table's exact integers as
JSON. The lecture table itself is the static HTML table of report/grid.py, so it reads and
prints without JavaScript; the script adds the graph, selection, sorting and share bars.
"""

from __future__ import annotations

import html
import json
import os
import re
from functools import cache
from typing import TYPE_CHECKING, Any

from cnncalc.budget import checkpoint
from cnncalc.report import view as v
from cnncalc.report.drawing import MEASURES, drawing

if TYPE_CHECKING:
    from cnncalc.engine.analysis import Analysis

# The summary by layer type: each op class declares its category (OpDef.category); these are
# the categories in the order the summary lists them.
CATEGORIES = ("conv", "linear", "norm", "pooling", "attention", "other")
MODES = ("report", "graph", "serve")
ASSETS = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "data", "web")


def category_of(op_type_class: Any) -> str:
    """The summary category of an op (its class's `category`, e.g. conv for conv)."""
    return getattr(op_type_class, "category", "other")


def summary_by_type(analysis: Analysis, view: v.View) -> list[dict[str, Any]]:
    """Per category (conv, linear, norm, pooling, attention, other): layers, params, the flop
    column and activation memory, exact ints summed over every layer (folded ones too), in
    CATEGORIES order, categories with no layer left out. The sums equal the table's totals."""
    counts = analysis.counted(view.convention)
    sums = {c: [0, 0, 0, 0] for c in CATEGORIES}
    for row in analysis.rows:
        s = sums[category_of(row.node.op)]
        s[0] += 1
        s[1] += v.params_of(row, view)
        s[2] += counts[row.index - 1]
        s[3] += row.memory_bytes
    return [{"category": c, "layers": s[0], "params": s[1], "flop": s[2], "memory_bytes": s[3]}
            for c, s in sums.items() if s[0]]


def percent(part: int, whole: int) -> str:
    """part / whole as a percentage with one decimal, exact (halves up); 0.0 % of nothing."""
    return v.fixed(100 * part, whole, 1) if whole else "0.0"


def summary_html(analysis: Analysis, view: v.View) -> str:
    """The summary by layer type as static HTML (no table element: the page's only table is the
    lecture table): one line per category, the share of params, flop column and memory with a
    bar, the exact figures in each cell's title."""
    t = analysis.totals
    totals = (v.params_of(t, view), v.total_flop(analysis, view), t.memory_bytes)
    flop = v.headers(view._replace(units="auto"))[2]
    head = "".join(f"<span>{h}</span>" for h in ("layer type", "layers", "params", flop, "memory"))
    lines = [f'<div class="sum-row sum-head">{head}</div>']
    for s in summary_by_type(analysis, view):
        cells = [f"<span>{s['category']}</span>", f'<span class="n">{s["layers"]:,}</span>']
        for key, whole, unit in (("params", totals[0], ""), ("flop", totals[1], ""), ("memory_bytes", totals[2], " B")):
            pct = percent(s[key], whole)
            cells.append(f'<span class="n bar" style="--share:{pct}%" title="{s[key]:,}{unit} of {whole:,}{unit}">'
                         f"{pct} %</span>")
        lines.append(f'<div class="sum-row" data-category="{s["category"]}">{"".join(cells)}</div>')
    return '<div class="summary" role="table" aria-label="summary by layer type">\n' + "\n".join(lines) + "\n</div>\n"


def table_html(analysis: Analysis, view: v.View) -> str:
    """The lecture table (report/grid.py's HTML table: the cells every format shows)."""
    from cnncalc.report.grid import html_table
    from cnncalc.report.model import table_grid

    return html_table(table_grid(analysis, view), titled=False)


def max_depth(analysis: Analysis) -> int:
    """The deepest --depth that still collapses something (the names' most levels)."""
    return max((row.name.count(".") + 1 for row in analysis.rows), default=1)


# The most boxes the page lays out by itself: dagre lays out a graph of this size with its
# block clusters in about a second on a laptop, and a longer column of boxes is no longer read
# as a picture. Past it (DenseNet-201's 408), the first graph shown folds blocks as --depth does,
# to the deepest depth that fits, and the page's depth control unfolds it on request.
MAX_GRAPH_NODES = 250


def graphs(analysis: Analysis, view: v.View, measure: str) -> tuple[list[dict[str, Any]], int]:
    """The drawings the page's depth control offers (depth 1, 2, ... and every row, the same
    drawing once), each with row_nodes: for each table row (display_rows(analysis, view)), the
    indices of the drawing's nodes that hold its layers. Returns them and the index of the one
    shown first: the view's --depth when it is set, else the finest with at most MAX_GRAPH_NODES
    nodes."""
    table_rows = v.display_rows(analysis, view)
    out: list[dict[str, Any]] = []
    seen: dict[tuple[str, ...], int] = {}
    first = None
    for depth in [*range(1, max_depth(analysis) + 1), None]:
        checkpoint()  # a drawing of 100k rows takes a while: `cnncalc serve` may stop here (budget.py)
        shown = view._replace(depth=depth)
        rows = v.display_rows(analysis, shown)
        key = tuple(r.name for r in rows)
        if key in seen:
            if depth is None:
                out[seen[key]]["all"] = True  # the same drawing as every row's
            if depth == view.depth:
                first = seen[key]
            continue
        node_of = {m.index: i + 1 for i, r in enumerate(rows) for m in r.members}  # layer -> node (0: the input)
        row_nodes = [sorted({node_of[m.index] for m in r.members}) for r in table_rows]
        seen[key] = len(out)
        out.append({"depth": depth, "all": depth is None, "drawing": drawing(analysis, shown, measure).to_dict(),
                    "row_nodes": row_nodes})
        if depth == view.depth:
            first = seen[key]
    if first is None or view.depth is None:
        fits = [i for i, g in enumerate(out) if len(g["drawing"]["nodes"]) <= MAX_GRAPH_NODES]
        first = fits[-1] if fits else 0
    return out, first


def payload(analysis: Analysis, view: v.View, measure: str = "macs") -> dict[str, Any]:
    """What the page's script reads: the table's rows with their exact memory, params and flop
    column (ints), the drawings (report/drawing.py: one node per row of the graph's depth) and
    which rows each node holds, the totals, the column headers and the summary by layer type."""
    g = analysis.graph
    t = analysis.totals
    counts = analysis.counted(view.convention)
    drawn, first = graphs(analysis, view, measure)
    return {
        "title": f"{g.name}: input {'x'.join(map(str, g.input_shape))}",
        "rows": [{"name": r.name, "memory_bytes": r.memory_bytes(), "params": r.params(view), "flop": r.flop(counts)}
                 for r in v.display_rows(analysis, view)],
        "graphs": drawn, "graph": first,
        "totals": {"params": v.params_of(t, view), "flop": v.total_flop(analysis, view), "macs": t.macs,
                   "memory_bytes": t.memory_bytes, "layers": len(analysis.rows)},
        "flop_label": v.headers(view._replace(units="auto"))[2],
        "headers": list(v.headers(view)),
        "summary": summary_by_type(analysis, view),
        "depth": view.depth, "max_graph_nodes": MAX_GRAPH_NODES,
    }


def parts(analysis: Analysis, view: v.View, measure: str = "macs") -> dict[str, Any]:
    """Everything that changes with the spec: the payload, the table and the summary as HTML
    (what the live editor's server answers and what a page is built from)."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}, not {measure!r}")
    view = v.lecture_scales(analysis, view)  # the table's units chosen for this network
    return {"payload": payload(analysis, view, measure), "table": table_html(analysis, view),
            "summary": summary_html(analysis, view), "caption": v.caption(analysis, view)}


def script_json(data: Any) -> str:
    """JSON safe inside a <script> element: every '<' written as \\u003c, so no '</script>' or
    '<!--' in a name can end or change the element, and every character that is not printable
    (C0/C1 controls, U+2028, U+202E, ...) as \\uXXXX (errors.printable_json), so the page is
    valid JSON and JavaScript that safe_text leaves unchanged (the JSON value is the same)."""
    from cnncalc.errors import printable_json

    return printable_json(json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c"))


@cache
def asset(name: str) -> str:
    """A file of cnncalc/data/web, as inlined into the page: a script's source-map comment
    dropped (it would make developer tools fetch a file), and '</script' escaped."""
    with open(os.path.join(ASSETS, name), encoding="utf-8") as fh:
        text = fh.read()
    if name.endswith(".js"):
        text = re.sub(r"^//# sourceMappingURL=.*$", "", text, flags=re.M)
        text = text.replace("</script", "<\\/script")
        text = text.replace("\x01", "\\x01")  # dagre's two raw U+0001 in strings: the page stays printable
    return text


def page(analysis: Analysis | None, view: v.View, measure: str = "macs", mode: str = "report",
         editor: dict[str, Any] | None = None) -> str:
    """A whole page. mode: report (graph and table side by side), graph (the graph first, the
    table under it), serve (the live editor: `editor` holds the YAML text, the file name shown
    in messages and the first analysis's parts or errors; analysis is None then)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if analysis is not None:
        first = parts(analysis, view, measure)
        title = first["payload"]["title"]
    else:
        first = (editor or {}).get("result") or {}
        title = f"cnncalc serve: {(editor or {}).get('file', '')}"
    data = {"mode": mode, "measure": measure, **({"payload": first.get("payload")} if first.get("payload") else {})}
    if editor is not None:
        data["editor"] = {k: val for k, val in editor.items() if k != "result"}
        if first.get("ok") is False:  # the spec the editor opens with has errors: shown at their lines
            data["errors"] = {"message": first.get("message", ""), "errors": first.get("errors", [])}
    body = _body(mode, first, editor)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{asset('app.css')}</style></head>\n"
            f'<body class="mode-{mode}">\n{body}'
            f'<script type="application/json" id="cnncalc-data">{script_json(data)}</script>\n'
            f"<script id=\"dagre-lib\">{asset('dagre.min.js')}</script>\n<script>{asset('app.js')}</script>\n"
            "</body></html>\n")


def _body(mode: str, first: dict[str, Any], editor: dict[str, Any] | None) -> str:
    payload_ = first.get("payload") or {}
    title = html.escape(payload_.get("title", ""))
    if mode == "serve":
        title = "cnncalc serve" + (f" · {title}" if title else "")
    measure_select = ('<label>colour by <select id="measure">' +
                      "".join(f'<option value="{m}">{m}</option>' for m in MEASURES) + "</select></label>")
    depth_select = ('<label title="fold blocks as --depth N does">depth <select id="depth"></select></label>')
    tools = (f'<div class="tools">{depth_select}{measure_select}'
             '<button type="button" id="zoom-out" title="zoom out (Ctrl+wheel)">−</button>'
             '<button type="button" id="zoom-in" title="zoom in (Ctrl+wheel)">+</button>'
             '<button type="button" id="fit" title="fit the graph to its pane">fit</button></div>')
    graph = ('<section id="graph-pane" class="pane" aria-label="layer graph">'
             f'<div class="pane-head"><h2>graph</h2>{tools}</div>'
             '<div id="graph"><p class="placeholder">the graph is drawn by the page\'s script</p></div></section>\n')
    table = ('<section id="table-pane" class="pane" aria-label="layer table">'
             '<div class="pane-head"><h2>layers</h2><span class="hint">click a row or a node to select it; '
             'click a column header to sort</span></div>'
             f'<div id="summary">{first.get("summary", "")}</div>'
             f'<div id="table">{first.get("table", "")}</div></section>\n')
    caption = html.escape(first.get("caption", ""))
    head = (f'<header><h1 id="title">{title}</h1>'
            f'<p id="caption" class="caption">{caption}</p></header>\n')
    if mode == "serve":
        ed = editor or {}
        name = html.escape(str(ed.get("file", "")))
        edit = ('<section id="editor-pane" class="pane" aria-label="spec editor">'
                f'<div class="pane-head"><h2>{name}</h2><span id="status" class="hint" aria-live="polite"></span></div>'
                '<div id="editor"><pre id="gutter" aria-hidden="true"></pre>'
                f'<textarea id="yaml" spellcheck="false" autocomplete="off" wrap="off" aria-label="YAML spec">'
                f'{html.escape(str(ed.get("text", "")))}</textarea></div>'
                '<pre id="messages" class="messages" role="alert"></pre></section>\n')
        return f'{head}<main class="live">{edit}<div class="views">{graph}{table}</div></main>\n'
    return f'{head}<main class="{"split" if mode == "report" else "stacked"}">{graph}{table}</main>\n'


def report_page(analysis: Analysis, view: v.View, measure: str = "macs") -> str:
    """`table --format html`: the graph and the lecture table side by side, one self-contained file."""
    return page(analysis, view, measure, "report")


def graph_page(analysis: Analysis, view: v.View, measure: str = "macs") -> str:
    """`cnncalc graph -o x.html`: the same page, the graph first and the table under it."""
    return page(analysis, view, measure, "graph")
