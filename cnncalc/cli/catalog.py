"""`cnncalc list` and `cnncalc show`: the bundled architectures."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

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

    entries = _zoo(api)
    console = make_console()
    console.print(render_zoo(entries, console.width))


class _Totals:
    """What `list` shows of one bundled architecture, as render_zoo reads an Analysis."""

    def __init__(self, family: str, description: str, shape: list[int], params: int, macs: int, memory: int) -> None:
        self.graph = SimpleNamespace(family=family, description=description, input_shape=tuple(shape))
        self.totals = SimpleNamespace(params=params, macs=macs, memory_bytes=memory)


def _zoo(api: Any) -> list[tuple[str, str, Any]]:
    """Each bundled architecture's totals: analysed (all ~90 of them, ~0.7 s), or as analysed
    before by this same code from these same files (the parse cache's derived entries,
    spec/cache.py: the files' listing with their sizes and times, every module of cnncalc's)."""
    import json
    import os

    from cnncalc import sources
    from cnncalc.spec import cache

    names = api.architectures()
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = sorted(os.path.join(root, f) for root, _, files in os.walk(package) for f in files if f.endswith(".py"))
    asked = sources.bundle_listing() + "\n" + "\n".join(names)
    kept = cache.derived(asked, "bundled-zoo", code)
    if kept is not None:
        return [(row[0], row[2], _Totals(*row[1:])) for row in json.loads(kept)]
    rows = []
    for name in names:
        a = api.analyze(name)
        t = a.totals
        rows.append([name, a.graph.family, a.graph.description, list(a.graph.input_shape), t.params, t.macs,
                     t.memory_bytes])
    cache.keep_derived(asked, "bundled-zoo", code, json.dumps(rows))
    return [(row[0], row[2], _Totals(*row[1:])) for row in rows]


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
