"""`cnncalc sweep`: how params, multiply-adds and memory grow along one axis — the input size, the
batch, or one argument of the spec.

Stage: parse the axis (pure: text -> points), run the analysis at each point (through
cnncalc.api, the spec parsed once and kept), tabulate (a Grid for every text format, a rich
Table that fits the terminal). The syntax (docs/sweep.md):

    --input 3x128x128..3x512x512/32     a range: the axes that differ step by 32 together
    --input 3x32x32..3x512x512*2        a geometric range: each point twice the last
    --input 3x224x224,3x320x320         a list (points are written with x, so commas separate)
    --batch 1,8,64  |  --batch 1..256*2 |  --batch 8..64/8
    --set width=32,64,128  |  --set width=16..128/16
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from rich.table import Table
from rich.text import Text

from cnncalc.engine import Analysis, training_memory_estimate
from cnncalc.errors import CnncalcError, UsageError, shorten
from cnncalc.report.console import plain
from cnncalc.report.grid import Grid
from cnncalc.report.view import fmt_auto

MAX_POINTS = 10_000  # a sweep is a table and a chart, not a grid search
_INT = r"[0-9]{1,100}"
_RANGE = re.compile(rf"(?P<a>[0-9x]+)\.\.(?P<b>[0-9x]+)(?:(?P<op>[/*])(?P<step>{_INT}))?", re.ASCII)


class Point(NamedTuple):
    """One place on the swept axis: what changes there, and how it is shown."""

    label: str  # "3x128x128", "8", "width=64"
    x: int | float | None  # its position on a chart's x axis (None: not a number)
    input: list[int] | None
    batch: int
    args: dict[str, Any]


class Axis(NamedTuple):
    name: str  # "input", "batch" or "width" (a spec argument)
    flag: str  # "--input", "--batch", "--set width" (named in messages)
    values: list[Any]  # a shape (list of ints), a batch (int) or an argument's value, per point


def _bad(flag: str, text: str, why: str, example: str) -> UsageError:
    joint = "=" if flag.startswith("--set ") else " "  # --set width=16..128/16, --batch 1,8,64
    return UsageError(None, f"{flag} '{shorten(text, 80)}': {why}", f"e.g. {flag}{joint}{example}")


def _int_range(flag: str, text: str, example: str) -> list[int] | None:
    """A..B/STEP (arithmetic), A..B*F (geometric), or None when text is not a range."""
    match = re.fullmatch(rf"(?P<a>{_INT})\.\.(?P<b>{_INT})(?:(?P<op>[/*])(?P<step>{_INT}))?", text, re.ASCII)
    if match is None:
        return None
    return _steps(flag, text, int(match["a"]), int(match["b"]), match["op"] or "/", int(match["step"] or 1), example)


def _steps(flag: str, text: str, a: int, b: int, op: str, step: int, example: str) -> list[int]:
    if b < a:
        raise _bad(flag, text, "the range ends before it starts", example)
    if op == "/":
        if step < 1:
            raise _bad(flag, text, "the step must be at least 1", example)
        count = (b - a) // step + 1
        if count > MAX_POINTS:
            raise _bad(flag, text, f"{count:,} points (at most {MAX_POINTS:,})", example)
        return [a + i * step for i in range(count)]
    if step < 2 or a < 1:
        raise _bad(flag, text, "a geometric range needs a factor of 2 or more, from 1 or more", example)
    out = [a]
    while out[-1] * step <= b:
        out.append(out[-1] * step)
    return out


def parse_shapes(text: str) -> list[list[int]]:
    """The points of --input: a list of shapes, or a range between two shapes of one rank."""
    flag, example = "--input", "3x128x128..3x512x512/32"
    text = text.strip().lower()
    match = _RANGE.fullmatch(text)
    if match:
        a, b = _shape(match["a"], text), _shape(match["b"], text)
        if len(a) != len(b):
            raise _bad(flag, text, f"the two ends have different ranks ({len(a)} and {len(b)} axes)", example)
        moving = [i for i in range(len(a)) if a[i] != b[i]]
        if not moving:
            return [a]
        spans = {b[i] - a[i] for i in moving}
        starts = {a[i] for i in moving}
        if len(spans) > 1 or (match["op"] == "*" and len(starts) > 1):
            raise _bad(flag, text, "the axes that change must change together (from the same size, or by the "
                       "same amount)", example)
        steps = _steps(flag, text, a[moving[0]], b[moving[0]], match["op"] or "/", int(match["step"] or 1), example)
        shift = [v - a[moving[0]] for v in steps] if match["op"] != "*" else None
        points = []
        for k, v in enumerate(steps):
            shape = list(a)
            for i in moving:
                shape[i] = a[i] + shift[k] if shift is not None else v
            points.append(shape)
        return points
    if ".." in text:
        raise _bad(flag, text, "a range is START..END/STEP or START..END*FACTOR", example)
    shapes = [_shape(part, text) for part in text.split(",")]
    if len(shapes) > MAX_POINTS:
        raise _bad(flag, text, f"{len(shapes):,} points (at most {MAX_POINTS:,})", example)
    return shapes


def _shape(part: str, text: str) -> list[int]:
    from cnncalc.errors import MAX_DIGITS

    dims = part.strip().split("x")
    if not all(re.fullmatch(r"[0-9]+", d, re.ASCII) for d in dims) or not 1 <= len(dims) <= 8:
        raise _bad("--input", text, f"'{shorten(part, 40)}' is not a shape such as 3x224x224 (points are "
                   "written with x; commas separate points)", "3x224x224,3x320x320")
    if any(len(d) > MAX_DIGITS for d in dims) or min(int(d) for d in dims) < 1:
        raise _bad("--input", text, "sizes are positive integers of at most 100 digits", "3x224x224")
    return [int(d) for d in dims]


def parse_batches(text: str) -> list[int]:
    flag, example = "--batch", "1,8,64"
    text = text.strip()
    points = _int_range(flag, text, example)
    if points is None:
        parts = text.split(",")
        if not all(re.fullmatch(r"[0-9]{1,18}", p.strip(), re.ASCII) for p in parts):
            raise _bad(flag, text, "not a batch size, a list (1,8,64) or a range (1..256*2)", example)
        points = [int(p) for p in parts]
    if min(points) < 1 or max(points) > 10**18:
        raise _bad(flag, text, "batch sizes are from 1 to 10**18", example)
    if len(points) > MAX_POINTS:
        raise _bad(flag, text, f"{len(points):,} points (at most {MAX_POINTS:,})", example)
    return points


def parse_set(item: str) -> tuple[str, list[Any]]:
    """`width=32,64,128` or `width=16..128/16` -> ("width", [values]); one value is a plain
    override. A value that is a YAML list or mapping ([3, 5]) is one value, not split."""
    from cnncalc.cli.common import parse_sets

    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise UsageError(None, f"--set '{shorten(item, 80)}' is not key=value", "e.g. --set width=32,64,128")
    key, value = key.strip(), value.strip()
    numbers = _int_range(f"--set {key}", value, "16..128/16")
    if numbers is not None:
        return key, numbers
    parts = [value] if value[:1] in "[{" else value.split(",")
    if len(parts) > MAX_POINTS:
        raise _bad(f"--set {key}", value, f"{len(parts):,} points (at most {MAX_POINTS:,})", "32,64,128")
    return key, [parse_sets((f"{key}={p}",))[key] for p in parts]


def pick_axis(inputs: list[list[int]] | None, batches: list[int], sets: list[tuple[str, list[Any]]]) -> Axis:
    """The one axis with more than one point (a usage error for none, or for several)."""
    axes = []
    if inputs is not None and len(inputs) > 1:
        axes.append(Axis("input", "--input", inputs))
    if len(batches) > 1:
        axes.append(Axis("batch", "--batch", batches))
    axes += [Axis(key, f"--set {key}", values) for key, values in sets if len(values) > 1]
    if not axes:
        raise UsageError(None, "nothing to sweep: give a list or a range to --input, --batch or one --set",
                         "e.g. cnncalc sweep resnet50 --input 3x128x128..3x512x512/32")
    if len(axes) > 1:
        raise UsageError(None, f"sweep one axis at a time; this run changes {' and '.join(a.flag for a in axes)}",
                         "fix all but one to a single value")
    return axes[0]


def points(axis: Axis, inputs: list[list[int]] | None, batches: list[int],
           sets: list[tuple[str, list[Any]]]) -> list[Point]:
    """Every point of the sweep, the other axes at their single values."""
    fixed_args = {key: values[0] for key, values in sets if key != axis.name}
    shape = inputs[0] if inputs else None
    out = []
    moving: list[int] = []
    if axis.name == "input" and len({len(v) for v in axis.values}) == 1:
        # the first axis that changes is the chart's x (H, for C x H x W); shapes of several
        # ranks have no such axis, and are drawn in order
        moving = [i for i in range(len(axis.values[0])) if len({v[i] for v in axis.values}) > 1]
    for value in axis.values:
        if axis.name == "input":
            x = value[moving[0]] if moving else None
            out.append(Point("x".join(map(str, value)), x, value, batches[0], fixed_args))
        elif axis.name == "batch":
            out.append(Point(str(value), value, shape, value, fixed_args))
        else:
            x = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
            out.append(Point(f"{axis.name}={value}", x, shape, batches[0], {**fixed_args, axis.name: value}))
    return out


def run_sweep(source, pts: list[Point], axis: Axis, dtype: str, limits, layout: str | None) -> list[Analysis]:
    """The analysis at every point (the spec is parsed once: sources.load_spec keeps it). An
    error at one point is that point's error, named: `--input 3x8x8: ...`."""
    from cnncalc import api

    analyses = []
    for p in pts:
        try:
            analyses.append(api.analyze(source, input=p.input, args=p.args, batch=p.batch, dtype=dtype,
                                        limits=limits, layout=layout))
        except CnncalcError as exc:
            if not exc.message.startswith("--"):  # a flag's own message already names it
                exc.message = f"at {axis.flag} {shorten(p.label.split('=', 1)[-1], 60)}: {exc.message}"
            raise
    return analyses


def sweep_grid(axis: Axis, pts: list[Point], analyses: list[Analysis], optimizer: str,
               convention: str = "lecture") -> Grid:
    """One row per point; `data` keeps the exact integers for JSON and CSV."""
    from cnncalc.conventions import get_profile

    profile = get_profile(convention)
    flop_head = "MACs" if convention == "lecture" else f"{convention} {profile.unit_label}"
    first = analyses[0].total_counted(convention)
    headers = [axis.name, "params", flop_head, f"{flop_head} ×", "activation memory", "training memory"]
    rows, raw, data = [], [], []
    for p, a in zip(pts, analyses):
        t, flop = a.totals, a.total_counted(convention)
        train = training_memory_estimate(a, optimizer)
        label = p.label.split("=", 1)[1] if axis.name not in ("input", "batch") else p.label
        rows.append([label, fmt_auto(t.params, 1000, ("", "k", "M", "G")),
                     fmt_auto(flop, 1000, ("", "k", "M", "G", "T")), _ratio(flop, first),
                     fmt_auto(t.memory_bytes, 1024, ("B", "KB", "MB", "GB", "TB")),
                     fmt_auto(train, 1024, ("B", "KB", "MB", "GB", "TB"))])
        raw.append([label, str(t.params), str(flop), _ratio(flop, first), str(t.memory_bytes), str(train)])
        data.append({"input": list(a.graph.input_shape), "batch": a.batch, "args": p.args, "params": t.params,
                     "macs": t.macs, "counted": flop, "memory_bytes": t.memory_bytes, "training_bytes": train})
    a0 = analyses[0]
    fixed = [f"input {'x'.join(map(str, a0.graph.input_shape))}" if axis.name != "input" else "",
             f"batch {a0.batch}" if axis.name != "batch" else "", a0.dtype.name, f"{optimizer} for training"]
    what = ("MACs = multiply-adds (conv, linear, matmul, pooling)" if convention == "lecture"
            else f"{flop_head} = what {profile.tool} reports")
    grid = Grid(title=f"{a0.graph.name}: sweep of {axis.flag}", headers=headers, rows=rows, numeric_from=1,
                raw_rows=raw, caption=f"{', '.join(f for f in fixed if f)}; {what}; × = relative to the first row; "
                f"memory = activations; training = the training peak: params + grads + {optimizer} state + what autograd "
                f"saves + the backward transient (docs/memory.md)")
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
    """The grid as a rich table; given a width, every digit whole (report/fit.py), the ratio
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
