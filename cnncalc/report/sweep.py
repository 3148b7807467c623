"""`cnncalc sweep` and cnncalc.sweep(): how params, multiply-adds and memory grow along one axis,
as a table.

Stage: report (pure). In: the sweep's axis, points and each point's numbers (results.Measured;
the command line's range syntax is read in cli/sweep.py, the numbers are made by
cnncalc.api.sweep). Out: a Grid (every text format) and a terminal Table that fits it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cnncalc.report.console import plain
from cnncalc.report.grid import Grid
from cnncalc.report.term import Table, Text
from cnncalc.report.view import fmt_auto

if TYPE_CHECKING:
    from cnncalc.results import Axis, Measured, Point


def sweep_grid(axis: Axis, pts: list[Point], measured: Sequence[Measured], optimizer: str,
               convention: str, name: str, dtype: str) -> Grid:
    """One row per point; `data` keeps the exact integers for JSON and CSV."""
    from cnncalc.conventions import get_profile

    profile = get_profile(convention)
    flop_head = "MACs" if convention == "lecture" else f"{convention} {profile.unit_label}"
    first = measured[0].counted
    headers = [axis.name, "params", flop_head, f"{flop_head} ×", "activation memory", "training memory"]
    rows, raw, data = [], [], []
    for p, m in zip(pts, measured):
        flop, train = m.counted, m.training_bytes
        label = p.label.split("=", 1)[1] if axis.name not in ("input", "batch") else p.label
        rows.append([label, fmt_auto(m.params, 1000, ("", "k", "M", "G")),
                     fmt_auto(flop, 1000, ("", "k", "M", "G", "T")), _ratio(flop, first),
                     fmt_auto(m.memory_bytes, 1024, ("B", "KB", "MB", "GB", "TB")),
                     fmt_auto(train, 1024, ("B", "KB", "MB", "GB", "TB"))])
        raw.append([label, str(m.params), str(flop), _ratio(flop, first), str(m.memory_bytes), str(train)])
        data.append({"input": list(m.input), "batch": m.batch, "args": p.args, "params": m.params,
                     "macs": m.macs, "counted": flop, "memory_bytes": m.memory_bytes, "training_bytes": train})
    m0 = measured[0]
    fixed = [f"input {'x'.join(map(str, m0.input))}" if axis.name != "input" else "",
             f"batch {m0.batch}" if axis.name != "batch" else "", dtype, f"{optimizer} for training"]
    what = ("MACs = multiply-adds (conv, linear, matmul, pooling)" if convention == "lecture"
            else f"{flop_head} = what {profile.tool} reports")
    grid = Grid(title=f"{name}: sweep of {axis.label}", headers=headers, rows=rows, numeric_from=1,
                raw_rows=raw, caption=f"{', '.join(f for f in fixed if f)}; {what}; × = relative to the first row; "
                f"memory = activations; training = the training step's peak with {optimizer}, the largest moment of its "
                f"forward, backward and step (docs/memory.md)")
    grid.data = data
    return grid


def _ratio(n: int, first: int) -> str:
    """n / first to three significant digits, in integers: ×1.00, ×2.56, ×12.3, ×1,024."""
    if first == 0:
        return "-"
    from cnncalc.report.view import fixed

    places = 2 if n < 10 * first else 1 if n < 100 * first else 0
    return "×" + fixed(n, first, places)


def render_sweep(grid: Grid, width: int | None = None) -> Table:
    """The grid as a terminal table; given a width, every digit whole (report/fit.py), the ratio
    column left out first when narrow (said in the caption)."""
    from cnncalc.report.fit import fit, fold_everything

    for drop in (False, True):
        table = _table(grid, drop)
        if fit(table, width, wrap=()):
            return table
    return fold_everything(table)


def _table(grid: Grid, drop_ratio: bool) -> Table:
    keep = [i for i, h in enumerate(grid.headers) if not (drop_ratio and h.endswith(" ×"))]
    caption = grid.caption + (" (narrow terminal: the × column left out)" if drop_ratio else "")
    table = Table(title=plain(grid.title), caption=caption, caption_justify="left", header_style="bold")
    for i in keep:
        table.add_column(grid.headers[i], justify="right" if i >= grid.numeric_from else "left")
    for row in grid.rows:
        cells: list[Text | str] = [plain(row[0]), *(row[i] for i in keep[1:])]
        table.add_row(*cells)
    return table
