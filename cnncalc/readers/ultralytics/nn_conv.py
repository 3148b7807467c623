"""Ultralytics' convolution modules (ultralytics/nn/modules/conv.py) and the torch.nn modules a
model YAML may name, written as cnncalc layers. Our own code, from the modules' documented
behaviour and their public source read for the shapes; nothing is copied.

Conv(c1, c2, k=1, s=1, p=None, g=1, d=1, act=True) is conv (no bias) -> bn -> act, padded
'same' by autopad; after fuse() it is conv (with bias) -> act.
"""

from __future__ import annotations

import math
from typing import Any

from cnncalc.readers.ultralytics.build import Net, Node, Unsupported, autopad, module


@module("Conv")
def Conv(net: Net, name: str, x: Node, c1: int, c2: int, k: Any = 1, s: Any = 1, p: Any = None, g: int = 1,
         d: int = 1, act: Any = True) -> Node:
    with net.module("Conv", name, x):
        y = net.conv2d("conv", x, c2, k, s, autopad(k, p, d), g, d, bias=net.fused)
        if not net.fused:
            y = net.bn("bn", y)
        net.activation("act", y, act)
    return net.here.items[-1]


@module("DWConv")
def DWConv(net: Net, name: str, x: Node, c1: int, c2: int, k: Any = 1, s: Any = 1, d: int = 1,
           act: Any = True) -> Node:
    """Depth-wise Conv: groups = gcd(c1, c2)."""
    with net.module("DWConv", name, x):
        y = net.conv2d("conv", x, c2, k, s, autopad(k, None, d), math.gcd(c1, c2), d, bias=net.fused)
        if not net.fused:
            y = net.bn("bn", y)
        net.activation("act", y, act)
    return net.here.items[-1]


@module("Concat", channels="concat")
def Concat(net: Net, name: str, xs: list[Node], dimension: int = 1) -> Node:
    if dimension != 1:
        raise Unsupported(f"Concat along dimension {dimension} (only 1, the channels, is read)")
    return net.op("concat", name, xs)


@module("nn.Upsample", channels="same")
def Upsample(net: Net, name: str, x: Node, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: Any = None) -> Node:
    args: dict[str, Any] = {}
    if size is not None:
        args["size"] = list(size) if isinstance(size, (list, tuple)) else [size, size]
    if scale_factor is not None:
        args["scale"] = scale_factor
    if mode != "nearest":
        args["mode"] = mode
    if align_corners:
        args["align_corners"] = True
    return net.op("upsample", name, x, **args)


@module("nn.MaxPool2d", channels="same")
def MaxPool2d(net: Net, name: str, x: Node, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Node:
    args: dict[str, Any] = {"kernel": kernel_size}
    if stride is not None and stride != kernel_size:
        args["stride"] = stride
    if padding:
        args["pad"] = padding
    return net.op("maxpool", name, x, **args)


@module("nn.ZeroPad2d", channels="same")
def ZeroPad2d(net: Net, name: str, x: Node, padding: Any) -> Node:
    return net.op("zeropad", name, x, pad=list(padding) if isinstance(padding, (list, tuple)) else padding)


@module("nn.Identity", channels="same")
def Identity(net: Net, name: str, x: Node, *args: Any) -> Node:
    return net.op("identity", name, x)


@module("nn.BatchNorm2d", channels="same")
def BatchNorm2d(net: Net, name: str, x: Node, *args: Any) -> Node:
    return net.bn(name, x)
