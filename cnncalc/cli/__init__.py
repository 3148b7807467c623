"""The command line: read flags, call the core, print, choose the exit code.

Exit status: 0 success, 1 "verify found a difference", 2 bad spec, bad usage or an output
that cannot be written (one message on stderr naming file:line:col or the flag, no traceback),
130 interrupted (Ctrl-C). Each command lives in its own module and is
imported only when it runs (LazyGroup), so `cnncalc table` does not pay for `verify`'s imports
or for building every other command's options.
"""

from __future__ import annotations

import importlib

import click

from cnncalc import __version__
from cnncalc.cli.common import QuietHelp, analyse, parse_input, parse_limits, parse_sets  # noqa: F401  (public helpers)

# command name -> module in this package; in the order `cnncalc --help` lists them
COMMANDS = {"table": "table", "explain": "explain", "verify": "verify", "check": "check", "memory": "memory",
            "compare": "compare", "sweep": "sweep", "plot": "plot", "graph": "graph", "serve": "serve",
            "list": "catalog", "show": "catalog", "import": "importer"}


class LazyGroup(QuietHelp, click.Group):
    """A click group that imports a command's module only when that command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(f"cnncalc.cli.{COMMANDS[name]}")
        return getattr(module, {"list": "list_cmd", "import": "importer"}.get(name, name))

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        """A command, or a usage error that says which command was probably meant (tabel: table)."""
        name = args[0] if args else ""
        if name in COMMANDS or name.startswith("-"):
            return super().resolve_command(ctx, args)
        from cnncalc.errors import shorten
        from cnncalc.spec.expr import did_you_mean

        hint = did_you_mean(name[:40], COMMANDS)
        raise click.UsageError(f"no such command '{shorten(name, 80)}'" + (f"; {hint}" if hint else ""), ctx)


def _version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"cnncalc, version {__version__}")
        ctx.exit()


# --version as click.version_option prints it; that decorator translates its message through
# gettext when the module loads, which imports locale (~2 ms on every run, issue 35)
@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
              help="Show the version and exit.")
def cli() -> None:
    """cnncalc: layer-by-layer shapes, memory, parameters and FLOPs of CNNs, as in the lecture tables.

    Example: cnncalc table alexnet
    """


ANALYTIC = {"table", "explain", "check", "memory", "compare", "sweep", "graph", "list", "show"}


def main() -> None:
    """The command line's entry (cnncalc.__main__.start calls it). The analytic commands are
    short-lived and allocate only acyclic objects, so the process runs without the cyclic
    garbage collector, which would otherwise rescan a big spec's millions of objects many times
    over; the others (`verify`: torch makes cycles) get it back. (start() turns it off before
    the imports: ~3 ms of a run.)"""
    import gc
    import sys

    if len(sys.argv) > 1 and sys.argv[1] in ANALYTIC:
        gc.disable()
    else:
        gc.enable()
    sys.exit(run(sys.argv[1:]))


def run(args: list[str]) -> int:
    """Run the CLI and return its exit status, every failure outside a command's own handling
    answered in one line: a click usage error (a bad flag value) as `error: ...`, an interrupt as
    130 (the shell's 128 + SIGINT), an output that cannot be written (a full disk, a closed pipe)
    as one sentence and status 2."""
    import errno
    import sys

    for arg in args:  # argv is bytes; Python keeps a byte that is not UTF-8 as a lone surrogate
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            from cnncalc.errors import safe_text, shorten

            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            print(f"error: the argument '{safe_text(shorten(shown, 80))}' is not UTF-8 text\n"
                  "  hint: cnncalc reads its arguments, file names included, as UTF-8", file=sys.stderr)
            return 2
    try:
        status = cli.main(args, prog_name="cnncalc", standalone_mode=False)
        return status if isinstance(status, int) else 0  # click returns --help's and --version's 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:  # `cnncalc` alone: the help, which is what was asked
        if exc.ctx is not None:
            click.echo(exc.ctx.get_help())
        return 0
    except click.UsageError as exc:
        from cnncalc.errors import safe_text, shorten

        command = f"cnncalc {exc.ctx.command_path.split(' ', 1)[1]}" if exc.ctx and " " in exc.ctx.command_path \
            else "cnncalc"
        print(f"error: {safe_text(shorten(exc.format_message()))}\n  hint: {command} --help lists the options",
              file=sys.stderr)
        return 2
    except click.ClickException as exc:
        from cnncalc.errors import safe_text

        print(f"error: {safe_text(exc.format_message())}", file=sys.stderr)
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `cnncalc table x | head`: the reader left; not an error of ours
        _quiet_stdout()
        return 0
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EROFS, errno.EBADF):
            raise
        _quiet_stdout()
        print(f"error: cannot write the output: {exc.strerror}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # a command's sys.exit(n) (handle_errors: 2, verify: 1)
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's final flush of what could not be
    written raises nothing more."""
    import os
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
