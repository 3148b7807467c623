"""The fixed arithmetic at the end of a detection head (YOLO's Detect in eval mode): the anchor
decode of box distances, and the top-k of an end-to-end head. No parameters, no multiply-adds,
and no counting tool counts them (they are tensor arithmetic, top-k and gathers).

Stage: ops (pure). torch is imported only inside to_torch().
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.errors import ShapeError, Span
from cnncalc.ops.registry import Cost, DocRow, OpDef, Shape, arg, fmt_shape, register, rules

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
    samples = ({}, {"xywh": False})

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
    samples = ({"nc": 2, "k": 3},)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        x = xs[0]
        if len(x) != 2 or x[0] < 4 + self.nc:
            raise ShapeError(span, f"topk_boxes: the input is (4 + nc + extra) x anchors with nc={self.nc}, "
                             f"found {fmt_shape(x)}")
        return (min(self.k, x[1]), 6 + x[0] - 4 - self.nc)

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import TopkBoxes as TorchTopkBoxes

        return TorchTopkBoxes(self.nc, self.k)
