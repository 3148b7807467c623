"""`cnncalc explain`: layers worked through by hand, as the slides do (Analysis.explain)."""

from __future__ import annotations

import click

from cnncalc.cli.common import (
    Command,
    analyse,
    analysis_options,
    complete_spec,
    count_options,
    echo_text,
    handle_errors,
    pick_convention,
    spec_options,
)


@click.command(cls=Command)
@click.argument("spec", shell_complete=complete_spec)
@click.argument("layers", nargs=-1)
@spec_options
@analysis_options
@count_options
@handle_errors
def explain(spec: str, layers: tuple[str, ...], input_shape: str | None, layout: str | None, sets: tuple[str, ...],
            limits: tuple[str, ...], traceback: bool, batch: int, dtype: str, params_mode: str,
            convention: str | None, flops_mode: str | None) -> None:
    """Work LAYERS of SPEC through by hand, as the slides do (default: the first layer of each kind).

    Example: cnncalc explain alexnet conv1 pool1 fc6
    """
    profile = pick_convention(convention, flops_mode)
    analysis = analyse(spec, input_shape, sets, batch, dtype, limits, layout)
    echo_text(analysis.explain(*layers, convention=profile, params=params_mode))
