"""`cnncalc memory`: training memory by part, and whether it fits on a GPU."""

from __future__ import annotations

import click

from cnncalc.cli.common import (
    analyse,
    analysis_options,
    complete_spec,
    handle_errors,
    make_console,
    optimizer_option,
    parse_gpu_memory,
    spec_options,
)
from cnncalc.errors import UsageError


@click.command()
@click.argument("spec", shell_complete=complete_spec)
@spec_options
@analysis_options
@optimizer_option
@click.option("--amp", type=click.Choice(["bfloat16", "float16"]),
              help="Mixed precision (torch.autocast): activations in this dtype where autocast casts them; "
                   "weights, gradients and optimizer state float32.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]),
              help="Where it trains (dropout's mask dtype, autocast's op lists). Default: cuda with "
                   "--gpu-memory, else cpu.")
@click.option("--checkpoint", type=click.IntRange(min=1), metavar="N",
              help="Activation checkpointing in N segments (torch.utils.checkpoint.checkpoint_sequential): "
                   "the saved bytes it leaves and the multiply-adds it recomputes.")
@click.option("--gpu-memory", metavar="SIZE", help="Say whether it fits, e.g. --gpu-memory 24GB.")
@click.option("--max-batch", is_flag=True, help="With --gpu-memory: the largest batch whose training peak fits.")
@click.option("--format", "fmt", type=click.Choice(["rich", "json"]), default="rich", show_default=True,
              help="rich (the terminal table) or json (exact integers, for scripts).")
@handle_errors
def memory(spec: str, input_shape: str | None, sets: tuple[str, ...], limits: tuple[str, ...], traceback: bool,
           batch: int, dtype: str, optimizer: str, amp: str | None, device: str | None, checkpoint: int | None, gpu_memory: str | None,
           max_batch: bool, fmt: str) -> None:
    """Memory for training SPEC: parameters, gradients, optimizer state, what autograd saves
    for the backward pass, and the training and inference peaks (docs/memory.md).

    Example: cnncalc memory resnet50 --batch 64 --amp bfloat16 --optimizer adamw --gpu-memory 24GB
    """
    import json

    from cnncalc.engine import forward_memory_estimate, training_memory

    if max_batch and not gpu_memory:
        raise UsageError(None, "--max-batch needs --gpu-memory SIZE (e.g. --gpu-memory 24GB)")
    if amp and dtype != "float32":
        raise UsageError(None, f"--amp {amp} runs a float32 model under autocast; it cannot be combined with "
                               f"--dtype {dtype}", f"drop --dtype, or drop --amp for a model held in {dtype}")
    device = device or ("cuda" if gpu_memory else "cpu")
    capacity = parse_gpu_memory(gpu_memory) if gpu_memory else None
    analysis = analyse(spec, input_shape, sets, batch, dtype, limits)
    plan = None
    if checkpoint is not None:
        from cnncalc.engine import checkpointing

        try:
            plan = checkpointing(analysis, checkpoint, device, amp)
        except ValueError as err:
            raise UsageError(None, f"--checkpoint {checkpoint}: {err}") from None
    largest = (largest_batch(spec, input_shape, sets, dtype, limits, optimizer, capacity, device, amp, checkpoint)
               if max_batch else None)
    parts = training_memory(analysis, optimizer, device, amp, checkpoint)
    inference = forward_memory_estimate(analysis, amp, device)
    if fmt == "json":
        data = {"name": analysis.graph.name, "batch": batch, "dtype": dtype, "amp": amp, "device": device,
                "optimizer": optimizer,
                "parts": {k: v for k, v in parts.items() if k != "total"},
                "peak": {"inference": inference, "training": parts["total"]}}
        if capacity is not None:
            data["gpu_memory_bytes"], data["fits"] = capacity, parts["total"] <= capacity
        if max_batch:
            data["max_batch"] = largest
        if plan is not None:
            data["checkpoint"] = {"segments": plan.segments,
                                  "starts": [analysis.rows[i].name for i in plan.starts],
                                  "activations_saved_without": plan.without,
                                  "recompute_macs": plan.recompute_macs}
        click.echo(json.dumps(data, indent=2))
        return
    from rich.table import Table

    from cnncalc.report.view import fixed

    precision = f"float32 + {amp} autocast" if amp else dtype
    if plan is not None:
        precision += f", {plan.segments} checkpointed segments"
    table = Table(title=f"{analysis.graph.name}: training peak, batch {batch}, {precision}, {optimizer}, {device}",
                  header_style="bold", show_footer=True)
    table.add_column("part", footer="total")
    table.add_column("bytes", justify="right", footer=f"{parts['total']:,}")
    table.add_column("MiB", justify="right", footer=fixed(parts["total"], 2**20, 1))
    table.add_column("share", justify="right", footer="100%")
    for part, size in parts.items():
        if part != "total" and (part != "weight_copies" or amp):
            table.add_row(part.replace("_", " "), f"{size:,}", fixed(size, 2**20, 1), f"{fixed(100 * size, parts['total'], 0)}%")
    from cnncalc.report.fit import fitted

    console = make_console()
    console.print(fitted(table, console.width))
    console.print("activations saved: what autograd keeps for the backward pass, each storage once (an in-place "
                  "ReLU's output is the next conv's input); backward transient: the largest set of gradients "
                  "alive at once; optimizer state in the parameters' dtype; not included: the allocator's "
                  "rounding, the CUDA context, cuDNN workspaces (docs/memory.md)"
                  + ("; weight copies: the low-dtype kernels autocast makes and autograd keeps" if amp else ""),
                  style="dim")
    if plan is not None:
        console.print(f"checkpointing in {plan.segments} segments (starting at "
                      f"{', '.join(analysis.rows[i].name for i in plan.starts)}): activations saved "
                      f"{fixed(parts['activations_saved'], 2**20, 1)} MiB instead of "
                      f"{fixed(plan.without, 2**20, 1)} MiB; the backward pass runs "
                      f"{plan.recompute_macs:,} multiply-adds of forward again, "
                      f"{fixed(100 * plan.recompute_macs, max(analysis.totals.macs, 1), 0)}% of one forward pass")
    console.print(f"inference (no gradients): parameters + the largest live set of activations = "
                  f"{fixed(inference, 2**20, 1)} MiB")
    if capacity is not None:
        fits = parts["total"] <= capacity
        console.print(f"fits on a {gpu_memory} GPU? {'yes' if fits else 'no'} "
                      f"({fixed(100 * parts['total'], capacity, 0)}% of {fixed(capacity, 2**30, 1)} GiB; "
                      f"allocator overhead and the CUDA context, ~0.5 GiB, are not included)")
    if max_batch:
        console.print(f"largest batch that fits in {gpu_memory}: " + (f"{largest:,}" if largest else
                      "none (the parameters, gradients and optimizer state alone do not fit)"))


def largest_batch(spec: str, input_shape: str | None, sets: tuple[str, ...], dtype: str, limits: tuple[str, ...],
                  optimizer: str, capacity: int | None, device: str = "cpu", amp: str | None = None,
                  checkpoint: int | None = None) -> int:
    """The largest batch whose training peak is at most capacity (0: not even batch 1). Every
    part is an affine function of the batch, so the peak grows with it: a binary search over
    exact evaluations of the same model."""
    from cnncalc.engine import training_memory_estimate

    assert capacity is not None
    graph_args = (spec, input_shape, sets)

    def peak(b: int) -> int:
        return training_memory_estimate(analyse(*graph_args, b, dtype, limits), optimizer, device, amp, checkpoint)

    if peak(1) > capacity:
        return 0
    low, high = 1, 2
    while peak(high) <= capacity:
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if peak(mid) <= capacity else (low, mid)
    return low
