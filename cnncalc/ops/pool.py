"""Pooling ops: max and average (with padding and ceil_mode), adaptive/global average.

Stage: ops (pure). In: op spec + input Shape. Out: Shape and Cost.
torch is imported only inside to_torch(). Counting rules: docs/conventions.md#pooling: the
lecture counts C*H'*W'*K*K operations for a pooling layer (one per window element read).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cnncalc.errors import ShapeError, Span, SpecError
from cnncalc.ops.conv import spatial
from cnncalc.ops.registry import (
    CALL,
    CALL_DOC,
    Cost,
    Layer,
    OpDef,
    Pair,
    Saved,
    Shape,
    arg,
    by_call,
    n,
    numel,
    register,
    rules,
    spatial_lines,
    zero,
)


def _twice_in(f: Layer) -> int:
    return 2 * f.in_elems


def _in(f: Layer) -> int:
    return f.in_elems


# ptflops: pool_flops_counter_hook adds numel(input) for the module, and its patched
# F.max_pool2d / F.avg_pool2d / F.adaptive_avg_pool2d (FUNCTIONAL_MAPPING,
# _numel_functional_flops_hook) adds numel(input) again when the module's forward calls it:
# twice for a module, once for a function call.
_PTFLOPS_POOL = by_call(_twice_in, _in)

if TYPE_CHECKING:
    from torch import nn


class _Pool(OpDef):
    """Shared rule of maxpool and avgpool (stride defaults to the kernel, as in torch).

    per axis: out = (in + 2*pad - kernel) // stride + 1; with ceil_mode the division rounds up
    and a last window that would start in the right padding is dropped (torch's rule).
    params = 0;  macs = C * out_h * out_w * kh * kw  (the lecture's pooling flop)
    """

    category = "pooling"
    kernel: Pair = arg("pair+")
    stride: Pair | None = arg("pair+", None, doc="defaults to the kernel size")
    pad: Pair = arg("pair0", (0, 0))
    ceil_mode: bool = arg("bool", False, doc="round the output size up (Caffe's rule)")
    call: str = arg("in:module,function", "module", doc=CALL_DOC)
    ranks, layout = (3,), "a C x H x W feature map"
    window_reads = True
    # fvcore, torchinfo, thop: no handle / no parameters / zero_ops (avgpool overrides thop)
    counts = rules(ptflops=_PTFLOPS_POOL)

    @property
    def step(self) -> Pair:
        return self.stride or self.kernel

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        (x,) = xs
        for k, p in zip(self.kernel, self.pad):
            if 2 * p > k:  # torch: "pad should be at most half of effective kernel size"
                raise ShapeError(span, f"{self.type}: pad {p} is more than half the kernel {k}",
                                 "pooling padding may be at most kernel // 2")
        oh, ow = spatial(self.type, x, self.kernel, self.step, self.pad, (1, 1),
                         self.ceil_mode, span, whole_kernel=False)
        return (x[0], oh, ow)

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost(macs=y[0] * y[1] * y[2] * self.kernel[0] * self.kernel[1])

    def columns(self) -> dict:
        return {"kernel": self.kernel, "stride": self.step, "pad": self.pad, "ceil_mode": self.ceil_mode}

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        c, oh, ow = y
        kh, kw = self.kernel
        lines = [f"Output channels = input channels = {c}",
                 *spatial_lines(xs[0], y, self.kernel, self.step, self.pad, (1, 1), self.ceil_mode),
                 "Params: pooling layers have no learnable parameters! = 0",
                 f"Flop = (number of output positions) * (flops per output position) = (C * H' * W') * (K * K) = "
                 f"({c} * {oh} * {ow}) * ({kh} * {kw}) = {n(c * oh * ow * kh * kw)}"]
        return lines

    def rf_window(self, xs: list[Shape]) -> tuple[Pair, Pair, Pair, Pair] | None:
        """kernel, stride (default: the kernel), pad, dilation 1. ceil_mode only adds a last
        (partial) window at the far end: every window, and so the field, stays the same."""
        return self.kernel, self.step, self.pad, (1, 1)


@register("maxpool")
class MaxPool2d(_Pool):
    """Max pooling: the largest value of each window (rules: _Pool)."""

    samples = ({"kernel": 3, "stride": 2}, {"kernel": 3, "stride": 2, "pad": 1, "ceil_mode": True},
               {"kernel": [2, 3], "stride": [1, 2]}, {"kernel": 2, "call": "function"})

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Its input and the argmax of every window, as int64 (twice float32's bytes)."""
        return (Saved("x0"), Saved("new", numel(y), "int64"))

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        from cnncalc.torchcheck.modules import Functional

        if self.call == "function":
            return Functional("max_pool2d", kernel_size=self.kernel, stride=self.step, padding=self.pad,
                              ceil_mode=self.ceil_mode)
        return nn.MaxPool2d(self.kernel, self.step, self.pad, ceil_mode=self.ceil_mode)


@register("avgpool")
class AvgPool2d(_Pool):
    """Average pooling: the mean of each window, padding counted unless count_include_pad is false."""

    count_include_pad: bool = arg("bool", True, doc="divide by the full window, padding included")
    counts = {"thop": by_call(lambda f: f.out_elems, zero)}  # thop count_avgpool: numel(output)
    samples = ({"kernel": 2}, {"kernel": 3, "stride": 1, "pad": 1, "count_include_pad": False},
               {"kernel": 3, "stride": 2, "ceil_mode": True}, {"kernel": 2, "call": "function"})

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Its input (the backward pass reads its size and padding from it)."""
        return (Saved("x0"),)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        from cnncalc.torchcheck.modules import Functional

        if self.call == "function":
            return Functional("avg_pool2d", kernel_size=self.kernel, stride=self.step, padding=self.pad,
                              ceil_mode=self.ceil_mode, count_include_pad=self.count_include_pad)
        return nn.AvgPool2d(self.kernel, self.step, self.pad, ceil_mode=self.ceil_mode,
                            count_include_pad=self.count_include_pad)


def adaptive_windows(size: int, out: int) -> int:
    """Sum of window lengths of adaptive pooling along one axis (torch's start/end rule).

    window i covers [floor(i*size/out), ceil((i+1)*size/out)). Summed over i = 0..out-1 the
    floors cancel against the ceilings but for the rounding: ceil(j*size/out) exceeds
    floor(j*size/out) by 1 unless out divides j*size, which happens for gcd(size, out) of the
    j = 1..out; so the sum is size + out - gcd(size, out), in constant time for any out
    (when out divides size every window is size/out long and the sum is exactly size).
    """
    import math

    return size + out - math.gcd(size, out)


@register("adaptive_avgpool", "adaptiveavgpool")
class AdaptiveAvgPool2d(OpDef):
    """Average pooling to a fixed output size (torch's AdaptiveAvgPool2d).

    out = (C, oh, ow) whatever the input size;  params = 0
    macs = C * (sum of window heights) * (sum of window widths): every window element read once
    """

    category = "pooling"
    out: Pair = arg("pair+", doc="output size, s or [oh, ow]")
    call: str = arg(CALL, "module", doc=CALL_DOC)
    ranks, layout = (3,), "a C x H x W feature map"
    window_reads = True
    counts = rules(
        # fvcore flop_count.py _DEFAULT_SUPPORTED_OPS: aten::adaptive_avg_pool2d ->
        # elementwise_flop_counter(1, 0): one per input element; x.mean traces to aten::mean,
        # which has no handle
        fvcore=by_call(_in, _in, zero),
        ptflops=_PTFLOPS_POOL,
        # thop count_adap_avgpool: (prod(in_hw / out_hw) + 1) * numel(output) = C * (H*W + H'*W').
        # thop divides in floating point, so it can come out 1 lower when the windows are uneven.
        thop=by_call(lambda f: f.xs[0][0] * (numel(f.xs[0][1:]) + numel(f.y[1:])), zero),
    )
    samples: ClassVar[tuple[dict[str, Any], ...]] = ({"out": 1}, {"out": [3, 2]}, {"out": 6},
                                                     {"out": 1, "call": "function"})

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        if self.call == "method" and self.out != (1, 1):
            raise SpecError(span, f"{self.type}: call: method is x.mean over H and W, which pools to 1 x 1, "
                            f"not {self.out[0]} x {self.out[1]}")
        return (xs[0][0], self.out[0], self.out[1])


    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Its input; pooling to 1 x 1 runs as a mean, which keeps only sizes."""
        return () if self.out == (1, 1) else (Saved("x0"),)

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        c, h, w = xs[0]
        return Cost(macs=c * adaptive_windows(h, y[1]) * adaptive_windows(w, y[2]))

    def columns(self) -> dict:
        return {"kernel": "adaptive"}

    def rf_window(self, xs: list[Shape]) -> tuple[Pair, Pair, Pair, Pair] | None:
        """An equivalent fixed window per axis, pad 0, dilation 1 (global_avgpool inherits it).

        Output 1 (global pooling): one window covering the whole input, kernel = stride = in.
        Other output sizes: torch's window i covers [floor(i*in/out), ceil((i+1)*in/out)).
        When out divides in, every window is in/out long with stride in/out: exact. Otherwise
        the windows vary, and we take kernel = the LARGEST window (an upper bound on the field;
        it can be ceil(in/out) + 1: in 5, out 3 gives [0,2), [1,4), [3,5), so 3, not
        ceil(5/3) = 2) and stride = floor(in/out), at least 1 (the real spacing alternates
        between floor and ceil, and is below one pixel when out > in). The start is then that of
        a kernel-wide window at 0, up to half a pixel (of this layer's input) from the true
        centre of the first window."""
        kernel, stride = [], []
        for size, out in zip(xs[0][1:], self.out):
            kernel.append(max(-(-((i + 1) * size) // out) - (i * size) // out for i in range(out)))
            stride.append(max(1, size // out))
        return (kernel[0], kernel[1]), (stride[0], stride[1]), (0, 0), (1, 1)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        from cnncalc.torchcheck.modules import Functional

        if self.call == "function":
            return Functional("adaptive_avg_pool2d", output_size=self.out)
        if self.call == "method":
            from cnncalc.torchcheck.modules import Mean

            if self.out != (1, 1):
                raise NotImplementedError("adaptive_avgpool as a method (x.mean) needs out: 1")
            return Mean()
        return nn.AdaptiveAvgPool2d(self.out)


@register("global_avgpool", "gap")
class GlobalAvgPool2d(AdaptiveAvgPool2d):
    """Global average pooling: adaptive_avgpool with out 1 (C x H x W -> C x 1 x 1).

    macs = C * H * W
    """

    out: Pair = arg("pair+", (1, 1))
    samples = ({}, {"call": "method"})

    def columns(self) -> dict:
        return {"kernel": "global"}
