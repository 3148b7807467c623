"""`cnncalc verify`: the spec as a real PyTorch model, checked layer by layer."""

from __future__ import annotations

import sys

import click

from cnncalc.cli.common import (
    analyse,
    batch_option,
    complete_spec,
    handle_errors,
    make_console,
    params_option,
    spec_options,
)
from cnncalc.errors import UsageError


@click.command()
@click.argument("spec", required=False, shell_complete=complete_spec)
@click.option("--all", "all_specs", is_flag=True, help="Verify every bundled architecture; a summary table at the end.")
@click.option("--device", default="cpu", show_default=True, metavar="cpu|cuda|cuda:N|meta",
              help="Where to run: meta checks shapes and FLOPs without allocating memory.")
@spec_options
@batch_option
@click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16"]), default="float32", show_default=True,
              help="Element type of the model and its input.")
@params_option
@click.option("--time", "timing", is_flag=True, help="Also time every layer (median of --repeats runs after warm-up).")
@click.option("--repeats", type=click.IntRange(min=1), default=10, show_default=True, help="Timed runs per layer with --time.")
@click.option("--peak-tflops", type=click.FloatRange(min=0, min_open=True), help="Device peak, for the % of peak column.")
@click.option("--train", is_flag=True, help="On CUDA, also measure forward+backward peak memory.")
@click.option("--no-memory-check", "no_memory_check", is_flag=True,
              help="Run even when the estimate (parameters + input + every layer's output) exceeds the "
                   "device's free memory.")
@click.option("--memory", "saved", is_flag=True,
              help="Also measure what autograd saves for backward (saved_tensors_hooks, one training-mode "
                   "forward) and check it against the prediction, layer by layer (cpu or cuda).")
@click.option("--amp", type=click.Choice(["bfloat16", "float16"]),
              help="With --memory: run the forward pass under torch.autocast to this dtype (a float32 model).")
@click.option("--against", type=click.Choice(["torchvision"]), help="Also compare totals with torchvision's model of the same name.")
@click.option("--format", "fmt", type=click.Choice(["rich", "json"]), default="rich", show_default=True,
              help="rich (the terminal table) or json (exact integers, for scripts).")
@handle_errors
def verify(spec: str | None, all_specs: bool, device: str, input_shape: str | None, sets: tuple[str, ...],
           limits: tuple[str, ...], traceback: bool, batch: int, dtype: str, params_mode: str, timing: bool,
           repeats: int, peak_tflops: float | None, train: bool, no_memory_check: bool, saved: bool,
           amp: str | None, against: str | None, fmt: str) -> None:
    """Build SPEC as a real PyTorch model, run it, and check every analytic number layer by layer.

    Exit status 0 when everything matches, 1 when anything differs, 2 for a usage error.

    Example: cnncalc verify vgg16 --device meta --batch 256
    """
    from cnncalc.torchcheck.run import import_torch

    import_torch()  # a clear message, before any work, when PyTorch is missing
    if all_specs == (spec is not None):
        raise UsageError(None, "give one SPEC, or --all for every bundled architecture")
    if amp and not saved:
        raise UsageError(None, "--amp applies to --memory's measurement", "add --memory")
    if amp and dtype != "float32":
        raise UsageError(None, f"--amp {amp} runs a float32 model under autocast; it cannot be combined with "
                               f"--dtype {dtype}")
    if all_specs:
        sys.exit(_verify_all(device, batch, dtype, params_mode, fmt))
    from cnncalc.report import verify as report
    from cnncalc.torchcheck.run import verify as run_verify

    analysis = analyse(spec or "", input_shape, sets, batch, dtype, limits)  # spec is given: checked above
    result = run_verify(analysis.graph, analysis, device, dtype, params_mode == "weights", timing, repeats, train,
                        not no_memory_check)
    check = None
    if saved:
        from cnncalc.torchcheck.saved import check_saved

        check = check_saved(analysis, device, dtype, amp)
    third = None
    if against:
        from cnncalc.torchcheck.against import compare_torchvision

        third = compare_torchvision(analysis)
    if fmt == "json":
        data = report.verify_dict(result, analysis)
        if third is not None:
            data["against"] = third.as_dict()
        if check is not None:
            data["saved_for_backward"] = report.saved_dict(check)
        import json

        click.echo(json.dumps(data, indent=2))
    else:
        console = make_console()
        console.print(report.render_verify(result, analysis, peak_tflops, console.width))
        if check is not None:
            console.print(report.render_saved(check, console.width))
        if third is not None:
            console.print(third.render())
    failed = not result.ok or (third is not None and not third.ok) or (check is not None and not check.ok)
    sys.exit(1 if failed else 0)


def _verify_all(device: str, batch: int, dtype: str, params_mode: str, fmt: str) -> int:
    """Verify every bundled architecture with a progress bar; 1 if any fails."""
    import json
    import time

    from rich.progress import Progress
    from rich.table import Table
    from rich.text import Text

    from cnncalc.report.verify import verdict
    from cnncalc.sources import bundled_names
    from cnncalc.torchcheck.run import verify as run_verify

    results = []
    with Progress(console=make_console(sys.stderr), transient=True) as progress:
        names = bundled_names()
        task = progress.add_task("verifying", total=len(names))
        for name in names:
            progress.update(task, description=f"verifying {name}")
            start = time.perf_counter()
            analysis = analyse(name, None, (), batch, dtype)
            result = run_verify(analysis.graph, analysis, device, dtype, params_mode == "weights")
            results.append((result, time.perf_counter() - start))
            progress.advance(task)
    if fmt == "json":
        click.echo(json.dumps([{"name": r.name, "ok": r.ok, "layers": len(r.checks), "seconds": round(t, 3)}
                               for r, t in results], indent=2))
    else:
        table = Table(title=f"cnncalc verify --all --device {device}", header_style="bold")
        for head in ("architecture", "layers", "checked cells", "result", "seconds"):
            table.add_column(head, justify="left" if head in ("architecture", "result") else "right")
        for r, t in results:
            cells = sum(c.checked for check in r.checks for c in check.cells)
            mark = Text("✓", style="green") if r.ok else Text("✗", style="bold red")
            table.add_row(r.name, str(len(r.checks)), str(cells), mark, f"{t:.2f}")
        console = make_console()
        console.print(table)
        for r, _ in results:
            if not r.ok:
                console.print(verdict(r))
        bad = sum(not r.ok for r, _ in results)
        console.print(f"{len(results) - bad} of {len(results)} architectures verified" + (f", {bad} failed" if bad else ""))
    return 1 if any(not r.ok for r, _ in results) else 0
