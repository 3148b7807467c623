"""Normalisation: bn (BatchNorm1d/2d/3d, frozen), groupnorm, instancenorm, layernorm (over one axis) and lrn (AlexNet's local response
normalisation).

Stage: ops (pure). In: op spec + input Shape. Out: Shape and Cost.
torch is imported only inside to_torch(). Counting rules: docs/conventions.md#normalisation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cnncalc.errors import ShapeError, Span
from cnncalc.ops.registry import Cost, DocRow, Layer, OpDef, Saved, Shape, arg, axis_index, fmt_shape, n, numel, register, rules, zero

PER_CHANNEL = "Expected more than 1 value per channel when training"  # torch's ValueError (batch and group norm)

if TYPE_CHECKING:
    from torch import nn


def _twice_in(f: Layer) -> int:
    return 2 * f.in_elems


def _bn_elems(f: Layer, affine: int, plain: int) -> int:
    """What a tool that hooks torch's BatchNorm counts: per element, `affine` with gamma and beta,
    `plain` without; nothing for FrozenBatchNorm2d (no hook; its mul and add are not counted)."""
    op: Any = f.op
    return 0 if op.frozen else (affine if op.affine else plain) * f.in_elems


@register("bn", "batchnorm")
class BatchNorm(OpDef):
    """Batch normalisation over channels, inference form y = gamma*(x-mean)/sqrt(var+eps) + beta,
    on flat features, C x L, C x H x W or C x T x H x W (torch's BatchNorm1d, 2d, 3d).

    params = 2*C (gamma as weight, beta as bias; the running mean/var are buffers, not params);
    affine: false has no gamma and beta (0 params); frozen: true is torchvision's
    FrozenBatchNorm2d (detection backbones): gamma, beta and the statistics all buffers, 0 params
    macs = 0 (lecture column); elem_ops = 2 per element (one scale, one shift once folded)
    """
    doc_row = DocRow("conv", "`eps` (1e-5), `affine` (true), `frozen` (false: torchvision's FrozenBatchNorm2d, all buffers)",
        "same (C, C × L, C × H × W, C × T × H × W)", "`2·C` (0 with `affine: false` or `frozen: true`)",
        "0 (2 elementwise ops/element)")

    category = "norm"
    eps: float = arg("float", 1e-5)
    affine: bool = arg("bool", True, doc="learn gamma and beta (false: torch's affine=False)")
    frozen: bool = arg("bool", False, doc="torchvision's FrozenBatchNorm2d: every tensor a buffer, no params")
    fold = True
    ranks, layout = (1, 2, 3, 4), "channels (C, C x L, C x H x W or C x T x H x W)"
    counts = rules(
        # fvcore jit_handles.py batchnorm_flop_jit, eval: numel * (2 if affine else 1); in
        # training mode it is norm_flop_counter(1): numel * 5 (cnncalc profiles the inference pass).
        # FrozenBatchNorm2d is elementwise mul and add, which fvcore does not count
        fvcore=lambda f: _bn_elems(f, 2, 1),
        # ptflops bn_flops_counter_hook: numel(input), x2 when affine; no hook for FrozenBatchNorm2d
        ptflops=lambda f: _bn_elems(f, 2, 1),
        torchinfo=lambda f: f.params,  # parameters x batch, no spatial factor
        # thop/vision/basic_hooks.py count_normalization: 2 * numel(input), x2 again when affine;
        # no hook for FrozenBatchNorm2d
        thop=lambda f: _bn_elems(f, 4, 2),
    )
    samples: ClassVar[tuple[Any, ...]] = ({}, {"affine": False}, {"frozen": True}, ({}, [(6, 10)]), ({}, [(12,)]),
                                          ({}, [(4, 3, 5, 5)]))

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        if self.frozen and len(xs[0]) != 3:
            raise ShapeError(span, f"{self.type}: frozen is torchvision's FrozenBatchNorm2d, on a C x H x W map; "
                             f"got {'x'.join(map(str, xs[0]))}")
        return xs[0]

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Its input and the batch's mean and inverse std, per channel, in float32. Frozen: x * scale
        keeps the per-channel scale it multiplies by (the statistics are buffers)."""
        if self.frozen:
            return (Saved("new", xs[0][0], "act", per_sample=False),)
        return (Saved("x0"), Saved("new", 2 * xs[0][0], "float32", per_sample=False))

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        learned = y[0] if self.affine and not self.frozen else 0
        return Cost(weights=learned, biases=learned, elem_ops=2 * numel(y))

    def training_batch(self, x: Shape) -> tuple[int, str, str] | None:
        """torch's batch norm in training needs more than one value per channel: batch x
        positions; on one position (C, or C x 1 x 1 after a global pool) batch 2. Frozen keeps
        no batch statistics."""
        if self.frozen or numel(x[1:]) != 1:
            return None
        return (2, f"batch norm in training needs more than one value per channel; its input, {fmt_shape(x)}, has "
                   "one position a sample", PER_CHANNEL)

    def buffers(self, xs: list[Shape], y: Shape) -> tuple[int, int]:
        """The running mean and variance and the int64 count of batches seen; frozen: gamma,
        beta, mean and variance, all buffers."""
        return (4 * y[0], 0) if self.frozen else (2 * y[0], 1)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        if self.frozen:
            from cnncalc.torchcheck.modules import FrozenBatchNorm2d

            return FrozenBatchNorm2d(xs[0][0], eps=self.eps)
        cls = nn.BatchNorm3d if len(xs[0]) == 4 else nn.BatchNorm2d if len(xs[0]) == 3 else nn.BatchNorm1d
        return cls(xs[0][0], eps=self.eps, affine=self.affine)


BatchNorm2d = BatchNorm  # the name the 2-D op had


@register("layernorm", "ln")
class LayerNorm(OpDef):
    """Layer normalisation over one axis, y = gamma*(x-mean)/sqrt(var+eps) + beta, with mean and
    variance taken along that axis for every other position: the last axis of N x D tokens
    (nn.LayerNorm, axis -1), or the channels of C x H x W (ConvNeXt's LayerNorm2d, axis 0).

    params = 2*D, D = the size of the axis (gamma as weight, beta as bias)
    macs = 0 (lecture column); elem_ops = 5 per element (mean, variance, normalise, scale, shift)
    """
    doc_row = DocRow("any", "`axis` (-1), `eps` (1e-5)", "same", "`2·D`, D = size of `axis`", "0 (5 ops/element)")

    category = "norm"
    axis: int = arg("int", -1, doc="the axis it normalises over: -1 (last) or 0 (channels of C x H x W)")
    eps: float = arg("float", 1e-5)
    fold = True
    autocast_cuda = "float32"  # layer_norm is on CUDA's float32 list, not the CPU's
    counts = rules(
        # fvcore flop_count.py aten::layer_norm: norm_flop_counter(2), affine: 5 per element
        fvcore=lambda f: 5 * f.in_elems,
        # ptflops and thop hook exactly nn.LayerNorm (the last axis); over another axis the model
        # uses a subclass (torchvision's LayerNorm2d), which neither hooks, and F.layer_norm is
        # not patched. ptflops' bn_flops_counter_hook: numel(input), doubled only when the module
        # has `affine`, which LayerNorm has not (it has elementwise_affine)
        ptflops=lambda f: f.in_elems if f.op.over_last(f.xs[0]) else 0,  # type: ignore[attr-defined]
        torchinfo=lambda f: f.params,  # gamma + beta, once per sample
        # thop count_normalization: 2 * numel(input), x2 for elementwise_affine
        thop=lambda f: 4 * f.in_elems if f.op.over_last(f.xs[0]) else 0,  # type: ignore[attr-defined]
    )
    samples = ({}, {"axis": 0, "eps": 1e-6})

    def size(self, x: Shape) -> int:
        return x[axis_index(self.axis, len(x), "layernorm", None)]

    def over_last(self, x: Shape) -> bool:
        """Over the last axis: torch's own nn.LayerNorm (else a subclass that moves the axis)."""
        return axis_index(self.axis, len(x), "layernorm", None) == len(x) - 1

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        axis_index(self.axis, len(xs[0]), "layernorm", span)
        return xs[0]

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Its input and a mean and inverse std per normalised vector, in float32."""
        return (Saved("x0"), Saved("new", 2 * (numel(xs[0]) // self.size(xs[0])), "float32"))

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        d = self.size(xs[0])
        return Cost(weights=d, biases=d, elem_ops=5 * numel(y))

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        x = xs[0]
        if self.over_last(x):
            return nn.LayerNorm(x[-1], eps=self.eps)
        from cnncalc.torchcheck.modules import LayerNormOver

        return LayerNormOver(self.size(x), axis_index(self.axis, len(x), "layernorm", None) + 1, self.eps)


def _affine_elems(f: Layer, affine: int, plain: int) -> int:
    """Per input element, `affine` with gamma and beta, `plain` without."""
    return (affine if f.op.affine else plain) * f.in_elems  # type: ignore[attr-defined]


@register("groupnorm", "gn")
class GroupNorm(OpDef):
    """Group normalisation (torch's nn.GroupNorm): the C channels split into `groups` groups of
    C/groups, each sample's group normalised over its channels and every position, then per
    channel y = gamma*x_hat + beta. The same in training and inference (no running statistics).

    params = 2*C with affine (gamma as weight, beta as bias), else 0
    macs = 0 (lecture column); elem_ops = 5 per element (mean, variance, normalise, scale, shift)
    """
    doc_row = DocRow(
        "conv",
        "`groups`, `eps` (1e-5), `affine` (true)",
        "same (C × L, C × H × W, C × T × H × W)",
        "`2·C` (0 with `affine: false`)",
        "0 (5 elementwise ops/element)")

    category = "norm"
    groups: int = arg("int+", doc="channel groups; must divide C (1: LayerNorm over C x H x W; C: instance norm)",
                      example="32 (the group count of Wu and He 2018)")
    eps: float = arg("float", 1e-5)
    affine: bool = arg("bool", True, doc="learn gamma and beta per channel")
    fold = True
    ranks, layout = (2, 3, 4), "channels (C x L, C x H x W or C x T x H x W)"
    autocast_cuda = "float32"  # group_norm is on CUDA's float32 list; the CPU's follows the input
    counts = rules(
        # fvcore flop_count.py aten::group_norm: norm_flop_counter(2): 5 per element affine, 4 not
        fvcore=lambda f: _affine_elems(f, 5, 4),
        # ptflops bn_flops_counter_hook on nn.GroupNorm: numel(input), x2 when affine
        ptflops=lambda f: _affine_elems(f, 2, 1),
        torchinfo=lambda f: f.params,  # gamma + beta, once per sample
        thop=zero,  # no rule for nn.GroupNorm (measured: 0)
    ) | {"ultralytics": lambda f: _affine_elems(f, 4, 2)}  # ultralytics-thop: count_normalization
    samples: ClassVar[tuple[Any, ...]] = ({"groups": 3}, {"groups": 2, "affine": False}, ({"groups": 4}, [(8, 10)]),
               ({"groups": 1}, [(4, 3, 5, 5)]))
    sample_inputs = ((6, 5, 7),)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        if xs[0][0] % self.groups:
            raise ShapeError(span, f"{self.type}: groups={self.groups} must divide the {xs[0][0]} channels",
                             f"a divisor of {xs[0][0]}")
        return xs[0]

    def training_batch(self, x: Shape) -> tuple[int, str, str] | None:
        """torch's group norm needs more than one value per group (in eval too): batch x C/groups
        x positions; one channel a group on one position needs batch 2."""
        if x[0] // self.groups * numel(x[1:]) != 1:
            return None
        return (2, f"group norm needs more than one value per group; its {self.groups} groups of one channel on "
                   f"{fmt_shape(x)} hold one a sample", PER_CHANNEL)

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Its input and a mean and inverse std per sample and group, in float32."""
        return (Saved("x0"), Saved("new", 2 * self.groups, "float32"))

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        learned = y[0] if self.affine else 0
        return Cost(weights=learned, biases=learned, elem_ops=5 * numel(y))

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        c, per = xs[0][0], numel(xs[0]) // xs[0][0]
        learned = 2 * c if self.affine else 0
        return [f"Output shape = input shape = {fmt_shape(y)}; {self.groups} groups of "
                f"C/groups = {c // self.groups} channels, each normalised over {c // self.groups}*{per} = "
                f"{n(c // self.groups * per)} values",
                "Params = " + (f"gamma + beta per channel = 2*{c} = {learned}" if self.affine else "none (affine: false)"),
                f"Flop (multiply-adds): none counted ({n(5 * numel(y))} elementwise ops, outside the lecture's flop column)"]

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.GroupNorm(self.groups, xs[0][0], eps=self.eps, affine=self.affine)


@register("instancenorm")
class InstanceNorm(OpDef):
    """Instance normalisation (torch's nn.InstanceNorm1d/2d/3d, track_running_stats false): each
    sample's channel normalised over its positions, then (affine) y = gamma*x_hat + beta. Style
    transfer and pix2pix/CycleGAN generators use it; torch's default has no gamma and beta.

    params = 2*C with affine, else 0 (torch's default: affine false)
    macs = 0 (lecture column); elem_ops = 5 per element
    """
    doc_row = DocRow("conv", "`eps` (1e-5), `affine` (false, torch's default)", "same (C × L, C × H × W, C × T × H × W)",
        "`2·C` with `affine: true`, else 0", "0 (5 elementwise ops/element)")

    category = "norm"
    eps: float = arg("float", 1e-5)
    affine: bool = arg("bool", False, doc="learn gamma and beta per channel (torch's default: false)")
    fold = True
    ranks, layout = (2, 3, 4), "channels (C x L, C x H x W or C x T x H x W)"
    counts = rules(
        # fvcore aten::instance_norm: norm_flop_counter(1): 5 per element affine, 4 not
        fvcore=lambda f: _affine_elems(f, 5, 4),
        # ptflops bn_flops_counter_hook on nn.InstanceNorm1d/2d/3d: numel(input), x2 when affine
        ptflops=lambda f: _affine_elems(f, 2, 1),
        torchinfo=lambda f: f.params,
        # thop count_normalization: 2 * numel(input), x2 again when affine
        thop=lambda f: _affine_elems(f, 4, 2),
    )
    samples: ClassVar[tuple[Any, ...]] = ({}, {"affine": True}, ({}, [(6, 10)]), ({"affine": True}, [(4, 3, 5, 5)]))

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        return xs[0]

    def training_batch(self, x: Shape) -> tuple[int, str, str] | None:
        """torch's instance norm in training needs more than one position per channel, whatever
        the batch."""
        if numel(x[1:]) != 1:
            return None
        return (0, f"instance norm needs more than one position per channel; its input, {fmt_shape(x)}, has one at "
                   "any batch", "Expected more than 1 spatial element when training")

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """torch runs batch norm on the batch seen as one sample of N*C channels: its input (a
        view), a mean and inverse std per sample and channel in float32 and, with affine, gamma
        repeated for every sample (a new tensor of N*C)."""
        c = xs[0][0]
        return (Saved("x0"), Saved("new", 2 * c, "float32"), *((Saved("new", c),) if self.affine else ()))

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        learned = y[0] if self.affine else 0
        return Cost(weights=learned, biases=learned, elem_ops=5 * numel(y))

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        cls = {2: nn.InstanceNorm1d, 3: nn.InstanceNorm2d, 4: nn.InstanceNorm3d}[len(xs[0])]
        return cls(xs[0][0], eps=self.eps, affine=self.affine)


def _ptflops_lrn(f: Layer) -> int:
    """F.local_response_norm on a 4-D input runs Tensor.mul (x*x), avg_pool3d over the input padded
    to C + size - 1 channels, then Tensor.mul and Tensor.add: all three are patched by ptflops."""
    c, h, w = f.y
    return 3 * f.out_elems + (c + f.op.size - 1) * h * w  # type: ignore[attr-defined]


@register("lrn")
class LocalResponseNorm(OpDef):
    """Local response normalisation across `size` neighbouring channels (AlexNet 2012: size 5,
    alpha 1e-4, beta 0.75, k 2). params = 0; macs = 0; elem_ops = size per element (the sum
    of squares over the window)."""
    doc_row = DocRow("conv", "`size`, `alpha` (1e-4), `beta` (0.75), `k` (1)", "same", "0", "0 (`size` ops/element)")

    category = "norm"
    size: int = arg("int+", doc="channels in each window (AlexNet: 5)",
                    example="5 (AlexNet's local response normalisation: size 5, alpha 1e-4, beta 0.75, k 2)")
    alpha: float = arg("float", 1e-4)
    beta: float = arg("float", 0.75)
    k: float = arg("float", 1.0)
    ranks, layout = (3,), "a C x H x W feature map"
    autocast = "float32_out"  # x*x, avg_pool3d and pow: float32 on autocast's list
    counts = rules(ptflops=_ptflops_lrn)  # fvcore: avg_pool3d has no handle; thop: no rule
    samples = ({"size": 5, "k": 2.0}, {"size": 3})

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        return xs[0]

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """nn.LocalResponseNorm is composed of torch ops: its input, the zero-padded squares
        (C + 2*(size//2) channels) and two more maps of the input's size."""
        return (Saved("x0"), Saved("new", (xs[0][0] + 2 * (self.size // 2)) * numel(xs[0][1:]) + 2 * numel(xs[0])))

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost(elem_ops=self.size * numel(y))

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.LocalResponseNorm(self.size, self.alpha, self.beta, self.k)
