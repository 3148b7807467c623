"""`--columns`: which of the lecture table's columns a table shows, and in which order.

Stage: report (pure). In: the names a user gives (`layer,output,params,flop`). Out: the
canonical column names, and a Grid cut to them (every text format and the terminal table
draw that Grid). A name is a column (output_c), a group of them (output: output_c and
output_hw) or a preset (slides: the lecture table's twelve). The flop column is whatever the
convention counts; memory and params follow --units and --params.
"""

from __future__ import annotations

from collections.abc import Iterable

from cnncalc.errors import UsageError, shorten
from cnncalc.report.grid import Grid

# the lecture table's columns, in its order (report/view.py COLUMNS, then --rf's, then the numbers)
NAMES = ("layer", "input_c", "input_hw", "filters", "kernel", "stride", "pad", "output_c", "output_hw",
         "rf", "jump", "start", "memory", "params", "flop")
GROUPS = {
    "input": ("input_c", "input_hw"),
    "output": ("output_c", "output_hw"),
    "window": ("filters", "kernel", "stride", "pad"),
    "numbers": ("memory", "params", "flop"),
    # presets
    "slides": ("layer", "input_c", "input_hw", "filters", "kernel", "stride", "pad", "output_c", "output_hw",
               "memory", "params", "flop"),
    "compact": ("layer", "output_c", "output_hw", "params", "flop"),
}
MOST = 64  # names in one --columns (a column may be named twice; nothing needs more)


def parse(value: str | Iterable[str]) -> tuple[str, ...]:
    """The column names of `value` ("layer,output,params,flop", or a sequence of names), groups
    and presets expanded, each column once (first mention wins); a UsageError names a wrong one."""
    from cnncalc.spec.expr import did_you_mean

    words = [w.strip().lower().replace("-", "_").replace("/", "") for w in
             (value.split(",") if isinstance(value, str) else value)]
    if not words or not all(words) or len(words) > MOST:
        raise UsageError(None, f"columns={shorten(str(value), 80)!r}: give column names separated by commas",
                         "e.g. columns=layer,output,params,flop (" + ", ".join(NAMES) + "; or slides, compact)",
                         param="columns")
    out: list[str] = []
    for word in words:
        names = GROUPS.get(word) or ((word,) if word in NAMES else None)
        if names is None:
            raise UsageError(None, f"columns={shorten(word, 40)!r} is not a column of the table",
                             did_you_mean(word[:40], [*NAMES, *GROUPS]) or
                             "columns: " + ", ".join(NAMES) + "; groups input, output, window, numbers; presets "
                             "slides, compact", param="columns")
        out += [n for n in names if n not in out]
    return tuple(out)


def select(grid: Grid, columns: tuple[str, ...], rf: bool) -> Grid:
    """The grid with only `columns`, in that order (rf, jump and start only where --rf added them:
    a UsageError otherwise). The grid's headers are the lecture table's, in NAMES order."""
    present = [n for n in NAMES if rf or n not in ("rf", "jump", "start")]
    missing = [n for n in columns if n not in present]
    if missing:
        raise UsageError(None, f"columns={missing[0]!r}: the receptive-field columns come with rf=True",
                         "add --rf", param="columns")
    index = [present.index(n) for n in columns]
    numeric = [i >= grid.numeric_from for i in range(len(grid.headers))]

    def cut(row: list[str]) -> list[str]:
        return [row[i] for i in index]

    out = Grid(grid.title, cut(grid.headers), [cut(r) for r in grid.rows], cut(grid.total) if grid.total else None,
               grid.caption, raw_rows=[cut(r) for r in grid.raw_rows])
    out.numeric = [numeric[i] for i in index]
    out.subtotal_rows, out.width = grid.subtotal_rows, grid.width
    return out
