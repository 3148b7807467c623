"""`cnncalc list` and `cnncalc show`: the bundled architectures."""

from __future__ import annotations

import click

from cnncalc.cli.common import (
    Command,
    complete_spec,
    handle_errors,
    make_console,
)
from cnncalc.errors import UsageError


@click.command(name="list", cls=Command)
@handle_errors
def list_cmd() -> None:
    """List the bundled architectures with a one-line description and their totals.

    Example: cnncalc list
    """
    from cnncalc import api
    from cnncalc.report.table import render_zoo

    entries = []
    for name in api.architectures():
        analysis = api.analyze(name)
        entries.append((name, analysis.graph.description, analysis))
    console = make_console()
    console.print(render_zoo(entries, console.width))


@click.command(cls=Command)
@click.argument("name", shell_complete=complete_spec)
@handle_errors
def show(name: str) -> None:
    """Print a bundled spec, to start your own from it (a variant: its family's file).

    Example: cnncalc show resnet50 > mynet.yaml
    """
    from cnncalc.sources import _files, bundled_names, bundled_text, variants
    from cnncalc.spec.expr import did_you_mean

    stem = name.removesuffix(".yaml")
    if stem not in bundled_names() and stem not in _files():
        from cnncalc.readers.ultralytics import looks_like_yolo

        if looks_like_yolo(stem):
            raise UsageError(None, f"'{name}' is no bundled architecture: it reads as an Ultralytics model file",
                             f"cnncalc import {stem}.yaml writes it as a cnncalc spec (docs/yolo.md)")
        raise UsageError(None, f"no bundled architecture named '{name}'",
                         did_you_mean(stem, bundled_names()) or "`cnncalc list` shows them")
    if stem in variants():
        click.echo(f"note: {stem} is one of the `variants:` of {variants()[stem]}.yaml, printed here; "
                   f"a copy of it is that family, with its top-level `args:` as the default", err=True)
    click.echo(bundled_text(stem), nl=False)
