"""What a table shows: folded rows, the conventions in force, and lecture-style units.

Stage: report (pure). In: Analysis + View options. Out: display rows and formatted cells.
Rounding, unit suffixes and 1000-vs-1024 live here and nowhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.ops.geometry import cell
from cnncalc.ops.registry import Shape
from cnncalc.record import Record

if TYPE_CHECKING:
    from cnncalc.engine.analysis import Analysis, LayerRow, Totals


class View(Record):
    """How a report is drawn: options only, never numbers (those come from the Analysis)."""

    weights_only: bool = False  # --params weights: count weights, not biases (CS231n, EECS 498 FC rows)
    fold: bool = True  # fold relu/bn/dropout/... into the row above
    units: str = "lecture"  # lecture: KB / k / M rounded as on the slides; auto: B..GB, k..G; raw: exact integers
    depth: int | None = None  # --depth N: collapse names deeper than N levels into one subtotal row
    rf: bool = False  # --rf: receptive field, jump and start columns
    convention: str = "lecture"  # --convention TOOL: the flop column counts as that tool does
    columns: tuple[str, ...] | None = None  # --columns: which of the table's columns, in which order (columns.py)
    latex_width: str | None = None  # --latex-width: the LaTeX table scaled to this length (\linewidth, 12cm)
    # lecture units per column (memory, params, flop divisors: 1024 or 1; 1000 or 1; 10**6, 1000 or 1),
    # chosen for the network by lecture_scales; None: the lecture's own KB, k and M
    scales: tuple[int, int, int] | None = None


def params_of(item: LayerRow | Totals, view: View) -> int:
    """A row's or the totals' parameters in the view's convention (weights only, or all)."""
    return item.weights if view.weights_only else item.params


class DisplayRow:
    """One table row: a layer plus the shape-preserving layers folded into it, or (with --depth)
    a whole block instance or stage collapsed into its subtotal."""

    __slots__ = ("label", "members")

    def __init__(self, lead: LayerRow, folded: list[LayerRow] | None = None, label: str | None = None) -> None:
        # the lead then the folded layers, stored once: a row grows by append (a chain of 100k
        # folded relus is linear to group, not rebuilt per look)
        self.members: list[LayerRow] = [lead, *(folded or ())]
        self.label = label  # the group's name when this row collapses a block

    @property
    def lead(self) -> LayerRow:
        return self.members[0]

    @property
    def folded(self) -> list[LayerRow]:
        """The layers folded into the lead (a copy: add one with `append`)."""
        return self.members[1:]

    def append(self, row: LayerRow) -> None:
        self.members.append(row)

    @property
    def name(self) -> str:
        return self.label or self.lead.name

    def params(self, view: View) -> int:
        return sum(params_of(r, view) for r in self.members)

    def flop(self, counts: tuple[int, ...]) -> int:
        """The flop column: the sum of its members' counts (Analysis.counted(profile))."""
        return sum(counts[r.index - 1] for r in self.members)

    def memory_bytes(self) -> int:
        return sum(r.memory_bytes for r in self.members)

    @property
    def output(self) -> Shape:
        return self.members[-1].output


MAX_MEMO = 32  # row groupings kept per analysis (fold x depth: a handful in practice)


def display_rows(analysis: Analysis, view: View) -> list[DisplayRow]:
    """The table model's rows: built once per (analysis, fold, depth) and shared, read-only, by
    every renderer (rich, the text formats, the drawing, the web page, the plots)."""
    key = ("rows", view.fold, view.depth)
    rows = analysis.memo.get(key)
    if rows is None:
        if len(analysis.memo) >= MAX_MEMO:
            analysis.memo.clear()
        rows = analysis.memo[key] = group_rows(analysis, view)
    return rows  # type: ignore[return-value]


def group_rows(analysis: Analysis, view: View) -> list[DisplayRow]:
    """Group rows: a foldable layer whose only input is the row above joins that row; with
    view.depth, consecutive layers whose names share their first `depth` levels (conv3_x.1.conv2
    at depth 1: conv3_x) become one subtotal row."""
    rows: list[DisplayRow] = []
    for row in analysis.rows:
        node = row.node
        parts = node.name.split(".")
        if view.depth is not None and len(parts) > view.depth:
            key = ".".join(parts[: view.depth])
            if rows and rows[-1].label == key:
                rows[-1].append(row)
            else:
                rows.append(DisplayRow(row, label=key))
        elif (view.fold and node.op.fold and rows and len(node.inputs) == 1
                and analysis.graph.nodes[node.inputs[0]] is rows[-1].members[-1].node
                and node.scope == rows[-1].members[-1].node.scope):  # never across a block's edge
            rows[-1].append(row)
        else:
            rows.append(DisplayRow(row))
    return rows


MAX_TERMINAL_ROWS = 40


def readable_depth(analysis: Analysis, view: View) -> int | None:
    """The deepest --depth whose table fits MAX_TERMINAL_ROWS rows (None: every layer fits).
    ResNet-152's 360 rows become its 50 bottleneck blocks, as in the paper's table; a 100k-layer
    spec does not flood the terminal, and rich renders only what is shown."""
    if len(display_rows(analysis, view)) <= MAX_TERMINAL_ROWS:
        return None
    deepest = max(row.name.count(".") for row in analysis.rows) + 1
    for depth in range(deepest - 1, 0, -1):
        if len(display_rows(analysis, view._replace(depth=depth))) <= MAX_TERMINAL_ROWS:
            return depth
    return 1


def terminal_view(analysis: Analysis, view: View) -> View:
    """The view a terminal table is drawn in: folded as the papers' tables are, a long network to
    the deepest --depth that fits MAX_TERMINAL_ROWS (unless a depth is set, or fold is off).
    `cnncalc table` and Analysis.render("rich") both come here: the one place this is decided."""
    if view.depth is None and view.fold:
        return view._replace(depth=readable_depth(analysis, view))
    return view


def subtotals(rows: list[DisplayRow]) -> list[tuple[int, int, str]]:
    """(first row, last row, stage) of each top-level block that spans several rows: the ResNet
    paper's conv2_x ... conv5_x lines, which get a subtotal after their last row."""
    out, start = [], 0
    for i, row in enumerate(rows):
        stage = row.name.split(".")[0]
        if i + 1 == len(rows) or rows[i + 1].name.split(".")[0] != stage:
            if i > start and "." in rows[start].name:
                out.append((start, i, stage))
            start = i + 1
    return out


def merged(rows: list[DisplayRow]) -> DisplayRow:
    """One row holding every layer of `rows` (for subtotals)."""
    members = [m for r in rows for m in r.members]
    return DisplayRow(members[0], members[1:])


def round_half_up(n: int, d: int) -> int:
    """n / d rounded to the nearest integer, halves up, in exact integer arithmetic."""
    return (2 * n + d) // (2 * d)


def fmt_int(n: int) -> str:
    return f"{n:,}"


def fixed(n: int, d: int, places: int, sep: bool = True) -> str:
    """n / d to `places` decimals, halves up, in exact integer arithmetic (no float: right for
    any size, where n / d would round past 2**53 and overflow past 10**308)."""
    m = round_half_up(n * 10**places, d) if n >= 0 else -round_half_up(-n * 10**places, d)
    whole, frac = divmod(abs(m), 10**places)
    text = (f"{whole:,}" if sep else str(whole)) + (f".{frac:0{places}d}" if places else "")
    return f"-{text}" if m < 0 else text


def fmt_auto(n: int, base: int, suffixes: tuple[str, ...]) -> str:
    """A human-readable size: 3 significant digits and a suffix (784 KB, 37.7 M, 1.82 G), exact
    for any integer (past the last suffix the digits grow, thousands separated: 12,345 TB)."""
    i = 0
    while i + 1 < len(suffixes) and n >= base ** (i + 1):
        i += 1
    unit = base**i
    places = 0 if i == 0 or n >= 100 * unit else 1 if n >= 10 * unit else 2
    return f"{fixed(n, unit, places, sep=i + 1 == len(suffixes))} {suffixes[i]}".rstrip()


LECTURE = (1024, 1000, 1_000_000)  # the slides' KB, k and M
LADDERS = ((1024, 1), (1000, 1), (1_000_000, 1000, 1))  # each column's smaller units, for small networks
UNIT_NAMES = ({1024: "KB", 1: "B"}, {1000: "k", 1: ""}, {1_000_000: "M", 1000: "k", 1: ""})


def lecture_scales(analysis: Analysis, view: View) -> View:
    """The view with each column's lecture unit chosen for this network: the slides' KB, k and M
    where the column's total is at least 100 of them (AlexNet, VGG, ResNet: the lecture tables,
    whose small layers round to 0 there as on the slides), else the largest smaller unit in which
    no non-zero layer prints as 0 (LeNet-5's 156-parameter conv: params, not params (k))."""
    if view.units != "lecture" or view.scales is not None:
        return view
    counts = analysis.counted(view.convention)
    columns = ([r.memory_bytes for r in analysis.rows], [params_of(r, view) for r in analysis.rows], list(counts))
    chosen = []
    for values, lecture, ladder in zip(columns, LECTURE, LADDERS):
        if round_half_up(sum(values), lecture) >= 100:
            chosen.append(lecture)
            continue
        smallest = min((x for x in values if x > 0), default=0)
        chosen.append(next((u for u in ladder if not smallest or round_half_up(smallest, u) > 0), 1))
    scales = (chosen[0], chosen[1], chosen[2])
    return view if scales == LECTURE else view._replace(scales=scales)


def _scaled(n: int, view: View, column: int) -> str:
    unit = view.scales[column] if view.scales else LECTURE[column]
    return fmt_int(round_half_up(n, unit)) if unit > 1 else fmt_int(n)


def fmt_memory(n_bytes: int, view: View) -> str:
    if view.units == "auto":
        return fmt_auto(n_bytes, 1024, ("B", "KB", "MB", "GB", "TB"))
    return fmt_int(n_bytes) if view.units == "raw" else _scaled(n_bytes, view, 0)


def fmt_params(n: int, view: View) -> str:
    if view.units == "auto":
        return fmt_auto(n, 1000, ("", "k", "M", "G"))
    return fmt_int(n) if view.units == "raw" else _scaled(n, view, 1)


def fmt_flop(n: int, view: View) -> str:
    if view.units == "auto":
        return fmt_auto(n, 1000, ("", "k", "M", "G", "T"))
    return fmt_int(n) if view.units == "raw" else _scaled(n, view, 2)


def headers(view: View) -> tuple[str, str, str]:
    """Headers of the memory, params and flop columns in this view."""
    from cnncalc.conventions import get_profile

    flop = get_profile(view.convention).unit_label
    if view.units == "raw":
        return "memory (B)", "params", flop
    if view.units == "auto":
        return "memory", "params", flop
    names = [UNIT_NAMES[i][u] for i, u in enumerate(view.scales or LECTURE)]
    return (f"memory ({names[0]})", f"params ({names[1]})" if names[1] else "params",
            f"{flop} ({names[2]})" if names[2] else flop)


def fmt_c(shape: Shape) -> str:
    """The C cell: the channels of C x H x W (or C x T x H x W), the features of a flat tensor; a
    tensor of rank 2 (N x D tokens, C x L) shows its whole shape here and nothing under H/W."""
    return str(shape[0]) if len(shape) in (1, 3, 4) else "x".join(map(str, shape))


def fmt_hw(shape: Shape) -> str:
    """The H/W cell: the spatial sizes of C x H x W or C x T x H x W, one number when they are equal."""
    if len(shape) not in (3, 4):
        return ""
    return cell(tuple(shape[1:]))


def fmt_pair(value: object) -> str:
    """A window key's cell: 3, or 3x7x7 when its axes differ."""
    return cell(value)


def fmt_pad(cols: dict) -> str:
    """The pad cell; a pool with ceil_mode says so there, since its output size rounds up."""
    text = fmt_pair(cols.get("pad"))
    return f"{text} ceil" if cols.get("ceil_mode") else text


def input_cells(row: LayerRow) -> tuple[str, str]:
    """Input C and H/W cells; a layer of several inputs shows each, never as one number: a concat
    64+128 (the channels it stacks), an add or mul of equal inputs 64 x2, of different ones
    64 / 1 (a comma would read as thousands: 64,64)."""
    cs = [fmt_c(s) for s in row.inputs]
    hws = [fmt_hw(s) for s in row.inputs]
    return _several(cs, "+" if row.type == "concat" else None), _several(hws, None, same_once=True)


def _several(cells: list[str], joiner: str | None, same_once: bool = False) -> str:
    """One cell for several inputs' cells (see input_cells)."""
    if len(cells) <= 1:
        return cells[0] if cells else ""
    if joiner is not None:
        return joiner.join(cells)
    if len(set(cells)) == 1:
        return cells[0] if same_once or not cells[0] else f"{cells[0]} x{len(cells)}"
    return " / ".join(cells)


def row_suffix(row: DisplayRow) -> str:
    """What a row's name is followed by, in every human format: the layers folded into it
    (" +bn+relu", so a conv row's memory that counts its bn's output too says so), the size of a
    collapsed block (" (12 layers)"), " (training only)"."""
    if row.label:
        suffix = f" ({collapsed(row)})"
    elif len(row.members) > 1:
        suffix = " +" + "+".join(r.type for r in row.members[1:])
    else:
        suffix = ""
    return suffix + (" (training only)" if row.lead.node.train_only else "")


def collapsed(row: DisplayRow) -> str:
    """What a collapsed block holds, in the units a paper counts: its blocks (the instances one
    level down, when there are several) and its conv and linear layers; ResNet-50's conv2_x is
    "3 blocks, 10 conv" (bn, relu and add are not layers to the reader). A block of neither
    says its layers."""
    depth = row.label.count(".") + 1 if row.label else 0
    children = {m.name.split(".")[depth] for m in row.members if m.name.count(".") > depth}
    kinds: dict[str, int] = {}
    for m in row.members:
        category = getattr(m.node.op, "category", "other")
        if category in ("conv", "linear", "attention"):
            kinds[category] = kinds.get(category, 0) + 1
    parts = [f"{len(children)} blocks"] if len(children) > 1 else []
    parts += [f"{n} {kind}" for kind, n in kinds.items()]
    return ", ".join(parts) if kinds else ", ".join([*parts, f"{len(row.members)} layers"])


def subtotal_label(stage: str) -> str:
    return f"  {stage} subtotal"


COLUMNS = ("Layer", "Input C", "Input H/W", "filters", "kernel", "stride", "pad", "Output C", "Output H/W")


def layer_cells(row: DisplayRow) -> list[str]:
    """The lecture table's descriptive cells of a row, in COLUMNS order (numbers come apart)."""
    cols = {} if row.label else row.lead.node.op.columns(list(row.lead.inputs))  # a collapsed block has no one kernel
    in_c, in_hw = input_cells(row.lead)
    return [row.name, in_c, in_hw, fmt_pair(cols.get("filters")), fmt_pair(cols.get("kernel")),
            fmt_pair(cols.get("stride")), fmt_pad(cols), fmt_c(row.output), fmt_hw(row.output)]


def number_cells(row: DisplayRow, analysis: Analysis, view: View) -> list[str]:
    """memory, params and flop cells of a row, in the view's units and convention."""
    return [fmt_memory(row.memory_bytes(), view), fmt_params(row.params(view), view),
            fmt_flop(row.flop(analysis.counted(view.convention)), view)]


def total_flop(analysis: Analysis, view: View) -> int:
    """The flop column's total in this view."""
    return analysis.total_counted(view.convention)


def total_cells(analysis: Analysis, view: View) -> list[str]:
    t = analysis.totals
    return [fmt_memory(t.memory_bytes, view), fmt_params(params_of(t, view), view),
            fmt_flop(total_flop(analysis, view), view)]


RF_COLUMNS = ("RF", "jump", "start")


def exact_decimal(value) -> str:
    """An integer or a Fraction whose denominator is a power of 2 (receptive-field starts and
    jumps: halved by each stride-2 layer) as its exact, finite decimal: 5, -0.5, 1.375."""
    from fractions import Fraction

    q = Fraction(value)
    if q.denominator == 1:
        return str(q.numerator)
    places = q.denominator.bit_length() - 1  # q * 10**places is an integer when den = 2**places
    if q.denominator != 1 << places:  # not a power of two: not from strides; 6 decimals, rounded
        places = 6
    return fixed(q.numerator, q.denominator, places, sep=False).rstrip("0").rstrip(".")


def rf_cells(row: DisplayRow, fields: list) -> list[str]:
    """Receptive field size, jump and start of a row's output (its last layer), per axis when h != w."""
    field = fields[row.members[-1].index]  # the node whose output this row shows

    def pair(values: tuple) -> str:
        text = [exact_decimal(v) for v in values]
        return text[0] if len(set(text)) == 1 else "x".join(text)

    return [pair(field.size), pair(field.jump), pair(field.start)]


def caption(analysis: Analysis, view: View) -> str:
    """The one line that says which convention the numbers are in: what the chosen profile
    counts in this very network (read from the counts), memory, params, batch."""
    from cnncalc.conventions import describe

    params = "params = weights only (no biases)" if view.weights_only else "params = weights + biases"
    unit = {"raw": "B", "auto": "B/KB/MB of 1024"}.get(view.units, "B" if view.scales and view.scales[0] == 1
                                                        else "KB of 1024 B")
    folded = (f" · blocks folded to depth {view.depth} (--depth N, --all for every layer)"
              if view.depth is not None else "")
    note = f" · {analysis.graph.note}" if analysis.graph.note else ""
    g = analysis.graph
    if g.outputs and g.outputs != (len(g.nodes) - 1,):  # several outputs, or not the last layer: say which
        note += " · outputs: " + ", ".join(f"{g.nodes[i].name} ({'x'.join(map(str, g.nodes[i].shape))})"
                                            for i in g.outputs)
    return (f"{describe(analysis, view.convention)} · memory = output elements x "
            f"{analysis.dtype.bytes} B ({analysis.dtype.name}) in {unit}, in-place ops 0 · {params} · "
            f"batch {analysis.batch}{folded}{note}")
