"""Fit a terminal table to the terminal without hiding a digit.

Stage: report (pure). In: a built Table (report/term.py) and a width. Out: the same table with
every column's width set, or False when it cannot fit.

A table that is too wide is shrunk (by rich, and by report/term.py, which draws as rich does)
by cutting cells with `…`, numbers included, and that shrinking ignores how narrow a column can
get (`86,704,1…`). Here each column gets a width chosen up front instead: a number column is
exactly as wide as its widest cell, headers may wrap at spaces (`memory` over `(KB)`), and the
columns named `wrap` (layer names, descriptions) may wrap at spaces down to their longest word.
When even that is wider than the terminal, `fit` says so and the caller tries a more compact
layout (see report/table.py's LAYOUTS): one cell for kernel/stride/pad, no input columns, no
share bars, each said in the caption. `overflow` is "fold" everywhere, so whatever still does
not fit wraps onto the next line: never `…`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from cnncalc.report.term import Padding, Table, Text, cell_len


def _plain(cell: Any) -> str:
    if isinstance(cell, Text):
        return cell.plain
    return cell if isinstance(cell, str) else ""


def _line_width(cell: Any) -> int:
    """The cells a cell takes on one line (its widest line, when it has several)."""
    return max((cell_len(line) for line in _plain(cell).split("\n")), default=0)


def _word_width(cell: Any) -> int:
    """The narrowest a cell can wrap to at spaces: its longest word."""
    return max((cell_len(word) for word in _plain(cell).split()), default=0)


def overhead(table: Table) -> int:
    """Cells a table spends on borders and padding, beside its columns' contents."""
    n = len(table.columns)
    _, right, _, left = Padding.unpack(table.padding)
    pad = n * (left + right) if table.pad_edge else max(0, n - 1) * (left + right)
    borders = (n + 1 if table.show_edge else max(0, n - 1)) if table.box else 0
    return pad + borders


def fit(table: Table, width: int | None, wrap: Collection[int] = (0,), least_of: Mapping[int, int] | None = None) -> bool:
    """Give every column a width so that the table is at most `width` cells wide and no number
    is cut; False (the table unchanged) when it cannot be done at this layout. least_of: the
    narrowest some wrap columns may go, below their longest word (a long word of prose then
    breaks; a name is kept whole by giving its length)."""
    if width is None:
        return True
    natural, least = [], []
    for i, column in enumerate(table.columns):
        cells = [*column._cells, column.header, *([column.footer] if table.show_footer else [])]
        natural.append(max(_line_width(c) for c in cells))
        body = [*column._cells, *([column.footer] if table.show_footer else [])]
        body_least = max((_word_width(c) if i in wrap else _line_width(c) for c in body), default=0)
        if least_of and i in least_of:
            body_least = least_of[i]
        least.append(max(body_least, _word_width(column.header), 1))
    room = width - overhead(table)
    if sum(least) > room:
        return False
    widths = natural[:]
    excess = sum(widths) - room
    # wrap headers first (the number columns with the most room to give, one cell at a time),
    # then names: a wrapped header still reads, a wrapped name less so
    for phase in ([i for i in range(len(widths)) if i not in wrap], [i for i in range(len(widths)) if i in wrap]):
        while excess > 0 and phase and any(widths[j] > least[j] for j in phase):
            i = max(phase, key=lambda j: widths[j] - least[j])
            widths[i] -= 1
            excess -= 1
    for column, w in zip(table.columns, widths):
        column.width, column.overflow, column.no_wrap = w, "fold", False
        column.min_width = column.max_width = None
    return True


def fold_everything(table: Table) -> Table:
    """The last resort, narrower than the most compact layout: let every cell wrap onto more
    lines (a number breaks across lines but keeps every digit)."""
    for column in table.columns:
        column.overflow, column.no_wrap, column.max_width = "fold", False, None
    return table


def fitted(table: Table, width: int | None, wrap: Collection[int] = (0,),
           least_of: Mapping[int, int] | None = None) -> Table:
    """The table fitted to the width (fit), or, when it cannot be, every cell let wrap."""
    return table if fit(table, width, wrap, least_of) else fold_everything(table)
