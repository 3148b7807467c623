"""What autograd really keeps for the backward pass, measured layer by layer.

One training-mode forward pass of the model verify builds, each layer run inside
torch.autograd.graph.saved_tensors_hooks: every tensor an autograd node saves is recorded with
its storage. A storage is counted once (an in-place ReLU's output is the next conv's input: one
tensor, two savers) and charged to the first layer that saves it; parameters' storages are left
out (they are counted as parameters). docs/memory.md says how the prediction is made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx

from cnncalc.torchcheck.measure import attention_counted


@dataclass
class SavedRun:
    """Bytes of the storages autograd saved, per layer (first saver) and in total."""

    layers: dict[str, int] = field(default_factory=dict)  # node name -> bytes it saved first
    total: int = 0


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

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = module(*args, **kwargs)
        self.run_saved.layers[target] = charged
        self.run_saved.total += charged
        return out


def measure_saved(model: fx.GraphModule, x: torch.Tensor) -> SavedRun:
    """One training-mode forward pass recording what every layer saves for backward (the input
    batch does not require grad, as in training)."""
    was_training = model.training
    model.train()
    recorder = _SavedRecorder(model)
    try:
        with torch.enable_grad(), attention_counted():
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

    @property
    def ok(self) -> bool:
        return self.predicted == self.measured and all(p == m for _, p, m in self.layers)


def check_saved(analysis: Any, device: str = "cpu", dtype: str = "float32", amp: str | None = None) -> SavedCheck:
    """Build the spec's model on `device`, run one training-mode forward pass (under autocast to
    `amp` if given) recording what autograd saves, and set it beside engine.saved_for_backward."""
    from cnncalc.engine.memory import saved_for_backward
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
    return SavedCheck(graph.name, str(dev), dtype, amp, analysis.batch, layers, sum(predicted), run.total)
