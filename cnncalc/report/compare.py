"""`cnncalc compare`: totals of several architectures side by side.

Stage: report (pure). In: Analyses. Out: a Grid (every text format) and a terminal Table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cnncalc.engine.analysis import depth
from cnncalc.engine.memory import Training, as_training, forward_memory_estimate
from cnncalc.report.console import plain
from cnncalc.report.grid import Grid
from cnncalc.report.term import Table, Text
from cnncalc.report.view import fmt_auto

if TYPE_CHECKING:
    from cnncalc.engine.analysis import Analysis


def compare_grid(analyses: Sequence[Analysis], optimizer: str | Training = "adam", convention: str = "lecture") -> Grid:
    """One row per model; `data` keeps the exact integers for JSON and CSV. The compute column is
    the convention's count (multiply-adds for the lecture)."""
    from cnncalc.conventions import get_profile

    training = as_training(optimizer)  # the optimizer, amp, checkpointing and device
    profile = get_profile(convention)
    flop_head = "MACs" if convention == "lecture" else f"{convention} {profile.unit_label}"
    headers = ["model", "input", "params", flop_head, "inference memory", "activation memory", "training memory",
               "depth"]
    rows, raw, data = [], [], []
    for a in analyses:
        t, flop = a.totals, a.total_counted(convention)
        train, inference = training.peak(a), forward_memory_estimate(a)
        shape = "x".join(map(str, a.graph.input_shape))
        rows.append([a.graph.name, shape, fmt_auto(t.params, 1000, ("", "k", "M", "G")),
                     fmt_auto(flop, 1000, ("", "k", "M", "G", "T")),
                     fmt_auto(inference, 1024, ("B", "KB", "MB", "GB", "TB")),
                     fmt_auto(t.memory_bytes, 1024, ("B", "KB", "MB", "GB", "TB")),
                     fmt_auto(train, 1024, ("B", "KB", "MB", "GB", "TB")), str(depth(a))])
        raw.append([a.graph.name, shape, str(t.params), str(flop), str(inference), str(t.memory_bytes), str(train), str(depth(a))])
        data.append({"name": a.graph.name, "input": list(a.graph.input_shape), "params": t.params,
                     "macs": t.macs, "counted": flop, "inference_bytes": inference, "memory_bytes": t.memory_bytes,
                     "training_bytes": train, "depth": depth(a)})
    batch = analyses[0].batch if analyses else 1
    what = ("MACs = multiply-adds (conv, linear, matmul, pooling)" if convention == "lecture"
            else f"{flop_head} = what {profile.tool} reports")
    grid = Grid(title="comparing complexity", headers=headers, rows=rows, numeric_from=2, raw_rows=raw,
                caption=f"params = weights + biases; {what}; inference = params, buffers, input and the largest live "
                        f"set of activations; memory = every layer's activations, batch {batch}; training = the "
                        f"training step's peak with {training}, the largest moment of its forward, backward and "
                        f"step (docs/memory.md); "
                        f"depth = conv/linear layers on the longest path")
    grid.data = data
    return grid


# short headers of the narrow layouts (the caption says what each measures)
_SHORT = {"inference memory": "inference", "activation memory": "memory", "training memory": "training"}


def render_compare(grid: Grid, width: int | None = None) -> Table:
    """The grid as a terminal table; given a width, the first layout that fits it with every name
    and digit whole (report/fit.py): every column; the input under the model's name and short
    headers; then without the depth column (said in the caption)."""
    from cnncalc.report.fit import fit, fold_everything

    for layout in ("columns", "stacked", "no-depth", "no-depth-activations"):
        table = _compare_table(grid, layout)
        if fit(table, width, wrap=()):
            return table
    return fold_everything(table)


def _compare_table(grid: Grid, layout: str) -> Table:
    headers, rows = list(grid.headers), [list[str | Text](r) for r in grid.rows]
    caption = grid.caption
    if layout != "columns" and len(headers) > 2 and headers[1] == "input":
        headers = [f"{headers[0]} (input)", *(_SHORT.get(h, h) for h in headers[2:])]
        rows = [[plain(f"{r[0]}\n{r[1]}"), *r[2:]] for r in rows]
        if layout.startswith("no-depth") and headers[-1] == "depth":
            headers, rows = headers[:-1], [r[:-1] for r in rows]
            dropped = "depth"
            if layout == "no-depth-activations" and "memory" in headers:
                i = headers.index("memory")
                headers, rows = headers[:i] + headers[i + 1:], [r[:i] + r[i + 1:] for r in rows]
                dropped = "depth and activation memory"
            caption += f" (narrow terminal: {dropped} left out; --format markdown shows it)"
    numeric_from = grid.numeric_from - (len(grid.headers) - len(headers) if layout != "columns" else 0)
    table = Table(title=grid.title, caption=caption, caption_justify="left", header_style="bold")
    for i, head in enumerate(headers):
        table.add_column(head, justify="right" if i >= max(1, numeric_from) else "left")
    for row in rows:
        table.add_row(*row, end_section=layout != "columns")
    return table
