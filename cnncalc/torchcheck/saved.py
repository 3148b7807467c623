"""What autograd really keeps for the backward pass, measured layer by layer.

One training-mode forward pass of the model verify builds, each layer run inside
torch.autograd.graph.saved_tensors_hooks: every tensor an autograd node saves is recorded with
its storage. A storage is counted once (an in-place ReLU's output is the next conv's input: one
tensor, two savers) and charged to the first layer that saves it; parameters' storages are left
out (they are counted as parameters). Attention runs the scaled_dot_product_attention kernel
torch picks (not the math kernel FLOP counting forces), and which one ran is recorded.
docs/memory.md says how the prediction is made.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn
from torch.utils._python_dispatch import TorchDispatchMode

# the aten op each fused scaled_dot_product_attention kernel runs as; math is made of bmm and softmax
SDPA_OPS = {"_scaled_dot_product_flash_attention_for_cpu": "flash", "_scaled_dot_product_flash_attention": "flash",
            "_scaled_dot_product_efficient_attention": "efficient", "_scaled_dot_product_cudnn_attention": "cudnn"}


@dataclass
class SavedRun:
    """Bytes of the storages autograd saved, per layer (first saver) and in total."""

    layers: dict[str, int] = field(default_factory=dict)  # node name -> bytes it saved first
    total: int = 0
    kernels: dict[str, str] = field(default_factory=dict)  # an attention layer -> the SDPA kernel that ran


class _Kernels(TorchDispatchMode):
    """The fused scaled_dot_product_attention kernels that run (none seen: math)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kernel = SDPA_OPS.get(func.overloadpacket.__name__)
        if kernel:
            self.seen.append(kernel)
        return func(*args, **(kwargs or {}))


class _SavedRecorder(fx.Interpreter):
    def __init__(self, module: fx.GraphModule) -> None:
        super().__init__(module, garbage_collect_values=True)
        self.params = {p.untyped_storage().data_ptr() for p in module.parameters()}
        self.params |= {b.untyped_storage().data_ptr() for b in module.buffers()}
        self.seen: dict[int, int] = {}  # storage address -> bytes
        self.keep: list[torch.Tensor] = []  # saved tensors stay alive, so no address is reused
        self.run_saved = SavedRun()

    def call_module(self, target: str, args: tuple, kwargs: dict[str, Any]) -> Any:  # type: ignore[override]
        module = self.fetch_attr(target)
        charged = 0

        def pack(t: torch.Tensor) -> torch.Tensor:
            nonlocal charged
            storage = t.untyped_storage()
            ptr = storage.data_ptr()
            if ptr and ptr not in self.params and ptr not in self.seen:
                self.seen[ptr] = storage.nbytes()
                charged += storage.nbytes()
            self.keep.append(t)
            # an alias without autograd history (same storage): a saved output packed as itself
            # would hold its own grad_fn, a cycle through C++ that is never freed
            return t.detach()

        # which attention kernel runs: watched only where nn.MultiheadAttention does (a Python mode slows every op)
        ran = _Kernels() if any(isinstance(m, nn.MultiheadAttention) for m in module.modules()) else None
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), ran or nullcontext():
            out = module(*args, **kwargs)
        if ran is not None:
            self.run_saved.kernels[target] = ran.seen[0] if ran.seen else "math"
        self.run_saved.layers[target] = charged
        self.run_saved.total += charged
        return out


def measure_saved(model: fx.GraphModule, x: torch.Tensor) -> SavedRun:
    """One training-mode forward pass recording what every layer saves for backward (the input
    batch does not require grad, as in training), attention on the kernel torch picks."""
    was_training = model.training
    model.train()
    recorder = _SavedRecorder(model)
    try:
        with torch.enable_grad():
            recorder.run(x)
    finally:
        model.train(was_training)
        # likewise the recorder's tensors (the kept ones, and the output in its env) hold the
        # autograd graph, and the graph holds the recorder's hooks: each of the three cycles
        # leaked the measured forward pass's activations (22 GB over tests/test_saved.py)
        recorder.keep.clear()
        recorder.env.clear()
    return recorder.run_saved


@dataclass
class SavedCheck:
    """`verify --memory`: predicted vs measured saved-for-backward bytes, per layer and in total."""

    name: str
    device: str
    dtype: str
    amp: str | None
    batch: int
    layers: list[tuple[str, int, int]]  # (layer, predicted, measured), every layer that saves anything
    predicted: int
    measured: int
    # attention layers: the SDPA kernel the prediction assumes (the one torch picks) and the one that ran
    kernels: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (self.predicted == self.measured and all(p == m for _, p, m in self.layers)
                and all(p == m for p, m in self.kernels.values()))


def check_saved(analysis: Any, device: str = "cpu", dtype: str = "float32", amp: str | None = None) -> SavedCheck:
    """Build the spec's model on `device`, run one training-mode forward pass (under autocast to
    `amp` if given) recording what autograd saves, and set it beside engine.saved_for_backward."""
    from cnncalc.engine.memory import attention_kernels, saved_for_backward
    from cnncalc.errors import UsageError
    from cnncalc.torchcheck.build import build_model
    from cnncalc.torchcheck.run import resolve_device

    dev = resolve_device(torch, device)
    if dev.type == "meta":
        raise UsageError(None, "memory=True counts the storages autograd saves, and meta tensors have none",
                         "use device='cpu' (or 'cuda')")
    graph = analysis.graph
    model = build_model(graph, dev, getattr(torch, dtype))
    from cnncalc.torchcheck.run import make_input

    x = make_input(torch, graph, analysis.batch, dev, getattr(torch, dtype))
    kind = "cuda" if dev.type == "cuda" else "cpu"
    if amp is None:
        run = measure_saved(model, x)
    else:
        with torch.autocast(dev.type, dtype=getattr(torch, amp)):
            run = measure_saved(model, x)
    predicted = saved_for_backward(analysis, kind, amp)
    layers = [(r.name, p, run.layers.get(r.name, 0)) for r, p in zip(analysis.rows, predicted, strict=True)
              if (p or run.layers.get(r.name, 0)) and not r.node.train_only]
    kernels = {name: (kernel, run.kernels.get(name, "")) for name, kernel in attention_kernels(analysis, kind, amp).items()}
    return SavedCheck(graph.name, str(dev), dtype, amp, analysis.batch, layers, sum(predicted), run.total, kernels)
