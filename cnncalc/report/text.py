"""Plain-text reports: JSON with exact integers (for scripts), CSV and Markdown tables.

Stage: report (pure). In: Analysis + View. Out: a string. No rich, no printing.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from cnncalc.engine import Analysis
from cnncalc.report import view as v


def to_dict(analysis: Analysis, view: v.View) -> dict[str, Any]:
    """Every graph node (folded ones too) with exact integers, plus totals and the convention."""
    g = analysis.graph

    def layer(row) -> dict[str, Any]:
        inputs = [list(s) for s in row.inputs]
        return {"name": row.name, "type": row.type, "input": inputs[0] if len(inputs) == 1 else inputs,
                "output": list(row.output), "params": row.params(view.weights_only),
                "weights": row.weights, "biases": row.biases, "macs": row.macs, "flops": 2 * row.macs,
                "elementwise_ops": row.elem_ops, "memory_bytes": row.memory_bytes,
                "output_bytes": row.output_bytes, "inplace": row.node.op.inplace,
                "inputs": [g.nodes[i].name for i in row.node.inputs]}

    t = analysis.totals
    return {
        "name": g.name, "description": g.description, "input": list(g.input_shape),
        "convention": {"params": "weights" if view.weights_only else "all", "macs": "multiply-adds",
                       "flops": "2 x macs", "batch": analysis.batch, "dtype": view.dtype,
                       "bytes_per_element": analysis.dtype_bytes},
        "layers": [layer(r) for r in analysis.rows],
        "total": {"params": t.params(view.weights_only), "weights": t.weights, "biases": t.biases,
                  "macs": t.macs, "flops": 2 * t.macs, "elementwise_ops": t.elem_ops,
                  "memory_bytes": t.memory_bytes, "input_bytes": analysis.input_bytes},
    }


def render_json(analysis: Analysis, view: v.View) -> str:
    return json.dumps(to_dict(analysis, view), indent=2) + "\n"


def _cells(analysis: Analysis, view: v.View) -> tuple[list[str], list[list[str]]]:
    head = [*v.COLUMNS, *v.headers(view)]
    return head, [[*v.layer_cells(r), *v.number_cells(r, view)] for r in v.display_rows(analysis, view)]


def render_csv(analysis: Analysis, view: v.View) -> str:
    """CSV of the displayed rows with raw integers (bytes, params, MACs or FLOPs)."""
    raw = v.View(view.weights_only, view.flops, view.fold, "raw", view.dtype)
    head, body = _cells(analysis, raw)
    body = [[cell.replace(",", "") if i >= len(v.COLUMNS) else cell for i, cell in enumerate(r)] for r in body]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(head)
    writer.writerows(body)
    return out.getvalue()


def render_markdown(analysis: Analysis, view: v.View) -> str:
    """A GitHub-flavoured Markdown table with a totals row and the caption under it."""
    head, body = _cells(analysis, view)
    body.append(["**total**", *[""] * (len(v.COLUMNS) - 1), *v.total_cells(analysis, view)])
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines) + f"\n\n{v.caption(analysis, view)}\n"
