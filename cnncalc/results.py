"""The library's results: what cnncalc.analyze, compare, sweep and verify return, and what an
Analysis makes (memory, max batch, explain, receptive fields, plots).

Stage: the public edge of the pure core, above engine/ and report/. In: the engine's numbers.
Out: objects with exact ints, `to_dict()` (the document the matching command prints with
--format json, key for key), `render(fmt)` (text), `_repr_html_` for Jupyter and
`__rich_console__` for rich (the CLI prints through it, at the terminal's width). Nothing here
prints, exits, or parses command-line syntax; the reports are imported when first used.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from cnncalc.engine import analysis as counting
from cnncalc.errors import UsageError
from cnncalc.record import Record

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console, ConsoleOptions, RenderableType

    from cnncalc.engine.memory import Checkpointing, Training
    from cnncalc.report.term import Table
    from cnncalc.report.view import View
    from cnncalc.rf import Field
    from cnncalc.torchcheck.against import Against
    from cnncalc.torchcheck.run import VerifyResult
    from cnncalc.torchcheck.saved import SavedCheck

FORMATS = ("rich", "json", "csv", "markdown", "latex", "html")


def _json(data: Any) -> str:
    import json  # (not at the top: the table's JSON path writes its own, report/text.py)

    return json.dumps(data, indent=2) + "\n"


def _rich_text(renderable: RenderableType, width: int | None) -> str:
    """A rich renderable as plain text at `width` columns (120 unsaid, as the golden files)."""
    import io

    from cnncalc.report.console import SafeConsole

    out = io.StringIO()
    SafeConsole(file=out, width=width or 120, color_system=None).print(renderable)
    return out.getvalue()


def _pick(fmt: str, allowed: Sequence[str]) -> None:
    if fmt not in allowed:
        raise UsageError(None, f"unknown format {fmt!r}", "choose one of: " + ", ".join(allowed), param="fmt")


def _dataframe(rows: list[dict[str, Any]]) -> Any:
    try:
        import pandas
    except ImportError:
        raise UsageError(None, "to_dataframe needs pandas: pip install 'cnncalc[pandas]'") from None
    return pandas.DataFrame(rows)


def _params_mode(params: str) -> bool:
    if params not in ("all", "weights"):
        raise UsageError(None, f"params={params!r} is not 'all' or 'weights'", param="params")
    return params == "weights"


class _Shown:
    """What every result shares: text in any of its formats, rich and Jupyter display."""

    formats: tuple[str, ...] = ("rich", "json")

    def to_dict(self) -> Any:
        raise NotImplementedError

    def renderable(self, width: int | None = None) -> RenderableType:
        """The rich renderable the terminal shows, fitted to `width` columns."""
        raise NotImplementedError

    def render(self, fmt: str = "rich", width: int | None = None) -> str:
        """The result as text: rich (the terminal's table, plain, `width` columns), json (what
        --format json prints), or the result's other formats."""
        _pick(fmt, self.formats)
        if fmt == "json":
            return _json(self.to_dict())
        if fmt == "rich":
            return _rich_text(self.renderable(width), width)
        return self._render_text(fmt)

    def _render_text(self, fmt: str) -> str:
        raise NotImplementedError

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
        yield self.renderable(options.max_width)

    def _repr_html_(self) -> str:
        from html import escape

        return f"<pre>{escape(self.render('rich'))}</pre>"


# ---- one network -------------------------------------------------------------------------------

class Analysis(counting.Analysis):
    """The numbers of one network at one batch size and element type (rows, totals, counted: the
    engine's), with everything made from them: the table in every format, training memory, the
    largest batch that fits, the worked arithmetic, receptive fields and plots."""

    __slots__ = ()

    def view(self, convention: str = "lecture", params: str = "all", units: str = "lecture", fold: bool = True,
             depth: int | None = None, rf: bool = False, columns: str | Sequence[str] | None = None,
             latex_width: str | None = None) -> View:
        """How a table is drawn (the options of `cnncalc table`), checked. columns: which columns
        in which order ("layer,output,params,flop", or names; report/columns.py); latex_width: the
        LaTeX table scaled to that length (\\linewidth, 0.9\\textwidth, 12cm)."""
        from cnncalc.conventions import get_profile
        from cnncalc.report.view import View

        get_profile(convention)
        if units not in ("lecture", "auto", "raw"):
            raise UsageError(None, f"units={units!r} is not 'lecture', 'auto' or 'raw'", param="units")
        if depth is not None and (type(depth) is not int or depth < 1):
            raise UsageError(None, f"depth={depth!r} is not a positive integer", param="depth")
        chosen = None
        if columns is not None:
            from cnncalc.report.columns import parse

            chosen = parse(columns)
        if latex_width is not None:
            from cnncalc.report.grid import LATEX_WIDTH

            if not isinstance(latex_width, str) or not LATEX_WIDTH.fullmatch(latex_width):
                raise UsageError(None, f"latex_width='{str(latex_width)[:40]}' is not a LaTeX length cnncalc writes",
                                 r"a length such as \linewidth, 0.9\textwidth or 12cm", param="latex_width")
        return View(weights_only=_params_mode(params), fold=fold, units=units, depth=depth, rf=rf,
                    convention=convention, columns=chosen, latex_width=latex_width)

    def to_dict(self, convention: str = "lecture", params: str = "all", rf: bool = False) -> dict[str, Any]:
        """The document `cnncalc table --format json` prints: every layer and the totals, exact ints."""
        from cnncalc.report.text import to_dict

        return to_dict(self, self.view(convention=convention, params=params, rf=rf))

    def render(self, fmt: str = "markdown", convention: str = "lecture", params: str = "all",
               units: str = "lecture", fold: bool = True, depth: int | None = None, rf: bool = False,
               width: int | None = None, columns: str | Sequence[str] | None = None,
               latex_width: str | None = None) -> str:
        """The table as text: markdown, csv, latex, html, json, or rich (what `cnncalc table` prints
        at `width` columns, 120 unsaid: a long network folded to its blocks as there). columns and
        latex_width: see view() (json always has every field)."""
        from cnncalc.report.text import render_any

        _pick(fmt, FORMATS)
        view = self.view(convention=convention, params=params, units=units, fold=fold, depth=depth, rf=rf,
                         columns=columns, latex_width=latex_width)
        return render_any(self, view, fmt, width)

    def renderable(self, width: int | None = None, convention: str = "lecture", params: str = "all",
                   units: str = "lecture", fold: bool = True, depth: int | None = None, rf: bool = False,
                   columns: str | Sequence[str] | None = None) -> Table:
        """The terminal table (report/term.py's Table) fitted to `width` columns, as `cnncalc table` prints it."""
        from cnncalc.report.table import render_table

        view = self.view(convention=convention, params=params, units=units, fold=fold, depth=depth, rf=rf,
                         columns=columns)
        return render_table(self, view, width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
        yield self.renderable(options.max_width)

    def to_dataframe(self, convention: str = "lecture") -> Any:
        """One row per layer as a pandas DataFrame (pip install 'cnncalc[pandas]')."""
        return _dataframe(self.to_dict(convention)["layers"])

    def _repr_html_(self) -> str:
        """Jupyter shows the lecture table (an HTML table, not a whole page): not the interactive
        report, whose script notebook viewers strip or do not trust (JupyterLab after a reload,
        GitHub, nbviewer) and whose <html> page does not belong in a cell. The report is
        render("html")."""
        from cnncalc.report.grid import html_table
        from cnncalc.report.model import table_grid

        return html_table(table_grid(self, self.view()))

    # -- made from the analysis ---------------------------------------------------------------
    def memory(self, optimizer: str = "adam", amp: str | None = None, checkpoint: int | Sequence[str] | None = None,
               device: str | None = None, gpu_memory: int | str | None = None, max_batch: bool = False,
               keep_grads: bool = False, attention: str | None = None, reserve: int | str = 0) -> Memory:
        """Training memory by part and the inference and training peaks, at this analysis' batch
        (docs/memory.md): optimizer sgd, momentum, rmsprop, adagrad, adam, adamw; amp "bfloat16"
        or "float16" (autocast over a float32 model); checkpoint: activation checkpointing in that
        many segments, or in segments starting at those layers (names); device "cpu" or "cuda" (cuda unsaid where gpu_memory is given);
        gpu_memory: bytes or a size such as "24GB", to say whether it fits; max_batch: also
        find the largest batch that fits it; keep_grads: zero_grad(set_to_none=False), the
        gradients alive through the whole step; attention: the scaled_dot_product_attention kernel
        ("math", "flash", "efficient", "cudnn"; None: the one torch picks, Memory.attention_kernels).
        Memory.peak_at says where the peak falls. reserve: bytes of gpu_memory kept for what is not
        counted (the CUDA context, workspaces, the allocator: `cnncalc memory` reserves
        DEFAULT_RESERVE, 1 GiB); fits, headroom and max_batch are for what is left, and
        Memory.recommended holds the parts at max_batch."""
        return Memory(self, optimizer, amp, checkpoint, device, gpu_memory, max_batch, keep_grads, attention=attention,
                      reserve=reserve)

    def max_batch(self, gpu_memory: int | str, optimizer: str = "adam", amp: str | None = None,
                  checkpoint: int | Sequence[str] | None = None, device: str = "cuda",
                  attention: str | None = None) -> int:
        """The largest batch whose training peak fits in gpu_memory (0: not even batch 1),
        solved from this analysis: no graph is built again whatever the budget."""
        from cnncalc.engine.memory import max_batch

        return max_batch(self, parse_size(gpu_memory), optimizer, device, amp, checkpoint, attention=attention)

    def explain(self, *layers: str, convention: str = "lecture", params: str = "all") -> Explained:
        """The slides' worked arithmetic for these layers (by name; none: the first of each kind)."""
        from cnncalc.report.explain import render_explain

        return Explained(render_explain(self, list(layers), self.view(convention=convention, params=params)))

    def receptive_fields(self) -> dict[str, Field]:
        """Each layer's receptive field in input pixels: size, jump and start per axis (exact;
        a start may be a Fraction), by layer name."""
        from cnncalc.rf import receptive_fields

        fields = receptive_fields(self.graph)
        return {row.name: fields[row.index] for row in self.rows}

    def draw(self, fmt: str = "svg", measure: str = "macs", depth: int | None = None, fold: bool = True,
             convention: str = "lecture", params: str = "all") -> Drawn:
        """The layer graph drawn top to bottom (`cnncalc graph`): fmt svg, png or pdf (laid out by
        Graphviz's dot: pip install 'cnncalc[graph]' and Graphviz itself), dot (its source) or
        html (a page, no Graphviz); a box per table row filled by its share of measure (macs,
        params, memory). Past 300 boxes, blocks fold to the deepest depth that fits (unless
        depth is given or fold is off); `note` says so. Drawn.data is the file's bytes."""
        if fmt not in DRAW_FORMATS:
            raise UsageError(None, f"fmt={fmt!r} is not one of {', '.join(DRAW_FORMATS)}", param="fmt")
        if measure not in ("macs", "params", "memory"):
            raise UsageError(None, f"measure={measure!r} is not 'macs', 'params' or 'memory'", param="measure")
        view = self.view(convention=convention, params=params, units="auto", fold=fold, depth=depth)
        if fmt == "html":  # the page gets the view as asked: past 250 boxes it folds its first drawing itself
            from cnncalc.report.web import graph_page

            return Drawn(fmt, graph_page(self, view, measure).encode(), "")
        from cnncalc.report.graph_dot import draw

        return Drawn(fmt, *draw(self, view, fmt, measure))

    def plot(self, path: str | Path, convention: str = "lecture", params: str = "all") -> Path:
        """Draw per-layer bars of memory, parameters and the flop column to path (.png, .svg, .pdf;
        needs matplotlib: pip install 'cnncalc[plot]'); returns the path."""
        view = self.view(convention=convention, params=params)
        check_plot(path)
        from cnncalc.report import plot

        plot.plot_layers(self, view, str(path))
        return _path(path)


DRAW_FORMATS = ("svg", "png", "pdf", "html", "dot")


class Drawn(Record):
    """A drawing of the layer graph (Analysis.draw): its format, the file's bytes, and a note when
    blocks were folded to make it legible (else "")."""

    fmt: str
    data: bytes
    note: str

    def save(self, path: str | Path) -> Path:
        """Write the drawing to path, whole or not at all."""
        from cnncalc.output import write_atomic

        def write(fh: Any) -> None:
            fh.write(self.data)

        write_atomic(str(path), write)
        return _path(path)

    def _repr_svg_(self) -> str | None:
        return self.data.decode() if self.fmt == "svg" else None


class Explained(str):
    """The worked arithmetic as text: prints as itself, shows as a block in Jupyter."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        from html import escape

        return f"<pre>{escape(self)}</pre>"


def _path(path: str | Path) -> Path:
    from pathlib import Path  # (pathlib costs 2 ms at start-up; only a picture needs it)

    return Path(path)


def check_plot(path: str | Path) -> None:
    """A usage error before any work: an image name matplotlib can write, matplotlib installed."""
    import importlib.util

    from cnncalc.output import check_writable

    if _path(path).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise UsageError(None, f"cannot tell the image format of '{path}'", "use a .png, .svg or .pdf file name",
                         param="plot")
    check_writable(str(path))
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError(None, "plotting needs matplotlib: pip install 'cnncalc[plot]'")


def parse_size(value: int | str) -> int:
    """Bytes, or a size with its unit: '1024B', '24GB', '24 GiB', '80G', '16384MB', '1.5 TiB'. GPU
    makers quote GiB as "GB", so K/M/G/T with or without an i mean 2**10, 2**20, 2**30, 2**40;
    B alone is bytes. A string with no unit is refused: '24' could be bytes or GiB."""
    import re
    from decimal import Decimal

    from cnncalc.errors import shorten

    if type(value) is int:
        if value < 1:
            raise UsageError(None, f"gpu_memory={value} is no memory at all", param="gpu_memory")
        return value
    if not isinstance(value, str):
        raise UsageError(None, f"gpu_memory={value!r} is not a size", "e.g. gpu_memory='24GB' or a number of bytes",
                         param="gpu_memory")
    match = re.fullmatch(r"\s*([0-9]{1,15}(?:\.[0-9]{1,15})?)\s*([KMGT]?)(i?B)?\s*", value, flags=re.I | re.ASCII)
    if not match:
        raise UsageError(None, f"gpu_memory={shorten(value, 80)!r} is not a size", "e.g. gpu_memory='24GB'",
                         param="gpu_memory")
    number, prefix, unit = match[1], match[2].upper(), (match[3] or "")
    if not prefix and unit.upper() != "B":  # '24', '24iB': no scale
        raise UsageError(None, f"gpu_memory={shorten(value, 80)!r} has no unit",
                         f"say which: '{number}GB' ({number} GiB) or '{number}B' ({number} bytes)", param="gpu_memory")
    scale = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}[prefix]
    exact = Decimal(number) * scale
    if exact != int(exact):
        raise UsageError(None, f"gpu_memory={shorten(value, 80)!r} is not a whole number of bytes",
                         "a size counts whole bytes: e.g. '1536MB' for 1.5 GiB", param="gpu_memory")
    size = int(exact)
    if size < 1:
        raise UsageError(None, f"gpu_memory={value!r} is no memory at all", "e.g. gpu_memory='24GB'",
                         param="gpu_memory")
    return size


# ---- training memory ---------------------------------------------------------------------------

class Parts(Record):
    """What is alive at a training step's peak, by part, in bytes (docs/memory.md)."""

    parameters: int
    buffers: int  # BatchNorm's running statistics and counters
    gradients: int  # the parameters' gradients that exist by then
    optimizer_state: int
    activations_saved: int  # what autograd still keeps for the backward pass, each storage once
    weight_copies: int  # autocast's low-dtype copies of the weights (0 without amp)
    input: int  # the input batch
    transient: int  # everything else: activations not saved, gradients in flight, the optimizer's temporaries


class PeakAt(Record):
    """Where a peak falls: the phase (forward, backward, recompute, step; inference) and the
    layer whose op runs then ("" for the optimizer's step of no particular layer)."""

    phase: str
    layer: str


class Peak(Record):
    inference: int  # parameters, buffers, the input and the largest live set of activations
    training: int  # the sum of Parts


# What a GPU's memory holds besides the tensors cnncalc counts, reserved by `cnncalc memory
# --gpu-memory` (--reserve): the CUDA context (about 0.3-0.6 GiB, by GPU and driver), cuBLAS and
# cuDNN workspaces, and the caching allocator's rounding and fragmentation (docs/memory.md).
DEFAULT_RESERVE = 2**30


def parse_reserve(value: int | str) -> int:
    """A reserve: bytes or a size with its unit, 0 allowed (nothing reserved)."""
    if value == 0 or (isinstance(value, str) and value.strip().lower() in ("0", "0b")):
        return 0
    try:
        return parse_size(value)
    except UsageError as exc:
        raise UsageError(None, exc.message.replace("gpu_memory", "reserve"), exc.hint.replace("gpu_memory", "reserve"),
                         param="reserve") from None


class Fitted(Record):
    """The largest batch that fits (Memory.recommended): its parts, training peak and where the
    peak falls, and what is left of the GPU's memory after the peak and the reserve."""

    batch: int
    parts: Parts
    training: int
    headroom: int
    peak_at: PeakAt


class Memory(_Shown):
    """Training memory of an analysis (Analysis.memory): parts and peaks in exact bytes, whether
    it fits a GPU, the largest batch that does, and what checkpointing keeps and recomputes."""

    def __init__(self, analysis: Analysis, optimizer: str = "adam", amp: str | None = None,
                 checkpoint: int | Sequence[str] | None = None, device: str | None = None,
                 gpu_memory: int | str | None = None,
                 max_batch: bool = False, keep_grads: bool = False, attention: str | None = None,
                 reserve: int | str = 0) -> None:
        from cnncalc.engine.memory import attention_kernels, inference_peak, saved_for_backward, training_model
        from cnncalc.engine.trainable import check_trainable, largest_trainable, smallest_batch

        if max_batch and gpu_memory is None:
            raise UsageError(None, "max_batch needs gpu_memory (e.g. gpu_memory='24GB')", param="max_batch")
        if checkpoint is not None:
            from cnncalc.engine.segments import normalize

            checkpoint = normalize(checkpoint)  # N segments, or the names that start them
        self.analysis = analysis
        self.optimizer, self.amp, self.checkpoint_segments = optimizer, amp, checkpoint
        self.gpu_memory = None if gpu_memory is None else parse_size(gpu_memory)
        self.device = device or ("cuda" if gpu_memory is not None else "cpu")
        # why that device: "device" (asked for), "gpu_memory" (a GPU budget: planning for CUDA), "default"
        self.device_from = "device" if device else "gpu_memory" if gpu_memory is not None else "default"
        check_trainable(analysis.graph, analysis.batch)  # a batch torch refuses to train (engine/trainable.py)
        self.smallest_batch = smallest_batch(analysis.graph)  # the smallest batch torch trains: 1, or 2
        model = training_model(analysis, optimizer, self.device, amp, checkpoint, keep_grads, attention=attention)
        # the scaled_dot_product_attention kernel of each layer that calls it (ops/sdpa.py)
        self.attention_kernels = attention_kernels(analysis, self.device, amp, attention)
        at = model.at(analysis.batch)
        self.parts = Parts(*(at[name] for name in Parts._fields))
        inference = inference_peak(analysis, amp, self.device)
        self.peak = Peak(inference.at(analysis.batch), at["total"])
        self.keep_grads = keep_grads
        self.saved_for_backward = sum(saved_for_backward(analysis, self.device, amp, attention=attention))
        self.peak_at = PeakAt(*_where(analysis, model.peak(analysis.batch)))
        self.inference_at = PeakAt(*_where(analysis, inference))
        self.checkpoint: Checkpointing | None = model.plan
        self.reserve = parse_reserve(reserve) if self.gpu_memory is not None else 0
        usable = None if self.gpu_memory is None else self.gpu_memory - self.reserve
        if usable is not None and usable <= 0:
            raise UsageError(None, f"reserve={self.reserve:,} B is all of the GPU's {self.gpu_memory:,} B, and "
                             "nothing is left for the tensors", "a smaller reserve (0B for none), or a larger GPU",
                             param="reserve")
        self.usable = usable  # the GPU's memory less the reserve: what the counted tensors may take
        self.fits = None if usable is None else self.peak.training <= usable
        self.headroom = None if usable is None else usable - self.peak.training
        fitting = model.largest_batch(usable) if max_batch and usable else None
        self.max_batch = None if fitting is None else largest_trainable(analysis.graph, fitting)  # 0: none that trains
        self.recommended: Fitted | None = None  # the parts at max_batch (the table `--max-batch` prints)
        if self.max_batch and usable is not None:
            best = model.at(self.max_batch)
            self.recommended = Fitted(self.max_batch, Parts(*(best[name] for name in Parts._fields)), best["total"],
                                      usable - best["total"], PeakAt(*_where(analysis, model.peak(self.max_batch))))

    @property
    def batch(self) -> int:
        return self.analysis.batch

    def __repr__(self) -> str:
        return (f"<Memory {self.analysis.name}: training peak {self.peak.training:,} B, inference "
                f"{self.peak.inference:,} B (batch {self.batch}, {self.optimizer}, {self.device})>")

    def to_dict(self) -> dict[str, Any]:
        """The document `cnncalc memory --format json` prints."""
        a = self.analysis
        data: dict[str, Any] = {"name": a.name, "batch": a.batch, "dtype": a.dtype.name, "amp": self.amp,
                                "device": self.device, "optimizer": self.optimizer, "parts": self.parts._asdict(),
                                "saved_for_backward": self.saved_for_backward,
                                "peak": self.peak._asdict(), "peak_at": {"training": self.peak_at._asdict(),
                                                                          "inference": self.inference_at._asdict()}}
        if self.keep_grads:
            data["keep_grads"] = True
        if self.attention_kernels:  # the attention kernel the numbers assume: one name, or one per layer
            kernels = set(self.attention_kernels.values())
            data["attention"] = kernels.pop() if len(kernels) == 1 else dict(self.attention_kernels)
        if self.gpu_memory is not None:
            data["gpu_memory_bytes"], data["fits"] = self.gpu_memory, self.fits
            data["reserve_bytes"], data["headroom_bytes"] = self.reserve, self.headroom
        if self.max_batch is not None:
            data["max_batch"] = self.max_batch
        if self.recommended is not None:
            r = self.recommended
            data["at_max_batch"] = {"batch": r.batch, "parts": r.parts._asdict(), "training": r.training,
                                    "headroom_bytes": r.headroom, "peak_at": r.peak_at._asdict()}
        if self.checkpoint is not None:
            plan = self.checkpoint
            data["checkpoint"] = {"segments": plan.segments, "starts": [a.rows[i].name for i in plan.starts],
                                  "activations_saved": plan.activations_saved,
                                  "activations_saved_without": plan.without, "recompute_macs": plan.recompute_macs}
            if plan.notes:  # a start moved off an in-place op (engine/segments.py)
                data["checkpoint"]["notes"] = list(plan.notes)
        return data

    def renderable(self, width: int | None = None) -> RenderableType:
        from cnncalc.report.memory import render_memory

        return render_memory(self, width)


def _where(analysis: Analysis, moment: Any) -> tuple[str, str]:
    """A Moment's phase and the name of its layer."""
    return moment.phase, analysis.rows[moment.row].name if moment.row >= 0 else ""


class _GridResult(_Shown):
    """A result shown as one Grid (report/grid.py): rows of exact ints, every text format."""

    formats = FORMATS
    _grid: Any
    rows: list[dict[str, Any]]

    def _render_text(self, fmt: str) -> str:
        from cnncalc.report.grid import WRITERS

        return WRITERS[fmt](self._grid)

    def _repr_html_(self) -> str:
        from cnncalc.report.grid import html_table

        return html_table(self._grid)

    def to_dataframe(self) -> Any:
        """`rows` as a pandas DataFrame (pip install 'cnncalc[pandas]')."""
        return _dataframe(self.rows)


# ---- several networks --------------------------------------------------------------------------

class Comparison(_GridResult):
    """Architectures side by side (cnncalc.compare): params, the flop column's count, inference,
    activation and training memory, depth; `rows` are exact ints, one dict per model."""

    def __init__(self, analyses: list[Analysis], optimizer: str | Training = "adam", convention: str = "lecture",
                 bundled: Sequence[str | None] = ()) -> None:
        from cnncalc.engine.memory import as_training
        from cnncalc.report.compare import compare_grid

        self.training = as_training(optimizer)  # the optimizer, amp, checkpointing and device
        self.analyses, self.optimizer, self.convention = analyses, self.training.optimizer, convention
        self.bundled = list(bundled) or [None] * len(analyses)  # each spec's bundled name (its accuracy)
        self._grid = compare_grid(analyses, self.training, convention)
        self.rows: list[dict[str, Any]] = self._grid.data or []

    def __repr__(self) -> str:
        return f"<Comparison of {', '.join(a.name for a in self.analyses)}>"

    def to_dict(self) -> list[dict[str, Any]]:
        """The document `cnncalc compare --format json` prints: one record per model (a list,
        as pandas' to_dict(orient="records"))."""
        return self.rows

    def renderable(self, width: int | None = None) -> RenderableType:
        from cnncalc.report.compare import render_compare

        return render_compare(self._grid, width)

    def plot(self, path: str | Path, y: str = "accuracy") -> Path:
        """The comparing-complexity chart (x: the flop column, bubble area: params; y: accuracy,
        memory, activations, params or training) to path (.png, .svg, .pdf); returns the path.
        y="accuracy" draws the models with a known top-1 figure (bundled specs at their own input)."""
        check_plot(path)
        self.check_drawable(y)
        figures = self.accuracies()[0] if y == "accuracy" else None
        from cnncalc.report import plot

        plot.plot_compare([(a.name, a) for a in self.analyses], str(path), y, self.convention, self.training,
                          figures)
        return _path(path)

    def check_drawable(self, y: str = "accuracy") -> list[str]:
        """Every reason the chart could not be drawn, as a UsageError; else the models it leaves
        out (no known accuracy), each with why."""
        from cnncalc.report.plot import COMPARE_METRICS, check_drawable

        if y not in COMPARE_METRICS:
            raise UsageError(None, f"y={y!r} is not one of {', '.join(COMPARE_METRICS)}", param="y")
        check_drawable(self.analyses)
        return self.accuracies()[1] if y == "accuracy" else []

    def accuracies(self) -> tuple[list[Any], list[str]]:
        """Each model's top-1 figure (None where none is known) and, for those without one, why;
        a usage error when none has one."""
        from cnncalc.accuracy import accuracy, why_missing

        figures = [accuracy(name) if name else None for name in self.bundled]
        missing = [f"{a.name} ({why_missing(name) if name else 'not a bundled spec at its own input'})"
                   for a, name, f in zip(self.analyses, self.bundled, figures) if f is None]
        if missing and len(missing) == len(figures):
            raise UsageError(None, "no ImageNet accuracy is known for any of these specs: " + "; ".join(missing),
                             "draw another measure, e.g. y='memory'", param="y")
        return figures, missing


# ---- one network along one axis ----------------------------------------------------------------

class Point(Record):
    """One place on the swept axis: what changes there, and how it is shown."""

    label: str  # "3x128x128", "8", "width=64"
    x: int | float | None  # its position on a chart's x axis (None: not a number)
    input: list[int] | None
    batch: int
    args: dict[str, Any]


class Axis(Record):
    name: str  # "input", "batch" or the spec argument's name ("width")
    label: str  # how the document and the messages name it: "--input", "--batch", "--set width"
    values: list[Any]  # a shape (list of ints), a batch (int) or an argument's value, per point


def axis_label(name: str, kind: str) -> str:
    """The sweep document's name for an axis (its `swept` key): the command-line flag that moves
    it, so a document reads the same whichever way it was made."""
    return {"input": "--input", "batch": "--batch"}.get(kind, f"--set {name}")


def _training_keys(training: Training) -> dict[str, Any]:
    """A sweep's or comparison's training settings beyond the optimizer, for JSON (only those set)."""
    out: dict[str, Any] = {}
    if training.amp:
        out["amp"] = training.amp
    if training.checkpoint is not None:
        out["checkpoint"] = training.checkpoint if isinstance(training.checkpoint, int) else list(training.checkpoint)
    if training.device != "cpu":
        out["device"] = training.device
    return out


class Measured(Record):
    """What a sweep keeps of one point: the numbers it shows and draws, exact ints (never the
    point's Analysis: a sweep over 10,000 batches holds 10,000 of these, not 10,000 analyses)."""

    input: tuple[int, ...]  # the input shape analysed
    batch: int
    params: int
    macs: int  # multiply-adds, the whole batch
    elem_ops: int  # element-wise operations, the whole batch
    counted: int  # the flop column of the sweep's convention, the whole batch
    memory_bytes: int  # activation memory (the table's memory column)
    training_bytes: int  # the training step's peak with the sweep's optimizer


def measure(analysis: Analysis, batches: Sequence[int], optimizer: str | Training = "adam",
            convention: str = "lecture") -> list[Measured]:
    """The numbers of the analysed network at each of `batches`, from this one analysis: the
    parameters do not change with the batch; analyze() multiplies every row's multiply-adds,
    counts and activation bytes by the batch, so each total is its value per sample (the total
    at the analysis' batch, divided exactly) times the batch; and the training peak at every
    batch is read from one TrainingModel (TrainingModel.peaks)."""
    from cnncalc.engine.memory import as_training

    a, t = analysis, analysis.totals
    b0 = a.batch
    macs, elem_ops, counted, memory = (n // b0 for n in (t.macs, t.elem_ops, a.total_counted(convention), t.memory_bytes))
    training = as_training(optimizer).model(a).peaks(list(batches))
    shape = tuple(a.graph.input_shape)
    return [Measured(shape, b, t.params, macs * b, elem_ops * b, counted * b, memory * b, train)
            for b, train in zip(batches, training)]


class Sweep(_GridResult):
    """One network at every point of one axis (cnncalc.sweep): params, the flop column's count,
    activation and training memory per point; `rows` are exact ints, one dict per point, and
    `measured` the same numbers as Measured tuples. Only these are kept, not each point's
    Analysis (docs/sweep.md#speed): analyze a point to see its table."""

    def __init__(self, axis: Axis, points: list[Point], measured: list[Measured], optimizer: str | Training = "adam",
                 convention: str = "lecture", *, name: str, dtype: str) -> None:
        from cnncalc.report.sweep import sweep_grid

        self.axis, self.points, self.measured = axis, points, measured
        self.name, self.dtype = name, dtype  # the network's name and the element type's
        from cnncalc.engine.memory import as_training

        self.training = as_training(optimizer)  # the optimizer, amp, checkpointing and device
        self.optimizer, self.convention = self.training.optimizer, convention
        self._grid = sweep_grid(axis, points, measured, str(self.training), convention, name, dtype)
        self.rows: list[dict[str, Any]] = self._grid.data or []

    def __repr__(self) -> str:
        return f"<Sweep of {self.name} over {self.axis.name}: {len(self.points)} points>"

    def to_dict(self) -> dict[str, Any]:
        """The document `cnncalc sweep --format json` prints."""
        return {"name": self.name, "swept": self.axis.label, "dtype": self.dtype,
                "optimizer": self.optimizer, **_training_keys(self.training), "convention": self.convention,
                "points": self.rows}

    def renderable(self, width: int | None = None) -> RenderableType:
        from cnncalc.report.sweep import render_sweep

        return render_sweep(self._grid, width)

    def check_drawable(self) -> None:
        """A UsageError when a number is too large for a chart's float axis."""
        from cnncalc.report.plot_sweep import check_sweep_drawable

        check_sweep_drawable(self.name, self.measured)

    def plot(self, path: str | Path) -> Path:
        """The sweep drawn to path (.png, .svg, .pdf): each measure against the axis; returns the path."""
        check_plot(path)
        self.check_drawable()
        from cnncalc.report.plot_sweep import plot_sweep

        plot_sweep(self.axis, self.points, self.measured, str(path), str(self.training), self.convention, self.name)
        return _path(path)


# ---- the spec as a real PyTorch model ---------------------------------------------------------

class Verification(_Shown):
    """The spec built in PyTorch and checked (cnncalc.verify): every layer's shape, params, FLOPs
    and output bytes (`checks`), and with memory=True what autograd saved (`saved`), with
    against="torchvision" torchvision's own model (`against`). `ok`: everything matched."""

    def __init__(self, result: VerifyResult, analysis: Analysis, saved: SavedCheck | None = None,
                 against: Against | None = None, peak_tflops: float | None = None) -> None:
        self.result, self.analysis, self.saved, self.against = result, analysis, saved, against
        self.peak_tflops = peak_tflops

    @property
    def ok(self) -> bool:
        return (self.result.ok and (self.against is None or self.against.ok)
                and (self.saved is None or self.saved.ok))

    @property
    def checks(self) -> list[Any]:
        return self.result.checks

    def __getattr__(self, name: str) -> Any:  # name, device, dtype, batch, torch_version, peak_bytes, ...
        if name == "result":
            raise AttributeError(name)
        return getattr(self.result, name)

    def __repr__(self) -> str:
        return f"<Verification {self.result.name}: {'ok' if self.ok else 'differences'} ({len(self.checks)} layers)>"

    def to_dict(self) -> dict[str, Any]:
        """The document `cnncalc verify --format json` prints."""
        from cnncalc.report import verify as report

        data = report.verify_dict(self.result, self.analysis)
        if self.against is not None:
            data["against"] = self.against.as_dict()
        if self.saved is not None:
            data["saved_for_backward"] = report.saved_dict(self.saved)
        return data

    def renderable(self, width: int | None = None) -> RenderableType:
        from cnncalc.report import verify as report
        from cnncalc.report.term import Group

        parts: list[RenderableType] = [report.render_verify(self.result, self.analysis, self.peak_tflops, width)]
        if self.saved is not None:
            parts.append(report.render_saved(self.saved, width))
        if self.against is not None:
            parts.append(self.against.render())
        return Group(*parts)
