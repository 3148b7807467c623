"""Pooling ops on 1-, 2- and 3-D maps: max and average (with padding and ceil_mode),
adaptive average and max, global average; their geometry from ops/geometry.py.

Stage: ops (pure). In: op spec + input Shape. Out: Shape and Cost.
torch is imported only inside to_torch(). Counting rules: docs/conventions.md#pooling: the
lecture counts C*H'*W'*K*K operations for a pooling layer (one per window element read).
"""

from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING, Any, ClassVar

from cnncalc.errors import ShapeError, Span, SpecError
from cnncalc.ops.geometry import LAYOUTS, MAPS, SPATIAL_RANKS, Axes, letters, per_axis, resolved, spatial, spatial_lines
from cnncalc.ops.registry import (
    CALL,
    CALL_DOC,
    Cost,
    DocRow,
    Layer,
    OpDef,
    Saved,
    Shape,
    Window,
    arg,
    by_call,
    n,
    numel,
    register,
    register_rank_alias,
    rules,
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
    """Shared rule of maxpool and avgpool on 1-, 2- and 3-D maps (stride defaults to the kernel,
    as in torch).

    per axis: out = (in + 2*pad - kernel) // stride + 1; with ceil_mode the division rounds up
    and a last window that would start in the right padding is dropped (torch's rule).
    params = 0;  macs = C * prod(out sizes) * prod(kernel)  (the lecture's pooling flop)
    """

    category = "pooling"
    kernel: Any = arg("axes+", doc="window size: k, or one per axis")
    stride: Any = arg("axes+", None, doc="defaults to the kernel size")
    pad: Any = arg("axes0", 0)
    ceil_mode: bool = arg("bool", False, doc="round the output size up (Caffe's rule)")
    call: str = arg("in:module,function", "module", doc=CALL_DOC)
    ranks, layout = SPATIAL_RANKS, MAPS
    window_reads = True
    autocast_cpu_rank = {4: "float32"}  # max_pool3d, avg_pool3d (and the adaptive ones): the CPU's float32 list
    # fvcore, torchinfo, thop: no handle / no parameters / zero_ops (avgpool overrides thop)
    counts = rules(ptflops=_PTFLOPS_POOL)
    torch_name: ClassVar[str] = ""  # max_pool / avg_pool (+ 1d, 2d, 3d)

    def axes(self, key: str, x: Shape, span: Span | None = None) -> Axes:
        """A window key with one value per spatial axis of x (stride: the kernel's unless given)."""
        value = self.kernel if key == "stride" and self.stride is None else getattr(self, key)
        return resolved(self, key, value, len(x) - 1, span)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        (x,) = xs
        kernel, stride, pad = (self.axes(k, x, span) for k in ("kernel", "stride", "pad"))
        for k, p in zip(kernel, pad):
            if 2 * p > k:  # torch: "pad should be at most half of effective kernel size"
                raise ShapeError(span, f"{self.type}: pad {p} is more than half the kernel {k}",
                                 "pooling padding may be at most kernel // 2")
        outs = spatial(self.type, x, kernel, stride, pad, (1,) * len(kernel), self.ceil_mode, span, whole_kernel=False)
        return (x[0], *outs)

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost(macs=numel(y) * prod(self.axes("kernel", xs[0])))

    def columns(self, xs: list[Shape]) -> dict:
        x = xs[0]
        return {"kernel": self.axes("kernel", x), "stride": self.axes("stride", x), "pad": self.axes("pad", x),
                "ceil_mode": self.ceil_mode}

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        x = xs[0]
        kernel = self.axes("kernel", x)
        names = letters(len(kernel))
        outs = " * ".join(f"{a}'" for a in names)
        lines = [f"Output channels = input channels = {y[0]}",
                 *spatial_lines(x, y, kernel, self.axes("stride", x), self.axes("pad", x), (1,) * len(kernel),
                                self.ceil_mode),
                 "Params: pooling layers have no learnable parameters! = 0",
                 f"Flop = (number of output positions) * (flops per output position) = (C * {outs}) * "
                 f"({' * '.join('K' for _ in kernel)}) = ({' * '.join(map(str, y))}) * "
                 f"({' * '.join(map(str, kernel))}) = {n(numel(y) * prod(kernel))}"]
        return lines

    def rf_window(self, xs: list[Shape]) -> Window | None:
        """kernel, stride (default: the kernel), pad, dilation 1. ceil_mode only adds a last
        (partial) window at the far end: every window, and so the field, stays the same."""
        x = xs[0]
        kernel = self.axes("kernel", x)
        return kernel, self.axes("stride", x), self.axes("pad", x), (1,) * len(kernel)

    def torch_args(self, x: Shape) -> dict[str, Any]:
        return {"kernel_size": self.axes("kernel", x), "stride": self.axes("stride", x),
                "padding": self.axes("pad", x), "ceil_mode": self.ceil_mode}


@register("maxpool")
class MaxPool(_Pool):
    """Max pooling: the largest value of each window (rules: _Pool)."""
    doc_row = DocRow("conv", "`kernel`, `stride` (= kernel), `pad` (0), `ceil_mode` (false), `call` (module)", "`C × H' × W'`", "0",
        "`C·H'·W'·kh·kw`")

    samples = ({"kernel": 3, "stride": 2}, {"kernel": 3, "stride": 2, "pad": 1, "ceil_mode": True},
               {"kernel": [2, 3], "stride": [1, 2]}, {"kernel": 2, "call": "function"},
               ({"kernel": 3, "stride": 2, "pad": 1}, [(4, 15)]),
               ({"kernel": [1, 3, 3], "stride": [1, 2, 2], "pad": [0, 1, 1]}, [(3, 4, 9, 9)]))

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Its input and the argmax of every window, as int64 (twice float32's bytes)."""
        return (Saved("x0"), Saved("new", numel(y), "int64"))

    def workspace(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """The argmax of every window: torch's CPU and CUDA kernels make it in inference too."""
        return (Saved("new", numel(y), "int64"),)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        from cnncalc.torchcheck.modules import Functional

        x = xs[0]
        if self.call == "function":
            return Functional(f"max_pool{len(x) - 1}d", **self.torch_args(x))
        return (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)[len(x) - 2](**self.torch_args(x))


def _window_reads(f: Any) -> int:
    """ultralytics-thop's count_avgpool: the input positions each window covers (padding counted
    when count_include_pad, a window clipped to the padded or the plain input), per channel."""
    op, x, y = f.op, f.xs[0], f.y
    total = x[0]
    for size, out, k, s, p in zip(x[1:], y[1:], op.axes("kernel", x), op.axes("stride", x), op.axes("pad", x)):
        lower, upper = (-p, size + p) if op.count_include_pad else (0, size)
        total *= sum(max(min(i * s - p + k, upper) - max(i * s - p, lower), 0) for i in range(out))
    return total


@register("avgpool")
class AvgPool(_Pool):
    """Average pooling: the mean of each window, padding counted unless count_include_pad is false."""
    doc_row = DocRow("conv", "as maxpool, plus `count_include_pad` (true)", "`C × H' × W'`", "0", "`C·H'·W'·kh·kw`")

    count_include_pad: bool = arg("bool", True, doc="divide by the full window, padding included")
    counts = {"thop": by_call(lambda f: f.out_elems, zero),  # thop count_avgpool: numel(output)
              "ultralytics": by_call(lambda f: _window_reads(f) + f.out_elems, zero)}
    samples = ({"kernel": 2}, {"kernel": 3, "stride": 1, "pad": 1, "count_include_pad": False},
               {"kernel": 3, "stride": 2, "ceil_mode": True}, {"kernel": 2, "call": "function"},
               ({"kernel": 2}, [(4, 9)]), ({"kernel": [2, 2, 2], "ceil_mode": True}, [(3, 5, 6, 6)]))

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Its input (the backward pass reads its size and padding from it)."""
        return (Saved("x0"),)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        from cnncalc.torchcheck.modules import Functional

        x = xs[0]
        args = {**self.torch_args(x), "count_include_pad": self.count_include_pad}
        if self.call == "function":
            return Functional(f"avg_pool{len(x) - 1}d", **args)
        return (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)[len(x) - 2](**args)


MaxPool2d, AvgPool2d = MaxPool, AvgPool  # the names the 2-D ops had
for _rank in SPATIAL_RANKS:
    register_rank_alias(f"maxpool{_rank - 1}d", MaxPool, _rank, LAYOUTS[_rank])
    register_rank_alias(f"avgpool{_rank - 1}d", AvgPool, _rank, LAYOUTS[_rank])


_FVCORE_ADAPTIVE = by_call(_in, _in, zero)


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
class AdaptiveAvgPool(OpDef):
    """Average pooling to a fixed output size (torch's AdaptiveAvgPool1d/2d/3d).

    out = (C, *out) whatever the input size;  params = 0
    macs = C * prod(sum of window lengths per axis): every window element read once
    """
    doc_row = DocRow(
        "conv",
        "`out` (one per axis, or one for all), `call` (module)",
        "`C × oh × ow`",
        "0",
        "`C·Σh-windows·Σw-windows`")

    category = "pooling"
    out: Any = arg("axes+", doc="output size: s for every axis, or one per axis")
    call: str = arg(CALL, "module", doc=CALL_DOC)
    ranks, layout = SPATIAL_RANKS, MAPS
    window_reads = True
    autocast_cpu_rank = {4: "float32"}  # max_pool3d, avg_pool3d (and the adaptive ones): the CPU's float32 list
    counts = rules(
        # fvcore flop_count.py _DEFAULT_SUPPORTED_OPS: aten::adaptive_avg_pool2d ->
        # elementwise_flop_counter(1, 0): one per input element; x.mean traces to aten::mean,
        # which has no handle; nor have aten::adaptive_avg_pool1d and 3d (measured: 0)
        fvcore=lambda f: _FVCORE_ADAPTIVE(f) if len(f.xs[0]) == 3 else 0,
        ptflops=_PTFLOPS_POOL,
        # thop count_adap_avgpool: (prod(in / out) + 1) * numel(output) = C * (prod(in) + prod(out)).
        # thop divides in floating point, so it can come out 1 lower when the windows are uneven.
        thop=by_call(lambda f: f.xs[0][0] * (numel(f.xs[0][1:]) + numel(f.y[1:])), zero),
    )
    torch_name: ClassVar[str] = "adaptive_avg_pool"
    samples: ClassVar[tuple[Any, ...]] = ({"out": 1}, {"out": [3, 2]}, {"out": 6}, {"out": 1, "call": "function"},
                                          ({"out": 5}, [(4, 12)]), ({"out": [1, 2, 2]}, [(3, 4, 6, 5)]))

    def size(self, x: Shape, span: Span | None = None) -> Axes:
        return per_axis(self.out, len(x) - 1, "out", self.type, span)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        out = self.size(xs[0], span)
        if self.call == "method" and set(out) != {1}:
            raise SpecError(span, f"{self.type}: call: method is x.mean over the spatial axes, which pools to 1 "
                            f"x 1, not {' x '.join(map(str, out))}")
        return (xs[0][0], *out)

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Its input; pooling to 1 x 1 runs as a mean, which keeps only sizes."""
        return () if set(y[1:]) == {1} else (Saved("x0"),)

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        x = xs[0]
        return Cost(macs=x[0] * prod(adaptive_windows(size, out) for size, out in zip(x[1:], y[1:])))

    def columns(self, xs: list[Shape]) -> dict:
        return {"kernel": "adaptive"}

    def rf_window(self, xs: list[Shape]) -> Window | None:
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
        for size, out in zip(xs[0][1:], self.size(xs[0])):
            kernel.append(max(-(-((i + 1) * size) // out) - (i * size) // out for i in range(out)))
            stride.append(max(1, size // out))
        return tuple(kernel), tuple(stride), (0,) * len(kernel), (1,) * len(kernel)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        from cnncalc.torchcheck.modules import Functional

        x = xs[0]
        rank = len(x) - 1
        out = self.size(x)
        if self.call == "function":
            return Functional(f"{self.torch_name}{rank}d", output_size=out)
        if self.call == "method":
            from cnncalc.torchcheck.modules import Mean

            if set(out) != {1}:
                raise NotImplementedError("adaptive pooling as a method (x.mean) needs out: 1")
            return Mean()
        names = {"adaptive_avg_pool": "AdaptiveAvgPool", "adaptive_max_pool": "AdaptiveMaxPool"}
        return getattr(nn, f"{names[self.torch_name]}{rank}d")(out)


@register("adaptive_maxpool")
class AdaptiveMaxPool(AdaptiveAvgPool):
    """Max pooling to a fixed output size (torch's AdaptiveMaxPool1d/2d/3d): the largest value of
    each of torch's windows (the same windows as adaptive_avgpool).

    macs = C * prod(sum of window lengths per axis): every window element read once
    """
    doc_row = DocRow("conv", "`out`, `call` (module)", "`C × oh × ow`", "0", "`C·Σh-windows·Σw-windows`")

    call: str = arg("in:module,function", "module", doc=CALL_DOC)
    # fvcore: no handle for aten::adaptive_max_pool2d; ptflops pool_flops_counter_hook: numel(input)
    # (module); thop: zero_ops (nn.AdaptiveMaxPool*d)
    counts = rules(ptflops=_PTFLOPS_POOL)
    torch_name = "adaptive_max_pool"
    samples: ClassVar[tuple[Any, ...]] = ({"out": 1}, {"out": [3, 2]}, ({"out": 4}, [(4, 10)]),
                                          ({"out": [2, 3, 3]}, [(3, 4, 7, 7)]))

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Its input and the argmax of every window, as int64."""
        return (Saved("x0"), Saved("new", numel(y), "int64"))

    def workspace(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """adaptive_max_pool returns the argmax with the output, whether or not it is kept."""
        return (Saved("new", numel(y), "int64"),)


@register("global_avgpool", "gap")
class GlobalAvgPool(AdaptiveAvgPool):
    """Global average pooling: adaptive_avgpool with out 1 (C x ... -> C x 1 x ...).

    macs = C * prod(spatial sizes)
    """
    doc_row = DocRow("conv", "`call` (module), `out` (1), `keepdim` (true; false with `call: method`: x.mean([2, 3]) is C)",
                     "`C × 1 × 1` (`C` without keepdim)", "0", "`C·H·W`")

    out: Any = arg("axes+", 1)
    keepdim: bool = arg("bool", True, doc="false: the pooled axes dropped, as x.mean([2, 3]) does (call: method)")
    samples: ClassVar[tuple[Any, ...]] = ({}, {"call": "method"}, {"call": "method", "keepdim": False},
                                          ({}, [(4, 7)]), ({}, [(3, 2, 5, 5)]))

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        y = super().infer(xs, span)
        if self.keepdim:
            return y
        if self.call != "method":
            raise SpecError(span, f"{self.type}: keepdim: false is x.mean over the spatial axes (call: method); "
                            "torch's pooling modules keep them")
        return y[:1]

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost(macs=numel(xs[0]))  # every element read once, whatever the output keeps

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Nothing: a mean's backward needs only the sizes."""
        return ()

    def autocast_rule(self, device: str, rank: int) -> str:
        """x.mean (call: method) is on no autocast list: it follows its input, on a clip too."""
        return self.autocast if self.call == "method" else super().autocast_rule(device, rank)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        if self.call == "method":
            from cnncalc.torchcheck.modules import Mean

            return Mean(self.keepdim)
        return super().to_torch(xs)

    def columns(self, xs: list[Shape]) -> dict:
        return {"kernel": "global"}


AdaptiveAvgPool2d, GlobalAvgPool2d = AdaptiveAvgPool, GlobalAvgPool  # the names the 2-D ops had
