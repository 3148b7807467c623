"""`cnncalc table`: the per-layer lecture table in every format."""

from __future__ import annotations

import click

from cnncalc.cli.common import (
    analyse,
    analysis_options,
    complete_spec,
    count_options,
    format_option,
    handle_errors,
    make_console,
    pick_convention,
    spec_options,
)


@click.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...", shell_complete=complete_spec)
@spec_options
@analysis_options
@count_options
@format_option
@click.option("--all", "show_all", is_flag=True, help="Show relu/bn/dropout as their own rows instead of folding them.")
@click.option("--units", type=click.Choice(["lecture", "auto", "raw"]), default="lecture", show_default=True,
              help="lecture: KB / k / M rounded as on the slides; auto: readable B..GB, k..G; raw: exact integers.")
@click.option("--rf", is_flag=True, help="Add receptive field, jump and start columns (in input pixels).")
@click.option("--depth", type=click.IntRange(min=1), help="Collapse names deeper than N levels into subtotal rows "
              "(resnet50 --depth 1: one row per stage).")
@handle_errors
def table(specs: tuple[str, ...], input_shape: str | None, sets: tuple[str, ...], limits: tuple[str, ...],
          traceback: bool, batch: int, dtype: str, params_mode: str, convention: str | None, flops_mode: str | None,
          fmt: str, show_all: bool, units: str, rf: bool, depth: int | None) -> None:
    """Print the per-layer table of each SPEC (a bundled name such as alexnet, a YAML file, or -
    for standard input).

    Example: cnncalc table vgg11 --input 3x32x32 --set hidden=2048 --set classes=10

    Several specs print one table after another (json: a list; csv: a leading spec column).
    """
    from cnncalc.report.view import View

    profile = pick_convention(convention, flops_mode)
    # every spec is analysed before anything is printed: a bad one leaves stdout empty
    analyses = [analyse(spec, input_shape, sets, batch, dtype, limits) for spec in specs]
    view = View(weights_only=params_mode == "weights", fold=not show_all, units=units, depth=depth, rf=rf,
                convention=profile)
    if fmt == "rich":
        from cnncalc.report.table import render_table
        from cnncalc.report.view import readable_depth

        console = make_console()
        for i, analysis in enumerate(analyses):
            shown = view
            if depth is None and not show_all:  # a terminal table folds blocks as the papers' tables do
                shown = view._replace(depth=readable_depth(analysis, view))
            if i:
                console.print()
            console.print(render_table(analysis, shown, console.width))
        return
    from cnncalc.errors import safe_text
    from cnncalc.report.text import render

    if len(analyses) == 1:  # (JSON escapes control characters itself; the text formats show them escaped)
        click.echo(safe_text(render(analyses[0], view, fmt)), nl=False)
    elif fmt == "json":
        click.echo("[\n" + ",\n".join(render(a, view, fmt).rstrip("\n") for a in analyses) + "\n]")
    elif fmt == "html":  # one page: the interactive report draws one network, so several get their tables
        from cnncalc.report.grid import to_html_many
        from cnncalc.report.text import table_grid

        click.echo(safe_text(to_html_many([table_grid(a, view) for a in analyses])), nl=False)
    elif fmt == "csv":
        texts = [render(a, view, fmt).splitlines() for a in analyses]
        lines = ["spec," + texts[0][0]]
        for spec, text in zip(specs, texts):
            lines += [f"{_csv_cell(spec)},{line}" for line in text[1:]]
        click.echo(safe_text("\n".join(lines)))
    else:
        click.echo(safe_text("\n".join(render(a, view, fmt) for a in analyses)), nl=False)


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text
