"""Ultralytics' CSP, ELAN, Ghost and re-parameterised blocks and its transposed convolutions
(ultralytics/nn/modules/block.py and conv.py) as cnncalc layers, the modules YOLOv3, v5, v6, v9
and the YOLOv8 variants (ghost, p2, p6) name. Our own code, written from each module's forward;
the layer names are the modules' attribute names (cv1, m.0, conv_transpose), a functional op a
short name of ours (cat, chunk, add).

fused (net.fused) writes the model after Ultralytics' fuse(): every Conv with its BN folded (the
Conv writer does it), RepConv's branches merged into one 3x3 conv with a bias, Conv2's 1x1
branch added into its main kernel, and ConvTranspose's BN folded into its transposed conv. Plain nn.Conv2d and nn.BatchNorm2d layers
(BottleneckCSP's cv2, cv3 and bn; CBLinear's conv) stay as they are.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from cnncalc.readers.emit import Instance, Keys, Layer
from cnncalc.readers.ultralytics.build import Net, Node, Unsupported, autopad, module
from cnncalc.readers.ultralytics.nn_block import Bottleneck
from cnncalc.readers.ultralytics.nn_conv import Conv, DWConv

DECONV_DEFAULTS = {"stride": 1, "pad": 0, "output_pad": 0, "dilation": 1, "groups": 1, "bias": True}


def _axes(value: Any) -> Any:
    """A window key as a spec writes it: an int, or a list with one value per axis."""
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value] if len(set(value)) > 1 else int(value[0])
    return value


def _deconv(net: Net, name: str, x: Node, c2: int, k: Any, s: Any = 1, p: Any = 0, op: Any = 0, g: int = 1,
            d: Any = 1, bias: bool = True) -> Layer:
    """An nn.ConvTranspose2d, every key given (emit leaves out those at their default throughout)."""
    args = Keys({"out": c2, "kernel": _axes(k), "stride": _axes(s), "pad": _axes(p), "output_pad": _axes(op),
                 "dilation": _axes(d), "groups": g, "bias": bias}, DECONV_DEFAULTS)
    return net.op("conv_transpose", name, x, args)


def _act(net: Net, name: str, x: Node, act: Any) -> Layer:
    """The activation of a module whose class keeps SiLU as its own default (RepConv,
    ConvTranspose): a YAML's `activation:` changes Conv's default only."""
    return net.op("silu", name, x) if act is True else net.activation(name, x, act)


# -- convolutions ---------------------------------------------------------------------------------

@module("Focus")
def Focus(net: Net, name: str, x: Node, c1: int, c2: int, k: Any = 1, s: Any = 1, p: Any = None, g: int = 1,
          act: Any = True) -> Node:
    """Space to depth, then a Conv: the four pixels of every 2x2 square (the even and odd rows and
    columns) stacked as channels, 4*c1 x H/2 x W/2. The four strided views joined by torch.cat
    are written as one pixel_unshuffle (same shape, no arithmetic; only the channel order
    differs, which changes no count)."""
    with net.module("Focus", name, x) as inst:
        y = net.op("pixel_unshuffle", "cat", x, factor=2)
        inst.out = Conv(net, "conv", y, 4 * c1, c2, k, s, p, g, act=act)
    return inst


@module("GhostConv")
def GhostConv(net: Net, name: str, x: Node, c1: int, c2: int, k: Any = 1, s: Any = 1, g: int = 1,
              act: Any = True) -> Node:
    """Ghost convolution: cv1 makes half the channels, cv2 (a 5x5 depth-wise Conv) derives the
    other half from them cheaply; the two halves joined."""
    c_ = c2 // 2
    with net.module("GhostConv", name, x) as inst:
        y = Conv(net, "cv1", x, c1, c_, k, s, None, g, act=act)
        z = Conv(net, "cv2", y, c_, c_, 5, 1, None, c_, act=act)
        net.op("concat", "cat", [y, z])
    return inst


@module("Conv2", channels="same")
def Conv2(net: Net, name: str, x: Node, c1: int, c2: int, k: Any = 3, s: Any = 1, p: Any = None, g: int = 1,
          d: int = 1, act: Any = True) -> Node:
    """A Conv with a parallel 1x1 conv (cv2) on the same input, summed before the BN; fuse() adds
    the 1x1 kernel into the centre of the main one and folds the BN: a plain fused Conv.
    (parse_model passes its YAML arguments as written: c1 and c2 given.)"""
    with net.module("Conv2", name, x) as inst:
        y: Node = net.conv2d("conv", x, c2, k, s, autopad(k, p, d), g, d, bias=net.fused)
        if not net.fused:
            z = net.conv2d("cv2", x, c2, 1, s, autopad(1, p, d), g, d, bias=False)
            y = net.bn("bn", net.op("add", "add", [y, z]))
        net.activation("act", y, act)
    return inst


@module("RepConv", channels="same")
def RepConv(net: Net, name: str, x: Node, c1: int, c2: int, k: Any = 3, s: Any = 1, p: Any = 1, g: int = 1,
            d: int = 1, act: Any = True, bn: bool = False, deploy: bool = False) -> Node:
    """RepVGG-style conv: a 3x3 Conv and a 1x1 Conv (both without activation) on the same input,
    plus a BN of the input itself when bn and the shapes allow, summed, then SiLU. fuse()
    merges the branches into one 3x3 conv with a bias. (parse_model passes its YAML arguments
    as written: c1 and c2 given.)"""
    if k != 3 or p != 1:
        raise Unsupported(f"RepConv is 3x3 with padding 1 (Ultralytics asserts it), got k={k}, p={p}")
    with net.module("RepConv", name, x) as inst:
        if net.fused:
            y: Node = net.conv2d("conv", x, c2, k, s, p, g, bias=True)
        else:
            ident = net.bn("bn", x) if bn and c1 == c2 and s == 1 else None
            a = Conv(net, "conv1", x, c1, c2, k, s, p, g, act=False)
            b = Conv(net, "conv2", x, c1, c2, 1, s, p - k // 2, g, act=False)
            y = net.op("add", "add", [a, b])
            if ident is not None:
                y = net.op("add", "add_1", [y, ident])
        _act(net, "act", y, act)
    return inst


@module("nn.ConvTranspose2d")
def ConvTranspose2d(net: Net, name: str, x: Node, c1: int, c2: int, k: Any, s: Any = 1, p: Any = 0,
                    op: Any = 0, g: int = 1, bias: bool = True, d: Any = 1) -> Node:
    """torch's nn.ConvTranspose2d(c1, c2, kernel_size, stride, padding, output_padding, groups,
    bias, dilation), a row of its own."""
    return _deconv(net, name, x, c2, k, s, p, op, g, d, bias)


@module("DWConvTranspose2d")
def DWConvTranspose2d(net: Net, name: str, x: Node, c1: int, c2: int, k: Any = 1, s: Any = 1, p1: Any = 0,
                      p2: Any = 0) -> Node:
    """A depth-wise transposed conv (groups = gcd(c1, c2)) with a bias: an nn.ConvTranspose2d
    itself, no submodules."""
    return _deconv(net, name, x, c2, k, s, p1, p2, math.gcd(c1, c2))


@module("ConvTranspose")
def ConvTranspose(net: Net, name: str, x: Node, c1: int, c2: int, k: Any = 2, s: Any = 2, p: Any = 0,
                  bn: bool = True, act: Any = True) -> Node:
    """conv_transpose (a bias only without bn) -> bn (nn.Identity without) -> SiLU; fuse() folds
    the BN into conv_transpose (which gains a bias) and drops the bn."""
    with net.module("ConvTranspose", name, x) as inst:
        y: Node = _deconv(net, "conv_transpose", x, c2, k, s, p, bias=net.fused or not bn)
        if not net.fused:
            y = net.bn("bn", y) if bn else net.op("identity", "bn", y)
        _act(net, "act", y, act)
    return inst


# -- bottlenecks ----------------------------------------------------------------------------------

@module("GhostBottleneck")
def GhostBottleneck(net: Net, name: str, x: Node, c1: int, c2: int, k: Any = 3, s: Any = 1) -> Node:
    """conv: GhostConv to c2/2, a depth-wise Conv (stride 2 only; nn.Identity otherwise), GhostConv
    to c2 without activation; plus shortcut: a depth-wise Conv and a 1x1 Conv (stride 2), else
    the input itself."""
    c_ = c2 // 2
    with net.module("GhostBottleneck", name, x) as inst:
        with net.module("Sequential", "conv", x) as conv:
            y = GhostConv(net, "0", x, c1, c_, 1, 1)
            y = DWConv(net, "1", y, c_, c_, k, s, act=False) if s == 2 else net.op("identity", "1", y)
            GhostConv(net, "2", y, c_, c2, 1, 1, act=False)
        if s == 2:
            with net.module("Sequential", "shortcut", x) as short:
                z = DWConv(net, "0", x, c1, c1, k, s, act=False)
                Conv(net, "1", z, c1, c2, 1, 1, act=False)
            skip: Node = short
        else:
            skip = net.op("identity", "shortcut", x)
        net.op("add", "add", [conv, skip])
    return inst


def RepBottleneck(net: Net, name: str, x: Node, c1: int, c2: int, shortcut: bool = True, g: int = 1,
                  k: Any = (3, 3), e: float = 0.5) -> Node:
    """Bottleneck with a RepConv as cv1: cv1 (RepConv k[0]) -> cv2 (Conv k[1], groups g), + x when
    shortcut and c1 == c2. (Not a YAML module: Ultralytics' tasks module does not import it.)"""
    c_ = int(c2 * e)
    with net.module("RepBottleneck", name, x) as inst:
        y = RepConv(net, "cv1", x, c1, c_, k[0], 1)
        y = Conv(net, "cv2", y, c_, c2, k[1], 1, g=g)
        if shortcut and c1 == c2:
            inst.out = net.op("add", "add", [x, y])
    return inst


# -- CSP blocks -----------------------------------------------------------------------------------

Inner = Callable[[Net, str, Node, int], Node]  # writes m.i: (net, name, input, channels) -> its output


def _csp3(net: Net, kind: str, name: str, x: Node, c1: int, c2: int, n: int, e: float, inner: Inner) -> Instance:
    """The C3 pattern: cv1 (1x1) -> m (n blocks in a row), cv2 (1x1) of the input beside it, the
    two joined -> cv3 (1x1)."""
    c_ = int(c2 * e)
    with net.module(kind, name, x) as inst:
        a = Conv(net, "cv1", x, c1, c_, 1, 1)
        m = net.chain("m", a, n, lambda nm, z: inner(net, nm, z, c_))
        b = Conv(net, "cv2", x, c1, c_, 1, 1)
        inst.out = Conv(net, "cv3", net.op("concat", "cat", [m, b]), 2 * c_, c2, 1)
    return inst


@module("C3", channels="repeat")
def C3(net: Net, name: str, x: Node, c1: int, c2: int, n: int = 1, shortcut: bool = True, g: int = 1,
       e: float = 0.5) -> Node:
    """CSP bottleneck with 3 convolutions; m: Bottlenecks (1x1 then 3x3, no expansion)."""
    return _csp3(net, "C3", name, x, c1, c2, n, e,
                 lambda net, i, y, c: Bottleneck(net, i, y, c, c, shortcut, g, ((1, 1), (3, 3)), 1.0))


@module("C3x", channels="repeat")
def C3x(net: Net, name: str, x: Node, c1: int, c2: int, n: int = 1, shortcut: bool = True, g: int = 1,
        e: float = 0.5) -> Node:
    """C3 whose Bottlenecks are cross convolutions: 1x3 then 3x1."""
    return _csp3(net, "C3x", name, x, c1, c2, n, e,
                 lambda net, i, y, c: Bottleneck(net, i, y, c, c, shortcut, g, ((1, 3), (3, 1)), 1.0))


@module("C3Ghost", channels="repeat")
def C3Ghost(net: Net, name: str, x: Node, c1: int, c2: int, n: int = 1, shortcut: bool = True, g: int = 1,
            e: float = 0.5) -> Node:
    """C3 whose m is GhostBottlenecks (stride 1)."""
    return _csp3(net, "C3Ghost", name, x, c1, c2, n, e, lambda net, i, y, c: GhostBottleneck(net, i, y, c, c))


def RepCSP(net: Net, name: str, x: Node, c1: int, c2: int, n: int = 1, shortcut: bool = True, g: int = 1,
           e: float = 0.5) -> Node:
    """C3 whose m is RepBottlenecks (3x3 RepConv then 3x3 Conv); RepNCSPELAN4's part, not a YAML
    module."""
    return _csp3(net, "RepCSP", name, x, c1, c2, n, e,
                 lambda net, i, y, c: RepBottleneck(net, i, y, c, c, shortcut, g, (3, 3), 1.0))


@module("C1", channels="repeat")
def C1(net: Net, name: str, x: Node, c1: int, c2: int, n: int = 1) -> Node:
    """cv1 (1x1) -> m (n 3x3 Convs in a row), + the output of cv1."""
    with net.module("C1", name, x) as inst:
        y = Conv(net, "cv1", x, c1, c2, 1, 1)
        m = net.chain("m", y, n, lambda nm, z: Conv(net, nm, z, c2, c2, 3))
        inst.out = net.op("add", "add", [m, y])
    return inst


@module("C2", channels="repeat")
def C2(net: Net, name: str, x: Node, c1: int, c2: int, n: int = 1, shortcut: bool = True, g: int = 1,
       e: float = 0.5) -> Node:
    """CSP bottleneck with 2 convolutions: cv1 (1x1) cut in two halves; the first through m
    (3x3 Bottlenecks), joined with the second -> cv2 (1x1)."""
    c = int(c2 * e)
    with net.module("C2", name, x) as inst:
        y = Conv(net, "cv1", x, c1, 2 * c, 1, 1)
        a = net.op("chunk", "chunk", y, chunks=2, index=0)
        b = net.op("chunk", "chunk_1", y, chunks=2, index=1)
        m = net.chain("m", a, n, lambda nm, z: Bottleneck(net, nm, z, c, c, shortcut, g, ((3, 3), (3, 3)), 1.0))
        inst.out = Conv(net, "cv2", net.op("concat", "cat", [m, b]), 2 * c, c2, 1)
    return inst


@module("BottleneckCSP", channels="repeat")
def BottleneckCSP(net: Net, name: str, x: Node, c1: int, c2: int, n: int = 1, shortcut: bool = True, g: int = 1,
                  e: float = 0.5) -> Node:
    """The original CSP bottleneck: cv1 (Conv) -> m (Bottlenecks) -> cv3 (a bare 1x1 conv), and
    cv2 (a bare 1x1 conv) of the input; joined, a BN and SiLU of their own, then cv4 (Conv).
    fuse() leaves the bare convs and that BN alone."""
    c_ = int(c2 * e)
    with net.module("BottleneckCSP", name, x) as inst:
        y = Conv(net, "cv1", x, c1, c_, 1, 1)
        m = net.chain("m", y, n, lambda nm, z: Bottleneck(net, nm, z, c_, c_, shortcut, g, (3, 3), 1.0))
        y1 = net.conv2d("cv3", m, c_, 1, 1, 0, bias=False)
        y2 = net.conv2d("cv2", x, c_, 1, 1, 0, bias=False)
        y = net.op("concat", "cat", [y1, y2])
        y = net.op("silu", "act", net.bn("bn", y))
        inst.out = Conv(net, "cv4", y, 2 * c_, c2, 1, 1)
    return inst


@module("RepC3", channels="repeat")
def RepC3(net: Net, name: str, x: Node, c1: int, c2: int, n: int = 3, e: float = 1.0) -> Node:
    """cv1 (1x1) -> m (n RepConvs in a row), + cv2 (1x1) of the input -> cv3 (1x1; nn.Identity
    when the hidden width is c2)."""
    c_ = int(c2 * e)
    with net.module("RepC3", name, x) as inst:
        a = Conv(net, "cv1", x, c1, c_, 1, 1)
        m = net.chain("m", a, n, lambda nm, z: RepConv(net, nm, z, c_, c_))
        b = Conv(net, "cv2", x, c1, c_, 1, 1)
        y = net.op("add", "add", [m, b])
        inst.out = Conv(net, "cv3", y, c_, c2, 1, 1) if c_ != c2 else net.op("identity", "cv3", y)
    return inst


# -- pyramid pooling ------------------------------------------------------------------------------

@module("SPP")
def SPP(net: Net, name: str, x: Node, c1: int, c2: int, k: Any = (5, 9, 13)) -> Node:
    """Spatial pyramid pooling: cv1 (1x1 to c1/2), max-pools of each size k (stride 1, 'same')
    side by side on it, joined with it -> cv2 (1x1)."""
    c_ = c1 // 2
    ks = list(k) if isinstance(k, (list, tuple)) else [k]
    with net.module("SPP", name, x) as inst:
        y = Conv(net, "cv1", x, c1, c_, 1, 1)
        pools: list[Node] = []
        with net.module("ModuleList", "m", y):
            for i, size in enumerate(ks):
                pools.append(net.op("maxpool", str(i), y, kernel=size, stride=1, pad=size // 2))
        inst.out = Conv(net, "cv2", net.op("concat", "cat", [y, *pools]), c_ * (len(ks) + 1), c2, 1, 1)
    return inst


@module("SPPELAN")
def SPPELAN(net: Net, name: str, x: Node, c1: int, c2: int, c3: int, k: int = 5) -> Node:
    """cv1 (1x1 to c3) -> three max-pools in a chain (cv2, cv3, cv4: k, stride 1, 'same') ->
    all four joined -> cv5 (1x1)."""
    with net.module("SPPELAN", name, x) as inst:
        ys: list[Node] = [Conv(net, "cv1", x, c1, c3, 1, 1)]
        for attr in ("cv2", "cv3", "cv4"):
            ys.append(net.op("maxpool", attr, ys[-1], kernel=k, stride=1, pad=k // 2))
        inst.out = Conv(net, "cv5", net.op("concat", "cat", ys), 4 * c3, c2, 1, 1)
    return inst


# -- GELAN (YOLOv9) -------------------------------------------------------------------------------

def _elan(net: Net, kind: str, name: str, x: Node, c1: int, c2: int, c3: int, c4: int,
          branch: Callable[[str, Node, int], Node]) -> Instance:
    """cv1 (1x1 to c3) cut in two halves; cv2 on the second half, cv3 on cv2's output; the halves
    and both outputs joined -> cv4 (1x1)."""
    with net.module(kind, name, x) as inst:
        y = Conv(net, "cv1", x, c1, c3, 1, 1)
        ys: list[Node] = [net.op("chunk", "chunk", y, chunks=2, index=0),
                          net.op("chunk", "chunk_1", y, chunks=2, index=1)]
        ys.append(branch("cv2", ys[-1], c3 // 2))
        ys.append(branch("cv3", ys[-1], c4))
        inst.out = Conv(net, "cv4", net.op("concat", "cat", ys), c3 + 2 * c4, c2, 1, 1)
    return inst


@module("RepNCSPELAN4")
def RepNCSPELAN4(net: Net, name: str, x: Node, c1: int, c2: int, c3: int, c4: int, n: int = 1) -> Node:
    """GELAN block: cv2 and cv3 are each a RepCSP (n RepBottlenecks) followed by a 3x3 Conv."""
    def branch(attr: str, y: Node, cin: int) -> Node:
        with net.module("Sequential", attr, y) as seq:
            z = RepCSP(net, "0", y, cin, c4, n)
            Conv(net, "1", z, c4, c4, 3, 1)
        return seq

    return _elan(net, "RepNCSPELAN4", name, x, c1, c2, c3, c4, branch)


@module("ELAN1")
def ELAN1(net: Net, name: str, x: Node, c1: int, c2: int, c3: int, c4: int) -> Node:
    """The light GELAN block: cv2 and cv3 are each one 3x3 Conv."""
    return _elan(net, "ELAN1", name, x, c1, c2, c3, c4, lambda attr, y, cin: Conv(net, attr, y, cin, c4, 3, 1))


@module("AConv")
def AConv(net: Net, name: str, x: Node, c1: int, c2: int) -> Node:
    """Down-sampling: a 2x2 average pool with stride 1 (F.avg_pool2d), then a 3x3 stride-2 Conv."""
    with net.module("AConv", name, x) as inst:
        y = net.op("avgpool", "avgpool", x, kernel=2, stride=1, call="function")
        Conv(net, "cv1", y, c1, c2, 3, 2, 1)
    return inst


@module("ADown")
def ADown(net: Net, name: str, x: Node, c1: int, c2: int) -> Node:
    """Down-sampling in two halves: a 2x2 stride-1 average pool, its channels cut in two; the
    first through a 3x3 stride-2 Conv (cv1), the second through a 3x3 stride-2 max-pool (padded)
    and a 1x1 Conv (cv2); joined."""
    c = c2 // 2
    with net.module("ADown", name, x) as inst:
        y = net.op("avgpool", "avgpool", x, kernel=2, stride=1, call="function")
        a = net.op("chunk", "chunk", y, chunks=2, index=0)
        b = net.op("chunk", "chunk_1", y, chunks=2, index=1)
        a = Conv(net, "cv1", a, c1 // 2, c, 3, 2, 1)
        b = net.op("maxpool", "maxpool", b, kernel=3, stride=2, pad=1, call="function")
        b = Conv(net, "cv2", b, c1 // 2, c, 1, 1, 0)
        net.op("concat", "cat", [a, b])
    return inst


def _cblinear_out(c1: Any, args: list[Any]) -> int:
    """CBLinear's channels: parse_model records the list of its pieces; a count here (their sum,
    the conv's width), which no row reads (CBFuse takes its width from its last input)."""
    c2s = args[0] if args else None
    return sum(c2s) if isinstance(c2s, list) and all(isinstance(c, int) for c in c2s) else c1


@module("CBLinear", channels="custom", out=_cblinear_out)
def CBLinear(net: Net, name: str, x: Node, c2s: Any, k: Any = 1, s: Any = 1, p: Any = None, g: int = 1) -> Node:
    """One conv (with a bias) to the sum of c2s, cut into pieces of those widths (torch.split):
    the module returns all pieces, which CBFuse rows pick from. Its output here is the first
    piece (the table's row shows it); the others are named split_1, split_2, ..."""
    if not (isinstance(c2s, list) and c2s and all(isinstance(c, int) and c > 0 for c in c2s)):
        raise Unsupported(f"CBLinear's first argument is the list of its output widths, found {c2s!r}")
    with net.module("CBLinear", name, x) as inst:
        y = net.conv2d("conv", x, sum(c2s), k, s, autopad(k, p), g, bias=True)
        pieces = [net.op("split", "split" if i == 0 else f"split_{i}", y, sizes=list(c2s), index=i)
                  for i in range(len(c2s))]
        inst.out = pieces[0]
    return inst


def _piece(x: Node, index: int) -> Node:
    """Piece `index` of a CBLinear row's output."""
    if isinstance(x, Instance) and x.kind == "CBLinear":
        for item in x.items:
            if isinstance(item, Layer) and item.op == "split" and item.args.get("index") == index:
                return item
        raise Unsupported(f"CBFuse picks piece {index} of a CBLinear that has {len(x.items) - 1}")
    raise Unsupported("CBFuse reads CBLinear rows (and, last, the map whose size it takes)")


def _cbfuse_out(c1: Any, args: list[Any]) -> int:
    """CBFuse's channels: those of its last input."""
    return c1[-1] if isinstance(c1, list) and c1 and isinstance(c1[-1], int) else 0


@module("CBFuse", channels="custom", out=_cbfuse_out)
def CBFuse(net: Net, name: str, xs: Any, idx: Any) -> Node:
    """For every CBLinear input, its piece idx[i] resized (F.interpolate, nearest) to the last
    input's size; those and the last input summed (torch.stack, then sum over the stack)."""
    if not isinstance(xs, list) or len(xs) < 2:
        raise Unsupported("CBFuse reads a list: CBLinear rows, then the map it adds them to")
    if not isinstance(idx, list) or len(idx) < len(xs) - 1:
        raise Unsupported(f"CBFuse's argument is one piece index per CBLinear input, found {idx!r}")
    with net.module("CBFuse", name, xs[-1]) as inst:
        ups = [net.op("upsample", "interpolate" if i == 0 else f"interpolate_{i}", [_piece(x, idx[i]), xs[-1]],
                      call="function") for i, x in enumerate(xs[:-1])]
        net.op("add", "sum", [*ups, xs[-1]])
    return inst
