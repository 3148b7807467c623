"""`cnncalc explain`: one layer worked through by hand, in the style of the lecture slides.

Stage: report (pure). In: Analysis + layer names + View. Out: lines of text. The shape, params
and flop derivations come from each op's explain() (the formulas live beside the rules); this
module adds the memory arithmetic and the closing line with the values the table shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.errors import UsageError
from cnncalc.ops.geometry import letters
from cnncalc.ops.registry import n, numel
from cnncalc.report import view as v
from cnncalc.spec.expr import did_you_mean

if TYPE_CHECKING:
    from cnncalc.engine.analysis import Analysis, LayerRow


def default_layers(analysis: Analysis) -> list[str]:
    """The first layer of each kind, in network order."""
    seen, names = set(), []
    for row in analysis.rows:
        if row.type not in seen:
            seen.add(row.type)
            names.append(row.name)
    return names


def pick(analysis: Analysis, names: list[str]) -> list[LayerRow]:
    rows = {r.name: r for r in analysis.rows}
    picked = []
    for name in names:
        if name not in rows:
            raise UsageError(None, f"'{analysis.graph.name}' has no layer named '{name}'",
                             did_you_mean(name, rows) or "`cnncalc table SPEC --all` lists every layer")
        picked.append(rows[name])
    return picked


def describe(row: LayerRow) -> str:
    cols = row.node.op.columns(list(row.inputs))
    filters = f"{cols['filters']} filters" if row.node.op.category == "conv" else f"{cols.get('filters')} outputs"
    parts = [filters if "filters" in cols else "",
             "x".join(map(str, cols["kernel"])) if isinstance(cols.get("kernel"), tuple)
             and len(set(cols["kernel"])) == 1 else f"kernel {v.fmt_pair(cols.get('kernel'))}" if cols.get("kernel") else "",
             f"stride {v.fmt_pair(cols['stride'])}" if cols.get("stride") else "",
             f"pad {v.fmt_pair(cols['pad'])}" if cols.get("pad") is not None else ""]
    inputs = " and ".join(" x ".join(map(str, s)) for s in row.inputs)
    detail = ", ".join(p for p in parts if p)
    return f"{row.name} ({row.type}{': ' + detail if detail else ''}) on input {inputs}"


def explain_lines(analysis: Analysis, row: LayerRow, view: v.View) -> list[str]:
    """The worked example of one layer, ending in the values its table row shows."""
    op = row.node.op
    lines = [describe(row)]
    lines += ["  " + line for line in op.explain(list(row.inputs), row.output)]
    elems = numel(row.output)
    dims = " * ".join(map(str, row.output))
    batch = f" * batch {analysis.batch}" if analysis.batch > 1 else ""
    total = elems * analysis.batch
    # a feature-map op (C x L, C x H x W, C x T x H x W): C * H' * W'
    feature_map = (op.ranks is not None and (3 in op.ranks or bool(op.named)) and 2 <= len(row.output) <= 4
                   and len(row.inputs[0]) > 1)
    formula = f"C * {' * '.join(a + chr(39) for a in letters(len(row.output) - 1))} = " if feature_map else ""
    mem = (f"  Memory: number of output elements = {formula}"
           f"{dims}{' = ' + n(elems) if len(row.output) > 1 else ''}{batch}"
           f"; bytes per element = {analysis.dtype.bytes} ({analysis.dtype.name})")
    lines.append(mem)
    if op.inplace:
        lines.append(f"  runs in place: its {n(row.output_bytes)} bytes overwrite the input, so it adds 0 KB")
    else:
        lines.append(f"  Memory (KB) = {n(total)} * {analysis.dtype_bytes} / 1024 = {n(row.output_bytes)} / 1024 = "
                     f"{v.fixed(row.output_bytes, 1024, 2)} -> {v.fmt_memory(row.memory_bytes, view)}")
    flop = analysis.counted(view.convention)[row.index - 1]
    flop_note = "" if view.convention == "lecture" else f" (as {view.convention} counts it)"
    units = [h.split("(")[-1].rstrip(")") if "(" in h else "" for h in v.headers(view)]
    lines.append(f"  its row (table --all): memory {v.fmt_memory(row.memory_bytes, view)} {units[0]}, "
                 f"params {v.fmt_params(v.params_of(row, view), view)} {units[1]}, "
                 f"flop {v.fmt_flop(flop, view)} {units[2]}{flop_note}")
    return lines


def render_explain(analysis: Analysis, names: list[str], view: v.View) -> str:
    rows = pick(analysis, names or default_layers(analysis))
    blocks = ["\n".join(explain_lines(analysis, row, view)) for row in rows]
    return "\n\n".join(blocks) + "\n"
