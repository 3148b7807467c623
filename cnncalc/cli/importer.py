"""`cnncalc import`: a PyTorch model as an exact, editable spec (cnncalc/readers/, docs/import.md)."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from cnncalc.cli.common import Command, handle_errors, layout_option, parse_input, parse_sets, traceback_option
from cnncalc.errors import UsageError, safe_text


@click.command(name="import", cls=Command)
@click.argument("target")
@click.option("--input", "input_shape", metavar="CxHxW",
              help="The input size, no batch (3x224x224; 3x16x112x112 a clip). Default: the model's own "
                   "(timm's default_cfg, torchvision's weights).")
@layout_option
@click.option("--kw", "kws", multiple=True, metavar="KEY=VALUE",
              help="A keyword argument for the model's callable, read as a spec value (num_classes=10).")
@click.option("-o", "--output", "output", metavar="FILE", default=None,
              help="Write the spec to FILE (default: standard output).")
@click.option("--opaque", is_flag=True,
              help="Keep calls cnncalc cannot map as zero-cost `opaque` layers, instead of stopping.")
@click.option("--no-check", "no_check", is_flag=True, help="Do not check the spec against the model.")
@traceback_option
@handle_errors
def importer(target: str, input_shape: str | None, layout: str | None, kws: tuple[str, ...], output: str | None,
             opaque: bool, no_check: bool, traceback: bool) -> None:
    """Import the PyTorch model TARGET as a cnncalc spec, checked against the model.

    TARGET: a dotted path to a callable returning an nn.Module (torchvision.models.resnet50,
    mypackage.models:Net), a Python file and a callable in it (path/to/model.py:Net: imported
    and run, as Python runs a script), timm:NAME or torchvision:NAME.

    Example: cnncalc import torchvision.models.resnet50 -o resnet50.yaml
    """
    from cnncalc import api
    from cnncalc.readers.targets import import_target

    shape = parse_input(input_shape, layout)
    kwargs = parse_sets(kws)
    if output:
        from cnncalc.output import check_writable

        check_writable(output)  # before the import: a folder, a device or a missing folder is refused
    if _ultralytics_file(target, kwargs, output, shape) or _onnx_file(target, output, shape):
        return
    imported = import_target(target, None if shape is None else tuple(shape), kwargs, opaque=opaque)
    problems: list[str] = []
    if not no_check:
        from cnncalc.sources import imported as source

        analysis = api.analyze(source(imported))
        problems = imported.check(analysis)
    if output:
        from cnncalc.output import write_text

        write_text(output, imported.text)  # a regular file, whole or not at all
    else:
        click.echo(safe_text(imported.text), nl=False)
    if no_check:
        return
    shape_text = "x".join(map(str, imported.input))

    def say(text: str) -> None:  # the target and the model's names reach the terminal escaped
        click.echo(safe_text(text), err=True)

    kept = [r for r in analysis.rows if r.type == "opaque"]
    if kept:
        say(f"note: {len(kept)} call{'s' if len(kept) > 1 else ''} cnncalc cannot count kept as `opaque` layers "
            f"with no cost: " + ", ".join(f"{r.name} ({r.node.op.what})" for r in kept[:5])  # type: ignore[attr-defined]
            + (", ..." if len(kept) > 5 else ""))
    if problems:
        say(f"✗ {target} on {shape_text}: the spec differs from the model")
        for line in problems:
            say(f"  {line}")
        sys.exit(1)
    say(f"✓ {target} on {shape_text}: params {imported.params:,}, FlopCounterMode FLOPs {imported.flops:,} and "
        f"output shape{'s' if len(imported.output_shapes) > 1 else ''} equal to the model's"
        + (f"; written to {output}" if output else ""))


def _ultralytics_file(target: str, kwargs: dict, output: str | None, shape: list[int] | None) -> bool:
    """An Ultralytics model YAML (yolov8n.yaml, a path, a name in the installed ultralytics)
    written as the cnncalc spec it reads as, with no torch: True when TARGET was one. --kw
    scale=s, nc=N and fused=1 choose what is read (docs/yolo.md)."""
    from cnncalc import api
    from cnncalc.readers import ultralytics as yolo
    from cnncalc.sources import find, ultralytics_spec

    if not (target.endswith((".yaml", ".yml")) or (yolo.looks_like_yolo(target) and ":" not in target)):
        return False
    source = find(target)
    if not yolo.is_ultralytics(source.text):
        raise UsageError(None, f"'{target}' is a cnncalc spec already, not an Ultralytics model YAML or a "
                         "PyTorch model", "use it as it is: cnncalc table " + target)
    spec = ultralytics_spec(source, kwargs)
    if kwargs:
        raise UsageError(None, f"an Ultralytics model YAML takes --kw scale=, nc= and fused=, not "
                         f"{', '.join(map(str, kwargs))}")
    analysis = api.analyze(spec, input=shape)
    _written(target, spec.text, output, analysis, f"{'x'.join(map(str, analysis.graph.input_shape))}")
    return True


def _written(target: str, text: str, output: str | None, analysis: Any, said: str) -> None:
    """A read file's spec to `output` (or standard output), and one line of what it holds."""
    if output:
        from cnncalc.output import write_text

        write_text(output, text)
    else:
        click.echo(safe_text(text), nl=False)
    click.echo(safe_text(f"✓ {target}: read as a cnncalc spec ({analysis.totals.params:,} params in "
                         f"{len(analysis.rows):,} layers, {sum(analysis.counted('torch')):,} FlopCounterMode FLOPs at "
                         f"{said})" + (f"; written to {output}" if output else "")), err=True)


def _onnx_file(target: str, output: str | None, shape: list[int] | None) -> bool:
    """An ONNX file written as the cnncalc spec it reads as (docs/onnx.md): True when TARGET was one."""
    if not target.endswith(".onnx"):
        return False
    from cnncalc import api
    from cnncalc.readers.onnx_file import read

    if not os.path.isfile(target):
        raise UsageError(None, f"no such file: '{target}'")
    got = read(target, None if shape is None else tuple(shape))
    from cnncalc.sources import Source

    analysis = api.analyze(Source(got.text, target + " (read as a cnncalc spec)"))
    _written(target, got.text, output, analysis,
             f"{'x'.join(map(str, got.input))}; not params: {got.buffers:,} buffer and {got.constants:,} constant "
             "elements" + ("; batch norm folded by the exporter" if got.folded_bn else ""))
    return True
