"""`cnncalc memory`: training memory by part, and whether it fits on a GPU (Analysis.memory)."""

from __future__ import annotations

import click

from cnncalc.cli.common import (
    Command,
    amp_option,
    analyse,
    analysis_options,
    checkpoint_option,
    complete_spec,
    handle_errors,
    optimizer_option,
    print_rich,
    spec_options,
)
from cnncalc.errors import UsageError


@click.command(cls=Command)
@click.argument("spec", shell_complete=complete_spec)
@spec_options
@analysis_options
@optimizer_option
@amp_option
@click.option("--device", type=click.Choice(["cpu", "cuda"]),
              help="Where it trains (dropout's mask dtype, autocast's op lists). Default: cuda with "
                   "--gpu-memory, else cpu.")
@click.option("--attention", type=click.Choice(["math", "flash", "efficient", "cudnn"]),
              help="The scaled_dot_product_attention kernel attention layers run (what they save for backward). "
                   "Default: the one torch picks for the device, dtype and shapes (docs/memory.md).")
@checkpoint_option
@click.option("--keep-grads", is_flag=True,
              help="The loop calls zero_grad(set_to_none=False): the gradients stay allocated through the step.")
@click.option("--gpu-memory", metavar="SIZE", help="Say whether it fits, e.g. --gpu-memory 24GB.")
@click.option("--max-batch", is_flag=True, help="With --gpu-memory: the largest batch whose training peak fits, "
              "and the table at that batch.")
@click.option("--reserve", metavar="SIZE", default="1GB", show_default=True,
              help="Of --gpu-memory, what is kept for what cnncalc does not count: the CUDA context (~0.3-0.6 GiB), "
                   "cuDNN/cuBLAS workspaces, the allocator's rounding (0B: none).")
@click.option("--format", "fmt", type=click.Choice(["rich", "json"]), default="rich", show_default=True,
              help="rich (the terminal table) or json (exact integers, for scripts).")
@handle_errors
def memory(spec: str, input_shape: str | None, layout: str | None, sets: tuple[str, ...], limits: tuple[str, ...],
           traceback: bool, batch: int, dtype: str, optimizer: str, amp: str | None, device: str | None, attention: str | None,
           checkpoint: str | None, keep_grads: bool, gpu_memory: str | None, max_batch: bool, reserve: str,
           fmt: str) -> None:
    """Memory for training SPEC: parameters, gradients, optimizer state, what autograd saves
    for the backward pass, and the training and inference peaks (docs/memory.md).

    Example: cnncalc memory resnet50 --batch 64 --amp bfloat16 --optimizer adamw --gpu-memory 24GB
    """
    if max_batch and not gpu_memory:
        raise UsageError(None, "--max-batch needs --gpu-memory SIZE (e.g. --gpu-memory 24GB)")
    if amp and dtype != "float32":
        raise UsageError(None, f"--amp {amp} runs a float32 model under autocast; it cannot be combined with "
                               f"--dtype {dtype}", f"drop --dtype, or drop --amp for a model held in {dtype}")
    segments = parse_checkpoint(checkpoint)
    analysis = analyse(spec, input_shape, sets, batch, dtype, limits, layout)
    result = analysis.memory(optimizer=optimizer, amp=amp, checkpoint=segments, device=device,
                             gpu_memory=gpu_memory, max_batch=max_batch, attention=attention,
                             keep_grads=keep_grads, reserve=reserve)
    if fmt == "json":
        click.echo(result.render("json"), nl=False)
    else:
        print_rich(result)


def parse_checkpoint(text: str | None) -> int | list[str] | None:
    """`--checkpoint 4` -> 4 segments; `--checkpoint conv3_x,conv4_x` -> the layers that start them."""
    import re

    from cnncalc.errors import MAX_DIGITS

    if text is None:
        return None
    if re.fullmatch(r"\s*[+-]?[0-9]+\s*", text, flags=re.ASCII):
        if len(text.strip().lstrip("+-")) > MAX_DIGITS:
            raise UsageError(None, f"--checkpoint: a number of more than {MAX_DIGITS} digits")
        return int(text)
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise UsageError(None, f"--checkpoint '{text}': an empty name", "e.g. --checkpoint conv3_x,conv4_x")
    return names
