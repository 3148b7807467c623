"""The sweep chart: params, multiply-adds and memory along the swept axis, three panels.

Stage: report (output edge). In: the sweep's points and their numbers, a .png/.svg/.pdf path. Out:
that one file (written whole or not at all, like every plot: report/plot.py's _save).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cnncalc.report.plot import _RC, DRAWABLE, _figure, _format_of, _save, _text, _unit

if TYPE_CHECKING:
    from cnncalc.results import Axis, Measured, Point


def check_sweep_drawable(name: str, measured: Sequence[Measured]) -> None:
    """A usage error, before drawing, for numbers too large for a chart (report/plot.py's
    check_drawable, read from the numbers a sweep keeps: its training memory is the sweep's
    optimizer's, the one the chart draws)."""
    from cnncalc.errors import UsageError

    for m in measured:
        if max(m.params, 2 * m.macs + m.elem_ops, m.memory_bytes, m.training_bytes) > DRAWABLE:
            raise UsageError(None, f"'{_text(name)}' has numbers past 10**300, which no chart axis can "
                             "hold", "the tables show them exactly: cnncalc table, --format json")


def plot_sweep(axis: Axis, pts: list[Point], measured: Sequence[Measured], path: str, optimizer: str = "adam",
               convention: str = "lecture", name: str = "") -> None:
    fmt = _format_of(path)
    check_sweep_drawable(name, measured)
    import matplotlib

    from cnncalc.conventions import get_profile

    numeric = all(p.x is not None for p in pts)
    xs = [p.x if numeric else i for i, p in enumerate(pts)]
    flop_word = "multiply-adds" if convention == "lecture" else f"{convention} {get_profile(convention).unit_label}"
    flops = [m.counted for m in measured]
    params = [m.params for m in measured]
    memory = [m.memory_bytes for m in measured]
    training = [m.training_bytes for m in measured]
    x_label = {"input": "input size (the first axis that changes: H of C x H x W)", "batch": "batch size"}.get(
        axis.name, f"spec argument {_text(axis.name)}")

    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        fig = _figure(8.0, 7.5)
        panels = fig.subplots(3, 1, sharex=True)
        series = [(flops, f"{flop_word}", ((1, ""), (1e3, "k"), (1e6, "M"), (1e9, "G"), (1e12, "T")), "#3b75af"),
                  (params, "parameters", ((1, ""), (1e3, "k"), (1e6, "M"), (1e9, "G")), "#d1615d"),
                  (memory, "memory", ((1, "B"), (2**10, "KB"), (2**20, "MB"), (2**30, "GB"), (2**40, "TB")), "#6ba368")]
        for ax, (values, word, units, colour) in zip(panels, series):
            top = max(max(values), max(training) if word == "memory" else 0)
            divisor, unit = _unit(float(top), units)
            ax.plot(xs, [v / divisor for v in values], marker="o", markersize=3, color=colour,
                    label="activations" if word == "memory" else word)
            if word == "memory":
                ax.plot(xs, [v / divisor for v in training], marker="o", markersize=3, color="#e1a23b",
                        label=f"training ({optimizer})")
                ax.legend(frameon=False, loc="upper left")
            ax.set_ylabel(f"{word} ({unit})" if unit else word)
            ax.grid(color="#e3e3e3", linewidth=0.8)
            ax.spines[["top", "right"]].set_visible(False)
            ax.set_ylim(bottom=0)
        bottom = panels[-1]
        if not numeric:
            bottom.set_xticks(xs, [_text(p.label) for p in pts], rotation=45, ha="right")
        bottom.set_xlabel(x_label)
        fig.suptitle(f"{_text(name)}: sweep of {_text(axis.label)}", fontsize=13, fontweight="bold")
        _save(fig, path, fmt)
