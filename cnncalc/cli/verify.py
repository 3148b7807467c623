"""`cnncalc verify`: the spec as a real PyTorch model, checked layer by layer."""

from __future__ import annotations

import sys

import click

from cnncalc.cli.common import (
    Command,
    batch_option,
    complete_spec,
    handle_errors,
    params_option,
    parse_input,
    parse_limits,
    parse_sets,
    print_rich,
    source_of,
    spec_options,
)
from cnncalc.errors import UsageError


@click.command(cls=Command)
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
def verify(spec: str | None, all_specs: bool, device: str, input_shape: str | None, layout: str | None,
           sets: tuple[str, ...],
           limits: tuple[str, ...], traceback: bool, batch: int, dtype: str, params_mode: str, timing: bool,
           repeats: int, peak_tflops: float | None, train: bool, no_memory_check: bool, saved: bool,
           amp: str | None, against: str | None, fmt: str) -> None:
    """Build SPEC as a real PyTorch model, run it, and check every analytic number layer by layer.

    Exit status 0 when everything matches, 1 when anything differs, 2 for a usage error.

    Example: cnncalc verify vgg16 --device meta --batch 256
    """
    from cnncalc import api
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
    bounds = parse_limits(limits)
    result = api.verify(source_of(spec or "", bounds, parse_input(input_shape, layout)), device=device, batch=batch, dtype=dtype,
                        input=parse_input(input_shape, layout), args=parse_sets(sets), params=params_mode,
                        time=timing, repeats=repeats, train=train, memory=saved, amp=amp, against=against,
                        peak_tflops=peak_tflops, limits=bounds, layout=layout, memory_check=not no_memory_check)
    if fmt == "json":
        click.echo(result.render("json"), nl=False)
    else:
        print_rich(result)
    sys.exit(0 if result.ok else 1)


def _verify_all(device: str, batch: int, dtype: str, params_mode: str, fmt: str) -> int:
    """Verify every bundled architecture with a progress bar; 1 if any fails."""
    import json
    import time

    from rich.console import Console
    from rich.progress import Progress

    from cnncalc import api
    from cnncalc.report.verify import all_dict, render_all

    results = []
    # the one view drawn by rich: the progress bar (its names are the bundled ones, not the user's)
    progress_console = Console(file=sys.stderr, markup=False, emoji=False, highlight=False)
    with Progress(console=progress_console, transient=True) as progress:
        names = api.architectures()
        task = progress.add_task("verifying", total=len(names))
        for name in names:
            progress.update(task, description=f"verifying {name}")
            start = time.perf_counter()
            result = api.verify(name, device=device, batch=batch, dtype=dtype, params=params_mode).result
            results.append((result, time.perf_counter() - start))
            progress.advance(task)
    if fmt == "json":
        click.echo(json.dumps(all_dict(results), indent=2))
    else:
        print_rich(render_all(results, device))
    return 1 if any(not r.ok for r, _ in results) else 0
