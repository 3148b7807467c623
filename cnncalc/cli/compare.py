"""`cnncalc compare`: architectures side by side, and the comparing-complexity chart."""

from __future__ import annotations

import click

from cnncalc.cli.common import (
    analyse,
    analysis_options,
    check_plot_path,
    complete_spec,
    convention_option,
    flops_option,
    format_option,
    handle_errors,
    make_console,
    optimizer_option,
    pick_convention,
    plot_with,
    require_matplotlib,
    spec_options,
)
from cnncalc.errors import UsageError

Y_CHOICES = ("accuracy", "memory", "activations", "params", "training")


@click.command()
@click.argument("specs", nargs=-1, required=True, shell_complete=complete_spec)
@spec_options
@analysis_options
@convention_option
@flops_option
@optimizer_option
@format_option
@click.option("--plot", "plot_path", metavar="PATH", help="Also draw the comparing-complexity chart (.png, .svg, .pdf).")
@click.option("--y", "y_metric", type=click.Choice(Y_CHOICES), default="accuracy", show_default=True,
              help="The chart's y axis: accuracy (top-1 ImageNet, the lecture's chart), memory (inference: "
                   "parameters + live activations), activations, params or training (x is multiply-adds, "
                   "bubble area is params).")
@handle_errors
def compare(specs: tuple[str, ...], input_shape: str | None, sets: tuple[str, ...], limits: tuple[str, ...],
            traceback: bool, batch: int, dtype: str, convention: str | None, flops_mode: str | None,
            optimizer: str, fmt: str, plot_path: str | None, y_metric: str) -> None:
    """Compare architectures side by side: params, MACs, memory, training memory, depth.

    --input and --set apply to every spec. Example:
    cnncalc compare alexnet-2012 vgg16 googlenet-tv resnet50-tv --plot cmp.png
    """
    from cnncalc.report.compare import compare_grid, render_compare

    if plot_path:
        check_plot_path(plot_path)
        require_matplotlib()  # before anything is printed
    profile = pick_convention(convention, flops_mode)
    analyses = [analyse(spec, input_shape, sets, batch, dtype, limits) for spec in specs]
    figures = None
    if plot_path:  # every reason the chart would fail, before the table is printed
        from cnncalc.report.plot import check_drawable

        check_drawable(analyses)
        figures = _accuracies(specs, bool(input_shape or sets), limits) if y_metric == "accuracy" else None
    grid = compare_grid(analyses, optimizer, profile)
    if fmt == "rich":
        console = make_console()
        console.print(render_compare(grid, console.width))
    else:
        import json

        from cnncalc.errors import safe_text
        from cnncalc.report.grid import WRITERS

        text = json.dumps(grid.data, indent=2) + "\n" if fmt == "json" else WRITERS[fmt](grid)
        click.echo(safe_text(text), nl=False)
    if plot_path:
        plot_with(lambda plot: plot.plot_compare([(a.graph.name, a) for a in analyses], plot_path, y_metric,
                                                 profile, optimizer, figures))
        click.echo(f"wrote {plot_path}", err=True)


def _accuracies(specs: tuple[str, ...], changed: bool, limits: tuple[str, ...]) -> list:
    """Each spec's top-1 figure (None where there is none); one stderr line naming those left
    out of the chart, and a usage error when that is all of them."""
    from cnncalc.accuracy import accuracy, why_missing
    from cnncalc.cli.common import parse_limits
    from cnncalc.sources import find

    if changed:
        raise UsageError(None, "the accuracy chart is for the trained networks at their own input: with "
                         "--input or --set, draw another measure", "e.g. --y memory")
    bounds = parse_limits(limits)
    names = [find(spec, bounds).bundled for spec in specs]
    figures = [accuracy(name) if name else None for name in names]
    missing = [f"{spec} ({why_missing(name) if name else 'not a bundled spec'})"
               for spec, name, a in zip(specs, names, figures) if a is None]
    if missing and len(missing) == len(specs):
        raise UsageError(None, "no ImageNet accuracy is known for any of these specs: "
                         + "; ".join(missing), "draw another measure, e.g. --y memory")
    if missing:
        click.echo("left out of the accuracy chart: " + "; ".join(missing), err=True)
    return figures
