"""Convolution: conv (2-D, with groups, dilation, optional bias, and PyTorch's padding='same').

Stage: ops (pure). In: op spec + input Shape. Out: Shape and Cost.
torch is imported only inside to_torch(). Counting rules: docs/conventions.md#conv.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from cnncalc.errors import ShapeError, Span, SpecError
from cnncalc.ops.registry import (
    Cost,
    OpDef,
    Pair,
    Saved,
    Shape,
    arg,
    macs,
    n,
    numel,
    register,
    rules,
    spatial_lines,
    two_per_mac,
)

if TYPE_CHECKING:
    from torch import nn


def window_out(size: int, kernel: int, stride: int, pad: int, dilation: int = 1,
               ceil_mode: bool = False) -> int:
    """Output length of a sliding window along one axis, exactly as PyTorch computes it.

    floor: out = (size + 2*pad - dilation*(kernel-1) - 1) // stride + 1
    ceil_mode (Caffe's rule): the same with ceiling division, minus one when the last window
    would start in the right padding. May return <= 0; callers turn that into a ShapeError.
    """
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + pad:
        out -= 1
    return out


def spatial(layer: str, x: Shape, kernel: Pair, stride: Pair, pad: Pair, dilation: Pair,
            ceil_mode: bool, span: Span | None, whole_kernel: bool = True) -> tuple[int, int]:
    """(out_h, out_w) of a window op on a c x h x w input, or a ShapeError that says why not.

    whole_kernel: the kernel must fit in the padded input (torch checks this for conv; a pool
    only needs an output of at least 1, which ceil_mode can give from a partial window)."""
    outs = []
    for axis, size, k, s, p, d in zip("hw", x[1:], kernel, stride, pad, dilation):
        reach = d * (k - 1) + 1
        if whole_kernel and size + 2 * p < reach:
            raise ShapeError(span, f"{layer}: kernel {reach} is larger than the padded input "
                             f"{size}+2*{p}={size + 2 * p} along {axis}")
        out = window_out(size, k, s, p, d, ceil_mode)
        if out < 1:
            raise ShapeError(span, f"{layer}: output {axis} would be {out} (input {size}, kernel {reach}, "
                             f"stride {s}, pad {p})", "the input is too small for this layer")
        outs.append(out)
    return outs[0], outs[1]


@register("conv", "conv2d")
class Conv2d(OpDef):
    """2-D convolution over (c, h, w).

    per axis: out_h = (in_h + 2*pad - dilation*(kernel-1) - 1) // stride + 1   (floor, as torch)
    pad: same (torch's padding='same', stride 1 only): dilation*(kernel-1) zeros per axis,
              half before, the odd one after (torch's rule for even kernels), so out_h = in_h
    pad: valid (torch's padding='valid') = pad 0
    params  = out * (in_c // groups) * kh * kw   (+ out with bias)
    macs    = out * out_h * out_w * (in_c // groups) * kh * kw
    """

    category = "conv"
    out: int = arg("int+", doc="output channels (the lecture's 'filters')")
    kernel: Pair = arg("pair+", doc="kernel size, k or [kh, kw]")
    stride: Pair = arg("pair+", (1, 1))
    # (ph, pw), or "same"; "valid" is read as (0, 0)
    pad: Pair | str = arg("padding", (0, 0), doc="zero padding on each side, p or [ph, pw]; same or valid as in torch")
    dilation: Pair = arg("pair+", (1, 1))
    groups: int = arg("int+", 1, doc="channel groups; groups == in channels is depthwise")
    bias: bool = arg("bool", True)
    ranks, layout = (3,), "a C x H x W feature map"
    weight_layer = True
    autocast = "low"
    counts = rules(
        torch=two_per_mac,  # torch/utils/flop_counter.py conv_flop_count: ... * c_out * c_in * 2, no bias
        # fvcore/nn/jit_handles.py conv_flop_count: batch * prod(w_shape) * prod(out_shape[2:]);
        # "Computation for addition and bias is ignored"
        fvcore=macs,
        # ptflops/pytorch_ops.py conv_flops_counter_hook: prod(kernel) * in_c * out_c // groups per
        # output position, + batch * numel(output) when the conv has a bias
        ptflops=lambda f: f.cost.macs + (f.out_elems if f.cost.biases else 0),
        # torchinfo/layer_info.py calculate_macs: each parameter (weight, bias) x
        # prod(output_size[:1] + output_size[2:]) when "Conv" is in the class name
        torchinfo=lambda f: f.params * numel(f.y[1:]),
        thop=macs,  # thop/vision/calc_func.py calculate_conv2d_flops: prod(output) * (in_c // g) * kh * kw
    )
    samples = ({"out": 8, "kernel": 3, "pad": 1},
               {"out": 6, "kernel": 5, "stride": 2, "groups": 3},
               {"out": 4, "kernel": [1, 3], "pad": [0, 1], "dilation": 2, "bias": False},
               {"out": 4, "kernel": 4, "pad": "same"},  # even kernel: 1 zero before, 2 after
               {"out": 6, "kernel": [3, 2], "pad": "same", "dilation": [2, 3], "groups": 3},
               {"out": 4, "kernel": 3, "stride": 2, "pad": "valid"})

    def pads(self) -> tuple[Pair, Pair]:
        """The zeros added before (top, left) and after (bottom, right) the input.

        pad: same is torch's rule (aten _convolution_mode, Conv2d's _reversed_padding_repeated_twice):
        total = dilation*(kernel-1) per axis, total // 2 before and the rest after."""
        if self.pad == "same":
            total = [d * (k - 1) for k, d in zip(self.kernel, self.dilation)]
            return (total[0] // 2, total[1] // 2), (total[0] - total[0] // 2, total[1] - total[1] // 2)
        assert not isinstance(self.pad, str)  # "valid" was read as (0, 0)
        return self.pad, self.pad

    def validate(self, spans: Mapping[str, Span], span: Span | None) -> None:
        """pad: same needs stride 1, as in torch ("padding='same' is not supported for strided
        convolutions")."""
        if self.pad == "same" and self.stride != (1, 1):
            total = [d * (k - 1) for k, d in zip(self.kernel, self.dilation)]
            if total[0] % 2 or total[1] % 2:
                hint = "use stride: 1, or write the padding out (pad: p or [ph, pw])"
            else:
                p = f"{total[0] // 2}" if total[0] == total[1] else f"[{total[0] // 2}, {total[1] // 2}]"
                hint = (f"use stride: 1, or write the padding out: pad: {p} gives ceil(H / stride) x "
                        f"ceil(W / stride) (TensorFlow's 'SAME')")
            raise SpecError(spans.get("pad") or span, "conv: pad: same needs stride 1 (PyTorch's padding='same')",
                            hint)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        (x,) = xs
        if x[0] % self.groups or self.out % self.groups:
            raise ShapeError(span, f"conv: groups={self.groups} must divide both the input "
                             f"channels ({x[0]}) and out ({self.out})")
        if self.pad == "same":  # stride 1 (validate): out = in + total - dilation*(kernel-1) = in
            before, after = self.pads()
            oh, ow = ((size + b + a - d * (k - 1) - 1) // s + 1 for size, b, a, k, s, d
                      in zip(x[1:], before, after, self.kernel, self.stride, self.dilation))
            return (self.out, oh, ow)
        oh, ow = spatial("conv", x, self.kernel, self.stride, self.pads()[0], self.dilation, False, span)
        return (self.out, oh, ow)

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Its input (for the weight gradient; the weight itself is a parameter). With pad: same
        and an odd number of zeros on an axis, torch first pads a copy by the extra zero on that
        axis (then pads the rest symmetrically) and saves the copy instead."""
        if self.pad == "same":
            extra = [d * (k - 1) % 2 for d, k in zip(self.dilation, self.kernel, strict=True)]
            if any(extra):
                c, h, w = xs[0]
                return (Saved("new", c * (h + extra[0]) * (w + extra[1])),)
        return (Saved("x0"),)

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        per_out = (xs[0][0] // self.groups) * self.kernel[0] * self.kernel[1]
        return Cost(weights=self.out * per_out, biases=self.out if self.bias else 0,
                    macs=y[0] * y[1] * y[2] * per_out)

    def columns(self) -> dict:
        return {"filters": self.out, "kernel": self.kernel, "stride": self.stride, "pad": self.pad}

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        (c_in, _, _), (c_out, oh, ow) = xs[0], y
        kh, kw = self.kernel
        g = self.groups
        per_in = f"({c_in}/{g})" if g > 1 else f"{c_in}"
        k_text = f"{kh} * {kw}" if kh != kw else f"{kh} * {kh}"
        per_out = (c_in // g) * kh * kw
        weights = c_out * per_out
        lines = [f"Output channels = number of filters = {c_out}",
                 *(_same_lines(xs[0], y, self.kernel, self.dilation) if self.pad == "same" else
                   spatial_lines(xs[0], y, self.kernel, self.stride, self.pads()[0], self.dilation, False))]
        if g > 1:
            lines.append(f"Groups: each filter sees C_in / groups = {c_in} / {g} = {c_in // g} channels"
                         + (" (depthwise: groups = channels)" if g == c_in else ""))
        shape = f"C_out x {'C_in/groups' if g > 1 else 'C_in'} x K x K = {c_out} x {c_in // g} x {kh} x {kw}"
        if self.bias:
            lines.append(f"Params: weight shape = {shape}; bias shape = C_out = {c_out}; "
                         f"number of params = {c_out} * {per_in} * {k_text} + {c_out} = {n(weights + c_out)}")
        else:
            lines.append(f"Params: weight shape = {shape}, no bias; number of params = {c_out} * {per_in} * {k_text} = {n(weights)}")
        outs = c_out * oh * ow
        lines.append(f"Flop (multiply-adds) = (number of output elements) * (ops per output element) = "
                     f"(C_out * H' * W') * ({'C_in/groups' if g > 1 else 'C_in'} * K * K) = ({c_out} * {oh} * {ow}) * "
                     f"({per_in} * {k_text}) = {n(outs)} * {n(per_out)} = {n(outs * per_out)}")
        return lines

    def rf_window(self, xs: list[Shape]) -> tuple[Pair, Pair, Pair, Pair] | None:
        """The conv's own window: kernel, stride, the top/left pad and dilation."""
        return self.kernel, self.stride, self.pads()[0], self.dilation

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.Conv2d(xs[0][0], self.out, self.kernel, self.stride, self.pad,
                         dilation=self.dilation, groups=self.groups, bias=self.bias)


def _same_lines(x: Shape, y: Shape, kernel: Pair, dilation: Pair) -> list[str]:
    """Output-size lines of a conv with pad: same: the zeros torch adds, then H' = H and W' = W
    (one pair of lines for both axes when they are alike)."""
    per_axis = []
    for letter, size, out, k, d in zip("HW", x[1:], y[1:], kernel, dilation):
        total = d * (k - 1)
        k_text = f"{d}*({k}-1)" if d > 1 else f"{k}-1"
        split = (f"{total // 2} on each side" if total % 2 == 0 else
                 f"{total // 2} before and {total - total // 2} after (torch puts the odd one after)")
        per_axis.append([f"Pad same (PyTorch's padding='same', stride 1): D*(K-1) = {k_text} = {total} zeros "
                         f"along {letter}, {split}",
                         f"{letter}' = ({letter} + P_total - D*(K-1) - 1) / S + 1 = ({size} + {total} - {total} - 1) "
                         f"/ 1 + 1 = {out} = {letter}"])
    h, w = per_axis
    if [line.replace("H", "W") for line in h] == w:
        return [w[0].replace("along W", "along H and W"), w[1].replace("W' = ", "H' = W' = ", 1)]
    return h + w
