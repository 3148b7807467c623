"""`cnncalc compare`: totals of several architectures side by side.

Stage: report (pure). In: Analyses. Out: a Grid (every text format) and a rich Table.
"""

from __future__ import annotations

from rich.table import Table

from cnncalc.engine import Analysis, depth, training_memory_estimate
from cnncalc.report.grid import Grid
from cnncalc.report.view import fmt_auto


def compare_grid(analyses: list[Analysis], optimizer: str = "sgd", convention: str = "lecture") -> Grid:
    """One row per model; `data` keeps the exact integers for JSON and CSV. The compute column is
    the convention's count (multiply-adds for the lecture)."""
    from cnncalc.conventions import get_profile

    profile = get_profile(convention)
    flop_head = "MACs" if convention == "lecture" else f"{convention} {profile.unit_label}"
    headers = ["model", "input", "params", flop_head, "activation memory", "training memory", "depth"]
    rows, raw, data = [], [], []
    for a in analyses:
        t, flop = a.totals, a.total_counted(convention)
        train = training_memory_estimate(a, optimizer)
        shape = "x".join(map(str, a.graph.input_shape))
        rows.append([a.graph.name, shape, fmt_auto(t.params, 1000, ("", "k", "M", "G")),
                     fmt_auto(flop, 1000, ("", "k", "M", "G", "T")),
                     fmt_auto(t.memory_bytes, 1024, ("B", "KB", "MB", "GB", "TB")),
                     fmt_auto(train, 1024, ("B", "KB", "MB", "GB", "TB")), str(depth(a))])
        raw.append([a.graph.name, shape, str(t.params), str(flop), str(t.memory_bytes), str(train), str(depth(a))])
        data.append({"name": a.graph.name, "input": list(a.graph.input_shape), "params": t.params,
                     "macs": t.macs, "counted": flop, "memory_bytes": t.memory_bytes, "training_bytes": train,
                     "depth": depth(a)})
    batch = analyses[0].batch if analyses else 1
    what = ("MACs = multiply-adds (conv, linear, matmul, pooling)" if convention == "lecture"
            else f"{flop_head} = what {profile.tool} reports")
    grid = Grid(title="comparing complexity", headers=headers, rows=rows, numeric_from=2, raw_rows=raw,
                caption=f"params = weights + biases; {what}; memory = "
                        f"activations, batch {batch}; training = params + grads + {optimizer} state + activations "
                        f"+ input; depth = conv/linear layers on the longest path")
    grid.data = data
    return grid


def render_compare(grid: Grid) -> Table:
    table = Table(title=grid.title, caption=grid.caption, caption_justify="left", header_style="bold")
    for i, head in enumerate(grid.headers):
        table.add_column(head, justify="right" if i >= grid.numeric_from else "left")
    for row in grid.rows:
        table.add_row(*row)
    return table
