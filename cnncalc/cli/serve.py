"""`cnncalc serve`: edit a spec in the browser, beside its live graph and table (cnncalc/serve.py)."""

from __future__ import annotations

import click

from cnncalc.cli.common import Command, analysis_options, complete_spec, handle_errors, spec_options
from cnncalc.serve import DEFAULT_PORT


@click.command(cls=Command)
@click.argument("spec", required=False, shell_complete=complete_spec)
@click.option("--port", type=click.IntRange(min=0, max=65535), default=DEFAULT_PORT, show_default=True,
              help="The port on 127.0.0.1; 0, or a port already taken: any free one (the URL is printed).")
@click.option("--no-open", is_flag=True, help="Print the URL only; do not open a browser.")
@click.option("--depth", type=click.IntRange(min=1), help="Collapse names deeper than N levels into one table row "
              "and one graph node, as `table --depth` does.")
@click.option("--budget", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds one analysis may take (waiting for its turn included); longer ones answer an error.")
@click.option("--color", "measure", type=click.Choice(["macs", "params", "memory"]), default="macs",
              show_default=True, help="What a node's fill shows first (the page can switch).")
@spec_options
@analysis_options
@handle_errors
def serve(spec: str | None, port: int, no_open: bool, depth: int | None, budget: float, measure: str,
          input_shape: str | None,
          layout: str | None,
          sets: tuple[str, ...], limits: tuple[str, ...], traceback: bool, batch: int, dtype: str) -> None:
    """Edit a spec in the browser: a YAML editor beside its graph and table, analysed again as you
    type, each error shown at its line with the message `cnncalc table` gives. SPEC (a bundled
    name or a file; none: a small example) is only read: nothing is ever written. The server
    listens on 127.0.0.1 only; Ctrl-C stops it. Its limits are tighter than other commands'
    (file_bytes 1 MiB, layers 100,000; --limit raises them), and --budget bounds each analysis.

    Example: cnncalc serve resnet18
    """
    from cnncalc.cli.common import parse_input, parse_limits, parse_sets
    from cnncalc.report.view import View
    from cnncalc.serve import DEFAULT_FILE, DEFAULT_SPEC, SERVE_LIMITS, Session, make_server

    given = {item.partition("=")[0] for item in limits}
    bounds = parse_limits(limits)._replace(**{k: v for k, v in SERVE_LIMITS.items() if k not in given})
    if spec is None:
        text, file, variant = DEFAULT_SPEC, DEFAULT_FILE, None
    else:
        from cnncalc.cli.common import source_of

        source = source_of(spec, bounds, parse_input(input_shape, layout))  # a TARGET is imported once, here
        text, file, variant = source.text, source.file, source.variant
    session = Session(text, file, variant, parse_input(input_shape, layout), parse_sets(sets), batch, dtype, bounds,
                      layout, View(depth=depth), measure, budget)
    try:
        server, moved = make_server(session, port)
    except OSError as exc:
        from cnncalc.errors import UsageError

        raise UsageError(None, f"cannot listen on 127.0.0.1:{port}: {exc.strerror}", "try --port 0 (any free port)") \
            from None
    with server:
        if moved:
            click.echo(f"note: port {port} is taken; using {server.server_address[1]}", err=True)
        from cnncalc.errors import safe_text

        click.echo(safe_text(f"cnncalc serve: editing {file} at {server.url} (Ctrl-C stops; nothing is written to disk)"))
        if not no_open:
            _open(server.url)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            click.echo("\nstopped", err=True)


def _open(url: str) -> None:
    """Open the page in the desktop's browser, if there is a desktop (on a bare terminal the
    standard library would start a text browser in it)."""
    import os
    import sys
    import webbrowser

    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return
    try:
        webbrowser.open(url)
    except webbrowser.Error:
        pass
