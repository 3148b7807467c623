"""`cnncalc compare`: architectures side by side, and the comparing-complexity chart (cnncalc.compare)."""

from __future__ import annotations

import click

from cnncalc.cli.common import (
    Command,
    analysis_options,
    check_plot_path,
    complete_spec,
    convention_option,
    echo_text,
    flops_option,
    format_option,
    handle_errors,
    parse_input,
    parse_limits,
    parse_sets,
    pick_convention,
    print_rich,
    source_of,
    spec_options,
    training_options,
)
from cnncalc.errors import UsageError

Y_CHOICES = ("accuracy", "memory", "activations", "params", "training")


@click.command(cls=Command)
@click.argument("specs", nargs=-1, required=True, shell_complete=complete_spec)
@spec_options
@analysis_options
@convention_option
@flops_option
@training_options
@format_option
@click.option("--plot", "plot_path", metavar="PATH", help="Also draw the comparing-complexity chart (.png, .svg, .pdf).")
@click.option("--y", "y_metric", type=click.Choice(Y_CHOICES), default="accuracy", show_default=True,
              help="The chart's y axis: accuracy (top-1 ImageNet, the lecture's chart), memory (inference: "
                   "parameters + live activations), activations, params or training (x is multiply-adds, "
                   "bubble area is params).")
@handle_errors
def compare(specs: tuple[str, ...], input_shape: str | None, layout: str | None, sets: tuple[str, ...],
            limits: tuple[str, ...], traceback: bool, batch: int, dtype: str, convention: str | None,
            flops_mode: str | None, optimizer: str, amp: str | None, checkpoint: str | None, device: str | None,
            fmt: str, plot_path: str | None, y_metric: str) -> None:
    """Compare architectures side by side: params, MACs, memory, training memory, depth.

    --input and --set apply to every spec. Example:
    cnncalc compare alexnet-2012 vgg16 googlenet-tv resnet50-tv --plot cmp.png
    """
    from cnncalc import api
    from cnncalc.cli.memory import parse_checkpoint

    if plot_path:
        check_plot_path(plot_path)  # before anything is printed
        if y_metric == "accuracy" and (input_shape or sets):
            raise UsageError(None, "the accuracy chart is for the trained networks at their own input: with "
                             "--input or --set, draw another measure", "e.g. --y memory")
    bounds = parse_limits(limits)
    shape = parse_input(input_shape, layout)
    result = api.compare([source_of(spec, bounds, shape) for spec in specs], input=shape,
                         args=parse_sets(sets), batch=batch, dtype=dtype, optimizer=optimizer,
                         convention=pick_convention(convention, flops_mode), limits=bounds, layout=layout,
                         amp=amp, checkpoint=parse_checkpoint(checkpoint), device=device or "cpu")
    left_out = result.check_drawable(y_metric) if plot_path else []  # every reason the chart would fail, first
    if fmt == "rich":
        print_rich(result)
    else:
        echo_text(result.render(fmt))
    if plot_path:
        from cnncalc.errors import safe_text

        if left_out:
            click.echo(safe_text("left out of the accuracy chart: " + "; ".join(left_out)), err=True)
        result.plot(plot_path, y_metric)
        click.echo(safe_text(f"wrote {plot_path}"), err=True)
