"""Elementwise layers that keep the shape: activations, dropout, softmax, identity.

Stage: ops (pure). In: op spec + input Shape of any rank. Out: Shape and Cost.
torch is imported only inside to_torch(). Counting rules: docs/conventions.md#elementwise:
no params, nothing in the lecture's flop column, elem_ops = 1 per element (softmax 3).
They are folded into the row above in the table. Those torch can run in place (relu family,
dropout, identity) add no activation memory. `call: function` says the model calls it as
F.relu rather than nn.ReLU, which changes what ptflops and thop count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cnncalc.errors import ShapeError, Span
from cnncalc.ops.registry import (
    CALL_DOC,
    Cost,
    DocRow,
    Layer,
    OpDef,
    Rule,
    Saved,
    Shape,
    arg,
    axis_index,
    by_call,
    numel,
    register,
    rules,
    zero,
)

if TYPE_CHECKING:
    from torch import nn


def _out(f: Layer) -> int:
    return f.out_elems


def _twice_out(f: Layer) -> int:
    return 2 * f.out_elems


class _Elementwise(OpDef):
    """Family base: y = f(x) elementwise, any rank. No tool but ptflops (and thop for softmax)
    counts an activation; ptflops' rules are per op, below."""
    doc_row = DocRow("any", "`call` (module; function; method: relu, sigmoid and tanh, as torch.relu(x))", "same", "0",
                     "0 (1 op/element)")

    fold = True
    ops_per_element = 1
    torch_name = ""  # the nn module
    function = ""  # the torch.nn.functional name, for `call: function`
    method = ""  # the torch / Tensor method (torch.relu, x.sigmoid()), for `call: method`; "": none
    call: str = arg("in:module,function,method", "module", doc=CALL_DOC)
    keeps: ClassVar[str] = "y"  # what its backward reads: "y" its output, "x" its input, "" nothing
    counts = rules()  # lecture: macs (none), every tool: 0
    samples: ClassVar[tuple[dict[str, Any], ...]] = ({},)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        if self.call == "method" and not self.method:
            raise ShapeError(span, f"{self.type}: torch has no tensor method for it: call is module or function")
        return xs[0]

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost(elem_ops=self.ops_per_element * numel(y))

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Its output (relu, sigmoid, tanh, softmax), or its input (gelu, silu, hardswish, relu6):
        an in-place op overwrites its input, so autograd keeps a copy of it (a new tensor)."""
        if self.keeps == "y":
            return (Saved("y"),)
        if self.keeps == "x":
            return (Saved("new", numel(xs[0])),) if self.inplace else (Saved("x0"),)
        return ()

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        if self.call == "function" and self.function:
            from cnncalc.torchcheck.modules import Functional

            return Functional(self.function, **({"inplace": True} if self.inplace else {}))
        if self.call == "method":
            from cnncalc.torchcheck.modules import Method

            return Method(self.method)
        module = getattr(nn, self.torch_name)
        return module(inplace=True) if self.inplace else module()


def _simple(name: str, torch_name: str, function: str, inplace: bool, keeps: str, ptflops: Rule = zero,
            *aliases: str, method: str = "") -> type:
    extra: dict[str, Any] = {"method": method, "samples": ({}, {"call": "method"})} if method else {}
    cls = type(torch_name, (_Elementwise,), {
        "__doc__": f"{torch_name}: y = f(x) elementwise. elem_ops = 1 per element.",
        "__module__": __name__, "torch_name": torch_name, "function": function, "inplace": inplace, "keeps": keeps,
        "counts": {"ptflops": ptflops}, **extra})
    return register(name, *aliases)(cls)


# ptflops: MODULES_MAPPING hooks nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU
# (relu_flops_counter_hook: numel(output)), and its patched torch.nn.functional
# (FUNCTIONAL_MAPPING: F.relu, F.prelu, F.elu, F.relu6, F.gelu, F.silu, F.softmax, ...;
# _numel_functional_flops_hook: numel(input)) counts a function call, including the one a
# module's forward makes: nn.ReLU -> F.relu is counted twice, nn.ReLU6 -> F.hardtanh once.
ReLU = _simple("relu", "ReLU", "relu", True, "y", by_call(_twice_out, _out), method="relu")  # torch.relu: no hook
ReLU6 = _simple("relu6", "ReLU6", "relu6", True, "x", by_call(_out, _out))
Sigmoid = _simple("sigmoid", "Sigmoid", "sigmoid", False, "y", method="sigmoid")
Tanh = _simple("tanh", "Tanh", "tanh", False, "y", method="tanh")
GELU = _simple("gelu", "GELU", "gelu", False, "x", by_call(_twice_out, _out))
SiLU = _simple("silu", "SiLU", "silu", True, "x", _out, "swish")  # nn.SiLU has no hook; F.silu is patched
Hardswish = _simple("hardswish", "Hardswish", "hardswish", True, "x")
Hardsigmoid = _simple("hardsigmoid", "Hardsigmoid", "hardsigmoid", True, "x")
Identity = _simple("identity", "Identity", "", True, "")


@register("elementwise")
class Elementwise(_Elementwise):
    """Arithmetic on each element with no weights: a function (erf, sqrt, exp) or a constant
    operand (x * 0.5, x + 1, clip), as an imported graph holds them (an ONNX Erf, a Mul by a
    constant). Same shape; no params, no MACs; 1 op per element; what it keeps for backward
    depends on the function, and is not declared (its twin keeps nothing)."""
    doc_row = DocRow("any", "`fn` (what it computes, for the reports: erf, sqrt, mul, ...), `call` (function)",
                     "same", "0", "0 (1 op/element)")

    fn: str = arg("text", doc="the function or the constant arithmetic it stands for")
    call: str = arg("in:module,function,method", "function", doc=CALL_DOC)
    keeps: ClassVar[str] = ""
    inplace = False
    samples: ClassVar[tuple[dict[str, Any], ...]] = ({"fn": "erf"},)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.Identity()  # the same shape and no work any tool counts


@register("leaky_relu")
class LeakyReLU(_Elementwise):
    """LeakyReLU: y = x if x > 0 else slope*x. elem_ops = 1 per element."""
    doc_row = DocRow("any", "`slope` (0.01), `call` (module)", "same", "0", "0 (1 op/element)")

    slope: float = arg("float", 0.01)
    inplace = True
    function = "leaky_relu"
    counts = {"ptflops": by_call(_out, zero)}  # module hook only: F.leaky_relu is not patched
    samples = ({"slope": 0.2},)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        if self.call == "function":
            from cnncalc.torchcheck.modules import Functional

            return Functional("leaky_relu", negative_slope=self.slope, inplace=True)
        return nn.LeakyReLU(self.slope, inplace=True)


@register("dropout")
class Dropout(_Elementwise):
    """Dropout: identity at inference (the lecture counts nothing). elem_ops = 0."""
    doc_row = DocRow("any", "`p` (0.5), `call` (module)", "same")

    p: float = arg("prob", 0.5)
    inplace = True
    ops_per_element = 0
    function = "dropout"
    samples = ({"p": 0.5},)

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Training: the mask it multiplied by (nn.Dropout); F.dropout(training=False) and p = 0
        keep nothing."""
        return () if self.shares_storage() else (Saved("new", numel(xs[0]), "mask"),)

    def shares_storage(self) -> bool:
        """nn.Dropout in training writes a new tensor; F.dropout(training=False) and p = 0 return
        the input itself."""
        return self.call == "function" or self.p == 0

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        if self.call == "function":
            from cnncalc.torchcheck.modules import Functional

            return Functional("dropout", p=self.p, training=False)
        return nn.Dropout(self.p)


def _thop_softmax(f: Layer) -> int:
    """thop count_softmax over its dim: for each of numel/n rows, n exps, n - 1 adds and n divides."""
    n = f.xs[0][axis_index(f.op.axis, len(f.xs[0]), "softmax", None)]  # type: ignore[attr-defined]
    return f.in_elems // n * (3 * n - 1)


@register("softmax")
class Softmax(_Elementwise):
    """Softmax over one axis (default 0: the channels of C x H x W, the features of a flat
    input; -1 for attention scores): exp, sum, divide = elem_ops 3 per element."""
    doc_row = DocRow("any", "`axis` (0), `call` (module)", "same", "0", "0 (3 ops/element)")

    axis: int = arg("int", 0, doc="the axis it normalises over (batch excluded; -1 is the last)")
    ops_per_element = 3
    function = "softmax"
    # nn.Softmax has no ptflops module hook; its F.softmax call is patched: numel once
    autocast_cuda = "float32"  # softmax is on CUDA's float32 list, not the CPU's
    counts = {"ptflops": _out, "thop": by_call(_thop_softmax, zero)}
    samples = ({}, {"axis": -1})

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        axis_index(self.axis, len(xs[0]), "softmax", span)
        return xs[0]

    def dim(self, x: Shape) -> int:
        """torch's dim, the batch axis included."""
        return axis_index(self.axis, len(x), "softmax", None) + 1

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        if self.call == "function":
            from cnncalc.torchcheck.modules import Functional

            return Functional("softmax", dim=self.dim(xs[0]))
        return nn.Softmax(dim=self.dim(xs[0]))


@register("log_softmax")
class LogSoftmax(Softmax):
    """log(softmax) over one axis, computed as torch does (x - max - log(sum(exp))): a
    classifier's log-probabilities (nll_loss's input); elem_ops 3 per element."""
    doc_row = DocRow("any", "`axis` (0), `call` (module)", "same", "0", "0 (3 ops/element)")

    function = "log_softmax"
    counts = {"ptflops": zero, "thop": zero}  # neither hooks nn.LogSoftmax nor patches F.log_softmax (measured)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        if self.call == "function":
            from cnncalc.torchcheck.modules import Functional

            return Functional("log_softmax", dim=self.dim(xs[0]))
        return nn.LogSoftmax(dim=self.dim(xs[0]))
