"""Run a built model once, layer by layer, and measure what PyTorch sees at every node.

Per node: output shape, output bytes (numel * element_size), parameter counts from the
module's tensors, and the FLOPs torch.utils.flop_counter.FlopCounterMode counts (2 per
multiply-add, conv and matmul-like ops only). Optional timing repeats each layer alone.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx
from torch.utils.flop_counter import FlopCounterMode


@contextmanager
def attention_counted() -> Iterator[None]:
    """Attention the way FlopCounterMode can count it: nn.MultiheadAttention's fast path off (its
    fused kernel has no FLOP formula) and scaled_dot_product_attention on its math backend (the
    CPU flash kernel has none either), so q k^T and weights x v show up as bmm."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with sdpa_kernel(SDPBackend.MATH):
            yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


class LayerFailed(Exception):
    """PyTorch refused to run one layer (e.g. a dtype its CPU kernels do not implement)."""

    def __init__(self, layer: str, error: BaseException) -> None:
        super().__init__(f"{layer}: {str(error).splitlines()[0] if str(error) else type(error).__name__}")
        self.layer, self.error = layer, error


@dataclass
class Measured:
    """What PyTorch reports for one node."""

    name: str
    shape: tuple[int, ...] | None  # without the batch dimension; None: not run (a train-only layer)
    output_bytes: int | None
    weights: int  # parameters not named "bias"
    biases: int
    flops: int | None  # FlopCounterMode's count (2 x MACs for conv / linear)
    seconds: float | None = None  # median forward latency of this layer alone (with --time)


@dataclass
class Run:
    layers: list[Measured] = field(default_factory=list)
    peak_bytes: int | None = None  # CUDA only: max_memory_allocated during the forward pass
    train_peak_bytes: int | None = None  # CUDA only: forward + backward


class _Recorder(fx.Interpreter):
    def __init__(self, module: fx.GraphModule) -> None:
        super().__init__(module, garbage_collect_values=True)
        self.layers: list[Measured] = []

    def run_node(self, n: fx.Node) -> Any:
        self.layer = n.meta.get("cnncalc_layer")  # a shared module called again: the layer it is
        return super().run_node(n)

    def call_module(self, target: str, args: tuple, kwargs: dict[str, Any]) -> Any:  # type: ignore[override]
        module = self.fetch_attr(target)
        name = getattr(self, "layer", None) or target
        try:
            with FlopCounterMode(display=False) as counter:
                out = module(*args, **kwargs)
        except (RuntimeError, NotImplementedError) as exc:
            raise LayerFailed(name, exc) from exc
        # a shared module's parameters are its first layer's (the spec's `shares:`): none here
        params = [] if name != target else list(module.named_parameters())
        weights = sum(p.numel() for n, p in params if not n.endswith("bias"))
        biases = sum(p.numel() for n, p in params if n.endswith("bias"))
        self.layers.append(Measured(name, tuple(out.shape[1:]), out.numel() * out.element_size(),
                                    weights, biases, counter.get_total_flops()))
        return out


def measure(model: fx.GraphModule, x: torch.Tensor, idle: tuple[str, ...] = ()) -> Run:
    """One forward pass under no_grad, recording every call_module node; the `idle` submodules
    (train-only layers, not called) have only their parameters counted."""
    recorder = _Recorder(model)
    with torch.no_grad(), attention_counted():
        recorder.run(x)
    for name in idle:
        params = list(model.get_submodule(name).named_parameters())
        recorder.layers.append(Measured(name, None, None, sum(p.numel() for n, p in params if not n.endswith("bias")),
                                        sum(p.numel() for n, p in params if n.endswith("bias")), None))
    return Run(recorder.layers)


def time_layers(model: fx.GraphModule, x: torch.Tensor, run: Run, warmup: int = 2, repeats: int = 10) -> None:
    """Median latency of each layer run alone on its real input (CUDA events on a GPU)."""
    cuda = x.device.type == "cuda"
    inputs: dict[str, tuple] = {}

    class Capture(fx.Interpreter):
        def call_module(self, target: str, args: tuple, kwargs: dict[str, Any]) -> Any:  # type: ignore[override]
            inputs[target] = tuple(a.clone() if isinstance(a, torch.Tensor) else a for a in args)
            return super().call_module(target, args, kwargs)

    with torch.no_grad():
        Capture(model).run(x)
        for layer in run.layers:
            if layer.name not in inputs:  # a train-only layer: not run in eval, so not timed
                continue
            module, args = model.get_submodule(layer.name), inputs[layer.name]
            samples = []
            for i in range(warmup + repeats):
                if cuda:
                    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    start.record()
                    module(*args)
                    end.record()
                    torch.cuda.synchronize(x.device)
                    elapsed = start.elapsed_time(end) / 1000
                else:
                    t0 = time.perf_counter()
                    module(*args)
                    elapsed = time.perf_counter() - t0
                if i >= warmup:
                    samples.append(elapsed)
            layer.seconds = statistics.median(samples)


def cuda_peaks(model: fx.GraphModule, x: torch.Tensor, train: bool) -> tuple[int, int | None]:
    """Peak CUDA memory of a forward pass (and of forward + backward with train), in bytes."""
    device = x.device
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    with torch.no_grad():
        model(x)
    torch.cuda.synchronize(device)
    forward = torch.cuda.max_memory_allocated(device)
    if not train:
        return forward, None
    torch.cuda.reset_peak_memory_stats(device)
    out = model(x.requires_grad_(False))
    outs = out if isinstance(out, tuple) else (out,)
    sum(o.float().sum() for o in outs).backward()
    torch.cuda.synchronize(device)
    return forward, torch.cuda.max_memory_allocated(device)
