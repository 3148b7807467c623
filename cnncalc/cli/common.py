"""What every command shares: error handling, flag parsing, the analytic pipeline, the console.

Stage: CLI edge. Imports only click (and, inside functions, what a command needs), so starting
`cnncalc table` pays for nothing else.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click

from cnncalc.errors import CnncalcError, Limits, UsageError

FORMATS = ("rich", "json", "csv", "markdown", "latex", "html")


class QuietHelp:
    """The -h/--help option made without gettext. click's help_option translates its help line
    when a command is first parsed, and gettext imports locale and looks for catalogues: ~2 ms
    of every run (issue 35). Mixed into every command (cls=Command) and the group."""

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        names = self.get_help_option_names(ctx)  # type: ignore[attr-defined]
        if not names or not self.add_help_option:  # type: ignore[attr-defined]
            return None
        if getattr(self, "_quiet_help", None) is None:  # one object: click orders eager callbacks by identity

            def show_help(ctx: click.Context, param: click.Parameter, value: bool) -> None:
                if value and not ctx.resilient_parsing:
                    click.echo(ctx.get_help(), color=ctx.color)
                    ctx.exit()

            self._quiet_help = click.Option([*names, "cnncalc_help"], is_flag=True, expose_value=False,
                                            is_eager=True, help="Show this message and exit.", callback=show_help)
        return self._quiet_help


class Command(QuietHelp, click.Command):
    """A cnncalc command (`@click.command(cls=Command)`)."""


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(2)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a CnncalcError into one line on stderr (the flag named where the library named its
    argument) and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CnncalcError as exc:
            if "--traceback" in sys.argv:
                raise
            _fail(flag_spelling(exc).render())

    return wrapper


# the library's argument -> the flag that sets it
FLAGS = {"checkpoint": "--checkpoint", "gpu_memory": "--gpu-memory", "amp": "--amp", "batch": "--batch",
         "input": "--input", "dtype": "--dtype", "optimizer": "--optimizer", "device": "--device", "y": "--y",
         "max_batch": "--max-batch", "depth": "--depth", "units": "--units", "params": "--params",
         "attention": "--attention", "columns": "--columns", "latex_width": "--latex-width",
         "reserve": "--reserve"}


def flag_spelling(exc: CnncalcError) -> CnncalcError:
    """The library's error in the command line's words: `argument 'width': ...` -> `--set
    width: ...`, `checkpoint=9: ...` -> `--checkpoint 9: ...`, `limits={'layers': N}` ->
    `--limit layers=N`, and a sweep's `at input 3x8x8:` -> `at --input 3x8x8:`. The library
    says which argument was at fault (CnncalcError.param); only the words change here."""
    import re

    from cnncalc.errors import SpecErrors

    if isinstance(exc, SpecErrors):
        for each in exc.errors:
            flag_spelling(each)
    message, hint, param = exc.message, exc.hint, exc.param or ""
    if param.startswith("sweep."):  # an error at one point of a sweep: `at input 3x8x8: ...`
        axis = param[6:]
        flag = f"--{axis}" if axis in ("input", "batch") else f"--set {axis}"
        message = message.replace(f"at {axis} ", f"at {flag} ", 1)
    elif param.startswith("args."):  # the library names the argument; the flag that set it leads
        message = f"--set {param[5:]}: {message.removeprefix(f'argument {param[5:]!r}: ')}"
    elif param.startswith("limits."):  # (limit 'layers' is 10) -> (limit layers=10), raise it: --limit layers=N
        message = re.sub(r"\(limit '([a-z_]+)' is ", r"(limit \1=", message)
        hint = re.sub(r"limits=\{'([a-z_]+)': N\}", r"--limit \1=N", hint)
    elif param in FLAGS:
        if param == "input":  # input=(3, 32, 32) -> --input 3x32x32
            def cli_shape(m: re.Match) -> str:
                return "input=" + "x".join(m[1].replace(" ", "").split(","))

            message, hint = (re.sub(r"\binput=\(([\d, ]+)\)", cli_shape, text) for text in (message, hint))
        message = re.sub(rf"\b{param}=", f"{FLAGS[param]} ", message)
        hint = re.sub(rf"\b{param}='?([A-Za-z0-9_.]+)'?", rf"{FLAGS[param]} \1", hint)
    for library, flag in PHRASES.items():
        message, hint = message.replace(library, flag), hint.replace(library, flag)
    exc.message, exc.hint = message, hint
    return exc


# the library's fixed phrases for arguments of verify, and the flags that say the same
PHRASES = {"device='meta'": "--device meta", "device='cpu'": "--device cpu", "(or 'cuda')": "(or cuda)",
           "dtype='float32'": "--dtype float32", "memory_check=False": "--no-memory-check", "memory=True": "--memory",
           "against='torchvision'": "--against torchvision", "lower the batch or the input size":
           "lower --batch or --input"}


def _shown(text: str) -> str:
    from cnncalc.errors import shorten

    return shorten(text, 80)


def parse_input(text: str | None, layout: str | None = None) -> list[int] | None:
    """`3x32x32` (or 3,32,32) -> [3, 32, 32]; any rank (197x768 for tokens). ASCII digits only
    (int() would also take '٣٢' and '3_2'), at most MAX_DIGITS each. layout: what --layout
    says; a shape written H x W x C without it is refused here, in the flags' words."""
    import re

    from cnncalc.errors import MAX_DIGITS

    if text is None:
        return None
    parts = text.replace(",", "x").lower().split("x")
    if not all(re.fullmatch(r"\s*[0-9]+\s*", p, flags=re.ASCII) for p in parts):
        raise UsageError(None, f"--input '{_shown(text)}' is not CxHxW", "e.g. --input 3x32x32")
    if any(len(p.strip()) > MAX_DIGITS for p in parts):
        raise UsageError(None, f"--input '{_shown(text)}': a size of more than {MAX_DIGITS} digits")
    values = [int(p) for p in parts]
    if not 1 <= len(values) <= 8 or min(values) < 1:
        raise UsageError(None, f"--input '{_shown(text)}' is not CxHxW of positive integers", "e.g. --input 3x32x32")
    _check_layout(values, layout)
    return values


def _check_layout(shape: list[int], layout: str | None) -> None:
    from cnncalc.graph import looks_channels_last

    written = "x".join(map(str, shape))
    if layout == "hwc" and len(shape) != 3:
        raise UsageError(None, f"--input is read as H x W x C (layout hwc), so it needs three axes, found {written}")
    if layout is None and looks_channels_last(shape):
        h, w, c = shape
        raise UsageError(None, f"--input {written} looks like H x W x C (the slides' notation), but cnncalc reads "
                         f"C x H x W: {h} channels of {w} x {c}",
                         f"write --input {c}x{h}x{w}, or add --layout hwc to read it as H x W x C (--layout chw "
                         f"keeps it as written)")


def parse_sets(items: tuple[str, ...]) -> dict[str, Any]:
    """`--set classes=10` -> {"classes": 10}; values are read as a spec's values are (the same
    loader: plain YAML, integers of at most MAX_DIGITS digits, no tags)."""
    from cnncalc.errors import CnncalcError
    from cnncalc.spec.load import parse_yaml

    out: dict[str, Any] = {}
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.meta.get("cnncalc.fused"):  # --fused: an Ultralytics model after fuse()
        out["fused"] = 1
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(None, f"--set '{_shown(item)}' is not key=value", "e.g. --set classes=10")
        if not value.strip():
            out[key.strip()] = None
            continue
        try:
            out[key.strip()] = parse_yaml(value, "--set")
        except CnncalcError as exc:
            raise UsageError(None, f"--set '{_shown(item)}': cannot read the value: {exc.message}", exc.hint) from None
    return out


def parse_limits(items: tuple[str, ...]) -> Limits:
    """`--limit layers=2000000` -> Limits with that field raised."""
    import re

    from cnncalc.spec.expr import did_you_mean

    names = list(Limits._fields)
    values: dict[str, int] = {}
    for item in items:
        key, _, value = item.partition("=")
        if key not in names:
            raise UsageError(None, f"--limit '{_shown(item)}': no limit named '{_shown(key)}'",
                             did_you_mean(key, names) or f"limits: {', '.join(names)}")
        if not re.fullmatch(r"[0-9]{1,18}", value, flags=re.ASCII) or int(value) < 1:
            raise UsageError(None, f"--limit '{_shown(item)}': the value must be a positive integer "
                             "(ASCII digits, at most 18)")
        values[key] = int(value)
    return Limits(**values)


# ---- options: each declared once, and a command takes only those it uses ---------------------
# (choices are literal so that building a command imports nothing; tests keep them equal to
# cnncalc.dtypes.NAMES, cnncalc.conventions.NAMES and engine.OPTIMIZER_STATES)
DTYPE_CHOICES = ("float32", "float16", "bfloat16", "float64", "int8", "uint8")
CONVENTIONS = ("lecture", "torch", "fvcore", "ptflops", "torchinfo", "thop", "ultralytics")
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adagrad", "adam", "adamw")

limit_option = click.option("--limit", "limits", multiple=True, metavar="NAME=N",
                            help="Raise a safety limit: file_bytes, yaml_nodes, depth, repeat, layers.")
traceback_option = click.option("--traceback", is_flag=True, hidden=True, help="Show the Python traceback of an error.")
input_option = click.option("--input", "input_shape", metavar="CxHxW",
                            help="Override the spec's input shape, e.g. 3x32x32 (C x H x W; N x D for tokens).")
layout_option = click.option("--layout", type=click.Choice(["chw", "hwc"]), default=None,
                             help="How the input shape is written: chw (C x H x W, the default) or hwc "
                                  "(H x W x C, as the slides write 227x227x3); applies to --input, else "
                                  "to the spec's input:.")
set_option = click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                          help="Override a top-level argument of the spec, e.g. --set classes=10 (repeatable).")
batch_option = click.option("--batch", type=click.IntRange(min=1, max=10**18), default=1, show_default=True,
                            help="Batch size: scales memory and multiply-adds.")
dtype_option = click.option("--dtype", type=click.Choice(DTYPE_CHOICES), default="float32", show_default=True,
                            help="Element type: sets bytes per element.")
params_option = click.option("--params", "params_mode", type=click.Choice(["all", "weights"]), default="all",
                             show_default=True,
                             help="Count weights + biases, or weights only (CS231n VGG, EECS 498 FC rows).")
convention_option = click.option("--convention", type=click.Choice(CONVENTIONS), default=None,
                                 help="Count the flop column as that tool does: lecture (multiply-adds, the "
                                      "default), torch (FlopCounterMode), fvcore, ptflops, torchinfo, thop, "
                                      "ultralytics (model.info()'s GFLOPs).")
flops_option = click.option("--flops", "flops_mode", type=click.Choice(["macs", "flops"]), default=None,
                            help="flops: the same as --convention torch (FlopCounterMode's FLOPs: 2 per "
                                 "multiply-add of conv, linear and matmul, nothing else).")
format_option = click.option("--format", "fmt", type=click.Choice(FORMATS), default="rich", show_default=True,
                             help="rich (the terminal table), json (exact integers), csv (raw integers), "
                                  "markdown, latex or html.")
optimizer_option = click.option("--optimizer", type=click.Choice(OPTIMIZERS), default="adam", show_default=True,
                                help="Optimizer state per parameter: sgd 0, momentum/rmsprop/adagrad 1, adam/adamw 2.")


amp_option = click.option("--amp", type=click.Choice(["bfloat16", "float16"]),
                          help="Mixed precision (torch.autocast): activations in this dtype where autocast casts "
                               "them; weights, gradients and optimizer state float32.")
device_option = click.option("--device", type=click.Choice(["cpu", "cuda"]),
                             help="Where it trains (dropout's mask dtype, autocast's op lists).")
checkpoint_option = click.option("--checkpoint", metavar="N|NAMES",
                                 help="Activation checkpointing as torch's checkpoint_sequential does it: N segments "
                                      "over the spec's top-level items, or segments starting at these layers "
                                      "(conv3_x,conv4_x).")


def training_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--optimizer, --amp, --checkpoint, --device: how the training memory column trains (sweep, compare)."""
    return _apply(func, [optimizer_option, amp_option, checkpoint_option, device_option])


def _apply(func: Callable[..., Any], options: list[Callable[..., Any]]) -> Callable[..., Any]:
    for option in reversed(options):
        func = option(func)
    return func


def _fused(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta["cnncalc.fused"] = True


fused_option = click.option("--fused", is_flag=True, expose_value=False, callback=_fused,
                            help="An Ultralytics model YAML as after model.fuse(): batch norm folded into the "
                                 "convs, RepConv merged (the same as --set fused=1).")


def spec_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """What every command that reads one spec takes: --input, --layout, --set, --fused, --limit."""
    return _apply(func, [input_option, layout_option, set_option, fused_option, limit_option, traceback_option])


def analysis_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--batch and --dtype: what the numbers are for."""
    return _apply(func, [batch_option, dtype_option])


def count_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--params, --convention and --flops: how a flop column and a params column count."""
    return _apply(func, [params_option, convention_option, flops_option])


def pick_convention(convention: str | None, flops_mode: str | None) -> str:
    """--convention, with --flops flops as another name for the torch profile."""
    if flops_mode == "flops":
        if convention not in (None, "torch"):
            raise UsageError(None, f"--flops flops is --convention torch; it cannot be combined with "
                             f"--convention {convention}")
        return "torch"
    return convention or "lecture"


def source_of(spec: str, limits: Limits, input_shape: Any = None):
    """A command-line SPEC (a bundled name, a path, - for standard input, or a TARGET naming a
    PyTorch model to import on `input_shape`: docs/import.md) as a Source; a note on stderr
    when a missing NAME.yaml falls back to the bundled one."""
    from cnncalc.sources import find, imported, is_target

    if spec.endswith(".onnx"):
        from cnncalc.sources import onnx_source

        return onnx_source(spec, None if input_shape is None else tuple(input_shape), limits)
    if is_target(spec):
        from cnncalc.readers.targets import import_target

        return imported(import_target(spec, None if input_shape is None else tuple(input_shape)))
    source = find(spec, limits)
    if source.note:
        click.echo(source.note, err=True)
    return source


def analyse(spec: str, input_shape: str | None = None, sets: tuple[str, ...] = (), batch: int = 1,
            dtype: str = "float32", limits: tuple[str, ...] = (), layout: str | None = None):
    """The analytic pipeline for a command-line SPEC through the library (cnncalc.api), the
    flags read into its Python values."""
    from cnncalc import api
    from cnncalc.engine.advice import notes
    from cnncalc.errors import safe_text

    bounds = parse_limits(limits)
    shape, overrides = parse_input(input_shape, layout), parse_sets(sets)
    analysis = api.analyze(source_of(spec, bounds, shape), input=shape, args=overrides, batch=batch, dtype=dtype,
                           limits=bounds, layout=layout)
    for note in notes(analysis.graph):  # valid PyTorch that is probably a slip: said, not refused
        click.echo(safe_text(f"note: {note}"), err=True)
    return analysis


def complete_spec(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion of a SPEC argument: the bundled names that start with what is typed,
    then files (the shell completes paths). Enabled by the shell's completion script:
    eval "$(_CNNCALC_COMPLETE=bash_source cnncalc)" (README, "Shell completion")."""
    import os

    from click.shell_completion import CompletionItem

    from cnncalc.sources import bundled_names

    names = [CompletionItem(n) for n in bundled_names() if n.startswith(incomplete)]
    if names and os.environ.get("_CNNCALC_COMPLETE", "").startswith("bash"):
        # click's bash script empties its list when it meets a `file` item: the bundled names would
        # be lost. Beside names, bash gets the matching paths as plain items (a folder with its /)
        return [*names, *(CompletionItem(p) for p in _paths(incomplete))]
    return [*names, CompletionItem(incomplete, type="file")]


def _paths(incomplete: str, most: int = 200) -> list[str]:
    """Files and folders whose path starts with `incomplete` (folders end in /), sorted."""
    import os

    folder, stem = os.path.split(incomplete)
    try:
        entries = sorted(e for e in os.listdir(os.path.expanduser(folder) or ".") if e.startswith(stem))
    except OSError:
        return []
    if not stem.startswith("."):
        entries = [e for e in entries if not e.startswith(".")]
    out = []
    for entry in entries[:most]:
        path = os.path.join(folder, entry)
        out.append(path + "/" if os.path.isdir(os.path.expanduser(path)) else path)
    return out


def make_console(file: Any = None):
    """The console for a report (report/term.py's, as rich draws; names never markup, control
    characters escaped: report/console.py): the terminal's width; piped, COLUMNS when it is set,
    else 160 columns, wide enough for every column of the lecture table."""
    import os

    from cnncalc.report.console import SafeConsole

    console = SafeConsole(file=file)
    if not console.is_terminal and not os.environ.get("COLUMNS", "").strip().isdigit():
        console = SafeConsole(file=file, width=160)
    return console



def check_plot_path(path: str) -> None:
    """Before anything is printed: a .png/.svg/.pdf name that can be written, matplotlib there
    (found without importing it: importing costs ~0.3 s)."""
    from cnncalc.results import check_plot

    check_plot(path)


def echo_text(text: str) -> None:
    """A text report to stdout, control characters shown escaped (JSON escapes its own)."""
    from cnncalc.errors import safe_text

    click.echo(safe_text(text), nl=False)


def print_rich(result: Any) -> None:
    """A result (or any renderable of report/term.py) on the terminal, fitted to its width."""
    make_console().print(result)

