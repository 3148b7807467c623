"""Figures: one network's per-layer bars, and several networks' bubbles (the lecture's accuracy vs
operations chart, or compute vs memory).

Stage: report (output edge). In: Analysis (+ View) and a path ending .png, .svg or .pdf.
Out: that one file, written by matplotlib; nothing else is written or printed. matplotlib is
imported only inside the plot functions (never at import, never on the analytic path), and
pyplot not at all: a bare Figure renders offscreen and touches no global backend or figure list.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnncalc.engine.memory import forward_memory_estimate, training_memory_estimate
from cnncalc.report.view import View, display_rows, params_of

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from cnncalc.accuracy import Accuracy
    from cnncalc.engine.analysis import Analysis

FORMATS = (".png", ".svg", ".pdf")
COMPARE_METRICS = ("accuracy", "memory", "activations", "params", "training")

KiB, MiB = 1024, 1024 ** 2  # memory in KB/MB of 1024, as the tables' "KB of 1024 B"

# Bars are coloured by the lead op's category (ops declare it); folded relu/bn ride along with
# it; an op of two or more inputs (add, concat, mul) is a merge.
_FAMILY = {"conv": "conv", "linear": "linear", "pooling": "pool"}


def _family(op: Any) -> str:
    return _FAMILY.get(op.category) or ("merge" if op.arity == 0 else "other")


_COLOURS = {"conv": "#3b75af", "linear": "#d1615d", "pool": "#6ba368", "merge": "#e1a23b",
            "other": "#9a9a9a"}
_RC = {"svg.fonttype": "none",  # text stays <text>: searchable, and small files
       "svg.hashsalt": "cnncalc",  # fixed clip-path ids: the same input gives the same SVG
       "font.size": 9}


def matplotlib_missing_message() -> str:
    """The one sentence the CLI prints when matplotlib is not installed."""
    return "plotting needs matplotlib: pip install 'cnncalc[plot]'"


def _format_of(path: str) -> str:
    """'png', 'svg' or 'pdf' from the path's suffix; ValueError for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        got = f"'{suffix}'" if suffix else "no suffix"
        raise ValueError(f"cannot tell the image format of '{path}' ({got}): "
                         f"name the file .png, .svg or .pdf")
    return suffix[1:]


def _save(fig, path: str, fmt: str) -> None:
    """Write the figure, whole or not at all (cnncalc/output.py); no timestamps, so the same
    numbers give the same file."""
    from cnncalc.output import write_atomic

    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt)
    write_atomic(path, lambda fh: fig.savefig(fh, format=fmt, dpi=150, metadata=metadata))


def _figure(width_in: float, height_in: float):
    """A Figure on its own Agg canvas: no pyplot, so no global backend switch, no figure to close
    (matplotlib's "embedding without pyplot"); savefig picks the svg/pdf canvas by format."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


DRAWABLE = 10**300  # a float carries at most ~1.8e308: past this, a number has no position on an axis


def check_drawable(analyses: Sequence[Analysis]) -> None:
    """A usage error, before drawing, for numbers too large for a chart (the tables show them
    exactly; a float axis cannot)."""
    from cnncalc.errors import UsageError

    for a in analyses:
        t = a.totals
        if max(t.params, 2 * t.macs + t.elem_ops, t.memory_bytes, training_memory_estimate(a, "adam")) > DRAWABLE:
            raise UsageError(None, f"'{_text(a.graph.name)}' has numbers past 10**300, which no chart axis can "
                             "hold", "the tables show them exactly: cnncalc table, --format json")


def _text(name: str) -> str:
    """A user's name as matplotlib text: control characters escaped, and `$` not mathtext (a
    name with one `$` would fail to draw, two would typeset what lies between)."""
    from cnncalc.errors import safe_text

    return safe_text(name).replace("$", r"\$")


def _count(k: int) -> str:
    """A round parameter count for the size key: 10 M, 500 k, 60."""
    return f"{k / 1e6:g} M" if k >= 1e6 else f"{k / 1e3:g} k" if k >= 1e3 else str(k)


def _unit(peak: float, units: tuple[tuple[float, str], ...]) -> tuple[float, str]:
    """The largest unit the peak value reaches at least once of (the first one otherwise)."""
    chosen = units[0]
    for divisor, name in units:
        if peak >= divisor:
            chosen = (divisor, name)
    return chosen


def _num(x: float) -> str:
    """About three significant digits, thousands separated: 0.62, 12.3, 103, 1,850."""
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def _label_step(n: int, width_in: float) -> int:
    """Show every k-th layer name so rotated labels (about 0.16 in apart) do not collide."""
    return max(1, math.ceil(n / max(1, int(width_in / 0.16))))


def plot_layers(analysis: Analysis, view: View, path: str) -> None:
    """Three bar panels over the display rows: activation memory, parameters, multiply-adds.

    Follows the view's weights_only, convention and fold; units are always scaled (KB/MB,
    k/M, k/M/G) whatever view.units says, since a bar has no digits to keep exact.
    """
    fmt = _format_of(path)
    import matplotlib
    from matplotlib.patches import Patch

    check_drawable([analysis])
    rows = display_rows(analysis, view)
    names = [_text(r.lead.name) for r in rows]
    n = len(names)
    from cnncalc.conventions import get_profile

    flop_word = ("multiply-adds" if view.convention == "lecture"
                 else f"{view.convention} {get_profile(view.convention).unit_label}")
    counts = analysis.counted(view.convention)
    t = analysis.totals
    panels = [  # (values, total, units, axis label)
        ([r.memory_bytes() for r in rows], t.memory_bytes, ((KiB, "KB"), (MiB, "MB")),
         "activation memory"),
        ([r.params(view) for r in rows], params_of(t, view), ((1e3, "k"), (1e6, "M")),
         "weights" if view.weights_only else "parameters"),
        ([r.flop(counts) for r in rows], sum(counts),
         ((1e3, "k"), (1e6, "M"), (1e9, "G")), flop_word),
    ]
    longest = max((len(s) for s in names), default=1)
    width = min(20.0, max(8.0, 2.0 + 0.34 * n))
    height = 6.6 + 0.075 * min(longest, 30)
    step = _label_step(n, width)
    colours = [_COLOURS[_family(r.lead.node.op)] for r in rows]
    shape = "x".join(map(str, analysis.graph.input_shape))

    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        fig = _figure(width, height)
        axes: list[Axes] = fig.subplots(3, 1, sharex=True)
        for ax, (values, total, units, what) in zip(axes, panels):
            divisor, unit = _unit(max(values, default=0), units)
            scaled = [x / divisor for x in values]
            ax.bar(range(n), scaled, width=0.8, color=colours, zorder=2)
            ax.set_ylabel(f"{what} ({unit})")
            ax.grid(axis="y", color="#dddddd", linewidth=0.8, zorder=0)
            ax.spines[["top", "right"]].set_visible(False)
            ax.margins(y=0.18)
            ax.set_title(f"total {_num(total / divisor)} {unit}", loc="right", fontsize=9,
                         color="#333333", pad=3)
            if scaled and max(scaled) > 0:  # name the tallest bar, kept inside the panel
                top = max(range(n), key=scaled.__getitem__)
                ha = "left" if top < n * 0.2 else "right" if top > n * 0.8 else "center"
                ax.annotate(f"{names[top]}: {_num(scaled[top])} {unit}", (top, scaled[top]),
                            xytext=(0, 3), textcoords="offset points", ha=ha, va="bottom",
                            fontsize=8, color="#333333")
        bottom = axes[-1]
        bottom.set_xlim(-0.6, n - 0.4)
        shown = list(range(0, n, step))
        if shown and shown[-1] != n - 1:  # the classifier at the end always gets its name
            if n - 1 - shown[-1] < step / 2:
                shown.pop()
            shown.append(n - 1)
        bottom.set_xticks(shown, [names[i] for i in shown],
                          rotation=90 if longest > 8 or step > 1 else 50,
                          ha="center" if longest > 8 or step > 1 else "right",
                          rotation_mode="default" if longest > 8 or step > 1 else "anchor",
                          fontsize=8)
        used = [f for f in _COLOURS if any(c == _COLOURS[f] for c in colours)]
        fig.legend([Patch(color=_COLOURS[f]) for f in used], used, loc="outside lower center",
                   ncols=max(1, len(used)), frameon=False, fontsize=9, title="bar colour = layer type",
                   title_fontsize=9)
        fig.suptitle(f"{_text(analysis.graph.name)}: where memory, parameters and compute live",
                     fontsize=13, fontweight="bold")
        thinned = f" · 1 name in {step} shown" if step > 1 else ""
        folded = " (relu, bn, dropout folded into the layer above)" if view.fold else ""
        axes[0].set_title(f"input {shape} · batch {analysis.batch} · {analysis.dtype.name} · {n} rows"
                          f"{folded}{thinned}", loc="left", fontsize=9, color="#555555", pad=3)
        _save(fig, path, fmt)


def _place_labels(fig, ax, labels, radii_pt: list[float]) -> None:
    """Put each bubble's name right, left, above or below it, wherever it overlaps the fewest
    names already placed and other bubbles (a greedy pass; enough for a dozen models)."""
    fig.draw_without_rendering()  # runs the layout, so window extents are final
    renderer = fig.canvas.get_renderer()
    px = fig.dpi / 72  # display pixels per point
    centres = [ax.transData.transform(label.xy) for label in labels]
    bubbles = [(cx - r * px, cy - r * px, cx + r * px, cy + r * px)
               for (cx, cy), r in zip(centres, radii_pt)]
    frame = ax.get_window_extent(renderer)

    def overlap(a, b) -> float:
        w = min(a[2], b[2]) - max(a[0], b[0])
        h = min(a[3], b[3]) - max(a[1], b[1])
        return max(w, 0) * max(h, 0)

    placed: list[tuple[float, float, float, float]] = []
    for i, (label, r) in enumerate(zip(labels, radii_pt)):
        best = None
        d = 0.72 * r + 2  # diagonal offsets, just off the bubble's rim
        for dx, dy, ha, va in ((r + 3, 0, "left", "center"), (-r - 3, 0, "right", "center"),
                               (0, r + 2, "center", "bottom"), (0, -r - 2, "center", "top"),
                               (d, d, "left", "bottom"), (d, -d, "left", "top"),
                               (-d, d, "right", "bottom"), (-d, -d, "right", "top")):
            label.set_position((dx, dy))
            label.set_ha(ha)
            label.set_va(va)
            e = label.get_window_extent(renderer)
            box = (e.x0, e.y0, e.x1, e.y1)
            outside = e.width * e.height - overlap(box, (frame.x0, frame.y0, frame.x1, frame.y1))
            cost = (sum(overlap(box, b) for b in placed) * 4 + outside * 4
                    + sum(overlap(box, b) for j, b in enumerate(bubbles) if j != i))
            if best is None or cost < best[0]:
                best = (cost, (dx, dy), ha, va, box)
            if cost == 0:
                break
        if best is None:  # no candidate position: leave the label where it is
            continue
        _, xy, ha, va, box = best
        label.set_position(xy)
        label.set_ha(ha)
        label.set_va(va)
        placed.append(box)


def _compare_y(analysis: Analysis, y: str, optimizer: Any) -> float:
    if y == "memory":
        return forward_memory_estimate(analysis) / MiB
    if y == "activations":
        return analysis.totals.memory_bytes / MiB
    if y == "params":
        return analysis.totals.params / 1e6
    from cnncalc.engine.memory import as_training

    return as_training(optimizer).peak(analysis) / MiB


_Y_LABELS = {"accuracy": "top-1 accuracy (%), ImageNet-1K validation",
             "memory": "inference memory (MB)\nparameters + largest live set of activations",
             "activations": "activation memory (MB)\nevery layer's output", "params": "parameters (M)",
             "training": "training memory estimate (MB)\nparams + grads + {optimizer} state + activations"}
_TITLES = {"accuracy": "top-1 accuracy vs operations", "memory": "operations vs inference memory",
           "activations": "operations vs activation memory", "params": "operations vs parameters",
           "training": "operations vs training memory"}


def _sources_note(names: list[str], found: list[Accuracy]) -> str:
    """The chart's footnote: which figures are torchvision's and which a paper's, named."""
    import textwrap

    names = [_text(n) for n in names]
    tv = [n for n, a in zip(names, found) if a.from_torchvision]
    papers = [f"{n} ({a.short_source}{', ' + a.label if a.label else ''})" for n, a in zip(names, found)
              if not a.from_torchvision]
    parts = []
    if tv:
        parts.append("torchvision's weights metadata (single 224-crop or the model's own size): " + ", ".join(tv))
    if papers:
        parts.append("the papers: " + "; ".join(papers))
    return "\n".join(textwrap.wrap("Top-1 from " + "; from ".join(parts) + ". Accuracy comes from the "
                                    "trained networks, not from this tool.", 150))


def plot_compare(entries: list[tuple[str, Analysis]], path: str, y: str = "accuracy",
                 convention: str = "lecture", optimizer: Any = "adam",
                 accuracies: list[Accuracy | None] | None = None) -> list[str]:
    """One bubble per model: multiply-adds (G; or what the convention's tool counts) across, the
    chosen measure up, area = parameters. y="accuracy" is the lecture's chart (Canziani et al.):
    top-1 ImageNet accuracy, from `accuracies` (default: the bundled figures of each name,
    cnncalc.accuracy); models without a figure are left out and their names returned."""
    fmt = _format_of(path)
    if y not in COMPARE_METRICS:
        raise ValueError(f"unknown measure '{y}' for the y axis: use one of "
                         f"{', '.join(COMPARE_METRICS)}")
    if not entries:
        raise ValueError("nothing to compare: give at least one model")
    check_drawable([a for _, a in entries])
    left_out: list[str] = []
    found: list[Accuracy] = []
    if y == "accuracy":
        from cnncalc.accuracy import accuracy

        figures = accuracies if accuracies is not None else [accuracy(name) for name, _ in entries]
        left_out = [name for (name, _), a in zip(entries, figures) if a is None]
        kept = [(e, a) for e, a in zip(entries, figures) if a is not None]
        if not kept:
            raise ValueError("no ImageNet accuracy is known for any of these models "
                             "(only bundled specs at their own input have one): try --y memory")
        entries, found = [e for e, _ in kept], [a for _, a in kept]
    import matplotlib
    from matplotlib.ticker import FuncFormatter, LogLocator

    from cnncalc.conventions import get_profile

    xs = [a.total_counted(convention) / 1e9 for _, a in entries]
    x_word = "multiply-adds" if convention == "lecture" else f"{convention} {get_profile(convention).unit_label}"
    ys = [a.top1 for a in found] if y == "accuracy" else [_compare_y(a, y, optimizer) for _, a in entries]
    params = [a.totals.params for _, a in entries]
    biggest = max(max(params), 1)
    max_area = 2800.0  # points^2 of the largest bubble
    areas = [max(10.0, max_area * p / biggest) for p in params]

    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        fig = _figure(9.0, 5.6 if y != "accuracy" else 6.0)
        ax = fig.subplots()
        # tab10 (a ListedColormap); past ten models tab20's ten strong shades, then its ten light
        # ones, so that no two bubbles share a colour and neighbours in the list differ most
        palette = matplotlib.colormaps["tab10"].colors  # type: ignore[attr-defined]
        if len(entries) > 10:
            pairs = matplotlib.colormaps["tab20"].colors  # type: ignore[attr-defined]
            palette = (*pairs[0::2], *pairs[1::2])
        for i, (x, v, s) in enumerate(zip(xs, ys, areas)):
            ax.scatter([x], [v], s=s, color=palette[i % len(palette)], alpha=0.55,
                       edgecolors="black", linewidths=0.6, zorder=3)
        marks = [f" ({a.label})" if a.label else "" for a in found] if found else [""] * len(entries)
        labels = [ax.annotate(_text(name) + mark, (x, v), xytext=(0, 0), textcoords="offset points", fontsize=10,
                              zorder=4) for (name, _), mark, x, v in zip(entries, marks, xs, ys)]
        positive = [x for x in xs if x > 0]
        if len(positive) == len(xs) and max(xs) / min(xs) > 30:
            ax.set_xscale("log")
            decades = math.log10(max(xs) / min(xs))
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if decades < 3 else (1.0,)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.set_xlabel(f"{x_word} (G, log scale)")
        else:
            ax.set_xlabel(f"{x_word} (G)")
        ax.set_ylabel(_Y_LABELS[y].format(optimizer=optimizer))
        ax.margins(x=0.12, y=0.12)
        ax.grid(color="#e3e3e3", linewidth=0.8, zorder=0)
        ax.spines[["top", "right"]].set_visible(False)
        # a size key: one or two round parameter counts below the largest model
        top = 10 ** math.floor(math.log10(biggest))
        keys = [k for k in (top // 10, top) if k > 0 and max_area * k / biggest >= 10]
        handles = [ax.scatter([], [], s=max_area * k / biggest, color="white", edgecolors="black",
                              linewidths=0.6) for k in keys]
        fig.legend(handles, [_count(k) for k in keys], loc="outside right upper", frameon=False,
                   labelspacing=3.0, borderpad=1.2, handlelength=4.5, handletextpad=1.2, fontsize=9,
                   title="bubble area\n= parameters", title_fontsize=9)
        batches = {(a.batch, a.dtype) for _, a in entries}
        note = (f"batch {entries[0][1].batch}, {entries[0][1].dtype.name}"
                if len(batches) == 1 else "mixed batch sizes / element types")
        if y == "accuracy":
            note = f"operations for one image ({x_word}); bubble area = parameters"
            ax.annotate(_sources_note([n for n, _ in entries], found), (0, 0), xycoords="axes fraction",
                        xytext=(0, -34), textcoords="offset points", va="top", ha="left", fontsize=7,
                        color="#555555", annotation_clip=False)
        fig.suptitle("Comparing complexity: " + _TITLES[y], fontsize=13, fontweight="bold")
        ax.set_title(note, loc="left", fontsize=9, color="#555555")
        _place_labels(fig, ax, labels, [math.sqrt(s) / 2 for s in areas])
        _save(fig, path, fmt)
    return left_out
