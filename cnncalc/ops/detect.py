"""The fixed arithmetic at the end of a detection head (YOLO's Detect in eval mode): the anchor
decode of box distances, and the top-k of an end-to-end head. No parameters, no multiply-adds,
and no counting tool counts them (they are tensor arithmetic, top-k and gathers).

Stage: ops (pure). torch is imported only inside to_torch().
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cnncalc.errors import ShapeError, Span
from cnncalc.ops.registry import Cost, DocRow, OpDef, Saved, Shape, arg, fmt_shape, register, rules

if TYPE_CHECKING:
    from torch import nn


@register("box_decode")
class BoxDecode(OpDef):
    """YOLO's dist2bbox times the strides: 4 x A distances (left, top, right, bottom of each of
    A anchor points) -> 4 x A boxes, centre and size (xywh) or corners (xyxy), in pixels. The
    anchor points and strides are constants made from the feature maps' sizes.

    params = 0; macs = 0; elem_ops = 14 per anchor (xywh: 2 subtractions, 2 additions, 2 more and
    2 halvings for the centre, 2 subtractions for the size, 4 stride products), 8 (xyxy)."""
    doc_row = DocRow("any", "`xywh` (true: centre and size; false: corners)", "same (`4 x A`)", "0",
                     "0 (14 ops per anchor; 8 for xyxy)")

    xywh: bool = arg("bool", True, doc="centre and size (true) or corners (false)")
    counts = rules()
    samples: ClassVar[tuple[Any, ...]] = (({}, [(4, 30)]), ({"xywh": False}, [(4, 7)]))

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        x = xs[0]
        if len(x) != 2 or x[0] != 4:
            raise ShapeError(span, f"box_decode: the input is 4 x anchors (box distances), found {fmt_shape(x)}")
        return x

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost(elem_ops=(14 if self.xywh else 8) * y[1])

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import BoxDecode as TorchBoxDecode

        return TorchBoxDecode(self.xywh)


@register("topk_boxes")
class TopkBoxes(OpDef):
    """An end-to-end head's answer (YOLO26, YOLOv10): of (4 + nc + extra) x A predictions, the k
    with the highest class score, each as its box (4), score, class and extras:
    min(k, A) x (6 + extra). A top-k and gathers: no params, no multiply-adds."""
    doc_row = DocRow("any", "`nc`, `k` (300)", "`min(k, A) x (6 + extra)`", "0", "0")

    nc: int = arg("int+", doc="the number of classes (the rows after the 4 box rows)")
    k: int = arg("int+", 300, doc="the detections kept (max_det)")
    counts = rules()
    samples: ClassVar[tuple[Any, ...]] = (({"nc": 2, "k": 3}, [(6, 10)]), ({"nc": 2, "k": 30}, [(9, 10)]))

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        x = xs[0]
        if len(x) != 2 or x[0] < 4 + self.nc:
            raise ShapeError(span, f"topk_boxes: the input is (4 + nc + extra) x anchors with nc={self.nc}, "
                             f"found {fmt_shape(x)}")
        return (min(self.k, x[1]), 6 + x[0] - 4 - self.nc)

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Nothing: it runs only in inference (`eval_only`), its twin without autograd."""
        return ()

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import TopkBoxes as TorchTopkBoxes

        return TorchTopkBoxes(self.nc, self.k)


@register("kpt_decode")
class KptDecode(OpDef):
    """A pose head's keypoint decode (YOLO's Pose, Pose26): C x A raw keypoints, `dims` values
    per keypoint (x, y and, with 3, a visibility logit) of each of A anchor points -> the same
    C x A, x and y in pixels around the anchors, the visibility a probability. With `scale` 2
    (Pose) an offset x becomes (2x + anchor - 0.5) * stride, with 1 (Pose26) (x + anchor) * stride.

    params = 0; macs = 0; elem_ops per anchor: 6 per keypoint (3 per coordinate) and 2 for the
    shifted anchors with scale 2, 4 per keypoint with scale 1; + 1 per keypoint (the sigmoid)
    with dims 3."""
    doc_row = DocRow("any", "`dims` (3: x, y, visibility; 2), `scale` (2: Pose's 2x − 0.5 offsets; 1: Pose26)",
                     "same (`C x A`)", "0", "0 (per anchor: 6 ops a keypoint + 2; scale 1: 4 a keypoint; dims 3: + 1 a keypoint)")

    dims: int = arg("int+", 3, doc="values per keypoint: 2 (x, y) or 3 (x, y, visibility)")
    scale: int = arg("int+", 2, doc="2: (2x + anchor - 0.5) * stride (Pose); 1: (x + anchor) * stride (Pose26)")
    counts = rules()
    samples: ClassVar[tuple[Any, ...]] = (({}, [(12, 20)]), ({"dims": 2, "scale": 1}, [(8, 9)]))

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        x = xs[0]
        if self.dims not in (2, 3):
            raise ShapeError(span, f"kpt_decode: dims is 2 (x, y) or 3 (x, y, visibility), found {self.dims}")
        if self.scale not in (1, 2):
            raise ShapeError(span, f"kpt_decode: scale is 2 (Pose) or 1 (Pose26), found {self.scale}")
        if len(x) != 2 or x[0] % self.dims:
            raise ShapeError(span, f"kpt_decode: the input is (keypoints x {self.dims}) x anchors, found {fmt_shape(x)}")
        return x

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        k = y[0] // self.dims
        per_anchor = k * (6 if self.scale == 2 else 4) + (2 if self.scale == 2 else 0) + (k if self.dims == 3 else 0)
        return Cost(elem_ops=per_anchor * y[1])

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """The visibilities' sigmoid (its output); the affine steps keep nothing."""
        return (Saved("new", y[0] // 3 * y[1]),) if self.dims == 3 else ()

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import KptDecode as TorchKptDecode

        return TorchKptDecode(self.dims, self.scale)


@register("rbox_decode")
class RboxDecode(OpDef):
    """An oriented-box head's decode (YOLO's OBB, OBB26): 4 x A distances (left, top, right,
    bottom of each of A anchor points) and 1 x A angles -> 4 x A rotated boxes, centre and size
    in pixels: the centre offset ((right - left) / 2, (bottom - top) / 2) turned by the angle and
    moved to the anchor, the size left + right and top + bottom, all times the stride.

    params = 0; macs = 0; elem_ops = 20 per anchor (cos and sin 2, the offset's halves 4, the
    turn 6, the anchor 2, the size 2, the stride products 4)."""
    doc_row = DocRow("any", "none; `inputs`: the distances `4 x A`, then the angles `1 x A`", "`4 x A`", "0",
                     "0 (20 ops per anchor)")

    arity = 2
    counts = rules()
    samples: ClassVar[tuple[Any, ...]] = (({}, [(4, 20), (1, 20)]),)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        x, a = xs
        if len(x) != 2 or x[0] != 4:
            raise ShapeError(span, f"rbox_decode: the first input is 4 x anchors (box distances), found {fmt_shape(x)}")
        if a != (1, x[1]):
            raise ShapeError(span, f"rbox_decode: the second input is 1 x {x[1]} (an angle per anchor), "
                             f"found {fmt_shape(a)}")
        return x

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost(elem_ops=20 * y[1])

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """The angles (cos and sin keep their input), the halved offsets (2 x A), the cosines
        and the sines (the turn's products keep both factors)."""
        return (Saved("x1"), Saved("new", 4 * y[1]))

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import RboxDecode as TorchRboxDecode

        return TorchRboxDecode()
