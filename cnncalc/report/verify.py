"""Reports of `cnncalc verify`: the per-layer ✓/✗ table, the verdict line, JSON.

Stage: report. In: VerifyResult (+ Analysis for the analytic memory estimates). Out:
renderables (report/term.py) or a JSON string.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncalc.engine.memory import forward_memory_estimate, training_memory_estimate
from cnncalc.report.console import plain
from cnncalc.report.term import Group, Table, Text
from cnncalc.report.view import fixed, fmt_int
from cnncalc.torchcheck.compare import Cell
from cnncalc.torchcheck.run import VerifyResult
from cnncalc.torchcheck.saved import SavedCheck

if TYPE_CHECKING:
    from cnncalc.engine.analysis import Analysis


def _mark(cell: Cell) -> Text:
    if not cell.checked:
        return Text("not counted", style="dim")
    return Text("✓", style="green") if cell.ok else Text("✗", style="bold red")


def _num(value: Any) -> str:
    if isinstance(value, tuple):
        return "x".join(map(str, value))
    return fmt_int(value) if isinstance(value, int) else ("—" if value is None else str(value))


def verdict(result: VerifyResult) -> str:
    """One line: did every checked cell match?"""
    counted = sum(bool(c.flops.analytic) for c in result.checks)
    where = f"PyTorch {result.torch_version} on {result.device} ({result.dtype}, batch {result.batch})"
    if result.ok:
        return (f"✓ {result.name}: all {len(result.checks)} layers match {where}: shapes, params, output bytes "
                f"and FlopCounterMode's FLOPs of every layer ({counted} layers with FLOPs: conv, linear, matmul, "
                f"2 per multiply-add; PyTorch counts none for pooling, norms and elementwise layers)")
    bad = [c for c in result.checks if not c.ok]
    return f"✗ {result.name}: {len(bad)} of {len(result.checks)} layers differ from {where}: " + ", ".join(c.name for c in bad[:8])


def _both(cell: Cell, unit: str = "") -> Text:
    """One cell for the analytic value and its check: `1,792 ✓`; a mismatch keeps both numbers,
    torch's on a second line (`1,792 ✗` over `torch 1,800`); a quantity PyTorch does not
    measure for this layer, `1,792 ·`."""
    text = Text(_num(cell.analytic) + unit + " ")
    if not cell.checked:
        text.append("·", style="dim")
    elif cell.ok:
        text.append("✓", style="green")
    else:
        text.append("✗", style="bold red")
        text.append(f"\ntorch {_num(cell.measured)}{unit}", style="bold red")
    return text


# the table's layouts, widest first: every column; one cell per quantity (analytic + check,
# torch's number only where it differs); without the type column; shape under the name and
# params over bytes (narrow terminals)
VERIFY_LAYOUTS = ("columns", "merged", "merged-no-type", "stacked")


def render_verify(result: VerifyResult, analysis: Analysis, peak_tflops: float | None = None,
                  width: int | None = None):
    """The per-layer table, the verdict and notes; given a width, the first of VERIFY_LAYOUTS
    that fits it with every digit shown (report/fit.py)."""
    from cnncalc.report.fit import fit, fold_everything

    for layout in VERIFY_LAYOUTS:
        table = _verify_table(result, peak_tflops, layout)
        if fit(table, width, wrap=(0,) if layout == VERIFY_LAYOUTS[-1] else ()):
            break
    else:
        table = fold_everything(table)
    # the verdict names the network and its layers: the user's text, shown escaped (plain)
    lines: list[Any] = [table, plain(verdict(result), style="bold green" if result.ok else "bold red")]
    if any(c.seconds is not None for c in result.checks) or result.peak_bytes is not None:
        lines.append(plain(memory_line(result, analysis)))
    lines += [plain(f"note: {n}", style="dim") for n in result.notes]
    return Group(*lines)


def _verify_table(result: VerifyResult, peak_tflops: float | None, layout: str) -> Table:
    timing = any(c.seconds is not None for c in result.checks)
    caption = None if layout == "columns" else (
        "✓ PyTorch agrees · ✗ it differs (its number below) · · PyTorch does not count this layer's FLOPs")
    table = Table(title=f"{result.name}: analytic vs PyTorch", header_style="bold", caption=caption,
                  caption_justify="left")
    heads: tuple[str, ...]
    if layout == "columns":
        heads = ("layer", "type", "output shape", "", "params", "torch", "", "FLOPs", "torch", "", "output bytes", "")
    elif layout == "stacked":
        heads = ("layer / output shape", "FLOPs", "params / output bytes")
    else:
        heads = ("layer", "type", "output shape", "params", "FLOPs", "output bytes")
        if layout == "merged-no-type":
            heads = tuple(h for h in heads if h != "type")
    for head in heads:
        table.add_column(head, justify="left" if head.startswith("layer") or head == "type" else "right")
    if timing:
        for head in ("ms", "GMAC/s") + (("% of peak",) if peak_tflops else ()):
            table.add_column(head, justify="right")
    for c in result.checks:
        row: list[Any]
        if layout == "columns":
            row = [c.name, c.type, _num(c.shape.analytic), _mark(c.shape), _num(c.params.analytic),
                   _num(c.params.measured), _mark(c.params), _num(c.flops.analytic),
                   _num(c.flops.measured), _mark(c.flops), _num(c.output_bytes.analytic), _mark(c.output_bytes)]
        elif layout == "stacked":
            name = plain(c.name + "\n")
            name.append_text(_both(c.shape))
            params = _both(c.params)
            params.append("\n")
            params.append_text(_both(c.output_bytes, " B"))
            row = [name, _both(c.flops), params]
        else:
            row = [c.name, *([c.type] if layout == "merged" else []), _both(c.shape), _both(c.params),
                   _both(c.flops), _both(c.output_bytes)]
        if timing:
            seconds = c.seconds or 0.0
            rate = c.macs_value / seconds if seconds else 0.0
            row += [f"{seconds * 1e3:.3f}", f"{rate / 1e9:.2f}"]
            if peak_tflops:
                row.append(f"{100 * 2 * rate / (peak_tflops * 1e12):.1f}")
        table.add_row(*row, end_section=layout == "stacked")
    return table


def memory_line(result: VerifyResult, analysis: Analysis) -> str:
    est = forward_memory_estimate(analysis)
    text = f"forward memory: analytic {fixed(est, 2**20, 1)} MiB (params + largest live activations)"
    if result.peak_bytes is not None:
        text += f", measured {fixed(result.peak_bytes, 2**20, 1)} MiB (torch.cuda.max_memory_allocated)"
    if result.train_peak_bytes is not None:
        train = training_memory_estimate(analysis)
        text += (f"; forward+backward: analytic {fixed(train, 2**20, 1)} MiB, "
                 f"measured {fixed(result.train_peak_bytes, 2**20, 1)} MiB")
    return text


def verify_dict(result: VerifyResult, analysis: Analysis) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value

    def cell(c: Cell) -> dict[str, Any]:
        return {"analytic": plain(c.analytic), "torch": plain(c.measured), "checked": c.checked, "ok": c.ok}

    return {
        "name": result.name, "device": result.device, "dtype": result.dtype, "batch": result.batch,
        "torch_version": result.torch_version, "ok": result.ok,
        "layers": [{"name": c.name, "type": c.type, "ok": c.ok, "shape": cell(c.shape), "params": cell(c.params),
                    "flops": cell(c.flops), "output_bytes": cell(c.output_bytes), "seconds": c.seconds}
                   for c in result.checks],
        "memory": {"forward_estimate_bytes": forward_memory_estimate(analysis),
                   "forward_measured_bytes": result.peak_bytes,
                   "train_estimate_bytes": training_memory_estimate(analysis),
                   "train_measured_bytes": result.train_peak_bytes},
        "notes": result.notes,
    }


def render_saved(check: SavedCheck, width: int | None = None) -> Group:
    """`verify --memory`: one row per layer that saves anything, predicted vs measured bytes."""
    from cnncalc.report.fit import fit, fold_everything

    precision = f"float32 + {check.amp} autocast" if check.amp else check.dtype
    table = Table(title=f"{check.name}: saved for backward, predicted vs measured ({check.device}, {precision}, "
                        f"batch {check.batch})", header_style="bold", show_footer=True)
    table.add_column("layer", footer="total")
    table.add_column("predicted bytes", justify="right", footer=fmt_int(check.predicted))
    table.add_column("measured bytes", justify="right", footer=fmt_int(check.measured))
    table.add_column("", footer=Text("✓", style="green") if check.predicted == check.measured
                     else Text("✗", style="bold red"))
    for name, predicted, measured in check.layers:
        table.add_row(plain(name), fmt_int(predicted), fmt_int(measured),
                      Text("✓", style="green") if predicted == measured else Text("✗", style="bold red"))
    if not fit(table, width):
        table = fold_everything(table)
    bad = [name for name, p, m in check.layers if p != m]
    if check.ok:
        line = plain(f"✓ {check.name}: what autograd saves for backward matches the prediction, layer by layer: "
                    f"{fmt_int(check.measured)} bytes (saved_tensors_hooks, each storage once, parameters apart; "
                    f"docs/memory.md)", style="bold green")
    else:
        line = plain(f"✗ {check.name}: saved bytes differ in {len(bad)} layers ({', '.join(bad[:6])}); total predicted "
                    f"{fmt_int(check.predicted)}, measured {fmt_int(check.measured)} "
                    f"({fixed(100 * abs(check.predicted - check.measured), max(check.measured, 1), 2)}%)",
                    style="bold red")
    return Group(table, line, *([_kernel_line(check)] if check.kernels else []))


def _kernel_line(check: SavedCheck) -> Text:
    """Which scaled_dot_product_attention kernel ran in the attention layers, beside the one the
    prediction assumes (the kernel torch picks: ops/sdpa.py)."""
    pairs = set(check.kernels.values())
    if all(p == m for p, m in pairs):
        ran = ", ".join(sorted({m for _, m in pairs}))
        return Text(f"attention: torch ran the {ran} kernel, as predicted (scaled_dot_product_attention's "
                    f"default choice; docs/memory.md#attention-the-kernel-that-runs)")
    bad = [f"{name} ran {m}, predicted {p}" for name, (p, m) in check.kernels.items() if p != m]
    return plain(f"✗ attention kernel: {'; '.join(bad[:4])}", style="bold red")


def saved_dict(check: SavedCheck) -> dict[str, Any]:
    return {"device": check.device, "dtype": check.dtype, "amp": check.amp, "batch": check.batch, "ok": check.ok,
            "predicted_bytes": check.predicted, "measured_bytes": check.measured,
            "layers": [{"name": n, "predicted": p, "measured": m, "ok": p == m} for n, p, m in check.layers],
            **({"attention": _kernels_dict(check)} if check.kernels else {})}


def _kernels_dict(check: SavedCheck) -> dict[str, Any]:
    """The attention kernel predicted and measured: once where every layer agrees, else per layer."""
    pairs = set(check.kernels.values())
    if len(pairs) == 1:
        p, m = pairs.pop()
        return {"predicted": p, "measured": m}
    return {name: {"predicted": p, "measured": m} for name, (p, m) in check.kernels.items()}


def all_dict(results: list[tuple[VerifyResult, float]]) -> list[dict[str, Any]]:
    """`verify --all --format json`: a record per architecture."""
    return [{"name": r.name, "ok": r.ok, "layers": len(r.checks), "seconds": round(t, 3)} for r, t in results]


def render_all(results: list[tuple[VerifyResult, float]], device: str) -> Group:
    """`verify --all`: a row per architecture (layers, checked cells, ✓/✗, seconds), the verdict
    of each that failed, and the count."""
    table = Table(title=f"cnncalc verify --all --device {device}", header_style="bold")
    for head in ("architecture", "layers", "checked cells", "result", "seconds"):
        table.add_column(head, justify="left" if head in ("architecture", "result") else "right")
    for r, t in results:
        cells = sum(c.checked for check in r.checks for c in check.cells)
        mark = Text("✓", style="green") if r.ok else Text("✗", style="bold red")
        table.add_row(r.name, str(len(r.checks)), str(cells), mark, f"{t:.2f}")
    bad = sum(not r.ok for r, _ in results)
    return Group(table, *(plain(verdict(r)) for r, _ in results if not r.ok),
                 Text(f"{len(results) - bad} of {len(results)} architectures verified" + (f", {bad} failed" if bad else "")))
