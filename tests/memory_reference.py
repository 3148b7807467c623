"""A reference measurement of PyTorch's real training and inference peak on the CPU.

Independent of cnncalc on purpose (nothing here imports it): this is what cnncalc's memory
predictions are checked against, so it must stand on PyTorch alone.

    from tests.memory_reference import measure_training_peak, measure_inference_peak
    r = measure_training_peak(model, x, optimizer="adam", amp="bfloat16")
    r.peak, r.phase, r.op, r.place, r.breakdown

How it works
------------
A ``TorchDispatchMode`` sees every ATen op that runs below autograd and autocast: the forward
ops (autocast's casts included), every op the autograd engine runs in backward (the backward
kernels, gradient accumulation, the seed ``ones_like``), the optimizer's ops and
``zero_grad``'s. After each op it registers the storage of every tensor among the op's outputs
and arguments (``Tensor.untyped_storage()``), once per storage, with ``storage.nbytes()`` bytes,
and holds only a weak reference to the storage's Python object. PyTorch preserves that object
for as long as the C++ storage lives (whoever holds it: Python, a view, an autograd node's saved
variable, the optimizer), so the weakref's callback fires exactly when the storage is freed and
subtracts its bytes. The running total is therefore, at every instant, the sum of the distinct
storages alive. It can only rise when an op returns (its inputs are still alive then, its outputs
are new), so the maximum over "just after each op" is the peak.

Before the measured step the storages alive by construction are registered: the parameters, the
buffers, the gradients (with ``set_to_none=False``), every tensor in ``optimizer.state`` and the
input. A storage met for the first time as an argument of an op is adopted then (counted from
that moment; ``adopted`` says how many bytes, normally 0 apart from ``torch.tensor`` literals).

Counted: every tensor storage alive at the instant, parameters and the input included, each
storage once however many tensors view it (a view, a ``.t()``, an expanded gradient, a tensor
autograd saves, the detached alias handed to a saved-tensor hook: all the same storage), with
its full ``nbytes`` (a view of 1 element of a big storage keeps the big storage).

Not counted:
- memory an op allocates and frees inside its own kernel (im2col buffers, oneDNN scratchpads,
  reordered weights, the contiguous copy a kernel makes of an expanded input): the mode only
  sees an op's inputs and outputs. ``profiler_training_peak`` measures at the allocator level,
  where these show, for comparison;
- the allocator's behaviour: the CPU allocator has no caching, so freed memory is returned at
  once; no rounding or fragmentation is modelled (on CUDA the caching allocator would add both);
- non-tensor memory (the autograd graph's nodes, Python objects, the autocast cache's
  bookkeeping), and storages on other devices than the ones seen (everything here is CPU).

The steps are steady-state: ``steps - 1`` warm-up steps run untracked first (they create the
optimizer's state), and the last one is measured from the start of its forward to the end of
its ``zero_grad``. A step is ``loss = f(model(x))`` (the model's output is not held by the caller:
``output.sum()``, or the mean of the sums of a tuple / dict of outputs; the loss and the
gradient seed ``autograd.backward`` makes are alive through backward), ``loss.backward()``,
``optimizer.step()``, ``optimizer.zero_grad(set_to_none=...)``. Under ``amp="bfloat16"`` the
forward and the loss run in ``torch.autocast("cpu", torch.bfloat16)``, the backward and the step
outside it (float32 master weights, no grad scaler: bf16 needs none).

Where the peak fell: the phase (forward, backward, step, zero_grad), the ATen op, and the place:
in forward the innermost module running (global forward hooks); in backward the autograd node
running (``torch._C._current_autograd_node()``) and the module whose forward made it (a
``TorchFunctionMode`` tags each new node's ``metadata`` during the forward); in step the
parameter being updated.

The breakdown at the peak splits the live storages, in this order of precedence:
``parameters``, ``buffers``, ``gradients`` (storages that are a parameter's ``.grad`` at the end
of backward, also before they are accumulated into it), ``optimizer_state``, ``input``,
``param_copies`` (autocast's low-precision casts of parameters), ``saved`` (other storages
autograd saved for backward: ``saved_tensors_hooks``), ``other`` (everything else: outputs not
saved, activation gradients, the optimizer's temporaries, ...).
"""

from __future__ import annotations

import contextlib
import gc
import weakref
from collections import Counter
from dataclasses import dataclass, field

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

OPTIMIZERS = ("sgd", "sgd-momentum", "adam", "adamw")
PHASES = ("forward", "backward", "step", "zero_grad")
CATEGORIES = ("parameters", "buffers", "gradients", "optimizer_state", "input", "param_copies", "saved", "other")
_MODULE_KEY = "memory_reference.module"


@dataclass
class Where:
    """One instant: bytes alive, and the phase, ATen op and place it fell in."""

    bytes: int
    phase: str
    op: str
    place: str
    breakdown: dict[str, int] | None = None  # CATEGORIES -> bytes (filled in for the phase peaks)
    _live: dict[int, int] | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict:
        d = {"bytes": self.bytes, "phase": self.phase, "op": self.op, "place": self.place}
        if self.breakdown is not None:
            d["breakdown"] = dict(self.breakdown)
        return d


@dataclass
class PeakResult:
    """What one measured step (or inference pass) gives."""

    peak: int  # bytes of live storages at the highest instant
    phase: str
    op: str
    place: str
    breakdown: dict[str, int]  # CATEGORIES -> bytes alive at the peak; sums to `peak`
    start: int  # bytes alive when the measured step began
    end: int  # bytes alive when it ended
    phase_peaks: dict[str, Where] = field(default_factory=dict)
    ops: Counter = field(default_factory=Counter)  # ATen op -> times run in the measured step
    adopted: int = 0  # bytes of storages first met as an op's argument
    optimizer_impl: str = ""  # "single-tensor" / "foreach" / "fused" (from the ops that ran), "" for inference
    timeline: list[Where] | None = None  # every instant (each phase's start, after each op), if asked for

    @property
    def attention_ops(self) -> list[str]:
        """The attention kernels that ran (SDPA's backend op, MHA's fast path), if any."""
        return sorted(n for n in self.ops if "attention" in n or "multi_head" in n)

    def as_dict(self) -> dict:
        return {
            "peak": self.peak,
            "phase": self.phase,
            "op": self.op,
            "place": self.place,
            "breakdown": dict(self.breakdown),
            "start": self.start,
            "end": self.end,
            "phase_peaks": {k: v.as_dict() for k, v in self.phase_peaks.items()},
            "attention_ops": self.attention_ops,
            "adopted": self.adopted,
            "optimizer_impl": self.optimizer_impl,
        }


class _Meter:
    """The running total of live storages, by weak references to their Python objects."""

    def __init__(self) -> None:
        self.live: dict[int, int] = {}  # serial -> nbytes
        self.by_cdata: dict[int, tuple[int, weakref.ref]] = {}  # StorageImpl address -> (serial, ref)
        self.total = 0
        self._next = 0
        self.adopted = 0
        self.recording = False
        self.phase = "setup"
        self.modules: list[str] = []
        self.peak = -1
        self.peak_where: Where | None = None
        self.peak_live: dict[int, int] = {}
        self.phase_peaks: dict[str, Where] = {}
        self.ops: Counter = Counter()
        self.saved: set[int] = set()
        self.param_copies: set[int] = set()
        self.param_serials: dict[int, str] = {}  # parameter / state storage serial -> parameter name
        self.last_param = ""  # in step: the parameter the optimizer last touched
        self.timeline: list[Where] | None = None

    def serial(self, t: torch.Tensor, adopt: bool = False) -> int | None:
        try:
            s = t.untyped_storage()
        except (RuntimeError, NotImplementedError, TypeError):
            return None  # no storage (sparse, mkldnn opaque, ...): not met on these models
        key = s._cdata
        entry = self.by_cdata.get(key)
        if entry is not None:
            serial, ref = entry
            if ref() is s:
                n = s.nbytes()
                if n != self.live.get(serial, n):  # resized in place
                    self.total += n - self.live[serial]
                    self.live[serial] = n
                return serial
            self._died(serial, key)  # an earlier storage at this address whose callback is late
        serial = self._next
        self._next += 1
        n = s.nbytes()
        self.live[serial] = n
        self.total += n
        if adopt:
            self.adopted += n
        self.by_cdata[key] = (serial, weakref.ref(s, lambda _r, serial=serial, key=key: self._died(serial, key)))
        return serial

    def _died(self, serial: int, key: int) -> None:
        n = self.live.pop(serial, None)
        if n is not None:
            self.total -= n
        entry = self.by_cdata.get(key)
        if entry is not None and entry[0] == serial:
            del self.by_cdata[key]

    def place(self, args) -> str:
        if self.phase == "forward":
            return self.modules[-1] if self.modules else "(outside any module)"
        if self.phase == "backward":
            node = torch._C._current_autograd_node()
            if node is None:
                return "(engine)"
            name = node.name()
            if name.endswith("AccumulateGrad"):
                var = getattr(node, "variable", None)
                label = self.param_serials.get(self.serial(var), "?") if var is not None else "?"
                return f"{label} ({name})"
            module = node.metadata.get(_MODULE_KEY, "?") if hasattr(node, "metadata") else "?"
            return f"{module} ({name})"
        if self.phase == "step":
            for a in args:
                label = self.param_serials.get(self.serial(a))
                if label is not None:
                    self.last_param = label.removesuffix(" (state)")
                    break
            return self.last_param
        return ""

    def enter(self, phase: str) -> None:
        """A new phase begins: its level at the start is an instant too."""
        self.phase = phase
        self.last_param = ""
        if self.recording:
            self.instant("(start)", [])

    def instant(self, name: str, args) -> None:
        total = self.total
        best = self.phase_peaks.get(self.phase)
        if total > self.peak or best is None or total > best.bytes or self.timeline is not None:
            where = Where(total, self.phase, name, self.place(args))
            if self.timeline is not None:
                self.timeline.append(where)
            if best is None or total > best.bytes:
                where._live = dict(self.live)
                self.phase_peaks[self.phase] = where
            if total > self.peak:
                self.peak, self.peak_where = total, where
                self.peak_live = where._live if where._live is not None else dict(self.live)

    def after_op(self, func, args, kwargs, out) -> None:
        name = str(func)
        if name.startswith("profiler."):
            return  # record_function markers: no tensors
        arg_tensors = [a for a in tree_leaves((args, kwargs)) if isinstance(a, torch.Tensor)]
        arg_serials = [self.serial(a, adopt=True) for a in arg_tensors]
        outs = [self.serial(o) for o in tree_leaves(out) if isinstance(o, torch.Tensor)]
        if not self.recording:
            return
        self.ops[name] += 1
        if self.phase == "forward" and name.startswith("aten._to_copy") and arg_serials and arg_serials[0] in self.param_serials:
            self.param_copies.update(s for s in outs if s is not None)
        self.instant(name, arg_tensors)


class _Tracker(TorchDispatchMode):
    def __init__(self, meter: _Meter) -> None:
        super().__init__()
        self.meter = meter

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        self.meter.after_op(func, args, kwargs, out)
        return out


class _TagNodes(TorchFunctionMode):
    """During the forward: tag each new autograd node with the module that made it."""

    def __init__(self, meter: _Meter) -> None:
        super().__init__()
        self.meter = meter

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        module = self.meter.modules[-1] if self.meter.modules else "(outside any module)"
        # the output's node, and the untagged nodes behind it (made by a composite op's own
        # decomposition, e.g. the weight's transpose inside F.linear)
        stack = [t.grad_fn for t in tree_leaves(out) if isinstance(t, torch.Tensor) and t.grad_fn is not None]
        while stack:
            node = stack.pop()
            md = node.metadata
            if _MODULE_KEY in md:
                continue
            md[_MODULE_KEY] = module
            stack.extend(n for n, _ in node.next_functions if n is not None and not n.name().endswith("AccumulateGrad"))
        return out


@contextlib.contextmanager
def _module_stack(meter: _Meter, model: torch.nn.Module):
    names = {id(m): n or type(m).__name__ for n, m in model.named_modules()}

    def pre(module, args):
        meter.modules.append(names.get(id(module), type(module).__name__))

    def post(module, args, output):
        if meter.modules:
            meter.modules.pop()

    from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook

    h1 = register_module_forward_pre_hook(pre)
    h2 = register_module_forward_hook(post, always_call=True)
    try:
        yield
    finally:
        h1.remove()
        h2.remove()
        meter.modules.clear()


def loss_of(out) -> torch.Tensor:
    """output.sum(), or the mean of the sums of a tuple / list / dict (namedtuple) of outputs."""
    if isinstance(out, torch.Tensor):
        return out.sum()
    parts = list(out.values()) if isinstance(out, dict) else list(out)
    parts = [p for p in parts if isinstance(p, torch.Tensor)]
    return sum(p.sum() for p in parts) / len(parts)


def make_optimizer(params, optimizer: str, foreach: bool | None = None, lr: float = 1e-3):
    kw = {} if foreach is None else {"foreach": foreach}
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, **kw)
    if optimizer == "sgd-momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, **kw)
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, **kw)
    if optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, **kw)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, not {optimizer!r}")


def _autocast(amp: str | None):
    if amp is None:
        return contextlib.nullcontext()
    if amp not in ("bfloat16", "float16"):
        raise ValueError(f"amp must be None, 'bfloat16' or 'float16', not {amp!r}")
    return torch.autocast("cpu", dtype=getattr(torch, amp))


def _tensors(obj) -> list[torch.Tensor]:
    return [t for t in tree_leaves(obj) if isinstance(t, torch.Tensor)]


def _state_tensors(opt) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(parameter, state tensor) pairs of the optimizer's state."""
    return [(p, t) for p, st in opt.state.items() for t in _tensors(st)]


def _plain_step(model, x, opt, amp, set_to_none) -> None:
    with _autocast(amp):
        loss = loss_of(model(x))
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=set_to_none)


def _register_start(meter: _Meter, model, x, opt=None) -> dict[str, set[int]]:
    cats: dict[str, set[int]] = {c: set() for c in CATEGORIES}
    for name, p in model.named_parameters():
        s = meter.serial(p)
        cats["parameters"].add(s)
        meter.param_serials[s] = name
        if p.grad is not None:
            cats["gradients"].add(meter.serial(p.grad))
    for b in model.buffers():
        cats["buffers"].add(meter.serial(b))
    if opt is not None:
        names = {id(p): n for n, p in model.named_parameters()}
        for p, t in _state_tensors(opt):
            s = meter.serial(t)
            cats["optimizer_state"].add(s)
            meter.param_serials.setdefault(s, f"{names.get(id(p), '?')} (state)")
    for t in _tensors(x):
        cats["input"].add(meter.serial(t))
    return cats


def _result(meter: _Meter, cats: dict[str, set[int]], start: int, end: int, impl: str = "") -> PeakResult:
    """The breakdown of the live storages at the peak by category (the first that holds each)."""
    cats["param_copies"] = set(meter.param_copies)
    cats["saved"] = set(meter.saved)

    def split(live: dict[int, int]) -> dict[str, int]:
        breakdown = dict.fromkeys(CATEGORIES, 0)
        for serial, n in live.items():
            for c in CATEGORIES[:-1]:
                if serial in cats[c]:
                    breakdown[c] += n
                    break
            else:
                breakdown["other"] += n
        return breakdown

    breakdown = split(meter.peak_live)
    for where in meter.phase_peaks.values():
        if where._live is not None:
            where.breakdown, where._live = split(where._live), None
    w = meter.peak_where
    assert w is not None and sum(breakdown.values()) == meter.peak
    return PeakResult(
        peak=meter.peak,
        phase=w.phase,
        op=w.op,
        place=w.place,
        breakdown=breakdown,
        start=start,
        end=end,
        phase_peaks={p: meter.phase_peaks[p] for p in PHASES if p in meter.phase_peaks},
        ops=meter.ops,
        adopted=meter.adopted,
        optimizer_impl=impl,
        timeline=meter.timeline,
    )


def _impl(ops: Counter) -> str:
    step_ops = [n for n in ops if n.startswith("aten._fused_adam") or n.startswith("aten._fused_sgd")]
    if step_ops:
        return "fused"
    return "foreach" if any(n.startswith("aten._foreach_") for n in ops) else "single-tensor"


def measure_training_peak(
    model: torch.nn.Module,
    x,
    optimizer: str = "sgd",
    foreach: bool | None = None,
    amp: str | None = None,
    set_to_none: bool = True,
    steps: int = 2,
    lr: float = 1e-3,
    label_saved: bool = True,
    timeline: bool = False,
) -> PeakResult:
    """Peak bytes of live tensor storages during the last of `steps` training steps on the CPU.

    `model` is put in train mode; `x` is a tensor (or a tuple / dict of them) already on the CPU.
    `optimizer` is one of OPTIMIZERS (sgd-momentum: momentum 0.9); `foreach=None` lets torch pick
    (single-tensor on the CPU). `label_saved=False` leaves out the saved-tensor hooks that only
    serve the `saved` category (the peak is the same either way). `timeline=True` keeps every
    instant in `result.timeline`. The module docstring says what is and is not counted.
    """
    if steps < 1:
        raise ValueError("steps must be >= 1")
    model.train()
    opt = make_optimizer(model.parameters(), optimizer, foreach, lr)
    opt.zero_grad(set_to_none=set_to_none)
    for _ in range(steps - 1):
        _plain_step(model, x, opt, amp, set_to_none)
    gc.collect()

    meter = _Meter()
    meter.timeline = [] if timeline else None
    cats = _register_start(meter, model, x, opt)
    start = meter.total

    def pack(t):
        s = meter.serial(t)
        if s is not None:
            meter.saved.add(s)
        return t.detach()  # same storage; detached so a saved output does not hold its own node

    saved_hooks = torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t) if label_saved else contextlib.nullcontext()
    meter.recording = True
    with _Tracker(meter):
        meter.enter("forward")
        with _module_stack(meter, model), _TagNodes(meter), saved_hooks, _autocast(amp):
            loss = loss_of(model(x))
        meter.enter("backward")
        loss.backward()
        del loss
        for p in model.parameters():
            if p.grad is not None:
                cats["gradients"].add(meter.serial(p.grad))
        meter.enter("step")
        opt.step()
        names = {id(p): n for n, p in model.named_parameters()}
        for p, t in _state_tensors(opt):
            s = meter.serial(t)
            cats["optimizer_state"].add(s)
            meter.param_serials.setdefault(s, f"{names.get(id(p), '?')} (state)")
        meter.enter("zero_grad")
        opt.zero_grad(set_to_none=set_to_none)
    meter.recording = False
    return _result(meter, cats, start, meter.total, _impl(meter.ops))


def measure_inference_peak(model: torch.nn.Module, x, amp: str | None = None, timeline: bool = False) -> PeakResult:
    """Peak bytes of live tensor storages during one eval-mode forward under torch.no_grad().

    Counted: the parameters, the buffers, the input, and every storage the forward makes while it
    is alive (the output included). The phase is always "forward".
    """
    model.eval()
    gc.collect()
    meter = _Meter()
    meter.timeline = [] if timeline else None
    cats = _register_start(meter, model, x)
    start = meter.total
    meter.recording = True
    with torch.no_grad(), _Tracker(meter):
        meter.enter("forward")
        with _module_stack(meter, model), _autocast(amp):
            out = model(x)
        del out
    meter.recording = False
    return _result(meter, cats, start, meter.total)


# -- a second method, at the allocator level ---------------------------------------------------


@dataclass
class AllocatorPeak:
    """The same step measured from torch.profiler's allocation events."""

    peak: int  # start + the highest running sum of allocations and frees
    start: int  # distinct storages alive at the start (parameters, buffers, gradients, state, input)
    end: int  # start + the net sum
    op: str  # the (up to 3) innermost profiled ops running when the peak allocation was made

    def as_dict(self) -> dict:
        return {"peak": self.peak, "start": self.start, "end": self.end, "op": self.op}


def _allocation_peak(run, start: int) -> AllocatorPeak:
    """Run run() under torch.profiler(profile_memory=True) and find the highest point of the CPU
    allocator's running sum (+bytes at each allocation, -bytes at each free, in time order)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        run()
    cpu = torch._C._autograd.DeviceType.CPU
    events = list(prof.profiler.kineto_results.events())
    mem = sorted(
        ((e.start_ns(), i, e.nbytes()) for i, e in enumerate(events) if e.name() == "[memory]" and e.device_type() == cpu),
    )
    running = best = 0
    at = None
    for t, _, n in mem:
        running += n
        if running > best:
            best, at = running, t
    op = ""
    if at is not None:  # the ops whose time range holds the peak allocation, outermost first
        inside = [e for e in events if e.name() != "[memory]" and e.start_ns() <= at <= e.end_ns()]
        inside.sort(key=lambda e: (e.start_ns(), -e.end_ns()))
        op = " > ".join(e.name() for e in inside[-3:])
    return AllocatorPeak(start + best, start, start + running, op)


def _distinct_bytes(tensors) -> int:
    seen = {}
    for t in tensors:
        s = t.untyped_storage()
        seen[s._cdata] = s.nbytes()
    return sum(seen.values())


def profiler_training_peak(
    model: torch.nn.Module,
    x,
    optimizer: str = "sgd",
    foreach: bool | None = None,
    amp: str | None = None,
    set_to_none: bool = True,
    steps: int = 2,
    lr: float = 1e-3,
) -> AllocatorPeak:
    """The same steady-state step as measure_training_peak, measured from torch.profiler's
    allocation events (profile_memory=True): the bytes alive at the start (parameters, buffers,
    gradients, optimizer state, input: distinct storages) plus the highest running sum of the CPU
    allocator's allocations and frees during the step. It sees what an op allocates and frees
    inside its kernel as well (and the 8-byte tensors C++ makes of Python scalars), so it can
    exceed measure_training_peak by those temporaries; it cannot say what the bytes are."""
    model.train()
    opt = make_optimizer(model.parameters(), optimizer, foreach, lr)
    opt.zero_grad(set_to_none=set_to_none)
    for _ in range(steps - 1):
        _plain_step(model, x, opt, amp, set_to_none)
    gc.collect()
    start_tensors = [*model.parameters(), *model.buffers(), *_tensors(x)]
    start_tensors += [p.grad for p in model.parameters() if p.grad is not None]
    start_tensors += [t for _, t in _state_tensors(opt)]
    return _allocation_peak(lambda: _plain_step(model, x, opt, amp, set_to_none), _distinct_bytes(start_tensors))


def profiler_inference_peak(model: torch.nn.Module, x, amp: str | None = None) -> AllocatorPeak:
    """One eval-mode no_grad forward, from the allocator's events (as profiler_training_peak)."""
    model.eval()
    gc.collect()

    def run():
        with torch.no_grad(), _autocast(amp):
            model(x)

    return _allocation_peak(run, _distinct_bytes([*model.parameters(), *model.buffers(), *_tensors(x)]))
