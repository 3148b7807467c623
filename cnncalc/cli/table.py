"""`cnncalc table`: the per-layer lecture table in every format."""

from __future__ import annotations

import click

from cnncalc.cli.common import (
    FORMATS,
    analyse,
    analysis_options,
    count_options,
    handle_errors,
    make_console,
    pick_convention,
    spec_options,
)


@click.command()
@click.argument("spec")
@spec_options
@analysis_options
@count_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="rich", show_default=True,
              help="rich (the terminal table), json (exact integers), csv (raw integers), markdown, latex or html.")
@click.option("--all", "show_all", is_flag=True, help="Show relu/bn/dropout as their own rows instead of folding them.")
@click.option("--units", type=click.Choice(["lecture", "auto", "raw"]), default="lecture", show_default=True,
              help="lecture: KB / k / M rounded as on the slides; auto: readable B..GB, k..G; raw: exact integers.")
@click.option("--rf", is_flag=True, help="Add receptive field, jump and start columns (in input pixels).")
@click.option("--depth", type=click.IntRange(min=1), help="Collapse names deeper than N levels into subtotal rows "
              "(resnet50 --depth 1: one row per stage).")
@handle_errors
def table(spec: str, input_shape: str | None, sets: tuple[str, ...], limits: tuple[str, ...], traceback: bool,
          batch: int, dtype: str, params_mode: str, convention: str | None, flops_mode: str | None, fmt: str,
          show_all: bool, units: str, rf: bool, depth: int | None) -> None:
    """Print the per-layer table of SPEC (a bundled name such as alexnet, or a YAML file).

    Example: cnncalc table vgg11 --input 3x32x32 --set hidden=2048 --set classes=10
    """
    from cnncalc.report.view import View

    profile = pick_convention(convention, flops_mode)
    analysis = analyse(spec, input_shape, sets, batch, dtype, limits)
    view = View(weights_only=params_mode == "weights", fold=not show_all, units=units, depth=depth, rf=rf,
                convention=profile)
    if fmt == "rich":
        from cnncalc.report.table import render_table
        from cnncalc.report.view import readable_depth

        if depth is None and not show_all:  # a terminal table folds blocks as the papers' tables do
            view = view._replace(depth=readable_depth(analysis, view))
        console = make_console()
        console.print(render_table(analysis, view, console.width))
        return
    from cnncalc.report.text import render

    click.echo(render(analysis, view, fmt), nl=False)
