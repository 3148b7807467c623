"""`cnncalc memory` and Analysis.memory(): training memory by part as a rich table, and the
lines under it (what is counted, checkpointing, inference, whether it fits).

Stage: report (pure). In: a Memory result (results.py; its numbers are the engine's). Out: a
rich renderable fitted to a width; printing it is the caller's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from cnncalc.report.console import plain
from cnncalc.report.view import fixed

if TYPE_CHECKING:
    from cnncalc.results import Memory


def render_memory(m: Memory, width: int | None = None) -> Group:
    """The parts as a table (bytes, MiB, share of the peak), then the notes."""
    from cnncalc.report.fit import fitted

    a, parts, total = m.analysis, m.parts._asdict(), m.peak.training
    precision = f"float32 + {m.amp} autocast" if m.amp else a.dtype.name
    if m.checkpoint is not None:
        precision += f", {m.checkpoint.segments} checkpointed segments"
    table = Table(title=plain(f"{a.name}: training peak, batch {a.batch}, {precision}, {m.optimizer}, {m.device}"),
                  header_style="bold", show_footer=True)
    table.add_column("part", footer="total")
    table.add_column("bytes", justify="right", footer=f"{total:,}")
    table.add_column("MiB", justify="right", footer=fixed(total, 2**20, 1))
    table.add_column("share", justify="right", footer="100%")
    for part, size in parts.items():
        if part != "weight_copies" or m.amp:
            table.add_row(part.replace("_", " "), f"{size:,}", fixed(size, 2**20, 1), f"{fixed(100 * size, total, 0)}%")
    lines = [Text("activations saved: what autograd keeps for the backward pass, each storage once (an in-place "
                  "ReLU's output is the next conv's input); backward transient: the largest set of gradients "
                  "alive at once; optimizer state in the parameters' dtype; not included: the allocator's "
                  "rounding, the CUDA context, cuDNN workspaces (docs/memory.md)"
                  + ("; weight copies: the low-dtype kernels autocast makes and autograd keeps" if m.amp else ""),
                  style="dim")]
    plan = m.checkpoint
    if plan is not None:
        lines.append(plain(f"checkpointing in {plan.segments} segments (starting at "
                           f"{', '.join(a.rows[i].name for i in plan.starts)}): activations saved "
                           f"{fixed(m.parts.activations_saved, 2**20, 1)} MiB instead of "
                           f"{fixed(plan.without, 2**20, 1)} MiB; the backward pass runs "
                           f"{plan.recompute_macs:,} multiply-adds of forward again, "
                           f"{fixed(100 * plan.recompute_macs, max(a.totals.macs, 1), 0)}% of one forward pass"))
    lines.append(Text(f"inference (no gradients): parameters + the largest live set of activations = "
                      f"{fixed(m.peak.inference, 2**20, 1)} MiB"))
    if m.gpu_memory is not None:
        lines.append(Text(f"fits on a {gib(m.gpu_memory)} GPU? {'yes' if m.fits else 'no'} "
                          f"({fixed(100 * total, m.gpu_memory, 0)}% of {fixed(m.gpu_memory, 2**30, 1)} GiB; "
                          f"allocator overhead and the CUDA context, ~0.5 GiB, are not included)"))
    if m.max_batch is not None:
        lines.append(Text(f"largest batch that fits in {gib(m.gpu_memory or 0)}: " + (
            f"{m.max_batch:,}" if m.max_batch else "none (the parameters, gradients and optimizer state alone do "
                                                   "not fit)")))
    return Group(fitted(table, width), *lines)


def gib(n_bytes: int) -> str:
    """A GPU's memory as its maker writes it: 24 GB for 24 GiB, 16384 MB, or bytes."""
    for unit, name in ((2**30, "GB"), (2**20, "MB")):
        if n_bytes % unit == 0:
            return f"{n_bytes // unit:,}{name}"
    return f"{n_bytes:,} B"
