"""`cnncalc table`: the per-layer lecture table in every format."""

from __future__ import annotations

import click

from cnncalc.cli.common import (
    FORMATS,
    analyse,
    handle_errors,
    make_console,
    spec_options,
)


@click.command()
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

        view = view._replace(convention=convention, tool_counts=counts(convention, analysis),
                             tool_label=get_profile(convention).unit_label)
    if fmt == "rich":
        from cnncalc.report.table import render_table
        from cnncalc.report.view import readable_depth

        if depth is None and not show_all:  # a terminal table folds blocks as the papers' tables do
            view = view._replace(depth=readable_depth(analysis, view))
        make_console().print(render_table(analysis, view))
        return
    from cnncalc.report.text import render

    click.echo(render(analysis, view, fmt), nl=False)
