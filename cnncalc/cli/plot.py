"""`cnncalc plot`: per-layer bars of memory, parameters and multiply-adds (Analysis.plot)."""

from __future__ import annotations

import click

from cnncalc.cli.common import (
    Command,
    analyse,
    analysis_options,
    check_plot_path,
    complete_spec,
    count_options,
    handle_errors,
    pick_convention,
    spec_options,
)


@click.command(cls=Command)
@click.argument("spec", shell_complete=complete_spec)
@click.option("-o", "--output", "path", required=True, metavar="PATH", help="Image file: .png, .svg or .pdf.")
@spec_options
@analysis_options
@count_options
@handle_errors
def plot(spec: str, path: str, input_shape: str | None, layout: str | None, sets: tuple[str, ...],
         limits: tuple[str, ...], traceback: bool, batch: int, dtype: str, params_mode: str, convention: str | None,
         flops_mode: str | None) -> None:
    """Draw per-layer bars of memory, parameters and multiply-adds (three aligned panels).

    Example: cnncalc plot vgg16 -o vgg16.png
    """
    check_plot_path(path)
    profile = pick_convention(convention, flops_mode)
    analysis = analyse(spec, input_shape, sets, batch, dtype, limits, layout)
    analysis.plot(path, convention=profile, params=params_mode)
    from cnncalc.errors import safe_text

    click.echo(safe_text(f"wrote {path}"), err=True)
