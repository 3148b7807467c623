"""The drawn graph's model: one node per table row, the edges between rows, the block clusters.

Stage: report (pure). In: Analysis + View + the measure that colours nodes. Out: a Drawing
(plain data; `to_dict()` is the JSON shape docs/DRAWING_CONTRACT.md fixes). Nodes are exactly
display_rows(analysis, view), so the drawing folds bn/relu and collapses `--depth N` blocks as
the table does. No I/O, no graphviz, no torch: graph_dot.py and the HTML report draw it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncalc.conventions import get_profile
from cnncalc.record import Record
from cnncalc.report.view import DisplayRow, View, caption, display_rows, row_suffix

if TYPE_CHECKING:
    from cnncalc.engine.analysis import Analysis

MEASURES = ("macs", "params", "memory")
INPUT_ID = "input"


class DrawNode(Record):
    """One box: a display row of the table (or the network's input, row -1)."""

    id: str  # the display row's name (unique: a repeated name gets ~2, ~3, ...)
    label: str  # the row's name as the table writes it: "conv1 +bn+relu", "conv2_x.0 (7 layers)"
    type: str  # the lead layer's op type; "block" for a row that collapses a block (--depth)
    shape: str  # the row's output shape, one sample: 64×56×56
    macs: int  # the table's flop column (lecture: multiply-adds and pooling window reads), whole batch
    params: int  # in the view's convention (weights + biases, or weights only)
    memory_bytes: int  # activation memory, as the table's memory column (the input: 0, as in the totals)
    share: float  # this node's part of the total of the measure; the shares sum to 1 (all 0.0 for a zero total)
    cluster: str | None  # id of the innermost cluster holding it
    row: int  # index into display_rows(analysis, view); -1 for the input


class DrawEdge(Record):
    source: str
    target: str


class Cluster(Record):
    """A block drawn as a box around its nodes."""

    id: str  # the block's hierarchical name (conv3_x.0, inception3a.b1x1, denseblock1)
    label: str
    kind: str  # residual | parallel | repeat | block
    parent: str | None


class Drawing(Record):
    name: str
    caption: str
    measure: str
    nodes: tuple[DrawNode, ...]
    edges: tuple[DrawEdge, ...]
    clusters: tuple[Cluster, ...]
    unit: str = "MACs"  # what the nodes' `macs` count: MACs (the lecture), or the --convention tool's unit

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of DRAWING_CONTRACT.md (exact ints; share is the only float)."""
        return {"name": self.name, "caption": self.caption, "measure": self.measure, "unit": self.unit,
                "nodes": [n._asdict() for n in self.nodes],
                "edges": [{"source": e.source, "target": e.target} for e in self.edges],
                "clusters": [c._asdict() for c in self.clusters]}


def fmt_shape_x(shape: tuple[int, ...]) -> str:
    """64×56×56: the table's output shape with a multiplication sign."""
    return "×".join(map(str, shape))


def drawing(analysis: Analysis, view: View, measure: str = "macs") -> Drawing:
    """The drawn graph of an analysis in this view, coloured by `measure` (macs, params or memory)."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}, not {measure!r}")
    rows = display_rows(analysis, view)
    counts = analysis.counted(view.convention)
    nodes = analysis.graph.nodes

    row_of = [-1] * len(nodes)  # graph node index -> display row (-1: the input)
    for i, row in enumerate(rows):
        for m in row.members:
            row_of[m.index] = i

    ids = _unique_ids([INPUT_ID, *(row.name for row in rows)])
    scope_kinds, repeats = _clusters_of(analysis)

    clusters: dict[str, Cluster] = {}
    values = [(row.flop(counts), row.params(view), row.memory_bytes()) for row in rows]
    pick = MEASURES.index(measure)
    total = sum(v[pick] for v in values)

    in_shape = fmt_shape_x(analysis.graph.input_shape)
    out_nodes = [DrawNode(ids[0], INPUT_ID, "input", in_shape, 0, 0, 0, 0.0, None, -1)]
    for i, row in enumerate(rows):
        chain = _chain(row.name, row.lead.node.scope, scope_kinds, repeats)
        parent = None
        for cid, kind in chain:
            if cid not in clusters:
                clusters[cid] = Cluster(cid, _cluster_label(cid, kind, parent, repeats), kind, parent)
            parent = cid
        macs, params, memory = values[i]
        out_nodes.append(DrawNode(ids[i + 1], row.name + row_suffix(row), _type_of(row), fmt_shape_x(row.output),
                                  macs, params, memory, values[i][pick] / total if total else 0.0, parent, i))

    edges: dict[tuple[str, str], None] = {}  # insertion-ordered set: by target row, then input order
    for i, row in enumerate(rows):
        for m in row.members:
            for j in m.node.inputs:
                src = row_of[j]
                if src != i:
                    edges[(ids[src + 1], ids[i + 1])] = None
    unit = "MACs" if view.convention == "lecture" else get_profile(view.convention).unit_label
    return Drawing(analysis.graph.name, caption(analysis, view), measure, tuple(out_nodes),
                   tuple(DrawEdge(s, t) for s, t in edges), tuple(clusters.values()), unit)


def _type_of(row: DisplayRow) -> str:
    return "block" if row.label else row.lead.type


def _unique_ids(names: list[str]) -> list[str]:
    """Names made unique in order: a second `x` becomes `x~2` (a pathological spec can give two
    display rows one name: a layer `b` beside a collapsed block instance `b`)."""
    seen: dict[str, int] = {}
    out = []
    taken = set(names)
    for name in names:
        if name in seen:
            n = seen[name]
            while f"{name}~{n + 1}" in taken:
                n += 1
            seen[name] = n + 1
            name = f"{name}~{n + 1}"
            taken.add(name)
        else:
            seen[name] = 1
        out.append(name)
    return out


def _clusters_of(analysis: Analysis) -> tuple[dict[str, str], dict[str, int]]:
    """The block scopes' kinds and the repeat groups: a property of the graph, not of the view,
    found once per analysis (the HTML page draws every depth: one pass, not one per drawing)."""
    key = ("drawing-clusters",)
    found = analysis.memo.get(key)
    if found is None:
        kinds = _scope_kinds(analysis)
        found = analysis.memo[key] = (kinds, _repeat_counts(analysis, kinds))
    return found  # type: ignore[return-value]


def _scope_kinds(analysis: Analysis) -> dict[str, str]:
    """Every block scope of the graph and its kind, read from the merges it holds directly:
    residual when a merge takes an input from outside the scope or from its shortcut (ResNet's
    add, DenseNet's concat of x and f(x)); parallel when a merge joins two or more of its
    branches (Inception's concat); else block (a branch, a shortcut, a plain block instance)."""
    kinds: dict[str, str] = {}
    nodes = analysis.graph.nodes
    for node in nodes:
        for s in node.scope:
            kinds.setdefault(s, "block")
        if len(node.inputs) < 2 or not node.scope:
            continue
        here = node.scope[-1]
        depth = len(node.scope)
        sources = []
        for j in node.inputs:
            src = nodes[j].scope
            if len(src) < depth or src[depth - 1] != here:
                sources.append("outside")
            elif len(src) > depth:
                sources.append(src[depth])  # the child scope (branch) it comes out of
            else:
                sources.append("inside")
        if "outside" in sources or any(s.endswith(".shortcut") for s in sources):
            kinds[here] = "residual"
        elif kinds[here] != "residual" and len({s for s in sources if s != "inside"}) >= 2:
            kinds[here] = "parallel"
    return kinds


def _repeat_counts(analysis: Analysis, scopes: dict[str, str]) -> dict[str, int]:
    """Groups made by `repeat: N` (N > 1): the prefix X of names X.0.., X.1.. that is not itself
    a block scope, and how many copies it has."""
    seen: dict[str, set[str]] = {}
    for row in analysis.rows:
        name = row.name
        dot = name.find(".")
        while dot >= 0:  # each level once (a prefix is sliced only before a number: O(name) a row)
            end = name.find(".", dot + 1)
            part = name[dot + 1:] if end < 0 else name[dot + 1: end]
            if part.isdigit() and part.isascii():
                prefix = name[:dot]
                if prefix not in scopes:
                    seen.setdefault(prefix, set()).add(part)
            dot = end
    return {p: len(v) for p, v in seen.items() if len(v) > 1}


def _chain(name: str, scope: tuple[str, ...], kinds: dict[str, str], repeats: dict[str, int]) -> list[tuple[str, str]]:
    """The clusters around a row named `name`, outermost first: the block scopes and repeat
    groups whose names are strict prefixes of it (a row that collapses block X sits beside X's
    siblings, not inside X)."""
    out = []
    inner = set(scope)
    dot = name.find(".")
    while dot >= 0:
        prefix = name[:dot]
        if prefix in inner:
            out.append((prefix, kinds.get(prefix, "block")))
        elif prefix in repeats:
            out.append((prefix, "repeat"))
        dot = name.find(".", dot + 1)
    return out


def _cluster_label(cid: str, kind: str, parent: str | None, repeats: dict[str, int]) -> str:
    """A cluster's caption: its name below its parent (b1x1 inside inception3a; the whole name
    for a repeat copy, conv3_x.0); a repeat group says how many copies: conv3_x ×2."""
    if kind == "repeat":
        return f"{cid} ×{repeats[cid]}"
    rel = cid[len(parent) + 1:] if parent and cid.startswith(parent + ".") else cid
    return cid if rel.isdigit() else rel


MAX_DRAWN_NODES = 300  # past this a drawing top to bottom is ~27,000 px tall: docs/graph.md


def drawn_depth(analysis: Analysis, view: View, most: int = MAX_DRAWN_NODES) -> int | None:
    """The deepest --depth whose drawing has at most `most` nodes (None: every row fits; 1 when
    even depth 1 does not: a flat network cannot fold). DenseNet-201's 408 nodes become its 114
    dense layers and transitions at depth 2, as the terminal table folds to fit its rows."""
    if len(display_rows(analysis, view)) + 1 <= most:
        return None
    deepest = max(row.name.count(".") for row in analysis.rows) + 1
    for depth in range(deepest - 1, 0, -1):
        if len(display_rows(analysis, view._replace(depth=depth))) + 1 <= most:
            return depth
    return 1
