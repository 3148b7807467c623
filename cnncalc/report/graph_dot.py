"""A Drawing as Graphviz DOT source, and its rendering to svg/png/pdf by Graphviz's `dot`.

Stage: report. In: a Drawing (report/drawing.py). Out: DOT text (to_dot), or the bytes `dot`
renders from it (render). The layout is Graphviz's; this module only says what each box and
cluster shows. The graphviz package is imported inside the functions, so importing this module
costs nothing; a missing package or `dot` program is a GraphvizMissing (exit status 2).

Names are the user's text and never DOT syntax: node ids are synthetic (n0, n1, ...), every
label is an HTML-like label built only from escaped text (_html) or a quoted string with its
backslashes doubled (_quoted), control characters shown as escapes, and each name bounded in
length (Graphviz refuses a label past 16 kB).
"""

from __future__ import annotations

import shutil
from html import escape
from typing import TYPE_CHECKING, Any

from cnncalc.errors import UsageError, safe_text, shorten
from cnncalc.report.drawing import MAX_DRAWN_NODES, Drawing, DrawNode, drawing, drawn_depth
from cnncalc.report.view import View, display_rows, fmt_flop, fmt_memory, fmt_params

if TYPE_CHECKING:
    from cnncalc.engine.analysis import Analysis

RENDERED = ("svg", "png", "pdf")  # what `dot` renders; "dot" is the source itself
PALETTE = "ylorrd9"  # ColorBrewer's sequential yellow-orange-red, 9 classes (Graphviz knows it by name)
LEVELS = 9
_AUTO = View(units="auto")  # readable units in the boxes: 118 M, 9.54 k, 6.13 MB (exact ints in the tooltip)
MEASURE_NAMES = {"macs": "MACs", "params": "params", "memory": "activation memory"}
CLUSTER_STYLE = {  # kind -> (border colour, fill): a residual block blue, a parallel one green
    "residual": ("#4a7ab0", "#f3f7fc"),
    "parallel": ("#4a9a5a", "#f3faf4"),
    "repeat": ("#8a8a8a", "#fbfbfb"),
    "block": ("#9a9a9a", "#ffffff"),
}


class GraphvizMissing(UsageError):
    """The graphviz Python package or Graphviz's `dot` program is not installed."""


def missing_message(fmt: str, what: str) -> str:
    """The one sentence a user sees when `what` (the package or `dot`) is missing."""
    if what == "package":
        need = "the graphviz Python package (pip install 'cnncalc[graph]')"
    else:
        need = "Graphviz's dot program (apt-get install graphviz, or brew install graphviz)"
    return f"drawing {fmt} needs {need}; -o FILE.html draws the graph without it"


def require(fmt: str) -> None:
    """Fail before any work when what `fmt` (dot, svg, png, pdf) needs is missing."""
    try:
        import graphviz  # noqa: F401
    except ImportError:
        raise GraphvizMissing(None, missing_message(fmt, "package")) from None
    if fmt in RENDERED and shutil.which("dot") is None:
        raise GraphvizMissing(None, missing_message(fmt, "dot"))


def level(node: DrawNode, measure: str, top: int) -> int:
    """Palette class 1..9 of a node: 1 + 8 * value / largest value, in integers (the heaviest is 9)."""
    value = _value(node, measure)
    return 1 + value * (LEVELS - 1) // top if top else 1


def _value(node: DrawNode, measure: str) -> int:
    return {"macs": node.macs, "params": node.params, "memory": node.memory_bytes}[measure]


MAX_NAME = 120  # characters of a name shown in a box, a cluster's label or a tooltip
MAX_CAPTION = 1500  # characters of the caption under the title (the spec's note: is in it)


def _visible(text: str, most: int = MAX_NAME) -> str:
    """User text on one line: control characters and line breaks shown as escapes (\\n, \\x1b),
    its middle cut out past `most` characters (saying how many)."""
    return shorten(safe_text(text).replace("\n", "\\n"), most)


def _html(text: str, most: int = MAX_NAME) -> str:
    """User text inside an HTML-like label: visible and bounded, then every <, >, &, " and '
    an entity (no <IMG> or <TABLE> of a name reaches Graphviz)."""
    return escape(_visible(text, most))


def _quoted(text: str, most: int = MAX_NAME) -> str:
    """User text as a DOT quoted string (a tooltip, a cluster's label): visible and bounded,
    backslashes doubled (none can end the string or be read as \\N, \\l), marked not HTML so
    that graphviz quotes it (escaping its double quotes) even when it reads <like this>."""
    import graphviz

    return graphviz.nohtml(_visible(text, most).replace("\\", "\\\\"))


def _bounded_fold(tail: str, most: int = MAX_NAME) -> str:
    """What is folded into a box (" +bn+relu"), cut after `most` characters at a "+", saying how
    many more: " +bn+relu+bn +19,998 more" (a 20,000-layer chain folds into one box)."""
    if len(tail) <= most:
        return tail
    end = " (training only)" if tail.endswith(" (training only)") else ""
    cut = tail.rfind("+", 0, most)
    if cut <= 1:
        return shorten(tail, most)
    return f"{tail[:cut]} +{tail.count('+', cut, len(tail) - len(end)):,} more{end}"


def _name_and_fold(node: DrawNode) -> tuple[str, str]:
    """A box's name (its id, or its label when the id is a copy number) and what is folded
    after it (bounded: _bounded_fold)."""
    name = node.id  # "conv1 +bn+relu": the name bold, shortened below its cluster; what is folded after it
    if not node.label.startswith(name) and "~" in name:
        name = name.rsplit("~", 1)[0]
    name, tail = (name, node.label[len(name):]) if node.label.startswith(name) else (node.label, "")
    return name, _bounded_fold(tail)


def _short(node_id: str, cluster: str | None) -> str:
    """A node's name below its cluster (conv1 in conv3_x.0), the whole name when that is only
    a copy number (conv3_x.0 collapsed inside the repeat conv3_x)."""
    if cluster and node_id.startswith(cluster + "."):
        rest = node_id[len(cluster) + 1:]
        if not rest.split(".")[0].isdigit():
            return rest
    return node_id


def node_label(node: DrawNode, measure: str, unit: str = "MACs") -> str:
    """The box: name (+ what is folded into it), type and output shape, then MACs (or the
    --convention tool's unit) and params."""
    name, tail = _name_and_fold(node)
    lines = [f"<B>{_html(_short(name, node.cluster))}</B>{_html(tail, 2 * MAX_NAME)}"]
    lines.append(escape(f"{node.type} · {node.shape}" if node.type != "input" else node.shape))
    numbers = []
    if node.macs:
        numbers.append(f"{fmt_flop(node.macs, _AUTO)} {unit}")
    if node.params:
        numbers.append(f"{fmt_params(node.params, _AUTO)} params")
    if measure == "memory" and node.memory_bytes:
        numbers.append(fmt_memory(node.memory_bytes, _AUTO))
    if numbers:
        lines.append(escape(" · ".join(numbers)))
    rows = "".join(f'<TR><TD ALIGN="CENTER">{line}</TD></TR>' if i == 0 else
                   f'<TR><TD><FONT POINT-SIZE="9">{line}</FONT></TD></TR>' for i, line in enumerate(lines))
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{rows}</TABLE>>'


def tooltip(node: DrawNode, unit: str = "MACs") -> str:
    """Exact integers, shown on hover in an SVG (plain text: to_dot quotes it)."""
    name, tail = _name_and_fold(node)
    label = shorten(name, MAX_NAME) + tail
    return (f"{label}: {node.type}, output {node.shape}; {node.macs:,} {unit}, {node.params:,} params, "
            f"{node.memory_bytes:,} B activations")


def legend(drawing: Drawing, top: int, heaviest: DrawNode | None) -> str:
    """The graph's label: its name, the colour scale and the caption (which convention counts)."""
    measure = drawing.unit if drawing.measure == "macs" else MEASURE_NAMES[drawing.measure]
    swatches = "".join(f'<TD BGCOLOR="/{PALETTE}/{i}" WIDTH="14" HEIGHT="10"></TD>' for i in range(1, LEVELS + 1))
    if heaviest is not None and top:
        amount = (fmt_memory(top, _AUTO) if drawing.measure == "memory" else
                  fmt_params(top, _AUTO) + " params" if drawing.measure == "params" else fmt_flop(top, _AUTO) + " " + drawing.unit)
        most = f"the largest, {shorten(heaviest.id, MAX_NAME)} ({amount})"
    else:
        most = "the largest"
    scale = (f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1"><TR><TD>fill: share of {escape(measure)}, 0</TD>'
             f'{swatches}<TD>{_html(most, 2 * MAX_NAME)}</TD></TR></TABLE>')
    caption = "<BR/>".join(escape(part) for part in _wrap(_visible(drawing.caption, MAX_CAPTION), 110))
    return (f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2"><TR><TD><B>{_html(drawing.name)}</B></TD></TR>'
            f'<TR><TD>{scale}</TD></TR><TR><TD><FONT POINT-SIZE="9">{caption}</FONT></TD></TR></TABLE>>')


def _wrap(text: str, width: int) -> list[str]:
    """The caption in lines of about `width` characters, broken at its " · " separators."""
    lines: list[str] = []
    for part in text.split(" · "):
        if lines and len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += " · " + part
        else:
            lines.append(part)
    return lines


def to_dot(drawing: Drawing) -> str:
    """The DOT source of a drawing: top to bottom, a box per node, a cluster per block."""
    import graphviz

    top = max((_value(n, drawing.measure) for n in drawing.nodes), default=0)
    heaviest = max(drawing.nodes, key=lambda n: _value(n, drawing.measure)) if drawing.nodes else None
    g = graphviz.Digraph(_quoted(drawing.name), graph_attr={
        "rankdir": "TB", "label": legend(drawing, top, heaviest), "labelloc": "t", "labeljust": "l",
        "fontname": "Helvetica", "fontsize": "11", "nodesep": "0.25", "ranksep": "0.3", "newrank": "true",
    }, node_attr={"shape": "box", "style": "rounded,filled", "fontname": "Helvetica", "fontsize": "11",
                  "margin": "0.08,0.03", "penwidth": "0.8"},
        edge_attr={"arrowsize": "0.6", "color": "#555555", "penwidth": "0.8"})

    inside: dict[str | None, list[DrawNode]] = {}
    for n in drawing.nodes:
        inside.setdefault(n.cluster, []).append(n)
    children: dict[str | None, list[Any]] = {}
    for c in drawing.clusters:
        children.setdefault(c.parent, []).append(c)
    number = {c.id: i for i, c in enumerate(drawing.clusters)}
    ids = {n.id: f"n{i}" for i, n in enumerate(drawing.nodes)}  # DOT ids are never the user's names

    def add_nodes(graph: Any, cluster: str | None) -> None:
        for n in inside.get(cluster, ()):
            lv = level(n, drawing.measure, top)
            attrs = {"label": node_label(n, drawing.measure, drawing.unit),
                     "tooltip": _quoted(tooltip(n, drawing.unit), 2 * MAX_NAME + 200),
                     "fillcolor": f"/{PALETTE}/{lv}", "fontcolor": "white" if lv >= 8 else "black"}
            if n.type == "input":
                attrs.update(fillcolor="white", style="rounded")
            graph.node(ids[n.id], **attrs)
        for c in children.get(cluster, ()):
            border, fill = CLUSTER_STYLE[c.kind]
            with graph.subgraph(name=f"cluster_{number[c.id]}") as sub:
                sub.attr(label=_quoted(c.label), color=border, fillcolor=fill, style="rounded,filled" +
                         (",dashed" if c.kind == "repeat" else ""), fontsize="10", labeljust="l",
                         fontcolor=border, tooltip=_quoted(f"{shorten(c.id, MAX_NAME)} ({c.kind})", 2 * MAX_NAME))
                add_nodes(sub, c.id)

    add_nodes(g, None)
    for e in drawing.edges:
        g.edge(ids[e.source], ids[e.target])
    return g.source


def render(dot_source: str, fmt: str, warnings: list[str] | None = None) -> bytes:
    """svg, png or pdf bytes of DOT source, laid out and drawn by Graphviz's dot; what dot says
    on stderr (a PNG past the bitmap limit is scaled down) is added to `warnings`, its control
    characters shown escaped; a failure is one sentence quoting dot's first line."""
    import subprocess

    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizMissing(None, missing_message(fmt, "dot"))
    # dot run directly, not through graphviz.Source.pipe: when dot dies before reading the whole
    # graph, pipe raises BrokenPipeError writing the rest, and the exit status is lost;
    # subprocess.run ignores the broken pipe and reports it. dot's stderr is captured: it quotes
    # the source (names), so it is shown escaped, never raw.
    try:
        done = subprocess.run([dot, f"-T{fmt}"], input=dot_source.encode(), capture_output=True, check=False)
    except OSError:
        raise GraphvizMissing(None, missing_message(fmt, "dot")) from None
    said = [safe_text(line.strip()) for line in done.stderr.decode(errors="replace").splitlines() if line.strip()]
    if done.returncode:
        why = f": {shorten(said[0].removeprefix('Error: '), 200)}" if said else ""
        raise UsageError(None, f"Graphviz's dot could not draw the {fmt} (exit status {done.returncode}{why}); "
                         "--depth N draws a smaller graph")
    if warnings is not None:
        warnings += [shorten(line, 200) for line in said[:5]]
    return done.stdout


def draw(analysis: Analysis, view: View, fmt: str, measure: str = "macs") -> tuple[bytes, str]:
    """The drawing in fmt (svg, png, pdf by Graphviz's dot; dot, its source) and a note for the
    user when blocks were folded: unless view.depth is set or view.fold is off, a drawing of
    more than MAX_DRAWN_NODES boxes folds blocks to the deepest depth that fits."""
    require(fmt)  # before any work: a missing dot or package is one sentence
    note = ""
    if view.depth is None and view.fold:
        fit = drawn_depth(analysis, view)
        if fit is not None:
            full = len(display_rows(analysis, view)) + 1
            folded = len(display_rows(analysis, view._replace(depth=fit))) + 1
            too_many = f"{full:,} nodes are more than a drawing shows legibly ({MAX_DRAWN_NODES})"
            if folded < full:
                view = view._replace(depth=fit)
                deepest = max(r.name.count(".") for r in analysis.rows) + 1
                note = (f"{too_many}: blocks folded to depth {fit} ({folded:,} nodes); depth {deepest} draws "
                        f"all {full:,}")
            else:
                note = f"{too_many}, and it has no blocks to fold; svg and pdf stay sharp when zoomed"
    source = to_dot(drawing(analysis, view, measure))
    if fmt == "dot":
        return source.encode(), note
    said: list[str] = []
    data = render(source, fmt, said)
    return data, "; ".join([note] * bool(note) + [f"Graphviz: {line}" for line in said])
