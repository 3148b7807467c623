"""`cnncalc check`: validate specs without printing a table."""

from __future__ import annotations

import sys

import click

from cnncalc.cli.common import (
    analyse,
    complete_spec,
    flag_spelling,
    spec_options,
)
from cnncalc.errors import CnncalcError


@click.command()
@click.argument("specs", nargs=-1, required=True, shell_complete=complete_spec)
@spec_options
def check(specs: tuple[str, ...], input_shape: str | None, layout: str | None, sets: tuple[str, ...], limits: tuple[str, ...],
          traceback: bool) -> None:
    """Validate one or more specs without printing a table: every problem, with file:line.

    Exit status 0 when all are valid, 2 otherwise.

    Example: cnncalc check my/net.yaml architectures/*.yaml
    """
    failed = 0
    for spec in specs:
        try:
            analysis = analyse(spec, input_shape, sets, 1, "float32", limits, layout)
        except CnncalcError as exc:
            if traceback:
                raise
            click.echo(flag_spelling(exc).render(), err=True)
            failed += 1
            continue
        t = analysis.totals
        click.echo(f"ok: {spec}: {len(analysis.rows)} layers, {t.params:,} params, {t.macs:,} multiply-adds, "
                   f"output {'x'.join(map(str, analysis.rows[-1].output))}")
    if failed:
        click.echo(f"{failed} of {len(specs)} specs have errors", err=True)
        sys.exit(2)
