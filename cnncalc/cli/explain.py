"""`cnncalc explain`: layers worked through by hand, as the slides do."""

from __future__ import annotations

import click

from cnncalc.cli.common import (
    analyse,
    analysis_options,
    complete_spec,
    count_options,
    handle_errors,
    pick_convention,
    spec_options,
)


@click.command()
@click.argument("spec", shell_complete=complete_spec)
@click.argument("layers", nargs=-1)
@spec_options
@analysis_options
@count_options
@handle_errors
def explain(spec: str, layers: tuple[str, ...], input_shape: str | None, sets: tuple[str, ...],
            limits: tuple[str, ...], traceback: bool, batch: int, dtype: str, params_mode: str,
            convention: str | None, flops_mode: str | None) -> None:
    """Work LAYERS of SPEC through by hand, as the slides do (default: the first layer of each kind).

    Example: cnncalc explain alexnet conv1 pool1 fc6
    """
    from cnncalc.report.explain import render_explain
    from cnncalc.report.view import View

    profile = pick_convention(convention, flops_mode)
    analysis = analyse(spec, input_shape, sets, batch, dtype, limits)
    view = View(weights_only=params_mode == "weights", convention=profile)
    from cnncalc.errors import safe_text

    click.echo(safe_text(render_explain(analysis, list(layers), view)), nl=False)
