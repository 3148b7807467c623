"""The command line: read flags, call the core, print, choose the exit code.

Exit status: 0 success, 2 bad spec or bad usage (one line on stderr naming file:line, no
traceback), 1 for "verify found a mismatch". Each command lives in its own module and is
imported only when it runs (LazyGroup), so `cnncalc table` does not pay for `verify`'s imports
or for building every other command's options.
"""

from __future__ import annotations

import importlib

import click

from cnncalc import __version__
from cnncalc.cli.common import analyse, parse_input, parse_limits, parse_sets  # noqa: F401  (public helpers)

# command name -> module in this package; in the order `cnncalc --help` lists them
COMMANDS = {"table": "table", "explain": "explain", "verify": "verify", "check": "check", "memory": "memory",
            "compare": "compare", "plot": "plot", "list": "catalog", "show": "catalog"}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when that command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(f"cnncalc.cli.{COMMANDS[name]}")
        return getattr(module, "list_cmd" if name == "list" else name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnncalc")
def cli() -> None:
    """cnncalc: layer-by-layer shapes, memory, parameters and FLOPs of CNNs, as in the lecture tables.

    Example: cnncalc table alexnet
    """


ANALYTIC = {"table", "explain", "check", "memory", "compare", "list", "show"}


def main() -> None:
    """The console entry point. The analytic commands are short-lived and allocate only acyclic
    objects, so the process runs without the cyclic garbage collector, which would otherwise
    rescan a big spec's millions of objects many times over (`verify` keeps it: torch makes cycles)."""
    import sys

    if len(sys.argv) > 1 and sys.argv[1] in ANALYTIC:
        import gc

        gc.disable()
    cli(prog_name="cnncalc")
