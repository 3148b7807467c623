"""The command line: read flags, call the core, print, choose the exit code.

Exit status: 0 success, 2 bad spec or bad usage (one line on stderr naming file:line, no
traceback), 1 reserved for "verify found a mismatch". `--traceback` shows the Python trace.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Callable
from typing import Any

import click

from cnncalc import __version__
from cnncalc.errors import CnncalcError, Limits, UsageError

FORMATS = ("rich", "json", "csv", "markdown", "latex", "html")


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(2)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a CnncalcError into one line on stderr and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CnncalcError as exc:
            if "--traceback" in sys.argv:
                raise
            _fail(exc.render())

    return wrapper


def parse_input(text: str | None) -> list[int] | None:
    """`3x32x32` (or 3,32,32) -> [3, 32, 32]."""
    if text is None:
        return None
    parts = text.replace(",", "x").lower().split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise UsageError(None, f"--input '{text}' is not CxHxW", "e.g. --input 3x32x32") from None
    if len(values) not in (1, 3) or min(values) < 1:
        raise UsageError(None, f"--input '{text}' is not CxHxW of positive integers", "e.g. --input 3x32x32")
    return values


def parse_sets(items: tuple[str, ...]) -> dict[str, Any]:
    """`--set classes=10` -> {"classes": 10}; values are read as YAML scalars."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(None, f"--set '{item}' is not key=value", "e.g. --set classes=10")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise UsageError(None, f"--set '{item}': cannot read the value '{value}'") from None
    return out


def parse_limits(items: tuple[str, ...]) -> Limits:
    """`--limit layers=2000000` -> Limits with that field raised."""
    import dataclasses

    from cnncalc.spec.expr import did_you_mean

    names = [f.name for f in dataclasses.fields(Limits)]
    values: dict[str, int] = {}
    for item in items:
        key, _, value = item.partition("=")
        if key not in names:
            raise UsageError(None, f"--limit '{item}': no limit named '{key}'",
                             did_you_mean(key, names) or f"limits: {', '.join(names)}")
        if not value.isdigit() or int(value) < 1:
            raise UsageError(None, f"--limit '{item}': the value must be a positive integer")
        values[key] = int(value)
    return dataclasses.replace(Limits(), **values)


limit_option = click.option("--limit", "limits", multiple=True, metavar="NAME=N",
                            help="Raise a safety limit: file_bytes, yaml_nodes, depth, repeat, layers.")


def spec_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by every command that analyses a spec."""
    options = [
        click.option("--input", "input_shape", metavar="CxHxW", help="Override the spec's input, e.g. 3x32x32."),
        click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                     help="Override a top-level argument of the spec, e.g. --set classes=10 (repeatable)."),
        click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Batch size: scales memory and multiply-adds."),
        click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16", "float64", "int8"]),
                     default="float32", show_default=True, help="Element type: sets bytes per element."),
        click.option("--params", "params_mode", type=click.Choice(["all", "weights"]), default="all",
                     show_default=True, help="Count weights + biases, or weights only (CS231n VGG, EECS 498 FC rows)."),
        click.option("--flops", "flops_mode", type=click.Choice(["macs", "flops"]), default="macs",
                     show_default=True, help="flop column as multiply-adds (lectures) or 2 x MACs (PyTorch)."),
        limit_option,
        click.option("--traceback", is_flag=True, hidden=True, help="Show the Python traceback of an error."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def analyse(spec: str, input_shape: str | None, sets: tuple[str, ...], batch: int, dtype: str,
            limits: tuple[str, ...] = ()):
    """Resolve, parse, expand and cost a spec: the whole analytic pipeline."""
    from cnncalc.engine import DTYPE_BYTES, analyze
    from cnncalc.graph import build_graph
    from cnncalc.sources import find, load_spec

    bounds = parse_limits(limits)
    shape, overrides = parse_input(input_shape), parse_sets(sets)
    source = find(spec, bounds)
    if source.note:
        click.echo(source.note, err=True)
    try:
        graph = build_graph(load_spec(source, bounds), shape, overrides, bounds)
    except CnncalcError as exc:
        exc.text = source.text  # so the message can quote the offending line
        raise
    return analyze(graph, batch=batch, dtype_bytes=DTYPE_BYTES[dtype])


def make_console(file: Any = None):
    from rich.console import Console

    console = Console(file=file)
    if not console.is_terminal:
        console = Console(file=file, width=160)
    return console


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnncalc")
def cli() -> None:
    """cnncalc: layer-by-layer shapes, memory, parameters and FLOPs of CNNs, as in the lecture tables.

    Example: cnncalc table alexnet
    """


@cli.command()
@click.argument("spec")
@spec_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="rich", show_default=True,
              help="rich table, JSON (exact integers), CSV (raw integers) or Markdown.")
@click.option("--all", "show_all", is_flag=True, help="Show relu/bn/dropout as their own rows instead of folding them.")
@click.option("--units", type=click.Choice(["lecture", "auto", "raw"]), default="lecture", show_default=True,
              help="lecture: KB / k / M rounded as on the slides; auto: readable B..GB, k..G; raw: exact integers.")
@click.option("--rf", is_flag=True, help="Add receptive field, jump and start columns (in input pixels).")
@click.option("--convention", type=click.Choice(["lecture", "torch", "fvcore", "ptflops", "torchinfo", "thop"]),
              help="Count the flop column as that tool does (docs/profiles.md).")
@click.option("--depth", type=click.IntRange(min=1), help="Collapse names deeper than N levels into subtotal rows "
              "(resnet50 --depth 1: one row per stage).")
@handle_errors
def table(spec: str, input_shape: str | None, sets: tuple[str, ...], batch: int, dtype: str,
          params_mode: str, flops_mode: str, limits: tuple[str, ...], traceback: bool, fmt: str,
          show_all: bool, units: str, rf: bool, convention: str | None, depth: int | None) -> None:
    """Print the per-layer table of SPEC (a bundled name such as alexnet, or a YAML file).

    Example: cnncalc table vgg11 --input 3x32x32 --set hidden=2048 --set classes=10
    """
    from cnncalc.report.view import View

    analysis = analyse(spec, input_shape, sets, batch, dtype, limits)
    view = View(weights_only=params_mode == "weights", flops=flops_mode == "flops",
                fold=not show_all, units=units, dtype=dtype, depth=depth, rf=rf)
    if convention:
        from cnncalc.conventions import counts, get_profile

        view = dataclasses.replace(view, convention=convention, tool_counts=counts(convention, analysis),
                                   tool_label=get_profile(convention).unit_label)
    if fmt == "rich":
        from cnncalc.report.table import render_table

        make_console().print(render_table(analysis, view))
        return
    from cnncalc.report.text import render

    click.echo(render(analysis, view, fmt), nl=False)


@cli.command()
@click.argument("spec", required=False)
@click.option("--all", "all_specs", is_flag=True, help="Verify every bundled architecture; a summary table at the end.")
@click.option("--device", default="cpu", show_default=True, metavar="cpu|cuda|cuda:N|meta",
              help="Where to run: meta checks shapes and FLOPs without allocating memory.")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True, help="Batch size of the forward pass.")
@click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16"]), default="float32", show_default=True)
@click.option("--params", "params_mode", type=click.Choice(["all", "weights"]), default="all", show_default=True,
              help="Compare weights + biases, or weights only.")
@click.option("--input", "input_shape", metavar="CxHxW", help="Override the spec's input, e.g. 3x32x32.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a top-level argument of the spec.")
@click.option("--time", "timing", is_flag=True, help="Also time every layer (median of --repeats runs after warm-up).")
@click.option("--repeats", type=click.IntRange(min=1), default=10, show_default=True, help="Timed runs per layer with --time.")
@click.option("--peak-tflops", type=click.FloatRange(min=0, min_open=True), help="Device peak, for the % of peak column.")
@click.option("--train", is_flag=True, help="On CUDA, also measure forward+backward peak memory.")
@click.option("--against", type=click.Choice(["torchvision"]), help="Also compare totals with torchvision's model of the same name.")
@click.option("--format", "fmt", type=click.Choice(["rich", "json"]), default="rich", show_default=True)
@limit_option
@click.option("--traceback", is_flag=True, hidden=True)
@handle_errors
def verify(spec: str | None, all_specs: bool, device: str, batch: int, dtype: str, params_mode: str,
           input_shape: str | None, sets: tuple[str, ...], timing: bool, repeats: int, peak_tflops: float | None,
           train: bool, against: str | None, fmt: str, limits: tuple[str, ...], traceback: bool) -> None:
    """Build SPEC as a real PyTorch model, run it, and check every analytic number layer by layer.

    Exit status 0 when everything matches, 1 when anything differs, 2 for a usage error.

    Example: cnncalc verify vgg16 --device meta --batch 256
    """
    from cnncalc.torchcheck.run import import_torch

    import_torch()  # a clear message, before any work, when PyTorch is missing
    if all_specs == (spec is not None):
        raise UsageError(None, "give one SPEC, or --all for every bundled architecture")
    if all_specs:
        sys.exit(_verify_all(device, batch, dtype, params_mode, fmt))
    from cnncalc.report import verify as report
    from cnncalc.torchcheck.run import verify as run_verify

    analysis = analyse(spec, input_shape, sets, batch, dtype, limits)
    result = run_verify(analysis.graph, analysis, device, dtype, params_mode == "weights", timing, repeats, train)
    third = None
    if against:
        from cnncalc.torchcheck.against import compare_torchvision

        third = compare_torchvision(analysis)
    if fmt == "json":
        data = report.verify_dict(result, analysis)
        if third is not None:
            data["against"] = third.as_dict()
        click.echo(__import__("json").dumps(data, indent=2))
    else:
        console = make_console()
        console.print(report.render_verify(result, analysis, peak_tflops))
        if third is not None:
            console.print(third.render())
    failed = not result.ok or (third is not None and not third.ok)
    sys.exit(1 if failed else 0)


def _verify_all(device: str, batch: int, dtype: str, params_mode: str, fmt: str) -> int:
    """Verify every bundled architecture with a progress bar; 1 if any fails."""
    import json
    import time

    from rich.progress import Progress
    from rich.table import Table

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
            table.add_row(r.name, str(len(r.checks)), str(cells), "[green]✓[/]" if r.ok else "[bold red]✗[/]", f"{t:.2f}")
        console = make_console()
        console.print(table)
        for r, _ in results:
            if not r.ok:
                console.print(verdict(r))
        bad = sum(not r.ok for r, _ in results)
        console.print(f"{len(results) - bad} of {len(results)} architectures verified" + (f", {bad} failed" if bad else ""))
    return 1 if any(not r.ok for r, _ in results) else 0


@cli.command()
@click.argument("spec")
@click.argument("layers", nargs=-1)
@spec_options
@handle_errors
def explain(spec: str, layers: tuple[str, ...], input_shape: str | None, sets: tuple[str, ...], batch: int,
            dtype: str, params_mode: str, flops_mode: str, limits: tuple[str, ...], traceback: bool) -> None:
    """Work LAYERS of SPEC through by hand, as the slides do (default: the first layer of each kind).

    Example: cnncalc explain alexnet conv1 pool1 fc6
    """
    from cnncalc.report.explain import render_explain
    from cnncalc.report.view import View

    analysis = analyse(spec, input_shape, sets, batch, dtype, limits)
    view = View(weights_only=params_mode == "weights", flops=flops_mode == "flops", dtype=dtype)
    click.echo(render_explain(analysis, list(layers), view), nl=False)


@cli.command()
@click.argument("specs", nargs=-1, required=True)
@click.option("--input", "input_shape", metavar="CxHxW", help="Override the spec's input, e.g. 3x32x32.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a top-level argument.")
@limit_option
@click.option("--traceback", is_flag=True, hidden=True)
def check(specs: tuple[str, ...], input_shape: str | None, sets: tuple[str, ...], limits: tuple[str, ...],
          traceback: bool) -> None:
    """Validate one or more specs without printing a table: every problem, with file:line.

    Exit status 0 when all are valid, 2 otherwise.

    Example: cnncalc check my/net.yaml architectures/*.yaml
    """
    failed = 0
    for spec in specs:
        try:
            analysis = analyse(spec, input_shape, sets, 1, "float32", limits)
        except CnncalcError as exc:
            if traceback:
                raise
            click.echo(exc.render(), err=True)
            failed += 1
            continue
        t = analysis.totals
        click.echo(f"ok: {spec}: {len(analysis.rows)} layers, {t.params():,} params, {t.macs:,} multiply-adds, "
                   f"output {'x'.join(map(str, analysis.rows[-1].output))}")
    if failed:
        click.echo(f"{failed} of {len(specs)} specs have errors", err=True)
        sys.exit(2)


def parse_gpu_memory(text: str) -> int:
    """'24GB', '24 GiB', '80G', '16384MB' -> bytes. GPU makers quote GiB as "GB": both mean 2**30."""
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B)?\s*", text, flags=re.I)
    if not match:
        raise UsageError(None, f"--gpu-memory '{text}' is not a size", "e.g. --gpu-memory 24GB")
    scale = {"": 2**30, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}[match[2].upper()]
    from decimal import Decimal

    return int(Decimal(match[1]) * scale)


@cli.command()
@click.argument("spec")
@spec_options
@click.option("--optimizer", type=click.Choice(["sgd", "momentum", "rmsprop", "adagrad", "adam", "adamw"]),
              default="adam", show_default=True, help="Optimizer state per parameter: sgd 0, momentum 1, adam 2.")
@click.option("--gpu-memory", metavar="SIZE", help="Say whether it fits, e.g. --gpu-memory 24GB.")
@click.option("--format", "fmt", type=click.Choice(["rich", "json"]), default="rich", show_default=True)
@handle_errors
def memory(spec: str, input_shape: str | None, sets: tuple[str, ...], batch: int, dtype: str, params_mode: str,
           flops_mode: str, limits: tuple[str, ...], traceback: bool, optimizer: str, gpu_memory: str | None,
           fmt: str) -> None:
    """Memory for training SPEC: parameters, gradients, optimizer state, activations, input.

    Example: cnncalc memory resnet50 --batch 64 --dtype bfloat16 --optimizer adam --gpu-memory 24GB
    """
    import json

    from cnncalc.engine import forward_memory_estimate, training_memory

    capacity = parse_gpu_memory(gpu_memory) if gpu_memory else None
    analysis = analyse(spec, input_shape, sets, batch, dtype, limits)
    parts = training_memory(analysis, optimizer)
    inference = forward_memory_estimate(analysis)
    if fmt == "json":
        data = {"name": analysis.graph.name, "batch": batch, "dtype": dtype, "optimizer": optimizer,
                "training_bytes": parts, "inference_peak_bytes": inference}
        if capacity is not None:
            data["gpu_memory_bytes"], data["fits"] = capacity, parts["total"] <= capacity
        click.echo(json.dumps(data, indent=2))
        return
    from rich.table import Table

    table = Table(title=f"{analysis.graph.name}: training memory, batch {batch}, {dtype}, {optimizer}",
                  header_style="bold", show_footer=True)
    table.add_column("part", footer="total")
    table.add_column("bytes", justify="right", footer=f"{parts['total']:,}")
    table.add_column("MiB", justify="right", footer=f"{parts['total'] / 2**20:,.1f}")
    table.add_column("share", justify="right", footer="100%")
    for part, size in parts.items():
        if part != "total":
            table.add_row(part, f"{size:,}", f"{size / 2**20:,.1f}", f"{100 * size / parts['total']:.0f}%")
    console = make_console()
    console.print(table)
    console.print("activations: every layer's output, kept for the backward pass (in-place layers share their "
                  "input's); optimizer state in the parameters' dtype (docs/conventions.md)", style="dim")
    console.print(f"inference (no gradients): parameters + the largest live set of activations = "
                  f"{inference / 2**20:,.1f} MiB")
    if capacity is not None:
        fits = parts["total"] <= capacity
        console.print(f"fits on a {gpu_memory} GPU? {'yes' if fits else 'no'} "
                      f"({100 * parts['total'] / capacity:.0f}% of {capacity / 2**30:,.1f} GiB; "
                      f"allocator overhead and the CUDA context, ~0.5 GiB, are not included)")


@cli.command()
@click.argument("specs", nargs=-1, required=True)
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16", "float64", "int8"]), default="float32",
              show_default=True)
@click.option("--optimizer", type=click.Choice(["sgd", "momentum", "rmsprop", "adagrad", "adam", "adamw"]),
              default="sgd", show_default=True, help="For the training memory column.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="rich", show_default=True)
@click.option("--plot", "plot_path", metavar="PATH", help="Also draw the comparing-complexity chart (.png, .svg).")
@click.option("--y", "y_metric", type=click.Choice(["memory", "params", "training"]), default="memory",
              show_default=True, help="The chart's y axis (x is multiply-adds, bubble area is params).")
@limit_option
@click.option("--traceback", is_flag=True, hidden=True)
@handle_errors
def compare(specs: tuple[str, ...], batch: int, dtype: str, optimizer: str, fmt: str, plot_path: str | None,
            y_metric: str, limits: tuple[str, ...], traceback: bool) -> None:
    """Compare architectures side by side: params, MACs, memory, training memory, depth.

    Example: cnncalc compare alexnet vgg16 googlenet resnet50 --plot cmp.png
    """
    from cnncalc.report.compare import compare_grid, render_compare

    if plot_path:
        _check_plot_path(plot_path)
    analyses = [analyse(spec, None, (), batch, dtype, limits) for spec in specs]
    grid = compare_grid(analyses, optimizer)
    if fmt == "rich":
        make_console().print(render_compare(grid))
    else:
        import json

        from cnncalc.report.grid import WRITERS

        text = json.dumps(grid.data, indent=2) + "\n" if fmt == "json" else WRITERS[fmt](grid)
        click.echo(text, nl=False)
    if plot_path:
        _plot(lambda plot: plot.plot_compare([(a.graph.name, a) for a in analyses], plot_path, y_metric))
        click.echo(f"wrote {plot_path}", err=True)


def _check_plot_path(path: str) -> None:
    from pathlib import Path

    if Path(path).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise UsageError(None, f"cannot tell the image format of '{path}'", "use a .png, .svg or .pdf file name")
    if not Path(path).resolve().parent.is_dir():
        raise UsageError(None, f"the folder of '{path}' does not exist")


def _plot(draw: Callable[[Any], None]) -> None:
    """Import the plotting module (and so matplotlib) only here; a clear message when it is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError(None, "plotting needs matplotlib: pip install 'cnncalc[plot]'") from None
    from cnncalc.report import plot

    draw(plot)


@cli.command()
@click.argument("spec")
@click.option("-o", "--output", "path", required=True, metavar="PATH", help="Image file: .png, .svg or .pdf.")
@spec_options
@handle_errors
def plot(spec: str, path: str, input_shape: str | None, sets: tuple[str, ...], batch: int, dtype: str,
         params_mode: str, flops_mode: str, limits: tuple[str, ...], traceback: bool) -> None:
    """Draw per-layer bars of memory, parameters and multiply-adds (three aligned panels).

    Example: cnncalc plot vgg16 -o vgg16.png
    """
    from cnncalc.report.view import View

    _check_plot_path(path)
    analysis = analyse(spec, input_shape, sets, batch, dtype, limits)
    view = View(weights_only=params_mode == "weights", flops=flops_mode == "flops", dtype=dtype)
    _plot(lambda plot: plot.plot_layers(analysis, view, path))
    click.echo(f"wrote {path}", err=True)


@cli.command(name="list")
@handle_errors
def list_cmd() -> None:
    """List the bundled architectures with a one-line description and their totals.

    Example: cnncalc list
    """
    from cnncalc.engine import analyze
    from cnncalc.graph import build_graph
    from cnncalc.report.table import render_zoo
    from cnncalc.sources import bundled_names, find, load_spec

    entries = []
    for name in bundled_names():
        arch = load_spec(find(name))
        entries.append((name, arch.description, analyze(build_graph(arch))))
    make_console().print(render_zoo(entries))


@cli.command()
@click.argument("name")
@handle_errors
def show(name: str) -> None:
    """Print a bundled spec, to start your own from it.

    Example: cnncalc show resnet50 > mynet.yaml
    """
    from cnncalc.sources import bundled_names, bundled_text
    from cnncalc.spec.expr import did_you_mean

    stem = name.removesuffix(".yaml")
    if stem not in bundled_names():
        raise UsageError(None, f"no bundled architecture named '{name}'",
                         did_you_mean(stem, bundled_names()) or "`cnncalc list` shows them")
    click.echo(bundled_text(stem), nl=False)


def main() -> None:
    cli(prog_name="cnncalc")
