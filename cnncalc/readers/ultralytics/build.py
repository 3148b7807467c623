"""The builder the module writers use: a module call becomes an Instance (named as Ultralytics
names the attribute: cv1, m, 0), a torch op a Layer, written out by readers/emit.py as a spec.

Stage: reader (pure, torch-free). Each Ultralytics module is one function, in the file named
for where Ultralytics keeps it (nn_conv.py: Conv, DWConv, torch.nn's; nn_block.py: the C2f
family; nn_csp.py: YOLOv3/v5/v6/v9's; nn_attn.py: YOLOv10/11/12/26's; nn_head.py: the heads),
registered by `@module(...)` under the class name a model YAML writes. The function takes the
Net, the attribute name, its input node and the module's constructor arguments as parse_model
passes them (c1 first), adds its layers in the order its forward runs them, and returns its own
Instance (or Layer). Channel counts are Python ints worked out here;
shapes are left to the engine (a wrong channel count is a shape error there).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cnncalc.readers.emit import INPUT, Instance, Keys, Layer

Node = Any  # a Layer, an Instance (its output) or INPUT


TEXT_KEYS = ("mode", "call", "merge", "what", "inputs")  # op keys whose value is a word
CONV_DEFAULTS = {"stride": 1, "pad": 0, "dilation": 1, "groups": 1, "bias": True}


class Unsupported(Exception):
    """A module or argument this reader cannot write; the reader names the row it came from."""


@dataclass(frozen=True)
class Module:
    """How parse_model treats a YAML module name (`channels`) and the function that writes it.

    channels: "base" (c1 = ch[from], c2 = args[0] scaled by width; args become [c1, c2, *rest]),
    "repeat" (base, and the row's repeats are passed as n, the third argument), "head" (a Detect
    family head: args + [reg_max, end2end, [ch of each input]]), "concat", "same" (c2 = c1),
    or "custom" (`out(c1, args)` works c2 out)."""

    name: str
    write: Callable[..., Node]
    channels: str
    out: Callable[..., int] | None = None  # custom: (ch_in, args) -> c2


MODULES: dict[str, Module] = {}


def module(name: str, channels: str = "base", out: Callable[..., int] | None = None) -> Callable:
    """Register a writer for the YAML module `name` (its class name in Ultralytics)."""

    def wrap(fn: Callable[..., Node]) -> Callable[..., Node]:
        if name in MODULES:
            raise ValueError(f"Ultralytics module {name} registered twice")
        MODULES[name] = Module(name, fn, channels, out)
        return fn

    return wrap


class Net:
    """The tree being written: `with net.module(kind, name, x)` opens a module call, `net.op`
    adds a cnncalc op to the innermost one."""

    def __init__(self, root_kind: str, fused: bool = False, act: str = "silu", act_args: dict | None = None,
                 legacy: bool = True, end2end: bool = False, nms_free: bool = False) -> None:
        self.root = Instance(kind=root_kind, name="", src=INPUT)
        self.stack = [self.root]
        self.fused = fused  # after Ultralytics' fuse(): BN folded into convs, RepConv merged
        self.act = act  # the default activation (Conv.default_act): a cnncalc op type
        self.act_args = act_args or {}
        self.legacy = legacy  # Detect's legacy head (v3/v5/v8/v9 files)
        self.end2end = end2end
        self.nms_free = nms_free  # an end-to-end head answers with its one-to-one branch (nms=False)
        self.inference = False  # while True, ops are written `eval_only: true` (a head's decoding)
        # what a head returns besides its answer (Detect in eval returns (y, preds): its raw box and
        # class maps, which are the loss's inputs in training): the spec's other `outputs:`
        self.returns: list[Layer] = []
        self.count = 0  # layers written (the reader holds them to the `layers` limit)

    @property
    def here(self) -> Instance:
        return self.stack[-1]

    @contextmanager
    def module(self, kind: str, name: str, x: Node) -> Iterator[Instance]:
        """A module call: its layers are named under `name`; its output is its last item unless
        the body sets `inst.out`."""
        inst = Instance(kind=kind, name=str(name), src=x, parent=self.here)
        self.here.items.append(inst)
        self.stack.append(inst)
        try:
            yield inst
        finally:
            self.stack.pop()
        if inst.out is None:
            inst.out = inst.items[-1] if inst.items else x

    def op(self, op: str, name: str, x: Node | list[Node], args: dict[str, Any] | None = None, **kw: Any) -> Layer:
        """A cnncalc op `op` named `name` in the current module, reading x (a node or a list)."""
        inputs = list(x) if isinstance(x, list) else [x]
        args = args if args is not None else kw
        keys = args if isinstance(args, Keys) else Keys(args, {})
        for key, value in keys.items():  # (a module argument None where a number belongs: groups=None)
            if value is None or (isinstance(value, str) and key not in TEXT_KEYS):
                raise Unsupported(f"{op} {key}={value!r} is not a value it takes")
        if self.inference:
            keys["eval_only"] = True
        layer = Layer(op=op, args=keys, name=str(name), inputs=inputs, parent=self.here)
        self.count += 1
        self.here.items.append(layer)
        return layer

    def chain(self, name: str, x: Node, n: int, block: Callable[[str, Node], Node]) -> Instance:
        """An nn.Sequential `name` of n blocks in a row (`block(child name, input)` writes one: 0,
        1, ...), each reading the one before; its output is the last one's."""
        with self.module("Sequential", name, x) as seq:
            y = x
            for i in range(n):
                y = block(str(i), y)
            seq.out = y
        return seq

    @contextmanager
    def inference_only(self) -> Iterator[None]:
        """What a head runs only in eval mode (DFL, the decode, the probabilities, top-k): in
        training the head returns its raw maps to the loss instead."""
        self.inference = True
        try:
            yield
        finally:
            self.inference = False

    # -- the pieces every module uses ------------------------------------------------------

    def conv2d(self, name: str, x: Node, c2: int, k: Any = 1, s: Any = 1, p: Any = 0, g: int = 1, d: Any = 1,
               bias: bool = True) -> Layer:
        """An nn.Conv2d, every key given (emit leaves a key out where it is the default throughout)."""
        args = Keys({"out": c2, "kernel": _pair(k), "stride": _pair(s), "pad": _pair(p), "dilation": _pair(d),
                     "groups": g, "bias": bias}, CONV_DEFAULTS)
        return self.op("conv", name, x, args)

    def bn(self, name: str, x: Node) -> Layer:
        """An nn.BatchNorm2d (its eps, 1e-3 after Ultralytics' initialize_weights, counts nothing)."""
        return self.op("bn", name, x)

    def activation(self, name: str, x: Node, act: Any = True) -> Layer:
        """Conv's act: True is the default activation, False nn.Identity, a name that op."""
        if act is True:
            return self.op(self.act, name, x, **self.act_args)
        if act is False or act is None:
            return self.op("identity", name, x)
        return self.op(str(act), name, x)


def _pair(value: Any) -> Any:
    """An int, or a two-item list as the spec writes a pair ([3, 3] stays a list)."""
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value] if len(set(value)) > 1 else int(value[0])
    return value


def autopad(k: Any, p: Any = None, d: int = 1) -> Any:
    """Ultralytics' 'same' padding: k // 2 for the kernel as dilated (its autopad rule)."""
    if d > 1:
        k = d * (k - 1) + 1 if isinstance(k, int) else [d * (x - 1) + 1 for x in k]
    if p is None:
        p = k // 2 if isinstance(k, int) else [x // 2 for x in k]
    return p


def make_divisible(x: float, divisor: int) -> int:
    """Ultralytics' rounding of a scaled channel count: up to the next multiple of divisor."""
    return math.ceil(x / divisor) * divisor
