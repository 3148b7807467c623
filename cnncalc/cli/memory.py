"""`cnncalc memory`: training memory by part, and whether it fits on a GPU."""

from __future__ import annotations

import click

from cnncalc.cli.common import (
    analyse,
    analysis_options,
    complete_spec,
    handle_errors,
    make_console,
    optimizer_option,
    parse_gpu_memory,
    spec_options,
)


@click.command()
@click.argument("spec", shell_complete=complete_spec)
@spec_options
@analysis_options
@optimizer_option
@click.option("--gpu-memory", metavar="SIZE", help="Say whether it fits, e.g. --gpu-memory 24GB.")
@click.option("--format", "fmt", type=click.Choice(["rich", "json"]), default="rich", show_default=True,
              help="rich (the terminal table) or json (exact integers, for scripts).")
@handle_errors
def memory(spec: str, input_shape: str | None, sets: tuple[str, ...], limits: tuple[str, ...], traceback: bool,
           batch: int, dtype: str, optimizer: str, gpu_memory: str | None, fmt: str) -> None:
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

    from cnncalc.report.view import fixed

    table = Table(title=f"{analysis.graph.name}: training memory, batch {batch}, {dtype}, {optimizer}",
                  header_style="bold", show_footer=True)
    table.add_column("part", footer="total")
    table.add_column("bytes", justify="right", footer=f"{parts['total']:,}")
    table.add_column("MiB", justify="right", footer=fixed(parts["total"], 2**20, 1))
    table.add_column("share", justify="right", footer="100%")
    for part, size in parts.items():
        if part != "total":
            table.add_row(part, f"{size:,}", fixed(size, 2**20, 1), f"{fixed(100 * size, parts['total'], 0)}%")
    from cnncalc.report.fit import fitted

    console = make_console()
    console.print(fitted(table, console.width))
    console.print("activations: every layer's output, kept for the backward pass (in-place layers share their "
                  "input's); optimizer state in the parameters' dtype (docs/conventions.md)", style="dim")
    console.print(f"inference (no gradients): parameters + the largest live set of activations = "
                  f"{fixed(inference, 2**20, 1)} MiB")
    if capacity is not None:
        fits = parts["total"] <= capacity
        console.print(f"fits on a {gpu_memory} GPU? {'yes' if fits else 'no'} "
                      f"({fixed(100 * parts['total'], capacity, 0)}% of {fixed(capacity, 2**30, 1)} GiB; "
                      f"allocator overhead and the CUDA context, ~0.5 GiB, are not included)")
