"""`cnncalc plot`: per-layer bars of memory, parameters and multiply-adds."""

from __future__ import annotations

import click

from cnncalc.cli.common import (
    analyse,
    check_plot_path,
    handle_errors,
    plot_with,
    spec_options,
)


@click.command()
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

    check_plot_path(path)
    analysis = analyse(spec, input_shape, sets, batch, dtype, limits)
    view = View(weights_only=params_mode == "weights", flops=flops_mode == "flops", dtype=dtype)
    plot_with(lambda plot: plot.plot_layers(analysis, view, path))
    click.echo(f"wrote {path}", err=True)
