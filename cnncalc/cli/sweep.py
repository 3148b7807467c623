"""`cnncalc sweep`: params, multiply-adds and memory along one axis (cnncalc.sweep); the range
syntax of its flags is read in cli/ranges.py."""

from __future__ import annotations

import click

from cnncalc.cli.common import (
    DTYPE_CHOICES,
    Command,
    check_plot_path,
    complete_spec,
    convention_option,
    echo_text,
    flops_option,
    format_option,
    handle_errors,
    layout_option,
    limit_option,
    parse_limits,
    pick_convention,
    print_rich,
    source_of,
    traceback_option,
    training_options,
)


@click.command(cls=Command)
@click.argument("spec", shell_complete=complete_spec)
@click.option("--input", "input_text", metavar="SHAPES",
              help="Input shapes: a range 3x128x128..3x512x512/32 (step) or ..3x512x512*2 (factor), or a list "
                   "3x224x224,3x320x320.")
@click.option("--batch", "batch_text", default="1", show_default=True, metavar="N|LIST|RANGE",
              help="Batch sizes: 8, a list 1,8,64, or a range 1..256*2 or 8..64/8.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUES",
              help="A spec argument: one value, a list width=32,64,128 or a range width=16..128/16 (repeatable; "
                   "one axis may have several values).")
@layout_option
@click.option("--dtype", type=click.Choice(DTYPE_CHOICES), default="float32", show_default=True,
              help="Element type: sets bytes per element.")
@convention_option
@flops_option
@training_options
@format_option
@click.option("--plot", "plot_path", metavar="PATH", help="Also draw the sweep (.png, .svg, .pdf).")
@limit_option
@traceback_option
@handle_errors
def sweep(spec: str, input_text: str | None, batch_text: str, sets: tuple[str, ...], layout: str | None, dtype: str,
          convention: str | None, flops_mode: str | None, optimizer: str, amp: str | None, checkpoint: str | None,
          device: str | None, fmt: str, plot_path: str | None,
          limits: tuple[str, ...], traceback: bool) -> None:
    """How params, multiply-adds and memory grow along one axis: the input size, the batch, or a
    spec argument. Exactly one of --input, --batch, --set has several values.

    Example: cnncalc sweep resnet50 --input 3x128x128..3x512x512/32 (also --batch 1,8,64, or
    --set classes=10,100,1000; the syntax is in docs/sweep.md)
    """
    from cnncalc import api
    from cnncalc.cli.memory import parse_checkpoint
    from cnncalc.cli.ranges import check_one_axis, parse_batches, parse_set, parse_shapes

    if plot_path:
        check_plot_path(plot_path)
    profile = pick_convention(convention, flops_mode)
    inputs = parse_shapes(input_text) if input_text else None
    batches = parse_batches(batch_text)
    parsed_sets = [parse_set(item) for item in sets]
    check_one_axis(inputs, batches, parsed_sets)
    bounds = parse_limits(limits)
    result = api.sweep(source_of(spec, bounds), input=inputs, batch=batches, args=dict(parsed_sets), dtype=dtype,
                       optimizer=optimizer, convention=profile, limits=bounds, layout=layout, amp=amp,
                       checkpoint=parse_checkpoint(checkpoint), device=device or "cpu")
    if plot_path:
        result.check_drawable()  # before the table is printed
    if fmt == "rich":
        print_rich(result)
    else:
        echo_text(result.render(fmt))
    if plot_path:
        from cnncalc.errors import safe_text

        result.plot(plot_path)
        click.echo(safe_text(f"wrote {plot_path}"), err=True)
