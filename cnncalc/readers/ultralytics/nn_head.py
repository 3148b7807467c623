"""Ultralytics' heads (ultralytics/nn/modules/head.py) as cnncalc layers, as they run in eval
mode (what `model.info()` and FlopCounterMode measure): our own code, written from each head's
forward.

The Detect family (Detect, Segment, Pose, OBB, their YOLO26 forms, v10Detect) takes the feature
maps of several levels. Per level i: cv2.i (box: Conv 3x3, Conv 3x3, conv 1x1 to 4*reg_max),
cv3.i (class: legacy Conv 3x3, Conv 3x3, conv 1x1 to nc; since YOLO11 two depth-wise pairs;
v10Detect's own light pairs) and, for the task heads, cv4.i (mask coefficients, keypoints or
angles). Each branch's level outputs are flattened and joined over the levels: these raw maps
are what the head hands the loss in training and returns beside its answer in eval. Eval alone
then runs the answer: the box distributions through DFL (softmax over the reg_max bins, a fixed
1x1 conv taking their expectation; none when reg_max is 1), decoded around the anchor points
(rotated by the angles for OBB), joined with the class probabilities (sigmoid) and the task's
extra rows (mask coefficients; decoded keypoints; angles): (4 + nc + extra) x anchors. Segment
also runs Proto on the finest level (Segment26: on all levels, fused) for the mask prototypes.

End-to-end heads (`end2end` files, YOLO26; v10Detect) hold a second, one-to-one copy of every
branch (one2one_cv2, ...), and both run in eval. Which one answers is a switch on the head: as
Ultralytics builds a model from its YAML (and predicts with its default external NMS) the
one-to-many branch answers and fuse() drops the one-to-one copy; with Ultralytics' NMS-free
inference (nms=False; `net.nms_free` here) the one-to-one branch answers with boxes as corners,
its top max_det (300) detections are kept, and fuse() drops the one-to-many branch instead.

What runs only in training (Pose26's keypoint sigma convs and its RealNVP flow model, Proto26's
semantic-segmentation branch) is written `train_only: true`: its parameters count, as in
Ultralytics' parameter count, and nothing else does; fuse() removes it.

Classify: Conv to 1280 channels, global average pool, flatten, dropout, linear to nc, and in
eval the softmax over the classes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from cnncalc.readers.emit import Instance, Layer, full_name
from cnncalc.readers.ultralytics.build import Net, Node, Unsupported, module
from cnncalc.readers.ultralytics.nn_conv import Conv, DWConv

MAX_DET = 300  # Detect.max_det: the detections an end-to-end head keeps

Preds = dict[str, Node]  # a branch's raw maps: boxes, scores and the task's own (kpts, ...)


def _nms_free(net: Net) -> bool:
    """Whether an end-to-end head answers with its one-to-one branch (Ultralytics' nms=False)."""
    return net.nms_free


# -- what runs only in training ----------------------------------------------------------------

def _innermost(node: Node) -> Node:
    """The layer whose output a node is (an instance's output, followed down)."""
    while isinstance(node, Instance):
        node = node.out if node.out is not None else (node.items[-1] if node.items else node.src)
    return node


@contextmanager
def training_only(net: Net) -> Iterator[None]:
    """Layers that run only in training: each is written `train_only: true`, a side branch the
    spec's next item skips, so each names its input itself (`inputs:`, its source's own layer:
    a local name beside it, else the full name), and the writer is given the item above as its
    input so that it writes none of its own."""
    plain = net.op

    def op(kind: str, name: str, x: Node | list[Node], args: dict[str, Any] | None = None, **kw: Any) -> Layer:
        layer = plain(kind, name, x, args, **kw)
        if len(layer.inputs) != 1:
            raise Unsupported(f"a training-only {kind} with {len(layer.inputs)} inputs")
        layer.args["train_only"] = True
        inst = layer.parent
        source = _innermost(layer.inputs[0])
        layer.args["inputs"] = source.name if getattr(source, "parent", None) is inst else full_name(source)
        before = [i for i in inst.items[:-1] if not (isinstance(i, Instance) and not i.items)] if inst else []
        layer.inputs = [before[-1] if before else inst.src if inst else layer.inputs[0]]
        return layer

    setattr(net, "op", op)  # noqa: B010  (the instance's own op, over the class's, while the block runs)
    try:
        yield
    finally:
        delattr(net, "op")


# -- the pieces ------------------------------------------------------------------------------------

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


def _conv_head(net: Net, name: str, x: Node, c1: int, c: int, out: int | None) -> Node:
    """nn.Sequential(Conv(c1, c, 3), Conv(c, c, 3)[, nn.Conv2d(c, out, 1)]): the box branch and
    the task branches (cv4) of every Detect-family head."""
    with net.module("Sequential", name, x) as inst:
        y = Conv(net, "0", x, c1, c, 3)
        y = Conv(net, "1", y, c, c, 3)
        if out is not None:
            net.conv2d("2", y, out, 1)
    return inst


def _cls_head(net: Net, name: str, x: Node, c1: int, c3: int, nc: int, style: str) -> Node:
    """The class branch: legacy (v3/v5/v8/v9: two Conv 3x3), "dw" (YOLO11 on: a depth-wise 3x3
    and a 1x1 Conv, twice) or "v10" (v10Detect: the same pairs with Conv(c, c, 3, g=c))."""
    with net.module("Sequential", name, x) as inst:
        if style == "legacy":
            y = Conv(net, "0", x, c1, c3, 3)
            y = Conv(net, "1", y, c3, c3, 3)
        else:
            y = x
            for j, (ci, co) in enumerate(((c1, c3), (c3, c3))):
                with net.module("Sequential", str(j), y) as pair:
                    z = DWConv(net, "0", y, ci, ci, 3) if style == "dw" else Conv(net, "0", y, ci, ci, 3, g=ci)
                    Conv(net, "1", z, ci, co, 1)
                y = pair
        net.conv2d("2", y, nc, 1)
    return inst


def _levels(net: Net, attr: str, xs: list[Node], ch: list[int],
            make: Callable[[str, Node, int], Node]) -> list[Node]:
    """A ModuleList `attr` of one module per level, each run on its level's map."""
    with net.module("ModuleList", attr, xs[0]):
        return [make(str(i), x, c) for i, (x, c) in enumerate(zip(xs, ch))]


def _joined(net: Net, prefix: str, view: str, joined: str, maps: list[Node], c: int) -> Node:
    """torch.cat([m.view(b, c, -1) for m in maps], -1): each level flattened, joined over the
    levels (returned beside the answer; the loss's input in training)."""
    flat = [_flat(net, f"{prefix}{view}_view_{i}", m, c) for i, m in enumerate(maps)]
    y = net.op("concat", f"{prefix}{joined}", flat, axis=-1) if len(flat) > 1 else flat[0]
    net.returns.append(y)
    return y


def detect_levels(net: Net, xs: list[Node], ch: list[int], nc: int, reg_max: int, style: str,
                  prefix: str = "") -> tuple[Node, Node]:
    """forward_head: the box and class branches of every level (cv2.i then cv3.i, all levels of
    one before the other, as the list comprehensions run), flattened and joined: (boxes, scores).
    style: the class branch's ("legacy", "dw" or "v10", _cls_head)."""
    c2, c3 = max(16, ch[0] // 4, reg_max * 4), max(ch[0], min(nc, 100))
    boxes = _levels(net, f"{prefix}cv2", xs, ch, lambda i, x, c: _conv_head(net, i, x, c, c2, 4 * reg_max))
    scores = _levels(net, f"{prefix}cv3", xs, ch, lambda i, x, c: _cls_head(net, i, x, c, c3, nc, style))
    box = [_flat(net, f"{prefix}box_view_{i}", b, 4 * reg_max) for i, b in enumerate(boxes)]
    score = [_flat(net, f"{prefix}cls_view_{i}", s, nc) for i, s in enumerate(scores)]
    joined_boxes = net.op("concat", f"{prefix}boxes", box, axis=-1) if len(box) > 1 else box[0]
    joined_scores = net.op("concat", f"{prefix}scores", score, axis=-1) if len(score) > 1 else score[0]
    net.returns += [joined_boxes, joined_scores]  # returned in eval beside the answer; the loss's inputs in training
    return joined_boxes, joined_scores


Extra = Callable[[Net, list[Node], list[int], str], Preds]  # a task's own branch: (net, xs, ch, prefix) -> maps


def _branches(net: Net, xs: list[Node], ch: list[int], nc: int, reg_max: int, end2end: bool, style: str,
              extra: Extra | None = None) -> Preds:
    """forward_head once, or for an end-to-end head twice (one-to-many, then the one-to-one
    copy), each branch but the one fuse() drops; the raw maps of the branch that answers."""
    one2one = end2end and _nms_free(net)
    answer: Preds = {}
    for prefix in ("", "one2one_") if end2end else ("",):
        if net.fused and end2end and (prefix == "") == one2one:  # fuse() drops the branch that does not answer
            continue
        preds: Preds = {}
        preds["boxes"], preds["scores"] = detect_levels(net, xs, ch, nc, reg_max, style, prefix)
        if extra is not None:
            preds.update(extra(net, xs, ch, prefix))
        if not answer or (prefix == "one2one_" and one2one):
            answer = preds
    return answer


Tail = Callable[[Net, Node, Preds], Node]  # what a task's _inference adds to (4 + nc) x A


def _answer(net: Net, preds: Preds, nc: int, reg_max: int, end2end: bool, rotated: bool = False,
            tail: Tail | None = None) -> Node:
    """_inference (eval only): DFL, the decode (rotated by the angles for OBB) times the strides,
    the class probabilities and the task's rows; the one-to-one answer's top-k."""
    one2one = end2end and _nms_free(net)
    with net.inference_only():
        d = dfl(net, "dfl", preds["boxes"], reg_max) if reg_max > 1 else preds["boxes"]
        if rotated:
            d = net.op("rbox_decode", "decode", [d, preds["angle"]])
        else:
            d = net.op("box_decode", "decode", d, xywh=not one2one)
        p = net.op("sigmoid", "sigmoid", preds["scores"], call="method")
        y = net.op("concat", "cat", [d, p])
        if tail is not None:
            y = tail(net, y, preds)
        if one2one:  # postprocess: the detections of the highest class scores, boxes as corners
            y = net.op("topk_boxes", "postprocess", y, nc=nc, k=MAX_DET)
    return y


def _task_head(net: Net, kind: str, name: str, xs: list[Node], nc: int, reg_max: int, end2end: bool,
               ch: Any, extra: Extra | None = None, tail: Tail | None = None, rotated: bool = False,
               style: str | None = None, after: Callable[[Node], None] | None = None) -> Node:
    """A Detect-family head: its branches, its answer, then what follows (Segment's Proto)."""
    ch = list(ch)
    style = style or ("legacy" if net.legacy else "dw")
    with net.module(kind, name, xs[0]) as inst:
        preds = _branches(net, xs, ch, nc, reg_max, end2end, style, extra)
        inst.out = _answer(net, preds, nc, reg_max, end2end, rotated, tail)
        if after is not None:
            after(inst)
            with net.inference_only():  # the answer, named as the writer names a block's output
                inst.out = net.op("identity", "output", inst.out)
    return inst


# -- Detect, v10Detect ---------------------------------------------------------------------------

@module("Detect", channels="head")
def Detect(net: Net, name: str, xs: list[Node], nc: int = 80, reg_max: int = 16, end2end: bool = False,
           ch: Any = ()) -> Node:
    return _task_head(net, "Detect", name, xs, nc, reg_max, bool(end2end), ch)


@module("v10Detect", channels="head")
def v10Detect(net: Net, name: str, xs: list[Node], nc: int = 80, reg_max: Any = 16, end2end: Any = True,
              ch: Any = ()) -> Node:
    """v10Detect(nc, ch): an end-to-end Detect with reg_max 16 whatever the file says (its
    constructor takes none) and a light class branch (Conv(c, c, 3, g=c) and a 1x1 Conv, twice).
    The reader passes it the Detect family's arguments; reg_max and end2end are not its own."""
    return _task_head(net, "v10Detect", name, xs, nc, 16, True, ch, style="v10")


# -- Segment, Segment26 ------------------------------------------------------------------------

def _mask_branch(nm: int) -> Extra:
    """cv4: per level Conv 3x3, Conv 3x3, conv 1x1 to nm mask coefficients, c4 = max(ch0 // 4, nm)."""
    def run(net: Net, xs: list[Node], ch: list[int], prefix: str) -> Preds:
        c4 = max(ch[0] // 4, nm)
        maps = _levels(net, f"{prefix}cv4", xs, ch, lambda i, x, c: _conv_head(net, i, x, c, c4, nm))
        return {"mask_coefficient": _joined(net, prefix, "mask", "mask_coefficient", maps, nm)}
    return run


def _with_masks(net: Net, y: Node, preds: Preds) -> Node:
    return net.op("concat", "cat_1", [y, preds["mask_coefficient"]])


def _proto_layers(net: Net, x: Node, c1: int, c_: int, c2: int) -> Node:
    """Proto's layers: cv1 Conv 3x3 (c1 -> c_), upsample (ConvTranspose2d 2x2, stride 2, with
    bias), cv2 Conv 3x3, cv3 Conv 1x1 to the c2 prototypes, at twice the map's size."""
    y = Conv(net, "cv1", x, c1, c_, 3)
    y = net.op("conv_transpose", "upsample", y, out=c_, kernel=2, stride=2)
    y = Conv(net, "cv2", y, c_, c_, 3)
    return Conv(net, "cv3", y, c_, c2, 1)


def proto(net: Net, name: str, x: Node, c1: int, c_: int = 256, c2: int = 32) -> Node:
    """Proto(c1, c_, c2) on the finest level."""
    with net.module("Proto", name, x) as inst:
        _proto_layers(net, x, c1, c_, c2)
    return inst


def proto26(net: Net, name: str, xs: list[Node], ch: list[int], c_: int = 256, c2: int = 32, nc: int = 80) -> Node:
    """Proto26(ch, c_, c2, nc): each coarser level through feat_refine.i (Conv 1x1 to ch0),
    upsampled (nearest, F.interpolate by 2, 4, ...) and added to the finest; feat_fuse (Conv 3x3
    to c_), then Proto's layers (cv1 c_ -> c_). semseg (Conv 3x3, Conv 3x3, conv 1x1 to nc on the
    summed map) runs only in training; fuse() removes it."""
    with net.module("Proto26", name, xs[0]) as inst:
        feat = xs[0]
        with net.module("ModuleList", "feat_refine", xs[1] if len(xs) > 1 else xs[0]):
            refined = [Conv(net, str(i), x, c, ch[0], 1) for i, (x, c) in enumerate(zip(xs[1:], ch[1:]))]
        for i, r in enumerate(refined):
            suffix = f"_{i}" if i else ""
            up = net.op("upsample", f"interpolate{suffix}", r, scale=2 ** (i + 1), call="function")
            feat = net.op("add", f"add{suffix}", [feat, up])
        if not net.fused:
            with training_only(net):
                _conv_head(net, "semseg", feat, ch[0], c_, nc)
        y = Conv(net, "feat_fuse", feat, ch[0], c_, 3)
        inst.out = _proto_layers(net, y, c_, c_, c2)
    return inst


def _segment(net: Net, kind: str, name: str, xs: list[Node], nc: int, nm: int, npr: int, reg_max: int,
             end2end: bool, ch: Any) -> Node:
    ch = list(ch)

    def protos(inst: Instance) -> None:  # self.proto(x[0]), or all levels for Proto26
        p = proto26(net, "proto", xs, ch, npr, nm, nc) if kind == "Segment26" else proto(net, "proto", xs[0], ch[0],
                                                                                        npr, nm)
        net.returns.insert(0, p)  # eval returns ((answer, protos), raw maps)

    return _task_head(net, kind, name, xs, nc, reg_max, end2end, ch, extra=_mask_branch(nm), tail=_with_masks,
                      after=protos)


@module("Segment", channels="head")
def Segment(net: Net, name: str, xs: list[Node], nc: int = 80, nm: int = 32, npr: int = 256, reg_max: int = 16,
            end2end: bool = False, ch: Any = ()) -> Node:
    return _segment(net, "Segment", name, xs, nc, nm, npr, reg_max, bool(end2end), ch)


@module("Segment26", channels="head")
def Segment26(net: Net, name: str, xs: list[Node], nc: int = 80, nm: int = 32, npr: int = 256, reg_max: int = 16,
              end2end: bool = False, ch: Any = ()) -> Node:
    return _segment(net, "Segment26", name, xs, nc, nm, npr, reg_max, bool(end2end), ch)


# -- Pose, Pose26 ----------------------------------------------------------------------------------

def _kpt_shape(kpt_shape: Any) -> tuple[int, int]:
    if not (isinstance(kpt_shape, (list, tuple)) and len(kpt_shape) == 2
            and all(isinstance(v, int) and v > 0 for v in kpt_shape)):
        raise Unsupported(f"kpt_shape is [keypoints, dims], found {kpt_shape!r}")
    if kpt_shape[1] not in (2, 3):
        raise Unsupported(f"kpt_shape's dims is 2 (x, y) or 3 (x, y, visibility), found {kpt_shape[1]}")
    return int(kpt_shape[0]), int(kpt_shape[1])


def _pose_branch(k: int, dims: int) -> Extra:
    """Pose's cv4: per level Conv 3x3, Conv 3x3, conv 1x1 to nk = k * dims keypoint values,
    c4 = max(ch0 // 4, nk)."""
    def run(net: Net, xs: list[Node], ch: list[int], prefix: str) -> Preds:
        nk, c4 = k * dims, max(ch[0] // 4, k * dims)
        maps = _levels(net, f"{prefix}cv4", xs, ch, lambda i, x, c: _conv_head(net, i, x, c, c4, nk))
        return {"kpts": _joined(net, prefix, "kpt", "kpts", maps, nk)}
    return run


def _flow_model(net: Net, name: str, kpts: Node, k: int, dims: int) -> Node:
    """RealNVP, Pose26's flow model: used only by the training loss, on (x, y) pairs of keypoint
    errors. Six coupling layers, each a scale net s.i (Linear 2 -> 64, SiLU, Linear 64 -> 64,
    SiLU, Linear 64 -> 2, Tanh) and a translation net t.i (the same without the Tanh). Written
    `train_only`, on a stand-in for the loss's input: one (x, y) pair per keypoint (those of the
    first anchor, k x 2). The loss's own count, one per visible keypoint of the matched anchors,
    depends on the data, and the loss is no part of the model (nor of cnncalc's memory)."""
    with training_only(net), net.module("RealNVP", name, kpts):
        z = net.op("reshape", "view", kpts, shape=[k, dims, -1])
        z = net.op("select", "select", z, index=0, axis=2)
        if dims != 2:
            z = net.op("split", "xy", z, sizes=[2, dims - 2], index=0, axis=-1)
        for attr, last in (("s", "tanh"), ("t", None)):
            with net.module("ModuleList", attr, z):
                for i in range(6):
                    with net.module("Sequential", str(i), z):
                        y = net.op("linear", "0", z, out=64)
                        y = net.op("silu", "1", y)
                        y = net.op("linear", "2", y, out=64)
                        y = net.op("silu", "3", y)
                        y = net.op("linear", "4", y, out=2)
                        if last:
                            net.op(last, "5", y)
    return net.here.items[-1]


def _pose26_branch(k: int, dims: int) -> Extra:
    """Pose26's cv4: per level Conv 3x3, Conv 3x3 (c4 = max(ch0 // 4, k * (dims + 2))), then
    cv4_kpts.i (conv 1x1 to nk) for the keypoints; cv4_sigma.i (conv 1x1 to 2k, their spread)
    runs only in training, and fuse() removes it. The one-to-many branch of an unfused model also
    holds the flow model."""
    def run(net: Net, xs: list[Node], ch: list[int], prefix: str) -> Preds:
        nk, c4 = k * dims, max(ch[0] // 4, k * (dims + 2))
        feats = _levels(net, f"{prefix}cv4", xs, ch, lambda i, x, c: _conv_head(net, i, x, c, c4, None))
        maps = _levels(net, f"{prefix}cv4_kpts", feats, [c4] * len(feats),
                       lambda i, x, c: net.conv2d(i, x, nk, 1))
        kpts = _joined(net, prefix, "kpt", "kpts", maps, nk)
        if not net.fused:
            with training_only(net):
                _levels(net, f"{prefix}cv4_sigma", feats, [c4] * len(feats),
                        lambda i, x, c: net.conv2d(i, x, 2 * k, 1))
            if not prefix:
                _flow_model(net, "flow_model", kpts, k, dims)
        return {"kpts": kpts}
    return run


def _kpts_tail(dims: int, scale: int) -> Tail:
    """kpts_decode, then the keypoints joined after the boxes and scores."""
    def run(net: Net, y: Node, preds: Preds) -> Node:
        kpts = net.op("kpt_decode", "kpts_decode", preds["kpts"], dims=dims, scale=scale)
        return net.op("concat", "cat_1", [y, kpts])
    return run


@module("Pose", channels="head")
def Pose(net: Net, name: str, xs: list[Node], nc: int = 80, kpt_shape: Any = (17, 3), reg_max: int = 16,
         end2end: bool = False, ch: Any = ()) -> Node:
    k, dims = _kpt_shape(kpt_shape)
    return _task_head(net, "Pose", name, xs, nc, reg_max, bool(end2end), ch, extra=_pose_branch(k, dims),
                      tail=_kpts_tail(dims, 2))


@module("Pose26", channels="head")
def Pose26(net: Net, name: str, xs: list[Node], nc: int = 80, kpt_shape: Any = (17, 3), reg_max: int = 16,
           end2end: bool = False, ch: Any = ()) -> Node:
    k, dims = _kpt_shape(kpt_shape)
    return _task_head(net, "Pose26", name, xs, nc, reg_max, bool(end2end), ch, extra=_pose26_branch(k, dims),
                      tail=_kpts_tail(dims, 1))


# -- OBB, OBB26 ------------------------------------------------------------------------------------

def _angle_branch(ne: int, squash: bool) -> Extra:
    """cv4: per level Conv 3x3, Conv 3x3, conv 1x1 to ne angle logits, c4 = max(ch0 // 4, ne).
    OBB maps them to [-pi/4, 3pi/4) by (sigmoid - 0.25) * pi (in training too; the shift and the
    scale, 2 ops per anchor, have no cnncalc op and are not counted); OBB26 keeps them raw."""
    def run(net: Net, xs: list[Node], ch: list[int], prefix: str) -> Preds:
        c4 = max(ch[0] // 4, ne)
        maps = _levels(net, f"{prefix}cv4", xs, ch, lambda i, x, c: _conv_head(net, i, x, c, c4, ne))
        flat = [_flat(net, f"{prefix}angle_view_{i}", m, ne) for i, m in enumerate(maps)]
        angle = net.op("concat", f"{prefix}angle", flat, axis=-1) if len(flat) > 1 else flat[0]
        if squash:
            angle = net.op("sigmoid", f"{prefix}angle_sigmoid", angle, call="method")
        net.returns.append(angle)
        return {"angle": angle}
    return run


def _with_angle(net: Net, y: Node, preds: Preds) -> Node:
    return net.op("concat", "cat_1", [y, preds["angle"]])


def _obb(net: Net, kind: str, name: str, xs: list[Node], nc: int, ne: int, reg_max: int, end2end: bool,
         ch: Any) -> Node:
    if ne != 1:
        raise Unsupported(f"{kind} with ne={ne}: the rotated decode takes one angle per anchor")
    return _task_head(net, kind, name, xs, nc, reg_max, end2end, ch, extra=_angle_branch(ne, kind == "OBB"),
                      tail=_with_angle, rotated=True)


@module("OBB", channels="head")
def OBB(net: Net, name: str, xs: list[Node], nc: int = 80, ne: int = 1, reg_max: int = 16, end2end: bool = False,
        ch: Any = ()) -> Node:
    return _obb(net, "OBB", name, xs, nc, ne, reg_max, bool(end2end), ch)


@module("OBB26", channels="head")
def OBB26(net: Net, name: str, xs: list[Node], nc: int = 80, ne: int = 1, reg_max: int = 16, end2end: bool = False,
          ch: Any = ()) -> Node:
    return _obb(net, "OBB26", name, xs, nc, ne, reg_max, bool(end2end), ch)


# -- Classify ----------------------------------------------------------------------------------------

@module("Classify")
def Classify(net: Net, name: str, x: Node, c1: Any, c2: int, k: Any = 1, s: Any = 1, p: Any = None,
             g: int = 1) -> Node:
    """Classify(c1, c2): conv (Conv k x k to 1280), pool (AdaptiveAvgPool2d(1)), flatten, drop
    (Dropout, p 0), linear (1280 -> c2), and in eval the softmax over the c2 classes (the logits
    are returned beside it). Several inputs are joined along the channels first."""
    c_ = 1280  # the width of EfficientNet-B0's last conv
    with net.module("Classify", name, x[0] if isinstance(x, list) else x) as inst:
        if isinstance(x, list):
            x, c1 = net.op("concat", "cat", x), sum(c1)
        y = Conv(net, "conv", x, c1, c_, k, s, p, g)
        y = net.op("adaptive_avgpool", "pool", y, out=1)
        y = net.op("flatten", "flatten", y)
        y = net.op("dropout", "drop", y, p=0.0)
        logits = net.op("linear", "linear", y, out=c2)
        net.returns.append(logits)
        with net.inference_only():
            inst.out = net.op("softmax", "softmax", logits, axis=0, call="method")
    return inst
