"""Convolution on 1-, 2- and 3-D maps: conv (groups, dilation, optional bias, PyTorch's
padding='same') and conv_transpose (deconv), their geometry from ops/geometry.py.

Stage: ops (pure). In: op spec + input Shape. Out: Shape and Cost.
torch is imported only inside to_torch(). Counting rules: docs/conventions.md#conv.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import prod
from typing import TYPE_CHECKING, Any

from cnncalc.errors import ShapeError, Span, SpecError
from cnncalc.ops.geometry import (
    LAYOUTS,
    MAPS,
    SPATIAL_RANKS,
    Axes,
    letters,
    merge_lines,
    resolved,
    spatial,
    spatial_lines,
    transposed_formula,
    transposed_spatial,
    window_out,
)
from cnncalc.ops.registry import (
    Cost,
    DocRow,
    OpDef,
    Saved,
    Shape,
    Window,
    arg,
    macs,
    n,
    numel,
    register,
    register_rank_alias,
    rules,
    two_per_mac,
)

if TYPE_CHECKING:
    from torch import nn

__all__ = ["Conv", "Conv2d", "ConvTranspose", "spatial", "window_out"]


_CONV_COUNTS = rules(
    torch=two_per_mac,  # torch/utils/flop_counter.py conv_flop_count: ... * c_out * c_in * 2, no bias
    # fvcore/nn/jit_handles.py conv_flop_count: batch * prod(w_shape) * prod(out_shape[2:]);
    # "Computation for addition and bias is ignored"
    fvcore=macs,
    # ptflops/pytorch_ops.py conv_flops_counter_hook: prod(kernel) * in_c * out_c // groups per
    # output position, + batch * numel(output) when the conv has a bias; its hooks are keyed by
    # exact module type, so a subclass (torchvision's Conv3DSimple) counts nothing
    ptflops=lambda f: 0 if _subclass(f) else f.cost.macs + (f.out_elems if f.cost.biases else 0),
    # torchinfo/layer_info.py calculate_macs: each parameter (weight, bias) x
    # prod(output_size[:1] + output_size[2:]) when "Conv" is in the class name
    torchinfo=lambda f: f.params * numel(f.y[1:]),
    # thop/vision/calc_func.py calculate_conv2d_flops: prod(output) * (in_c // g) * prod(kernel);
    # register_hooks is keyed by exact module type too
    thop=lambda f: 0 if _subclass(f) else f.cost.macs,
)


def _subclass(f: Any) -> bool:
    """The model's conv is its own subclass of nn.ConvNd (call: subclass)."""
    return getattr(f.op, "call", "module") == "subclass"


# torch's conv modules' names, and the subclass torchvision's video ResNets build (Conv3DSimple, ...)
_SUBCLASS_DOC = ("module: torch's nn.Conv1d/2d/3d; subclass: the model's own subclass of it (torchvision's "
                 "Conv3DSimple, Conv3DNoTemporal), which ptflops and thop do not hook")


class _Window(OpDef):
    """What conv and conv_transpose share: the window keys, resolved per spatial axis."""

    ranks, layout = SPATIAL_RANKS, MAPS

    def axes(self, key: str, x: Shape, span: Span | None = None) -> Axes:
        """A window key (kernel, stride, pad, dilation, ...) with one value per spatial axis of x."""
        return resolved(self, key, getattr(self, key), len(x) - 1, span)


@register("conv")
class Conv(_Window):
    """Convolution over a C x L, C x H x W or C x T x H x W map (torch's Conv1d, Conv2d, Conv3d).

    per axis: out = (in + 2*pad - dilation*(kernel-1) - 1) // stride + 1   (floor, as torch)
    pad: same (torch's padding='same', stride 1 only): dilation*(kernel-1) zeros per axis,
              half before, the odd one after (torch's rule for even kernels), so out = in
    pad: valid (torch's padding='valid') = pad 0
    params  = out * (in_c // groups) * prod(kernel)   (+ out with bias)
    macs    = out * prod(out sizes) * (in_c // groups) * prod(kernel)
    """
    doc_row = DocRow(
        "conv",
        "`out`, `kernel`, `stride` (1), `pad` (0; or `same`, `valid`), `dilation` (1), `groups` (1), `bias` (true), "
        "`call` (module; subclass: the model's own nn.Conv subclass, which ptflops and thop do not hook)",
        "`out × H' × W'`",
        "`out·(C/groups)·kh·kw (+out)`",
        "`out·H'·W'·(C/groups)·kh·kw`")

    category = "conv"
    out: int = arg("int+", doc="output channels (the lecture's 'filters')")
    kernel: Any = arg("axes+", doc="kernel size: k for every axis, or one per axis ([kh, kw]; [kt, kh, kw])")
    stride: Any = arg("axes+", 1)
    # an int or one per axis, or "same"; "valid" is read as 0
    pad: Any = arg("padding", 0, doc="zero padding on each side, p or one per axis; same or valid as in torch")
    dilation: Any = arg("axes+", 1)
    groups: int = arg("int+", 1, doc="channel groups; groups == in channels is depthwise")
    bias: bool = arg("bool", True)
    call: str = arg("in:module,subclass", "module", doc=_SUBCLASS_DOC)
    weight_layer = True
    autocast = "low"
    counts = _CONV_COUNTS
    samples = ({"out": 8, "kernel": 3, "pad": 1},
               {"out": 6, "kernel": 5, "stride": 2, "groups": 3},
               {"out": 4, "kernel": [1, 3], "pad": [0, 1], "dilation": 2, "bias": False},
               {"out": 4, "kernel": 4, "pad": "same"},  # even kernel: 1 zero before, 2 after
               {"out": 6, "kernel": [3, 2], "pad": "same", "dilation": [2, 3], "groups": 3},
               {"out": 4, "kernel": 3, "stride": 2, "pad": "valid"},
               ({"out": 5, "kernel": 3, "stride": 2, "pad": 1}, [(6, 17)]),  # 1-D
               ({"out": 4, "kernel": [3, 7, 7], "stride": [1, 2, 2], "pad": [1, 3, 3]}, [(3, 4, 12, 12)]),  # 3-D
               ({"out": 6, "kernel": [3, 1, 1], "groups": 2, "pad": "same"}, [(4, 5, 6, 6)]),
               ({"out": 4, "kernel": [1, 3, 3], "pad": [0, 1, 1], "call": "subclass"}, [(3, 2, 5, 5)]))

    def pads(self, x: Shape) -> tuple[Axes, Axes]:
        """The zeros added before (top, left, ...) and after (bottom, right, ...) the input.

        pad: same is torch's rule (aten _convolution_mode, _ConvNd's _reversed_padding_repeated_twice):
        total = dilation*(kernel-1) per axis, total // 2 before and the rest after."""
        if self.pad == "same":
            total = [d * (k - 1) for k, d in zip(self.axes("kernel", x), self.axes("dilation", x))]
            return tuple(t // 2 for t in total), tuple(t - t // 2 for t in total)
        pad = self.axes("pad", x)
        return pad, pad

    def validate(self, spans: Mapping[str, Span], span: Span | None) -> None:
        """pad: same needs stride 1, as in torch ("padding='same' is not supported for strided
        convolutions")."""
        stride = self.stride if isinstance(self.stride, tuple) else (self.stride,)
        if self.pad == "same" and any(st != 1 for st in stride):
            kernel = self.kernel if isinstance(self.kernel, tuple) else (self.kernel,)
            dilation = self.dilation if isinstance(self.dilation, tuple) else (self.dilation,) * len(kernel)
            total = [d * (k - 1) for k, d in zip(kernel, dilation * len(kernel) if len(dilation) == 1 else dilation)]
            if any(t % 2 for t in total):
                hint = "use stride: 1, or write the padding out (pad: p, or one per axis)"
            else:
                halves = sorted({t // 2 for t in total})
                p = f"{halves[0]}" if len(halves) == 1 else f"[{', '.join(str(t // 2) for t in total)}]"
                hint = (f"use stride: 1, or write the padding out: pad: {p} gives ceil(H / stride) x "
                        f"ceil(W / stride) (TensorFlow's 'SAME')")
            raise SpecError(spans.get("pad") or span, "conv: pad: same needs stride 1 (PyTorch's padding='same')",
                            hint)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        (x,) = xs
        if x[0] % self.groups or self.out % self.groups:
            raise ShapeError(span, f"{self.type}: groups={self.groups} must divide both the input "
                             f"channels ({x[0]}) and out ({self.out})")
        # the output's sizes follow from the input's alone (not its channels): kept on the op, which
        # is immutable and shared (DenseNet's 1x1 conv on 98 inputs of growing channels, one map size)
        sizes = self.__dict__.get("_sizes")
        if sizes is None:
            sizes = {}
            object.__setattr__(self, "_sizes", sizes)
        known = sizes.get(x[1:])
        if known is None:
            if len(sizes) >= 256:  # (a sweep over thousands of input sizes keeps none of them for long)
                sizes.clear()
            known = sizes[x[1:]] = self._sizes_of(x, span)
        return (self.out, *known)

    def _sizes_of(self, x: Shape, span: Span | None) -> tuple[int, ...]:
        kernel, stride, dilation = (self.axes(k, x, span) for k in ("kernel", "stride", "dilation"))
        if self.pad == "same":  # stride 1 (validate): out = in + total - dilation*(kernel-1) = in
            before, after = self.pads(x)
            return tuple((size + b + a - d * (k - 1) - 1) // st + 1 for size, b, a, k, st, d
                         in zip(x[1:], before, after, kernel, stride, dilation))
        self.axes("pad", x, span)
        return spatial(self.type, x, kernel, stride, self.pads(x)[0], dilation, False, span)

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Its input (for the weight gradient; the weight itself is a parameter). With pad: same
        and an odd number of zeros on an axis, torch first pads a copy by the extra zero on that
        axis (then pads the rest symmetrically) and saves the copy instead."""
        if self.pad == "same":
            x = xs[0]
            extra = [d * (k - 1) % 2 for d, k in zip(self.axes("dilation", x), self.axes("kernel", x), strict=True)]
            if any(extra):
                return (Saved("new", x[0] * prod(size + e for size, e in zip(x[1:], extra))),)
        return (Saved("x0"),)

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        per_out = (xs[0][0] // self.groups) * prod(self.axes("kernel", xs[0]))
        return Cost(weights=self.out * per_out, biases=self.out if self.bias else 0, macs=numel(y) * per_out)

    def columns(self, xs: list[Shape]) -> dict:
        x = xs[0]
        return {"filters": self.out, "kernel": self.axes("kernel", x), "stride": self.axes("stride", x),
                "pad": self.pad if self.pad == "same" else self.axes("pad", x)}

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        x = xs[0]
        c_in, c_out, g = x[0], y[0], self.groups
        kernel = self.axes("kernel", x)
        names = letters(len(kernel))
        per_in = f"({c_in}/{g})" if g > 1 else f"{c_in}"
        k_text = " * ".join(map(str, kernel))
        k_word = " x ".join("K" for _ in kernel)
        k_mul = " * ".join("K" for _ in kernel)
        per_out = (c_in // g) * prod(kernel)
        weights = c_out * per_out
        lines = [f"Output channels = number of filters = {c_out}",
                 *(_same_lines(x, y, kernel, self.axes("dilation", x)) if self.pad == "same" else
                   spatial_lines(x, y, kernel, self.axes("stride", x), self.pads(x)[0], self.axes("dilation", x),
                                 False))]
        if g > 1:
            lines.append(f"Groups: each filter sees C_in / groups = {c_in} / {g} = {c_in // g} channels"
                         + (" (depthwise: groups = channels)" if g == c_in else ""))
        shape = (f"C_out x {'C_in/groups' if g > 1 else 'C_in'} x {k_word} = {c_out} x {c_in // g} x "
                 f"{' x '.join(map(str, kernel))}")
        if self.bias:
            lines.append(f"Params: weight shape = {shape}; bias shape = C_out = {c_out}; "
                         f"number of params = {c_out} * {per_in} * {k_text} + {c_out} = {n(weights + c_out)}")
        else:
            lines.append(f"Params: weight shape = {shape}, no bias; number of params = {c_out} * {per_in} * {k_text} = {n(weights)}")
        outs = numel(y)
        out_letters = " * ".join(f"{a}'" for a in names)
        lines.append(f"Flop (multiply-adds) = (number of output elements) * (ops per output element) = "
                     f"(C_out * {out_letters}) * ({'C_in/groups' if g > 1 else 'C_in'} * {k_mul}) = "
                     f"({' * '.join(map(str, y))}) * ({per_in} * {k_text}) = {n(outs)} * {n(per_out)} = {n(outs * per_out)}")
        return lines

    def rf_window(self, xs: list[Shape]) -> Window | None:
        """The conv's own window: kernel, stride, the top/left pad and dilation, per axis."""
        x = xs[0]
        return self.axes("kernel", x), self.axes("stride", x), self.pads(x)[0], self.axes("dilation", x)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        x = xs[0]
        cls: Any = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[len(x) - 2]
        if self.call == "subclass":
            from cnncalc.torchcheck.modules import conv_subclass

            cls = conv_subclass(cls)
        pad = self.pad if self.pad == "same" else self.axes("pad", x)
        return cls(x[0], self.out, self.axes("kernel", x), self.axes("stride", x), pad,
                   dilation=self.axes("dilation", x), groups=self.groups, bias=self.bias)


Conv2d = Conv  # the name the 2-D op had
for _rank, _name in ((2, "conv1d"), (3, "conv2d"), (4, "conv3d")):
    register_rank_alias(_name, Conv, _rank, LAYOUTS[_rank])


def _same_lines(x: Shape, y: Shape, kernel: Axes, dilation: Axes) -> list[str]:
    """Output-size lines of a conv with pad: same: the zeros torch adds, then H' = H and W' = W
    (one pair of lines for the axes that are alike)."""
    names = letters(len(kernel))
    per_axis_lines: list[list[str]] = []
    for letter, size, out, k, d in zip(names, x[1:], y[1:], kernel, dilation):
        total = d * (k - 1)
        k_text = f"{d}*({k}-1)" if d > 1 else f"{k}-1"
        split = (f"{total // 2} on each side" if total % 2 == 0 else
                 f"{total // 2} before and {total - total // 2} after (torch puts the odd one after)")
        per_axis_lines.append([f"Pad same (PyTorch's padding='same', stride 1): D*(K-1) = {k_text} = {total} zeros "
                               f"along {letter}, {split}",
                               f"{letter}' = ({letter} + P_total - D*(K-1) - 1) / S + 1 = ({size} + {total} - {total} - 1) "
                               f"/ 1 + 1 = {out} = {letter}"])
    if len(names) == 2:
        h, w = per_axis_lines
        if [line.replace("H", "W") for line in h] == w:
            return [w[0].replace("along W", "along H and W"), w[1].replace("W' = ", "H' = W' = ", 1)]
    return [line for lines in per_axis_lines for line in lines]


def _thop_transposed(f: Any) -> int:
    """thop's transposed rule: prod(output) * (in_c // groups) * prod(kernel)."""
    op = f.op
    return numel(f.y) * (f.xs[0][0] // op.groups) * prod(op.axes("kernel", f.xs[0]))


@register("conv_transpose", "deconv")
class ConvTranspose(_Window):
    """Transposed convolution (torch's ConvTranspose1d/2d/3d; "deconvolution"): each input
    position scatters a kernel-sized window of out channels into the output.

    per axis: out = (in - 1)*stride - 2*pad + dilation*(kernel - 1) + output_pad + 1
    params = in_c * (out // groups) * prod(kernel)   (+ out with bias)
    macs   = in_c * prod(in sizes) * (out // groups) * prod(kernel): every input element times
             its kernel, once (the work of the conv whose gradient this is)
    """
    doc_row = DocRow("conv", "`out`, `kernel`, `stride` (1), `pad` (0), `output_pad` (0), `dilation` (1), `groups` (1), `bias` (true)",
        "`out × H' × W'` (transposed rule)", "`C·(out/groups)·kh·kw (+out)`",
        "`C·H·W·(out/groups)·kh·kw` (each input element times its kernel)")

    category = "conv"
    out: int = arg("int+", doc="output channels")
    kernel: Any = arg("axes+", doc="kernel size: k, or one per axis")
    stride: Any = arg("axes+", 1)
    pad: Any = arg("axes0", 0, doc="the conv's padding this transposes: dilation*(kernel-1) - pad zeros are "
                                   "added around the input (torch's padding)")
    output_pad: Any = arg("axes0", 0, doc="extra size on the far side of each axis (torch's output_padding), "
                                          "less than the stride or the dilation")
    dilation: Any = arg("axes+", 1)
    groups: int = arg("int+", 1)
    bias: bool = arg("bool", True)
    weight_layer = True
    autocast = "low"
    counts = rules(
        torch=two_per_mac,  # flop_counter conv_flop_count(transposed=True): the input's positions x weight
        fvcore=macs,  # jit_handles conv_flop_count(transposed): prod(w_shape) * prod(x_shape[2:]) * batch
        # ptflops conv_flops_counter_hook: prod(kernel) * in_c * out_c // groups per *input* position
        # (the hook reads input.shape[2:]), + numel(output) with a bias
        ptflops=lambda f: f.cost.macs + (f.out_elems if f.cost.biases else 0),
        # torchinfo calculate_macs: each parameter x prod(output_size[:1] + output_size[2:]): the
        # output positions, as for a conv
        torchinfo=lambda f: f.params * numel(f.y[1:]),
        # thop calculate_conv2d_flops(input_size=x, output_size=y, transposed=True): prod(y) *
        # (in_c // groups) * prod(kernel): by output positions
        thop=_thop_transposed,
    ) | {"ultralytics": lambda f: f.cost.macs}  # ultralytics-thop count_convtNd: the input's positions x weight
    samples = ({"out": 4, "kernel": 4, "stride": 2, "pad": 1},
               {"out": 6, "kernel": 3, "stride": 2, "pad": 1, "output_pad": 1, "groups": 3},
               {"out": 2, "kernel": [2, 3], "dilation": [1, 2], "bias": False},
               ({"out": 3, "kernel": 4, "stride": 2, "pad": 1}, [(6, 9)]),  # 1-D
               ({"out": 2, "kernel": [2, 2, 2], "stride": 2}, [(4, 3, 4, 5)]))  # 3-D

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        (x,) = xs
        if x[0] % self.groups or self.out % self.groups:
            raise ShapeError(span, f"{self.type}: groups={self.groups} must divide both the input "
                             f"channels ({x[0]}) and out ({self.out})")
        kernel, stride, pad, op, dilation = (self.axes(k, x, span) for k in
                                             ("kernel", "stride", "pad", "output_pad", "dilation"))
        return (self.out, *transposed_spatial(self.type, x, kernel, stride, pad, op, dilation, span))

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Its input (for the weight gradient)."""
        return (Saved("x0"),)

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        x = xs[0]
        per_in = (self.out // self.groups) * prod(self.axes("kernel", x))
        return Cost(weights=x[0] * per_in, biases=self.out if self.bias else 0, macs=numel(x) * per_in)

    def columns(self, xs: list[Shape]) -> dict:
        x = xs[0]
        return {"filters": self.out, "kernel": self.axes("kernel", x), "stride": self.axes("stride", x),
                "pad": self.axes("pad", x)}

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        x = xs[0]
        kernel, stride, pad, op, dilation = (self.axes(k, x) for k in ("kernel", "stride", "pad", "output_pad",
                                                                         "dilation"))
        names = letters(len(kernel))
        lines = [f"Output channels = {y[0]} (out)"]
        lines += merge_lines([transposed_formula(x[i + 1], kernel[i], stride[i], pad[i], dilation[i], op[i],
                                                 y[i + 1], names[i]) for i in range(len(names))], names)
        g = self.groups
        per_in = (self.out // g) * prod(kernel)
        k_text = " * ".join(map(str, kernel))
        out_per = f"({self.out}/{g})" if g > 1 else f"{self.out}"
        params = f"{x[0]} * {out_per} * {k_text}" + (f" + {self.out}" if self.bias else "")
        lines.append(f"Params: weight shape = C_in x {'C_out/groups' if g > 1 else 'C_out'} x "
                     f"{' x '.join('K' for _ in kernel)} = {x[0]} x {self.out // g} x {' x '.join(map(str, kernel))}"
                     f"{'; bias shape = C_out = ' + str(self.out) if self.bias else ', no bias'}; number of params = "
                     f"{params} = {n(x[0] * per_in + (self.out if self.bias else 0))}")
        lines.append(f"Flop (multiply-adds) = (number of input elements) * (ops per input element) = "
                     f"(C_in * {' * '.join(names)}) * ({'C_out/groups' if g > 1 else 'C_out'} * "
                     f"{' * '.join('K' for _ in kernel)}) = ({' * '.join(map(str, x))}) * ({out_per} * {k_text}) = "
                     f"{n(numel(x))} * {n(per_in)} = {n(numel(x) * per_in)}")
        return lines

    def rf_through(self, field: Any, xs: list[Shape]) -> Any:
        """Transposed: an output position gathers at most (k_eff - 1) // stride + 1 input
        positions, and output positions are 1/stride of an input position apart (exact
        fractions: rf.through_transposed)."""
        from cnncalc.rf import through_transposed

        x = xs[0]
        return through_transposed(field, (self.axes("kernel", x), self.axes("stride", x), self.axes("pad", x),
                                          self.axes("dilation", x)))

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        x = xs[0]
        cls: Any = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)[len(x) - 2]
        return cls(x[0], self.out, self.axes("kernel", x), self.axes("stride", x), self.axes("pad", x),
                   output_padding=self.axes("output_pad", x), groups=self.groups, bias=self.bias,
                   dilation=self.axes("dilation", x))
