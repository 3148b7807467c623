"""Ultralytics' building blocks (ultralytics/nn/modules/block.py) as cnncalc layers: our own
code, written from each module's forward; the layer names are the modules' attribute names, so
the table lines up with `model.info(detailed=True)`.
"""

from __future__ import annotations

from typing import Any

from cnncalc.readers.ultralytics.build import Net, Node, module
from cnncalc.readers.ultralytics.nn_conv import Conv


def _bottleneck(net: Net, name: str, x: Node, c1: int, c2: int, shortcut: bool = True, g: int = 1,
                k: Any = (3, 3), e: float = 0.5, kind: str = "Bottleneck") -> Node:
    """Bottleneck: cv1 (k[0]) -> cv2 (k[1], groups g), + x when shortcut and c1 == c2."""
    c_ = int(c2 * e)
    with net.module(kind, name, x) as inst:
        y = Conv(net, "cv1", x, c1, c_, k[0], 1)
        y = Conv(net, "cv2", y, c_, c2, k[1], 1, g=g)
        if shortcut and c1 == c2:
            inst.out = net.op("add", "add", [x, y])
    return inst


@module("Bottleneck")
def Bottleneck(net: Net, name: str, x: Node, c1: int, c2: int, shortcut: bool = True, g: int = 1,
               k: Any = (3, 3), e: float = 0.5) -> Node:
    return _bottleneck(net, name, x, c1, c2, shortcut, g, k, e)


@module("C2f", channels="repeat")
def C2f(net: Net, name: str, x: Node, c1: int, c2: int, n: int = 1, shortcut: bool = False, g: int = 1,
        e: float = 0.5) -> Node:
    """CSP bottleneck with 2 convolutions: cv1 -> chunk(2) -> each m.i reads the last piece ->
    concat of all -> cv2."""
    c = int(c2 * e)
    with net.module("C2f", name, x) as inst:
        y = Conv(net, "cv1", x, c1, 2 * c, 1, 1)
        ys: list[Node] = [net.op("chunk", "chunk", y, chunks=2, index=0),
                          net.op("chunk", "chunk_1", y, chunks=2, index=1)]
        with net.module("ModuleList", "m", ys[-1]) as m:
            for i in range(n):
                ys.append(_bottleneck(net, str(i), ys[-1], c, c, shortcut, g, ((3, 3), (3, 3)), 1.0))
            m.out = ys[-1]
        cat = net.op("concat", "cat", ys)
        inst.out = Conv(net, "cv2", cat, (2 + n) * c, c2, 1)
    return inst


@module("SPPF")
def SPPF(net: Net, name: str, x: Node, c1: int, c2: int, k: int = 5, n: int = 3, shortcut: bool = False,
         legacy_act: bool = True) -> Node:
    """Spatial pyramid pooling, fast: cv1 (1x1) -> n max-pools in a chain (k, stride 1, pad k//2)
    -> concat of all -> cv2 (1x1), + x with shortcut when c1 == c2. Rows written with at most
    three arguments are legacy rows whose cv1 keeps the activation (YOLO26's new rows leave it
    out: the reader passes legacy_act)."""
    c_ = c1 // 2
    with net.module("SPPF", name, x) as inst:
        ys: list[Node] = [Conv(net, "cv1", x, c1, c_, 1, 1, act=legacy_act)]
        for i in range(n):  # one nn.MaxPool2d called n times: its name is `m` each time
            ys.append(net.op("maxpool", "m" if i == 0 else f"m_{i}", ys[-1], kernel=k, stride=1, pad=k // 2))
        y = Conv(net, "cv2", net.op("concat", "cat", ys), c_ * (n + 1), c2, 1, 1)
        if shortcut and c1 == c2:
            y = net.op("add", "add", [y, x])
        inst.out = y
    return inst
