"""`cnncalc sweep`: params, multiply-adds and memory along one axis (input size, batch, an argument)."""

from __future__ import annotations

import click

from cnncalc.cli.common import (
    DTYPE_CHOICES,
    check_plot_path,
    complete_spec,
    convention_option,
    flops_option,
    format_option,
    handle_errors,
    layout_option,
    limit_option,
    make_console,
    optimizer_option,
    parse_limits,
    pick_convention,
    plot_with,
    require_matplotlib,
    traceback_option,
)


@click.command()
@click.argument("spec", shell_complete=complete_spec)
@click.option("--input", "input_text", metavar="SHAPES",
              help="Input shapes: a range 3x128x128..3x512x512/32 (step) or ..3x512x512*2 (factor), or a list "
                   "3x224x224,3x320x320.")
@click.option("--batch", "batch_text", default="1", show_default=True, metavar="N|LIST|RANGE",
              help="Batch sizes: 8, a list 1,8,64, or a range 1..256*2 or 8..64/8.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUES",
              help="A spec argument: one value, a list width=32,64,128 or a range width=16..128/16 (repeatable; "
                   "one axis may have several values).")
@layout_option
@click.option("--dtype", type=click.Choice(DTYPE_CHOICES), default="float32", show_default=True,
              help="Element type: sets bytes per element.")
@convention_option
@flops_option
@optimizer_option
@format_option
@click.option("--plot", "plot_path", metavar="PATH", help="Also draw the sweep (.png, .svg, .pdf).")
@limit_option
@traceback_option
@handle_errors
def sweep(spec: str, input_text: str | None, batch_text: str, sets: tuple[str, ...], dtype: str,
          convention: str | None, flops_mode: str | None, optimizer: str, fmt: str, plot_path: str | None,
          limits: tuple[str, ...], traceback: bool) -> None:
    """How params, multiply-adds and memory grow along one axis: the input size, the batch, or a
    spec argument. Exactly one of --input, --batch, --set has several values.

    Example: cnncalc sweep resnet50 --input 3x128x128..3x512x512/32 (also --batch 1,8,64, or
    --set classes=10,100,1000; the syntax is in docs/sweep.md)
    """
    from cnncalc.report import sweep as sw
    from cnncalc.sources import find

    if plot_path:
        check_plot_path(plot_path)
        require_matplotlib()
    profile = pick_convention(convention, flops_mode)
    inputs = sw.parse_shapes(input_text) if input_text else None
    batches = sw.parse_batches(batch_text)
    parsed_sets = [sw.parse_set(item) for item in sets]
    axis = sw.pick_axis(inputs, batches, parsed_sets)
    points = sw.points(axis, inputs, batches, parsed_sets)
    bounds = parse_limits(limits)
    source = find(spec, bounds)
    if source.note:
        click.echo(source.note, err=True)
    layout = click.get_current_context().meta.get("cnncalc.layout")
    analyses = sw.run_sweep(source, points, axis, dtype, bounds, layout)
    if plot_path:
        from cnncalc.report.plot import check_drawable

        check_drawable(analyses)  # before the table is printed
    grid = sw.sweep_grid(axis, points, analyses, optimizer, profile)
    if fmt == "rich":
        console = make_console()
        console.print(sw.render_sweep(grid, console.width))
    else:
        import json

        from cnncalc.errors import safe_text
        from cnncalc.report.grid import WRITERS

        if fmt == "json":
            text = json.dumps({"name": analyses[0].graph.name, "swept": axis.flag, "dtype": dtype,
                               "optimizer": optimizer, "convention": profile, "points": grid.data}, indent=2) + "\n"
        else:
            text = WRITERS[fmt](grid)
        click.echo(safe_text(text), nl=False)
    if plot_path:
        path = plot_path
        plot_with(lambda _plot: _draw(axis, points, analyses, path, optimizer, profile))
        click.echo(f"wrote {plot_path}", err=True)


def _draw(axis, points, analyses, path: str, optimizer: str, profile: str) -> None:
    from cnncalc.report.plot_sweep import plot_sweep

    plot_sweep(axis, points, analyses, path, optimizer, profile)
