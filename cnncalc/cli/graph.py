"""`cnncalc graph`: the layer graph drawn top to bottom (svg, png, pdf by Graphviz; html; DOT),
through Analysis.draw."""

from __future__ import annotations

import click

from cnncalc.cli.common import (
    Command,
    analyse,
    analysis_options,
    complete_spec,
    count_options,
    handle_errors,
    pick_convention,
    spec_options,
)
from cnncalc.errors import UsageError, safe_text

FORMATS = ("svg", "png", "pdf", "html", "dot")
SUFFIXES = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".html": "html", ".htm": "html", ".dot": "dot", ".gv": "dot"}


def pick_format(path: str | None, fmt: str | None) -> str:
    """--format, else the output's suffix; DOT when the output is standard output. A --format
    that contradicts a known suffix (--format svg -o x.png) is refused, not written."""
    if path is None or path == "-":
        return fmt or "dot"
    from pathlib import Path

    from cnncalc.errors import shorten

    suffix = Path(path).suffix.lower()
    name = safe_text(shorten(path, 80))
    if fmt is not None:
        if suffix in SUFFIXES and SUFFIXES[suffix] != fmt:
            raise UsageError(None, f"--format {fmt} contradicts the file name '{name}' ({SUFFIXES[suffix]})",
                             f"drop --format, or name a .{fmt} file")
        return fmt
    if suffix not in SUFFIXES:
        raise UsageError(None, f"cannot tell the format of '{name}'",
                         "name a .svg, .png, .pdf, .html or .dot file, or say --format")
    return SUFFIXES[suffix]


@click.command(cls=Command)
@click.argument("spec", shell_complete=complete_spec)
@click.option("-o", "--output", "path", metavar="FILE",
              help="Where to write: .svg, .png, .pdf, .html or .dot; - (or none) prints DOT (or --format svg/html).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="svg, png, pdf (drawn by Graphviz's dot), html (no Graphviz needed) or dot (the source); "
                   "default: from the file's suffix.")
@click.option("--depth", type=click.IntRange(min=1), help="Collapse names deeper than N levels into one node, "
              "as `table --depth` does (resnet50 --depth 1: one node per stage).")
@click.option("--all", "show_all", is_flag=True, help="Draw every layer: relu/bn/dropout as their own nodes, and "
              "no automatic folding of a drawing past 300 nodes.")
@click.option("--color", "measure", type=click.Choice(["macs", "params", "memory"]), default="macs",
              show_default=True, help="What a node's fill shows: its share of MACs, params or activation memory.")
@spec_options
@analysis_options
@count_options
@handle_errors
def graph(spec: str, path: str | None, fmt: str | None, depth: int | None, show_all: bool, measure: str,
          input_shape: str | None, layout: str | None, sets: tuple[str, ...], limits: tuple[str, ...], traceback: bool,
          batch: int, dtype: str, params_mode: str, convention: str | None, flops_mode: str | None) -> None:
    """Draw the layer graph top to bottom: a box per table row (name, type, output shape, MACs,
    params) filled by its share of --color, and residual, parallel and repeated blocks as clusters.

    Example: cnncalc graph resnet18 -o resnet18.svg

    svg, png and pdf are laid out by Graphviz's dot (apt-get install graphviz; pip install
    'cnncalc[graph]'); -o FILE.html needs neither. docs/graph.md says what a node shows.
    """
    from cnncalc.output import check_writable

    fmt = pick_format(path, fmt)
    to_stdout = path is None or path == "-"
    if to_stdout and fmt in ("png", "pdf"):
        raise UsageError(None, f"a {fmt} drawing is written to a file", f"say -o FILE.{fmt}")
    if fmt not in ("html", "dot"):
        from cnncalc.report.graph_dot import require

        require(fmt)  # before any work: a missing dot or package is one sentence
    if not to_stdout:
        check_writable(path)  # type: ignore[arg-type]
    analysis = analyse(spec, input_shape, sets, batch, dtype, limits, layout)
    drawn = analysis.draw(fmt, measure, depth, not show_all, pick_convention(convention, flops_mode), params_mode)
    if drawn.note:
        click.echo(safe_text(f"note: {drawn.note.replace(' depth ', ' --depth ')}"), err=True)
    if to_stdout:
        click.echo(drawn.data.decode(), nl=False)  # every name in it is escaped (graph_dot); its tabs indent
        return
    drawn.save(path)
    click.echo(safe_text(f"wrote {path}"), err=True)
