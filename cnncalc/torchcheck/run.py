"""`cnncalc verify`: device and dtype checks, build, measure, compare.

Every problem the user can fix (no CUDA, a dtype the CPU kernels lack, a bad device string)
becomes a UsageError: one sentence, exit status 2.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cnncalc.errors import UsageError
from cnncalc.graph import Graph
from cnncalc.torchcheck.compare import LayerCheck, compare

if TYPE_CHECKING:
    from cnncalc.engine.analysis import Analysis

DTYPES = ("float32", "float16", "bfloat16")


def import_torch():
    """torch, imported here and only here on the verify path (its NumPy warning silenced)."""
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
    # pad: same with an even kernel: torch pads a copy of the input first (a speed note, not ours)
    warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")
    try:
        import torch
    except ImportError:
        from cnncalc.torchcheck.install import torch_command

        raise UsageError(None, "verify needs PyTorch", torch_command()) from None
    return torch


def make_input(torch, graph: Graph, batch: int, device, dtype):
    """One batch for the graph: random values, or token ids (int64 zeros: valid for any
    vocabulary) when the spec says `tokens: true`; empty on the meta device."""
    shape = (batch, *graph.input_shape)
    if graph.tokens:
        return torch.zeros(shape, device=device, dtype=torch.long)
    if torch.device(device).type == "meta":
        return torch.empty(shape, device=device, dtype=dtype)
    return torch.randn(shape, device=device, dtype=dtype)


def resolve_device(torch, device: str):
    """cpu, meta, cuda or cuda:N as a torch.device, after checking that it exists here."""
    text = device.strip().lower()
    if text in ("cpu", "meta"):
        return torch.device(text)
    if text == "cuda" or text.startswith("cuda:"):
        index = text.partition(":")[2]
        if index and not index.isdigit():
            raise UsageError(None, f"device='{device}': the CUDA device index must be a number, e.g. cuda:0",
                             param="device")
        if not torch.cuda.is_available():
            raise UsageError(None, f"CUDA was requested but torch.cuda.is_available() is False; this machine "
                             f"has no usable GPU (or torch {torch.__version__} is a CPU build): use device='cpu', "
                             f"or device='meta' to check shapes and FLOPs without running")
        count = torch.cuda.device_count()
        if index and int(index) >= count:
            raise UsageError(None, f"device={text}: only {count} CUDA device(s) here (cuda:0 .. cuda:{count - 1})",
                             param="device")
        return torch.device(text if index else "cuda:0")
    raise UsageError(None, f"device='{device}' is not one of cpu, cuda, cuda:N, meta", param="device")


@dataclass
class VerifyResult:
    name: str
    device: str
    dtype: str
    batch: int
    torch_version: str
    checks: list[LayerCheck]
    peak_bytes: int | None = None
    train_peak_bytes: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


# torch indexes tensors with int64: no tensor may have 2**63 elements or more
TORCH_MAX_NUMEL = 2**63 - 1


def needed_bytes(analysis: Analysis) -> int:
    """What a verify run holds at most: the parameters, the input, and every layer's output
    (the hooks keep each one to compare it), in the run's dtype; an upper bound, in-place
    layers counted as if they copied."""
    from cnncalc.engine.memory import param_bytes

    return param_bytes(analysis) + analysis.input_bytes + sum(row.output_bytes for row in analysis.rows)


def free_bytes(torch, dev) -> int | None:
    """Memory free on the device now: CUDA's mem_get_info, the CPU's MemAvailable (Linux);
    None where it cannot be told."""
    if dev.type == "cuda":
        return int(torch.cuda.mem_get_info(dev)[0])
    if dev.type == "cpu":
        try:
            with open("/proc/meminfo", encoding="ascii") as f:
                for line in f:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            return None
    return None


def check_fits(torch, dev, graph: Graph, analysis: Analysis) -> None:
    """Refuse, before anything is allocated, a run torch cannot index or the device cannot hold."""
    from cnncalc.ops.registry import numel

    shapes = [(n.name, (analysis.batch, *n.shape)) for n in graph.nodes]
    for name, shape in shapes:
        if numel(shape) > TORCH_MAX_NUMEL or max(shape) > TORCH_MAX_NUMEL:
            raise UsageError(None, f"layer '{name}' would be a tensor of {numel(shape):,} elements "
                             f"(batch {analysis.batch:,}): more than torch can index (2**63 - 1)",
                             "lower the batch or the input size; the analytic table (cnncalc table) has no such limit")
    if dev.type == "meta":
        return
    need, free = needed_bytes(analysis), free_bytes(torch, dev)
    if free is not None and need > free:
        raise UsageError(None, f"verify would need about {_gib(need)} GiB on {dev} (parameters, input and every "
                         f"layer's output at batch {analysis.batch:,}), and {_gib(free)} GiB is free",
                         "device='meta' checks shapes and FLOPs without memory; memory_check=False runs it anyway")


def _gib(n: int) -> str:
    from cnncalc.report.view import fixed

    return fixed(n, 2**30, 1)


def verify(graph: Graph, analysis: Analysis, device: str = "cpu", dtype: str = "float32",
           weights_only: bool = False, timing: bool = False, repeats: int = 10, train: bool = False,
           memory_check: bool = True) -> VerifyResult:
    """Build the graph in torch on `device`, run one batch, and compare every layer. First,
    unless memory_check is False, refuse a run the device has no memory for (check_fits)."""
    torch = import_torch()
    from cnncalc.torchcheck.build import build_model
    from cnncalc.torchcheck.measure import LayerFailed, cuda_peaks, measure, time_layers

    dev = resolve_device(torch, device)
    if memory_check:
        check_fits(torch, dev, graph, analysis)
    else:
        check_fits(torch, torch.device("meta"), graph, analysis)  # indexing limits hold everywhere
    tdtype = getattr(torch, dtype)
    model = build_model(graph, dev, tdtype).eval()
    x = make_input(torch, graph, analysis.batch, dev, tdtype)
    try:
        run = measure(model, x, tuple(n.name for n in graph.nodes if n.train_only))
    except LayerFailed as exc:
        if dev.type == "cpu" and dtype != "float32":
            raise UsageError(None, f"PyTorch {torch.__version__} cannot run {dtype} on the CPU for layer {exc}; "
                             f"use device='meta' to check shapes and FLOPs in {dtype}, or dtype='float32'") from None
        raise UsageError(None, f"PyTorch could not run layer {exc}") from None
    result = VerifyResult(graph.name, str(dev), dtype, analysis.batch, torch.__version__, [])
    if timing:
        if dev.type == "meta":
            result.notes.append("timing needs a real device: the meta device runs no kernels")
        else:
            time_layers(model, x, run, repeats=repeats)
    if dev.type == "cuda" and (timing or train):
        run.peak_bytes, run.train_peak_bytes = cuda_peaks(model, x, train)
    elif train or timing:
        result.notes.append("peak memory is measured with torch.cuda.max_memory_allocated, on CUDA only")
    result.checks = compare(analysis, run.layers, weights_only)
    result.peak_bytes, result.train_peak_bytes = run.peak_bytes, run.train_peak_bytes
    return result
