"""`cnncalc table`: the per-layer lecture table in every format (Analysis.render)."""

from __future__ import annotations

import click

from cnncalc.cli.common import (
    Command,
    analyse,
    analysis_options,
    complete_spec,
    count_options,
    echo_text,
    format_option,
    handle_errors,
    make_console,
    pick_convention,
    spec_options,
)


@click.command(cls=Command)
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...", shell_complete=complete_spec)
@spec_options
@analysis_options
@count_options
@format_option
@click.option("--all", "show_all", is_flag=True, help="Show relu/bn/dropout as their own rows instead of folding them.")
@click.option("--units", type=click.Choice(["lecture", "auto", "raw"]), default="lecture", show_default=True,
              help="lecture: KB / k / M rounded as on the slides (a network too small for them: per column, "
              "the largest unit that prints no non-zero cell as 0); auto: readable B..GB, k..G; raw: exact integers.")
@click.option("--rf", is_flag=True, help="Add receptive field, jump and start columns (in input pixels).")
@click.option("--depth", type=click.IntRange(min=1), help="Collapse names deeper than N levels into subtotal rows "
              "(resnet50 --depth 1: one row per stage).")
@click.option("--columns", metavar="NAMES", help="Which columns, in which order: layer, input_c, input_hw, filters, "
              "kernel, stride, pad, output_c, output_hw, memory, params, flop (rf, jump, start with --rf); groups "
              "input, output, window, numbers; presets slides (the lecture's twelve), compact. "
              "E.g. --columns layer,output,params,flop (every format but json).")
@click.option("--latex-width", metavar="LENGTH", help=r"LaTeX: scale the table to this width (\linewidth for a "
              r"beamer frame, 0.9\textwidth, 12cm).")
@handle_errors
def table(specs: tuple[str, ...], input_shape: str | None, layout: str | None, sets: tuple[str, ...],
          limits: tuple[str, ...], traceback: bool, batch: int, dtype: str, params_mode: str, convention: str | None,
          flops_mode: str | None, fmt: str, show_all: bool, units: str, rf: bool, depth: int | None,
          columns: str | None, latex_width: str | None) -> None:
    """Print the per-layer table of each SPEC (a bundled name such as alexnet, a YAML file, or -
    for standard input).

    Example: cnncalc table vgg11 --input 3x32x32 --set hidden=2048 --set classes=10

    Several specs print one table after another (json: a list; csv: a leading spec column).
    """
    options = {"convention": pick_convention(convention, flops_mode), "params": params_mode, "units": units,
               "fold": not show_all, "depth": depth, "rf": rf, "columns": columns}
    # every spec is analysed before anything is printed: a bad one leaves stdout empty
    analyses = [analyse(spec, input_shape, sets, batch, dtype, limits, layout) for spec in specs]
    if fmt == "rich":  # a long network folds to its blocks, as the papers' tables do (report/view.py)
        console = make_console()
        for i, analysis in enumerate(analyses):
            if i:
                console.print()
            console.print(analysis.renderable(console.width, **options))
    elif len(analyses) == 1:
        echo_text(analyses[0].render(fmt, latex_width=latex_width, **options))
    else:
        from cnncalc.report.text import render_several

        echo_text(render_several(analyses, analyses[0].view(latex_width=latex_width, **options), fmt, list(specs)))
