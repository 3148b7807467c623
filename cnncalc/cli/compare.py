"""`cnncalc compare`: architectures side by side, and the comparing-complexity chart."""

from __future__ import annotations

import click

from cnncalc.cli.common import (
    FORMATS,
    analyse,
    analysis_options,
    check_plot_path,
    convention_option,
    flops_option,
    handle_errors,
    limit_option,
    make_console,
    optimizer_option,
    pick_convention,
    plot_with,
    traceback_option,
)


@click.command()
@click.argument("specs", nargs=-1, required=True)
@analysis_options
@convention_option
@flops_option
@optimizer_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="rich", show_default=True)
@click.option("--plot", "plot_path", metavar="PATH", help="Also draw the comparing-complexity chart (.png, .svg).")
@click.option("--y", "y_metric", type=click.Choice(["memory", "params", "training"]), default="memory",
              show_default=True, help="The chart's y axis (x is multiply-adds, bubble area is params).")
@limit_option
@traceback_option
@handle_errors
def compare(specs: tuple[str, ...], batch: int, dtype: str, convention: str | None, flops_mode: str | None,
            optimizer: str, fmt: str, plot_path: str | None, y_metric: str, limits: tuple[str, ...],
            traceback: bool) -> None:
    """Compare architectures side by side: params, MACs, memory, training memory, depth.

    Example: cnncalc compare alexnet vgg16 googlenet resnet50 --plot cmp.png
    """
    from cnncalc.report.compare import compare_grid, render_compare

    if plot_path:
        check_plot_path(plot_path)
    profile = pick_convention(convention, flops_mode)
    analyses = [analyse(spec, None, (), batch, dtype, limits) for spec in specs]
    grid = compare_grid(analyses, optimizer, profile)
    if fmt == "rich":
        console = make_console()
        console.print(render_compare(grid, console.width))
    else:
        import json

        from cnncalc.report.grid import WRITERS

        text = json.dumps(grid.data, indent=2) + "\n" if fmt == "json" else WRITERS[fmt](grid)
        click.echo(text, nl=False)
    if plot_path:
        plot_with(lambda plot: plot.plot_compare([(a.graph.name, a) for a in analyses], plot_path, y_metric, profile))
        click.echo(f"wrote {plot_path}", err=True)
