"""Ultralytics' heads (ultralytics/nn/modules/head.py) as cnncalc layers, as they run in eval
mode (what `model.info()` and FlopCounterMode measure): our own code, written from each head's
forward.

Detect(nc, reg_max, end2end, ch): per level i, cv2.i (box: Conv 3x3, Conv 3x3, conv 1x1 to
4*reg_max) and cv3.i (class: legacy Conv 3x3, Conv 3x3, conv 1x1 to nc; since YOLO11 two
depth-wise pairs); each level's outputs flattened and joined over the levels; the box
distributions go through DFL (softmax over reg_max bins, a fixed 1x1 conv taking their
expectation), are decoded around the anchor points, and are joined with the class
probabilities (sigmoid): (4 + nc) x anchors. An end-to-end head (end2end, YOLO26; v10Detect)
runs a second, one-to-one copy of cv2/cv3 and keeps the top max_det of its boxes.
"""

from __future__ import annotations

from typing import Any

from cnncalc.readers.ultralytics.build import Net, Node, module
from cnncalc.readers.ultralytics.nn_conv import Conv, DWConv


def _flat(net: Net, name: str, x: Node, c: int) -> Node:
    """x.view(b, c, -1): C x H x W -> C x (H*W)."""
    return net.op("reshape", name, x, shape=[c, -1])


def dfl(net: Net, name: str, x: Node, c1: int = 16) -> Node:
    """DFL: (4*c1) x A viewed 4 x c1 x A, transposed c1 x 4 x A, softmax over the c1 bins, a fixed
    1x1 conv c1 -> 1 (its weight 0..c1-1, not trained but a parameter), viewed 4 x A."""
    with net.module("DFL", name, x) as inst:
        y = net.op("reshape", "view", x, shape=[4, c1, -1])
        y = net.op("permute", "transpose", y, dims=[1, 0, 2])
        y = net.op("softmax", "softmax", y, axis=0, call="method")
        y = net.conv2d("conv", y, 1, 1, bias=False)
        inst.out = net.op("reshape", "view_1", y, shape=[4, -1])
    return inst


def _box_head(net: Net, name: str, x: Node, c1: int, c2: int, reg_max: int) -> Node:
    with net.module("Sequential", name, x) as inst:
        y = Conv(net, "0", x, c1, c2, 3)
        y = Conv(net, "1", y, c2, c2, 3)
        net.conv2d("2", y, 4 * reg_max, 1)
    return inst


def _cls_head(net: Net, name: str, x: Node, c1: int, c3: int, nc: int, legacy: bool) -> Node:
    with net.module("Sequential", name, x) as inst:
        if legacy:
            y = Conv(net, "0", x, c1, c3, 3)
            y = Conv(net, "1", y, c3, c3, 3)
        else:
            with net.module("Sequential", "0", x):
                y = DWConv(net, "0", x, c1, c1, 3)
                y = Conv(net, "1", y, c1, c3, 1)
            with net.module("Sequential", "1", y):
                y = DWConv(net, "0", y, c3, c3, 3)
                y = Conv(net, "1", y, c3, c3, 1)
        net.conv2d("2", y, nc, 1)
    return inst


def detect_levels(net: Net, xs: list[Node], ch: list[int], nc: int, reg_max: int, legacy: bool,
                  prefix: str = "") -> tuple[Node, Node]:
    """forward_head: the box and class branches of every level (cv2.i then cv3.i, all levels of
    one before the other, as the list comprehensions run), flattened and joined: (boxes, scores)."""
    c2, c3 = max(16, ch[0] // 4, reg_max * 4), max(ch[0], min(nc, 100))
    boxes, scores = [], []
    with net.module("ModuleList", f"{prefix}cv2", xs[0]):
        for i, (x, c) in enumerate(zip(xs, ch)):
            boxes.append(_box_head(net, str(i), x, c, c2, reg_max))
    with net.module("ModuleList", f"{prefix}cv3", xs[0]):
        for i, (x, c) in enumerate(zip(xs, ch)):
            scores.append(_cls_head(net, str(i), x, c, c3, nc, legacy))
    box = [_flat(net, f"{prefix}box_view_{i}", b, 4 * reg_max) for i, b in enumerate(boxes)]
    score = [_flat(net, f"{prefix}cls_view_{i}", s, nc) for i, s in enumerate(scores)]
    return (net.op("concat", f"{prefix}boxes", box, axis=-1) if len(box) > 1 else box[0],
            net.op("concat", f"{prefix}scores", score, axis=-1) if len(score) > 1 else score[0])


def decode(net: Net, boxes: Node, scores: Node, reg_max: int, xywh: bool = True) -> Node:
    """_inference: DFL (when reg_max > 1), the anchor decode times the strides, and the class
    probabilities joined: (4 + nc) x A."""
    d = dfl(net, "dfl", boxes, reg_max) if reg_max > 1 else boxes
    d = net.op("box_decode", "decode", d, xywh=xywh)
    p = net.op("sigmoid", "sigmoid", scores, call="method")
    return net.op("concat", "cat", [d, p])


@module("Detect", channels="head")
def Detect(net: Net, name: str, xs: list[Node], nc: int = 80, reg_max: int = 16, end2end: bool = False,
           ch: Any = ()) -> Node:
    ch = list(ch)
    with net.module("Detect", name, xs[0]) as inst:
        if not (end2end and net.fused):  # fuse() drops the one-to-many head of an end-to-end model
            boxes, scores = detect_levels(net, xs, ch, nc, reg_max, net.legacy)
        if end2end:  # both heads run in eval; the one-to-one head's boxes are the answer
            boxes, scores = detect_levels(net, xs, ch, nc, reg_max, net.legacy, prefix="one2one_")
        y = decode(net, boxes, scores, reg_max, xywh=not end2end)
        if end2end:
            y = net.op("topk_boxes", "postprocess", y, k=300)
        inst.out = y
    return inst
