"""Every terminal table cnncalc prints, as cases, and rich's rendering of each (the reference).

Shared by tests/test_term.py and scripts/make_term_goldens.py. A case builds cnncalc's renderable
at a width; `render_rich` turns it into rich objects (`to_rich`: report/term.py's Text, Table,
Group and Padding map one to one onto rich's) and prints it through a rich console that treats
strings as the old SafeConsole did (no markup, control characters escaped), so rich 15 stays
the reference for every byte term.py writes. The goldens in tests/golden/term/ were captured
from rich before the reports moved to term.py; the script rewrites them through rich.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden" / "term"

# (width the report is fitted to, width of the console it is printed on); None: not fitted,
# rich's own shrinking at 120 columns (Analysis.render("rich")) or natural widths at 1000
LECTURE_WIDTHS = [(40, 40), (60, 60), (80, 80), (100, 100), (120, 120), (160, 160), (None, 120), (None, 1000)]
SOME_WIDTHS = [(40, 40), (60, 60), (80, 80), (120, 120), (160, 160)]

# a spec whose names are the user's text: wide CJK, emoji, a combining mark, markup-looking
# brackets, a control character (shown escaped)
UNICODE_SPEC = """\
name: "网络 [bold]ünï\u0301 😀"
input: [3, 32, 32]
layers:
  - conv: {out: 16, kernel: 3, pad: 1, name: "卷积层一 conv"}
  - relu: {}
  - maxpool: {kernel: 2, stride: 2, name: "池化 😀 pool"}
  - conv: {out: 32, kernel: 3, pad: 1, name: "e\u0301te\u0301 [/x] \\x1b[31m"}
  - flatten: {}
  - linear: {out: 10, name: "全连接 ﻿fc"}
"""


@cache
def analysis(name: str) -> Any:
    import cnncalc

    if name == "unicode":
        from cnncalc.sources import Source

        return cnncalc.analyze(Source(UNICODE_SPEC, "unicode.yaml"))
    return cnncalc.analyze(name)


def _verify_result(ok: bool, timing: bool) -> Any:
    """A VerifyResult made by hand (no torch): lenet5's rows, one mismatch unless ok."""
    from cnncalc.torchcheck.compare import Cell, LayerCheck
    from cnncalc.torchcheck.run import VerifyResult

    a = analysis("lenet5")
    checks = []
    for i, row in enumerate(a.rows):
        flops = 2 * row.macs if row.type in ("conv", "linear") else 0
        measured_flops = flops if row.type in ("conv", "linear") else None
        params = row.weights + row.biases
        bad = not ok and i == 2
        checks.append(LayerCheck(row.name, row.type, Cell(tuple(row.output), tuple(row.output)),
                                 Cell(params, params + 6 if bad else params), Cell(flops, measured_flops),
                                 Cell(row.output_bytes, row.output_bytes),
                                 seconds=(0.000125 * (i + 1)) if timing else None, macs_value=row.macs))
    return VerifyResult("lenet5", "cpu", "float32", 1, "2.13.0", checks, notes=["a note about lenet5"])


def _verify(width: int | None, ok: bool = True, timing: bool = False, peak: float | None = None) -> Any:
    from cnncalc.report.verify import render_verify

    return render_verify(_verify_result(ok, timing), analysis("lenet5"), peak, width)


def _saved(width: int | None, ok: bool) -> Any:
    from cnncalc.report.verify import render_saved
    from cnncalc.torchcheck.saved import SavedCheck

    layers = [("conv1", 12_544, 12_544), ("relu1", 0, 0), ("卷积 pool1", 4_704, 4_704 if ok else 4_800),
              ("fc", 480, 480)]
    predicted, measured = sum(p for _, p, _ in layers), sum(m for _, _, m in layers)
    kernels = {"attn": ("math", "math" if ok else "flash")}
    return render_saved(SavedCheck("lenet5", "cpu", "float32", None, 4, layers, predicted, measured, kernels), width)


def _all(width: int | None) -> Any:
    from cnncalc.report.verify import render_all

    return render_all([(_verify_result(True, False), 0.25), (_verify_result(False, False), 1.5)], "cpu")


def _against(width: int | None, known: str) -> Any:
    from cnncalc.torchcheck.against import Against

    rows = [("params", 61_100_840, 61_100_840), ("output shape", [1000], [1000]),
            ("FlopCounterMode MACs", 714_188_480, 714_188_480 if not known else 1)]
    return Against("alexnet", "alexnet", rows, known=known).render()


@cache
def _zoo_entries() -> list:
    from cnncalc import api
    from cnncalc.cli.catalog import _zoo

    return _zoo(api)


def _zoo(width: int | None) -> Any:
    from cnncalc.report.table import render_zoo

    return render_zoo(_zoo_entries(), width)


def _memory(width: int | None, name: str, **kw: Any) -> Any:
    return analysis(name).memory(**kw).renderable(width)


def _compare(width: int | None, names: tuple[str, ...]) -> Any:
    import cnncalc
    from cnncalc.sources import Source

    specs = [Source(UNICODE_SPEC, "unicode.yaml") if n == "unicode" else n for n in names]
    return cnncalc.compare(specs).renderable(width)


def _sweep(width: int | None, **kw: Any) -> Any:
    import cnncalc

    return cnncalc.sweep("resnet50", **kw).renderable(width)


def _lecture(name: str, **kw: Any) -> Callable[[int | None], Any]:
    return lambda width: analysis(name).renderable(width, **kw)


CASES: dict[str, tuple[Callable[[int | None], Any], list[tuple[int | None, int]]]] = {
    **{f"table-{name}": (_lecture(name), LECTURE_WIDTHS)
       for name in ("lenet5", "alexnet", "vgg16", "resnet18", "resnet50", "googlenet", "vit", "mobilenet_v2",
                    "unicode")},
    "table-weights-alexnet": (_lecture("alexnet", params="weights"), [(None, 120), (120, 120)]),
    "table-all-resnet18": (_lecture("resnet18", fold=False), [(60, 60), (100, 100), (160, 160), (None, 1000)]),
    "table-depth1-resnet50": (_lecture("resnet50", depth=1), [(40, 40), (60, 60), (100, 100), (160, 160)]),
    "table-rf-alexnet": (_lecture("alexnet", rf=True), [(60, 60), (100, 100), (160, 160), (None, 1000)]),
    "table-columns-vgg16": (_lecture("vgg16", columns="layer,output,params,flop"), [(40, 40), (80, 80), (160, 160)]),
    "table-columns-slides-unicode": (_lecture("unicode", columns="slides"), [(40, 40), (80, 80), (160, 160)]),
    "memory-resnet50": (lambda w: _memory(w, "resnet50", gpu_memory="24GB", max_batch=True, reserve="1GB"),
                        SOME_WIDTHS),
    "memory-alexnet-checkpoint": (lambda w: _memory(w, "alexnet", checkpoint=2, amp="bfloat16"), SOME_WIDTHS),
    "memory-unicode": (lambda w: _memory(w, "unicode"), [(40, 40), (80, 80)]),
    "compare": (lambda w: _compare(w, ("alexnet", "vgg16", "resnet50")), SOME_WIDTHS),
    "compare-unicode": (lambda w: _compare(w, ("lenet5", "unicode")), [(40, 40), (80, 80), (160, 160)]),
    "sweep-batch": (lambda w: _sweep(w, batch=[1, 2, 4]), SOME_WIDTHS),
    "sweep-input": (lambda w: _sweep(w, input=[[3, 224, 224], [3, 448, 448]]), [(40, 40), (80, 80), (160, 160)]),
    "verify-ok": (_verify, SOME_WIDTHS),
    "verify-mismatch": (lambda w: _verify(w, ok=False), SOME_WIDTHS),
    "verify-timing": (lambda w: _verify(w, timing=True, peak=100.0), SOME_WIDTHS),
    "verify-saved": (lambda w: _saved(w, True), [(40, 40), (80, 80)]),
    "verify-saved-mismatch": (lambda w: _saved(w, False), [(40, 40), (80, 80)]),
    "verify-all": (_all, [(40, 40), (80, 80)]),
    "verify-against": (lambda w: _against(w, ""), [(40, 40), (80, 80)]),
    "verify-against-known": (lambda w: _against(w, "torchvision counts differently"), [(40, 40), (80, 80)]),
    "list": (_zoo, [(60, 60), (100, 100), (160, 160)]),
}


# ---- rich, the reference -------------------------------------------------------------------------

def rich_console(file: Any, width: int, colour: bool) -> Any:
    """A rich console as cnncalc's SafeConsole was: strings plain (no markup, emoji or
    highlighting), control characters escaped."""
    from rich.console import Console

    from cnncalc.errors import safe_text

    class RichSafeConsole(Console):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(markup=False, emoji=False, highlight=False, **kwargs)

        def render_str(self, text: str, **kwargs: Any) -> Any:
            kwargs.update(markup=False, emoji=False, highlight=False)
            return super().render_str(safe_text(text), **kwargs)

    if colour:
        return RichSafeConsole(file=file, width=width, color_system="standard", force_terminal=True)
    return RichSafeConsole(file=file, width=width, color_system=None)


def to_rich(obj: Any) -> Any:
    """A term renderable as the rich renderable it stands for (rich objects and str unchanged)."""
    module = type(obj).__module__
    if isinstance(obj, str) or obj is None or module.startswith("rich."):
        return obj
    from rich import box as rich_box
    from rich.console import Group
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Span, Text

    kind = type(obj).__name__
    if kind == "Text":
        return Text(obj.plain, style=obj.style or "", justify=obj.justify, overflow=obj.overflow, no_wrap=obj.no_wrap,
                    end=obj.end, spans=[Span(s, e, style) for s, e, style in obj.spans])
    if kind == "Group":
        return Group(*map(to_rich, obj.renderables))
    if kind == "Padding":
        return Padding(to_rich(obj.renderable), (obj.top, obj.right, obj.bottom, obj.left))
    if kind == "Table":
        box = None if obj.box is None else getattr(rich_box, obj.box.name)
        table = Table(title=to_rich(obj.title), caption=to_rich(obj.caption), width=obj.width, min_width=obj.min_width,
                      box=box, padding=obj.padding, pad_edge=obj.pad_edge, expand=obj.expand,
                      show_header=obj.show_header, show_footer=obj.show_footer, show_edge=obj.show_edge,
                      show_lines=obj.show_lines, style=obj.style, header_style=obj.header_style,
                      footer_style=obj.footer_style, border_style=obj.border_style, title_style=obj.title_style,
                      caption_style=obj.caption_style, title_justify=obj.title_justify,
                      caption_justify=obj.caption_justify)
        for c in obj.columns:
            table.add_column(to_rich(c.header), to_rich(c.footer), header_style=c.header_style,
                             footer_style=c.footer_style, style=c.style, justify=c.justify, vertical=c.vertical,
                             overflow=c.overflow, width=c.width, min_width=c.min_width, max_width=c.max_width,
                             no_wrap=c.no_wrap)
        for i, row in enumerate(obj.rows):
            table.add_row(*(to_rich(c._cells[i]) for c in obj.columns), style=row.style, end_section=row.end_section)
        return table
    raise TypeError(f"no rich counterpart for {kind}")


def render_rich(renderable: Any, width: int, colour: bool = False) -> str:
    """What rich prints for the renderable on a `width`-column console."""
    out = io.StringIO()
    rich_console(out, width, colour).print(to_rich(renderable))
    return out.getvalue()


def render_term(renderable: Any, width: int, colour: bool = False) -> str:
    """What cnncalc's own console (report/console.py, on report/term.py) prints for it."""
    from cnncalc.report.console import SafeConsole

    out = io.StringIO()
    if colour:
        SafeConsole(file=out, width=width, color_system="standard", force_terminal=True).print(renderable)
    else:
        SafeConsole(file=out, width=width, color_system=None).print(renderable)
    return out.getvalue()


def golden_text(name: str, render: Callable[[Any, int, bool], str], colour: bool) -> str:
    """A case at each of its widths, one section per width, as its golden file holds it."""
    build, widths = CASES[name]
    parts = []
    for fit, console_width in widths:
        parts.append(f"--- fitted to {fit}, console {console_width} ---\n")
        parts.append(render(build(fit), console_width, colour))
    return "".join(parts)


def golden_path(name: str, colour: bool) -> Path:
    return GOLDEN / f"{name}.{'ansi' if colour else 'txt'}"
