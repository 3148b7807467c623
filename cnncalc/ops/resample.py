"""Resampling: upsample (interpolate) on 1-, 2- and 3-D maps, pixel_shuffle and pixel_unshuffle.

Stage: ops (pure). In: op spec + input Shape. Out: Shape and Cost.
torch is imported only inside to_torch(). Counting rules: docs/conventions.md#resampling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cnncalc.errors import ShapeError, Span, SpecError
from cnncalc.ops.geometry import MAPS, SPATIAL_RANKS, letters, per_axis
from cnncalc.ops.registry import (
    CALL_DOC,
    Cost,
    DocRow,
    Layer,
    OpDef,
    Saved,
    Shape,
    arg,
    by_call,
    fmt_shape,
    n,
    numel,
    register,
    rules,
    zero,
)

if TYPE_CHECKING:
    from torch import nn

# the interpolation modes and the rank each needs (nearest: any)
MODES = {"nearest": None, "linear": 2, "bilinear": 3, "bicubic": 3, "trilinear": 4}
# input positions one output element is computed from, per axis (nearest copies one)
TAPS = {"nearest": 1, "linear": 2, "bilinear": 2, "bicubic": 4, "trilinear": 2}


_THOP = {"nearest": 1, "linear": 5, "bilinear": 11, "bicubic": 224 + 35, "trilinear": 0}


_ULTRALYTICS = {"nearest": 0, "linear": 5, "bilinear": 11, "bicubic": 259, "trilinear": 31}


def _thop(f: Layer) -> int:
    op: Any = f.op
    return _THOP[op.mode] * f.out_elems


def _out(f: Layer) -> int:
    return f.out_elems


def _fvcore(f: Layer) -> int:
    """fvcore flop_count.py: aten::upsample_nearest2d -> elementwise_flop_counter(0, 1), one per
    output element; aten::upsample_bilinear2d -> (0, 4); no handle for the other modes and ranks."""
    op: Any = f.op
    if len(f.y) != 3:
        return 0
    return {"nearest": 1, "bilinear": 4}.get(op.mode, 0) * f.out_elems


@register("upsample", "interpolate")
class Upsample(OpDef):
    """Upsampling (or downsampling) by interpolation: torch's nn.Upsample / F.interpolate.

    per axis: out = floor(in * scale) (as torch computes it), or out = size, or (with a second
    input) that input's size, as torchvision's heads do: F.interpolate(x, size=input.shape[-2:])
    params = 0; macs = 0 (the lecture's column: no multiply-adds of weights); elem_ops = the
    weighted sum of each output element's taps: 0 for nearest, 2 per axis-tap for linear modes
    """
    doc_row = DocRow(
        "resample",
        "`scale` (a number for every axis or one per axis: 2, 0.5, [1, 2, 2]) or `size`, or a second input whose size it takes; "
        "`mode` (nearest; linear, bilinear, bicubic, trilinear), `align_corners` (false), `call` (module; function: F.interpolate)",
        "`C × floor(H·s) × floor(W·s)`",
        "0",
        "0 (linear modes: 2 elementwise ops per tap and output element)")

    scale: Any = arg("scales", None, doc="factor per axis: a number for every axis, or one per axis (2, 0.5, 1.5)")
    size: Any = arg("axes+", None, doc="output size instead of a scale: s or one per axis")
    mode: str = arg("in:" + ",".join(MODES), "nearest")
    align_corners: bool = arg("bool", False, doc="linear modes: the corner pixels' centres align (torch's flag)")
    call: str = arg("in:module,function", "module", doc=CALL_DOC)
    ranks, layout = SPATIAL_RANKS, MAPS
    arity = -1  # one input, or two: the second gives the output size
    counts = rules(
        fvcore=_fvcore,
        # ptflops: upsample_flops_counter_hook adds numel(output) for nn.Upsample, and its patched
        # F.interpolate (_interpolate_functional_flops_hook) numel(output) again: twice for a
        # module, once for a function call
        ptflops=by_call(lambda f: 2 * f.out_elems, _out),
        # thop count_upsample (nn.Upsample only): output numel x 1 (nearest), 5 (linear), 11
        # (bilinear), 224 + 35 (bicubic); trilinear "is not implemented yet, take it a zero op"
        thop=by_call(lambda f: _thop(f), zero),
    ) | {
        # ultralytics-thop's count_upsample: 0 per output element for nearest, 5 linear, 11 bilinear,
        # 259 bicubic, 31 trilinear (nn.Upsample only)
        "ultralytics": by_call(lambda f: _ULTRALYTICS[f.op.mode] * f.out_elems, zero),  # type: ignore[attr-defined]
    }
    samples: ClassVar[tuple[Any, ...]] = (
        {"scale": 2}, {"scale": 2, "mode": "bilinear"}, {"scale": [2, 3], "mode": "bilinear", "align_corners": True},
        {"size": [5, 7], "mode": "bicubic"}, {"scale": 0.5}, {"scale": 1.5, "mode": "bilinear", "call": "function"},
        ({"scale": 2, "mode": "linear"}, [(4, 7)]), ({"scale": [1, 2, 2], "mode": "trilinear"}, [(3, 2, 4, 4)]),
        ({"mode": "bilinear", "call": "function"}, [(6, 3, 3), (2, 12, 12)]))

    def validate(self, spans: Any, span: Span | None) -> None:
        if self.scale is not None and self.size is not None:
            raise SpecError(spans.get("size") or span, f"{self.type}: give scale or size, not both")
        if self.align_corners and self.mode not in ("linear", "bilinear", "bicubic", "trilinear"):
            raise SpecError(spans.get("align_corners") or span, f"{self.type}: align_corners applies to the linear "
                            f"and cubic modes, not {self.mode}")

    def scales(self, rank: int, span: Span | None = None) -> tuple[Any, ...]:
        """The scale factor of every spatial axis."""
        if isinstance(self.scale, tuple):
            return per_axis(self.scale, rank, "scale", self.type, span)
        return (self.scale,) * rank

    def target(self, xs: list[Shape], span: Span | None = None) -> tuple[int, ...]:
        """The output's spatial sizes."""
        x = xs[0]
        rank = len(x) - 1
        if len(xs) == 2:
            if self.scale is not None or self.size is not None:
                raise ShapeError(span, f"{self.type}: with a second input the size is that input's; "
                                 "drop scale and size")
            if len(xs[1]) != len(x):
                raise ShapeError(span, f"{self.type}: the second input {fmt_shape(xs[1])} has another rank than "
                                 f"{fmt_shape(x)}")
            return tuple(xs[1][1:])
        if self.size is not None:
            return per_axis(self.size, rank, "size", self.type, span)
        if self.scale is None:
            raise ShapeError(span, f"{self.type}: give scale or size, or a second input whose size it takes",
                             "e.g. upsample: {scale: 2, mode: bilinear}")
        scales = self.scales(rank, span)
        if all(type(s) is int for s in scales):  # the common case (a YOLO's, a U-Net's 2x), exact as it is
            return tuple(size * s for size, s in zip(x[1:], scales))
        # torch: floor(in * scale) in double precision; the scale is that very double
        from fractions import Fraction  # (fractions imports decimal: 1.4 ms at start-up, only here)

        return tuple(int(Fraction(size) * Fraction(s)) for size, s in zip(x[1:], scales))

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        if len(xs) not in (1, 2):
            raise ShapeError(span, f"{self.type} takes one input, or two (the second gives the size), got {len(xs)}")
        x = xs[0]
        need = MODES[self.mode]
        if need is not None and len(x) != need:
            rank = {2: "a C x L sequence", 3: "a C x H x W map", 4: "a C x T x H x W volume"}[need]
            raise ShapeError(span, f"{self.type}: mode {self.mode} interpolates {rank}, got {fmt_shape(x)}",
                             "nearest works on every rank; linear 1-D, bilinear and bicubic 2-D, trilinear 3-D")
        out = self.target(xs, span)
        if min(out) < 1:
            raise ShapeError(span, f"{self.type}: the output would be {' x '.join(map(str, out))}")
        return (x[0], *out)

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Nothing: the backward pass of interpolation needs only the sizes and scales."""
        return ()

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        taps = TAPS[self.mode] ** (len(y) - 1)
        return Cost(elem_ops=0 if self.mode == "nearest" else 2 * taps * numel(y))

    def columns(self, xs: list[Shape]) -> dict:
        return {"kernel": self.mode}

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        x = xs[0]
        names = letters(len(x) - 1)
        if len(xs) == 2:
            how = "the second input's size"
        elif self.size is not None:
            how = "size"
        else:
            scales = self.scales(len(x) - 1)
            how = "floor(in * scale): " + ", ".join(f"{a}' = floor({size} * {s}) = {o}" for a, size, s, o
                                                    in zip(names, x[1:], scales, y[1:]))
        taps = TAPS[self.mode] ** (len(y) - 1)
        work = ("each output element copies its nearest input element" if self.mode == "nearest" else
                f"each output element is a weighted sum of {taps} input elements ({2 * taps} ops)")
        return [f"Output shape = C x {' x '.join(a + chr(39) for a in names)} = {fmt_shape(y)} ({how})",
                "Params: none",
                f"Flop (multiply-adds): none counted ({self.mode}: {work}; {n(self.cost(xs, y).elem_ops)} "
                f"elementwise ops, outside the lecture's flop column)"]

    def rf_through(self, field: Any, xs: list[Shape]) -> Any:
        """Per axis with in -> out: output positions are in/out input positions apart (a fraction,
        exact); output 0 sits at input coordinate (in/out - 1)/2 (align_corners: 0, spacing
        (in-1)/(out-1)), and sees 1 input position (nearest) or TAPS of them."""
        from fractions import Fraction

        from cnncalc.rf import Field, _fit, _whole

        x, out = xs[0], self.target(xs)
        f = _fit(field, len(out))
        size, jump, start = [], [], []
        for a, (i, o) in enumerate(zip(x[1:], out)):
            if self.align_corners and o > 1:
                step, first = Fraction(i - 1, o - 1), Fraction(0)
            else:
                step = Fraction(i, o)
                first = Fraction(0) if self.mode == "nearest" else (step - 1) / 2
            spread = 0 if self.mode == "nearest" or i == 1 else TAPS[self.mode] - 1
            size.append(_whole(f.size[a] + spread * f.jump[a]))
            jump.append(_whole(f.jump[a] * step))
            start.append(f.start[a] + first * f.jump[a])
        return Field(tuple(size), tuple(jump), tuple(start))

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import Resize

        corners = self.align_corners if self.mode != "nearest" else None
        scale = None
        if len(xs) == 1 and self.size is None:
            scale = tuple(float(s) for s in self.scales(len(xs[0]) - 1))
        size = per_axis(self.size, len(xs[0]) - 1, "size", self.type, None) if self.size is not None else None
        return Resize(size, scale, self.mode, corners, self.call == "function")


@register("pixel_shuffle")
class PixelShuffle(OpDef):
    """Sub-pixel rearrangement (torch's PixelShuffle): C*r*r x H x W -> C x H*r x W*r.

    params = 0; macs = 0 (a copy)
    """
    doc_row = DocRow("resample", "`factor` r", "`C/r² × H·r × W·r`")

    factor: int = arg("int+", doc="the upscale factor r")
    ranks, layout = (3,), "a C x H x W feature map"
    counts = rules()
    samples = (({"factor": 2}, [(8, 3, 5)]), ({"factor": 3}, [(9, 4, 4)]))

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        c, h, w = xs[0]
        r = self.factor
        if c % (r * r):
            raise ShapeError(span, f"{self.type}: {c} channels do not divide by factor^2 = {r * r}")
        return (c // (r * r), h * r, w * r)

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        return ()

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost()

    def rf_through(self, field: Any, xs: list[Shape]) -> Any:
        """Each output pixel is one input position's: the field keeps its size, its jump is
        divided by the factor (exact fractions), output 0 is input 0."""
        from fractions import Fraction

        from cnncalc.rf import Field, _fit, _whole

        f = _fit(field, 2)
        return Field(f.size, tuple(_whole(Fraction(j) / self.factor) for j in f.jump), f.start)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.PixelShuffle(self.factor)


@register("pixel_unshuffle")
class PixelUnshuffle(OpDef):
    """The inverse (torch's PixelUnshuffle): C x H*r x W*r -> C*r*r x H x W.

    params = 0; macs = 0 (a copy)
    """
    doc_row = DocRow("resample", "`factor` r", "`C·r² × H/r × W/r`")

    factor: int = arg("int+", doc="the downscale factor r")
    ranks, layout = (3,), "a C x H x W feature map"
    counts = rules()
    samples = ({"factor": 2}, {"factor": 3})

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        c, h, w = xs[0]
        r = self.factor
        if h % r or w % r:
            raise ShapeError(span, f"{self.type}: {h} x {w} does not divide by the factor {r}")
        return (c * r * r, h // r, w // r)

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        return ()

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost()

    def rf_window(self, xs: list[Shape]) -> Any:
        """An r x r window, stride r: each output pixel gathers r x r input pixels."""
        r = self.factor
        return (r, r), (r, r), (0, 0), (1, 1)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from torch import nn

        return nn.PixelUnshuffle(self.factor)


__all__ = ["PixelShuffle", "PixelUnshuffle", "Upsample", "by_call", "zero"]
