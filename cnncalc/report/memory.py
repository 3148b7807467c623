"""`cnncalc memory` and Analysis.memory(): training memory by part as a terminal table, and the
lines under it (what is counted, checkpointing, inference, whether it fits).

Stage: report (pure). In: a Memory result (results.py; its numbers are the engine's). Out: a
renderable (report/term.py) fitted to a width; printing it is the caller's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.report.console import plain
from cnncalc.report.term import Group, Table, Text
from cnncalc.report.view import fixed

if TYPE_CHECKING:
    from cnncalc.results import Memory


def render_memory(m: Memory, width: int | None = None) -> Group:
    """The parts as a table (bytes, MiB, share of the peak), then the notes."""
    from cnncalc.report.fit import fitted

    a, parts, total, batch, peak_at = m.analysis, m.parts._asdict(), m.peak.training, m.analysis.batch, m.peak_at
    best = m.recommended  # --max-batch: the table is for the batch it recommends
    if best is not None:
        parts, total, batch, peak_at = best.parts._asdict(), best.training, best.batch, best.peak_at
    precision = f"float32 + {m.amp} autocast" if m.amp else a.dtype.name
    if m.checkpoint is not None:
        precision += f", {m.checkpoint.segments} checkpointed segments"
    said = " (the largest that fits)" if best is not None else ""
    table = Table(title=plain(f"{a.name}: training peak, batch {batch}{said}, {precision}, {m.optimizer}, {m.device}"),
                  header_style="bold", show_footer=True)
    table.add_column("part", footer="total")
    table.add_column("bytes", justify="right", footer=f"{total:,}")
    table.add_column("MiB", justify="right", footer=fixed(total, 2**20, 1))
    table.add_column("share", justify="right", footer="100%")
    for part, size in parts.items():
        if part != "weight_copies" or m.amp:
            table.add_row(part.replace("_", " "), f"{size:,}", fixed(size, 2**20, 1), f"{fixed(100 * size, total, 0)}%")
    phase, layer = peak_at
    lines = [plain(f"device: {m.device} ({DEVICE_FROM[m.device_from][m.device]})"),
             plain(f"the peak falls in the {PHASES.get(phase, phase)}" + (f", at {layer}" if layer else "")
                   + (" (gradients kept: zero_grad(set_to_none=False))" if m.keep_grads else "")),
             Text("what is alive then: gradients made so far; activations saved: what autograd still keeps, each "
                  "storage once; transient: activations not saved, gradients in flight, the optimizer's "
                  "temporaries; not included: the allocator's rounding, the CUDA context, cuDNN workspaces "
                  "(docs/memory.md)"
                  + ("; weight copies: the low-dtype kernels autocast makes and autograd keeps" if m.amp else ""),
                  style="dim")]
    plan = m.checkpoint
    if plan is not None:
        lines.append(plain(f"checkpointing in {plan.segments} segments (starting at "
                           f"{', '.join(a.rows[i].name for i in plan.starts)}): activations saved "
                           f"{fixed(plan.activations_saved, 2**20, 1)} MiB at most instead of "
                           f"{fixed(plan.without, 2**20, 1)} MiB; the backward pass runs "
                           f"{plan.recompute_macs:,} multiply-adds of forward again, "
                           f"{fixed(100 * plan.recompute_macs, max(a.totals.macs, 1), 0)}% of one forward pass"))
        lines += [plain(note) for note in plan.notes]
    lines.append(plain(f"inference (eval, no gradients): parameters, buffers, input and the largest live set of "
                       f"activations = {fixed(m.peak.inference, 2**20, 1)} MiB, at {m.inference_at.layer}"))
    if m.gpu_memory is not None and m.headroom is not None:
        kept = (f" + {mib(m.reserve)} reserved (the CUDA context, workspaces, the allocator: --reserve)"
                if m.reserve else " (nothing reserved for the CUDA context, workspaces or the allocator)")
        left = (f"{mib(m.headroom)} to spare" if m.headroom >= 0 else f"{mib(-m.headroom)} too much")
        lines.append(plain(f"fits on a {gib(m.gpu_memory)} GPU at batch {a.batch}? {'yes' if m.fits else 'no'}: "
                           f"training peak {mib(m.peak.training)}{kept}; {left}"))
    if m.max_batch is not None:
        if m.recommended is not None:
            r = m.recommended
            lines.append(plain(f"largest batch that fits in {gib(m.gpu_memory or 0)}: {r.batch:,} (the table above): "
                               f"training peak {mib(r.training)}, {mib(r.headroom)} to spare after the reserve"))
        else:
            lines.append(plain(f"largest batch that fits in {gib(m.gpu_memory or 0)}: {none_fits(m)}"))
    return Group(fitted(table, width), *lines)


# why the numbers are for that device (Memory.device_from), by device: said under every table,
# since cuda and cpu differ (dropout's mask dtype, autocast's op lists)
DEVICE_FROM = {"gpu_memory": {"cuda": "chosen for --gpu-memory; --device cpu to plan on the CPU"},
               "device": {"cuda": "--device cuda", "cpu": "--device cpu"},
               "default": {"cpu": "the default; --device cuda to plan for a GPU"}}


def none_fits(m: Memory) -> str:
    """Why no batch fits: the fixed parts alone, or torch's smallest trainable batch (engine/trainable.py)."""
    if m.smallest_batch < 2:
        return "none (the parameters, gradients and optimizer state alone do not fit)"
    from cnncalc.engine.trainable import batch_limits

    first = batch_limits(m.analysis.graph)[0]
    return (f"none that trains: torch trains it from batch {m.smallest_batch} ({first.layer}: {first.why}), "
            f"and batch {m.smallest_batch} does not fit")


PHASES = {"forward": "forward pass", "backward": "backward pass", "recompute": "backward pass, recomputing a "
          "checkpointed segment", "step": "optimizer step"}


def mib(n_bytes: int) -> str:
    """Bytes in GiB past 1 GiB, else MiB, one decimal (exact: report/view.py fixed)."""
    return f"{fixed(n_bytes, 2**30, 1)} GiB" if n_bytes >= 2**30 else f"{fixed(n_bytes, 2**20, 1)} MiB"


def gib(n_bytes: int) -> str:
    """A GPU's memory as its maker writes it: 24 GB for 24 GiB, 16384 MB, or bytes."""
    for unit, name in ((2**30, "GB"), (2**20, "MB")):
        if n_bytes % unit == 0:
            return f"{n_bytes // unit:,}{name}"
    return f"{n_bytes:,} B"
