"""`cnncalc check`: validate specs without printing a table."""

from __future__ import annotations

import sys
from typing import Any

import click

from cnncalc.cli.common import (
    Command,
    analyse,
    complete_spec,
    flag_spelling,
    spec_options,
)
from cnncalc.errors import CnncalcError, safe_text


@click.command(cls=Command)
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
            checked = [(spec, analysis), *variants_of(spec, input_shape, sets, limits, layout)]
        except CnncalcError as exc:
            if traceback:
                raise
            click.echo(flag_spelling(exc).render(), err=True)
            failed += 1
            continue
        for name, each in checked:
            t = each.totals
            click.echo(safe_text(f"ok: {name}: {len(each.rows)} layers, {t.params:,} params, {t.macs:,} multiply-adds, "
                                 f"output {'x'.join(map(str, each.rows[-1].output))}"))
    if failed:
        click.echo(f"{failed} of {len(specs)} specs have errors", err=True)
        sys.exit(2)


def variants_of(spec: str, input_shape: str | None, sets: tuple[str, ...], limits: tuple[str, ...],
                layout: str | None) -> list[tuple[str, Any]]:
    """Each of a spec file's `variants:` analysed as its bundled name would be (a family file's
    sizes: a variant's input or args may not fit where the default does). A bundled name or an
    imported model has none to add."""
    from cnncalc import api
    from cnncalc.cli.common import parse_input, parse_limits, parse_sets
    from cnncalc.sources import find, is_target
    from cnncalc.spec.load import parse_yaml

    if is_target(spec):
        return []
    bounds = parse_limits(limits)
    source = find(spec, bounds)
    if source.bundled is not None or source.variant is not None:
        return []
    data = parse_yaml(source.text, source.file, bounds)
    names = list(data.get("variants") or {}) if isinstance(data, dict) else []
    shape, overrides = parse_input(input_shape, layout), parse_sets(sets)
    out = []
    for name in names:
        try:
            out.append((f"{spec} (variant {safe_text(name)})", api.analyze(
                source._replace(variant=name), input=shape, args=overrides, limits=bounds, layout=layout)))
        except CnncalcError as exc:  # said which variant: the line is the shared layers'
            for each in getattr(exc, "errors", None) or [exc]:
                each.message = f"variant '{name}': {each.message}"
            raise
    return out
