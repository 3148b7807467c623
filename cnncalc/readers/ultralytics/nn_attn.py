"""Ultralytics' attention and later CSP blocks (YOLOv10, YOLO11, YOLO12, YOLO26; from
ultralytics/nn/modules/block.py) as cnncalc layers: our own code, written from what each
module's forward computes in eval mode; the layer names are the modules' attribute names.

The attention arithmetic is written as the modules run it, as explicit products (`@`, which
FlopCounterMode counts as bmm): per head the scores q^T k over the N = H*W positions (or over
each of `area` strips of N / area positions), their softmax, and v times the scores'
transpose. Two steps have no exact op here and are written as the nearest one:
- the scaling of q by 1/sqrt(key_dim), an elementwise multiply by a constant: left out (no
  FLOP counter counts it; cnncalc's elementwise tally misses N * key_dim per head);
- the view of the attention's token output back onto the H x W map: the tokens go through
  `unpartition` with windows of one token, which needs a square map (the engine says so on
  any other): a reshape that takes H and W from another tensor would do it for every map.
"""

from __future__ import annotations

from typing import Any

from cnncalc.readers.ultralytics.build import Net, Node, Unsupported, module
from cnncalc.readers.ultralytics.nn_block import _bottleneck
from cnncalc.readers.ultralytics.nn_conv import Conv

# -- shared pieces ---------------------------------------------------------------------------


def _tokens_to_map(net: Net, name: str, x: Node, c: int, like: Node) -> Node:
    """N x C tokens (row-major over the map, any leading axes) laid back out as the C x H x W map
    the attention read (`like`: its H and W, so any input size works)."""
    y = net.op("reshape", f"{name}_flat", x, shape=[-1, c])
    y = net.op("permute", f"{name}_cn", y, dims=[1, 0])
    return net.op("reshape", name, [y, like], shape=[c, 0, 0])


def _channels_to_map(net: Net, name: str, x: Node, c: int, like: Node) -> Node:
    """A tensor holding C x (H*W) in channel-major order (heads x head_dim x N) viewed as the
    C x H x W map the attention read (`like`)."""
    return net.op("reshape", name, [x, like], shape=[c, 0, 0])


def _mlp(net: Net, name: str, x: Node, c: int, hidden: int) -> Node:
    """The two 1x1 Convs of a feed-forward branch: c -> hidden (activated) -> c (no activation)."""
    with net.module("Sequential", name, x) as inst:
        y = Conv(net, "0", x, c, hidden, 1)
        Conv(net, "1", y, hidden, c, 1, act=False)
    return inst


def _c3k(net: Net, name: str, x: Node, c1: int, c2: int, n: int = 1, shortcut: bool = True, g: int = 1,
         e: float = 0.5, k: int = 3) -> Node:
    """C3k: the C3 layout (cv1 -> a chain of n Bottlenecks with k x k convs at full width;
    cv2 on the input beside it; the two joined; cv3) with a chosen kernel."""
    c_ = int(c2 * e)
    with net.module("C3k", name, x) as inst:
        y = Conv(net, "cv1", x, c1, c_, 1, 1)
        m = net.chain("m", y, n, lambda nm, z: _bottleneck(net, nm, z, c_, c_, shortcut, g, (k, k), 1.0))
        side = Conv(net, "cv2", x, c1, c_, 1, 1)
        cat = net.op("concat", "cat", [m, side])
        inst.out = Conv(net, "cv3", cat, 2 * c_, c2, 1)
    return inst


def _c2f_frame(net: Net, kind: str, name: str, x: Node, c1: int, c2: int, n: int, e: float,
               inner: Any) -> Node:
    """The C2f layout its subclasses keep: cv1 to 2c, halved; each of the n inner blocks
    (inner(net, name, x, c)) reads the last piece; all pieces joined; cv2."""
    c = int(c2 * e)
    with net.module(kind, name, x) as inst:
        y = Conv(net, "cv1", x, c1, 2 * c, 1, 1)
        ys: list[Node] = [net.op("chunk", "chunk", y, chunks=2, index=0),
                          net.op("chunk", "chunk_1", y, chunks=2, index=1)]
        with net.module("ModuleList", "m", ys[-1]) as m:
            for i in range(n):
                ys.append(inner(net, str(i), ys[-1], c))
            m.out = ys[-1]
        cat = net.op("concat", "cat", ys)
        inst.out = Conv(net, "cv2", cat, (2 + n) * c, c2, 1)
    return inst


def _heads(c: int) -> int:
    """The head count the PSA family gives a width: one per 64 channels, at least one."""
    return max(c // 64, 1)


# -- position-sensitive attention (YOLOv10, YOLO11, YOLO26) -----------------------------------


@module("Attention", channels="same")
def Attention(net: Net, name: str, x: Node, dim: int, num_heads: int = 8, attn_ratio: float = 0.5) -> Node:
    """Multi-head self-attention over all positions of a C x H x W map: one 1x1 conv (qkv, no
    activation) gives per head a query and key of key_dim = head_dim * attn_ratio and a value
    of head_dim; scores q^T k (N x N), softmax over the keys, v times the scores' transpose,
    back onto the map; plus a 3x3 depth-wise conv (pe) of v laid out as a map; a 1x1 conv
    (proj) last."""
    head_dim = dim // num_heads
    key_dim = int(head_dim * attn_ratio)
    per_head = 2 * key_dim + head_dim
    with net.module("Attention", name, x) as inst:
        qkv = Conv(net, "qkv", x, dim, dim + 2 * key_dim * num_heads, 1, act=False)
        y = net.op("reshape", "view", qkv, shape=[num_heads, per_head, -1])
        sizes = [key_dim, key_dim, head_dim]
        q = net.op("split", "q", y, sizes=sizes, index=0, axis=1)
        k = net.op("split", "k", y, sizes=sizes, index=1, axis=1)
        v = net.op("split", "v", y, sizes=sizes, index=2, axis=1)
        qt = net.op("permute", "q_t", q, dims=[0, 2, 1])
        scores = net.op("matmul", "qk", [qt, k])
        weights = net.op("softmax", "softmax", scores, axis=-1, call="method")
        out = net.op("matmul", "av", [v, weights], transpose=True)
        out = _channels_to_map(net, "out", out, dim, x)
        pe = Conv(net, "pe", _channels_to_map(net, "v_map", v, dim, x), dim, dim, 3, 1, g=dim, act=False)
        y = net.op("add", "add", [out, pe])
        inst.out = Conv(net, "proj", y, dim, dim, 1, act=False)
    return inst


@module("PSABlock", channels="same")
def PSABlock(net: Net, name: str, x: Node, c: int, attn_ratio: float = 0.5, num_heads: int = 4,
             shortcut: bool = True) -> Node:
    """Attention then a two-conv feed-forward branch (c -> 2c -> c), each added back onto its
    input when shortcut."""
    with net.module("PSABlock", name, x) as inst:
        a = Attention(net, "attn", x, c, num_heads, attn_ratio)
        y = net.op("add", "add", [x, a]) if shortcut else a
        f = _mlp(net, "ffn", y, c, 2 * c)
        inst.out = net.op("add", "add_1", [y, f]) if shortcut else f
    return inst


@module("PSA")
def PSA(net: Net, name: str, x: Node, c1: int, c2: int, e: float = 0.5) -> Node:
    """YOLOv10's partial self-attention: cv1 to 2c split in two halves; the second goes through
    Attention and a feed-forward branch, each added back; the halves joined; cv2 back to c1."""
    if c1 != c2:
        raise Unsupported(f"PSA keeps the channels (c1 {c1} == c2 {c2}, as Ultralytics asserts)")
    c = int(c1 * e)
    with net.module("PSA", name, x) as inst:
        y = Conv(net, "cv1", x, c1, 2 * c, 1, 1)
        a = net.op("split", "split", y, sizes=[c, c], index=0)
        b = net.op("split", "split_1", y, sizes=[c, c], index=1)
        b = net.op("add", "add", [b, Attention(net, "attn", b, c, _heads(c), 0.5)])
        b = net.op("add", "add_1", [b, _mlp(net, "ffn", b, c, 2 * c)])
        inst.out = Conv(net, "cv2", net.op("concat", "cat", [a, b]), 2 * c, c1, 1)
    return inst


@module("C2PSA", channels="repeat")
def C2PSA(net: Net, name: str, x: Node, c1: int, c2: int, n: int = 1, e: float = 0.5) -> Node:
    """PSA with a chain of n PSABlocks on the second half: cv1 to 2c, split, m (the blocks),
    the halves joined, cv2 back to c1."""
    if c1 != c2:
        raise Unsupported(f"C2PSA keeps the channels (c1 {c1} == c2 {c2}, as Ultralytics asserts)")
    c = int(c1 * e)
    with net.module("C2PSA", name, x) as inst:
        y = Conv(net, "cv1", x, c1, 2 * c, 1, 1)
        a = net.op("split", "split", y, sizes=[c, c], index=0)
        b = net.op("split", "split_1", y, sizes=[c, c], index=1)
        m = net.chain("m", b, n, lambda nm, z: PSABlock(net, nm, z, c, 0.5, _heads(c)))
        inst.out = Conv(net, "cv2", net.op("concat", "cat", [a, m]), 2 * c, c1, 1)
    return inst


@module("C2fPSA", channels="repeat")
def C2fPSA(net: Net, name: str, x: Node, c1: int, c2: int, n: int = 1, e: float = 0.5) -> Node:
    """C2f whose inner blocks are PSABlocks."""
    if c1 != c2:
        raise Unsupported(f"C2fPSA keeps the channels (c1 {c1} == c2 {c2}, as Ultralytics asserts)")
    return _c2f_frame(net, "C2fPSA", name, x, c1, c2, n, e,
                      lambda net, nm, y, c: PSABlock(net, nm, y, c, 0.5, _heads(c)))


# -- CSP blocks with 3x3 kernels (YOLO11, YOLO26) ----------------------------------------------


@module("C3k", channels="same")
def C3k(net: Net, name: str, x: Node, c1: int, c2: int, n: int = 1, shortcut: bool = True, g: int = 1,
        e: float = 0.5, k: int = 3) -> Node:
    return _c3k(net, name, x, c1, c2, n, shortcut, g, e, k)


@module("C3k2", channels="repeat")
def C3k2(net: Net, name: str, x: Node, c1: int, c2: int, n: int = 1, c3k: bool = False, e: float = 0.5,
         attn: bool = False, g: int = 1, shortcut: bool = True) -> Node:
    """C2f whose inner blocks are a Bottleneck (half-width hidden), a C3k of two Bottlenecks
    (c3k), or a Bottleneck followed by a PSABlock (attn, YOLO26's last neck block)."""

    def inner(net: Net, nm: str, y: Node, c: int) -> Node:
        if attn:
            with net.module("Sequential", nm, y) as seq:
                y = _bottleneck(net, "0", y, c, c, shortcut, g)
                seq.out = PSABlock(net, "1", y, c, 0.5, _heads(c))
            return seq
        if c3k:
            return _c3k(net, nm, y, c, c, 2, shortcut, g)
        return _bottleneck(net, nm, y, c, c, shortcut, g)

    return _c2f_frame(net, "C3k2", name, x, c1, c2, n, e, inner)


# -- YOLOv10's blocks -------------------------------------------------------------------------


@module("SCDown")
def SCDown(net: Net, name: str, x: Node, c1: int, c2: int, k: int, s: int) -> Node:
    """Down-sampling by a 1x1 conv to c2 then a k x k depth-wise conv of stride s (no activation)."""
    with net.module("SCDown", name, x) as inst:
        y = Conv(net, "cv1", x, c1, c2, 1, 1)
        inst.out = Conv(net, "cv2", y, c2, c2, k, s, g=c2, act=False)
    return inst


@module("RepVGGDW", channels="same")
def RepVGGDW(net: Net, name: str, x: Node, ed: int) -> Node:
    """Two depth-wise branches, 7x7 and 3x3 (Convs without activation), summed, then SiLU
    (always SiLU, whatever the model's default). fuse() pads the 3x3 kernel into the 7x7 one:
    one depth-wise 7x7 nn.Conv2d with bias, named conv, then the SiLU."""
    with net.module("RepVGGDW", name, x) as inst:
        if net.fused:
            y = net.conv2d("conv", x, ed, 7, 1, 3, g=ed, bias=True)
        else:
            a = Conv(net, "conv", x, ed, ed, 7, 1, 3, g=ed, act=False)
            b = Conv(net, "conv1", x, ed, ed, 3, 1, 1, g=ed, act=False)
            y = net.op("add", "add", [a, b])
        inst.out = net.op("silu", "act", y)
    return inst


@module("CIB", channels="same")
def CIB(net: Net, name: str, x: Node, c1: int, c2: int, shortcut: bool = True, e: float = 0.5,
        lk: bool = False) -> Node:
    """Compact inverted block: depth-wise 3x3, 1x1 to 2c_, depth-wise 3x3 (or RepVGGDW with lk),
    1x1 to c2, depth-wise 3x3, all in the Sequential cv1; + x when shortcut and c1 == c2."""
    c_ = int(c2 * e)
    with net.module("CIB", name, x) as inst:
        with net.module("Sequential", "cv1", x) as seq:
            y = Conv(net, "0", x, c1, c1, 3, g=c1)
            y = Conv(net, "1", y, c1, 2 * c_, 1)
            y = RepVGGDW(net, "2", y, 2 * c_) if lk else Conv(net, "2", y, 2 * c_, 2 * c_, 3, g=2 * c_)
            y = Conv(net, "3", y, 2 * c_, c2, 1)
            Conv(net, "4", y, c2, c2, 3, g=c2)
        if shortcut and c1 == c2:
            inst.out = net.op("add", "add", [x, seq])
    return inst


@module("C2fCIB", channels="repeat")
def C2fCIB(net: Net, name: str, x: Node, c1: int, c2: int, n: int = 1, shortcut: bool = False, lk: bool = False,
           g: int = 1, e: float = 0.5) -> Node:
    """C2f whose inner blocks are CIBs at full width (lk: their middle conv a RepVGGDW)."""
    return _c2f_frame(net, "C2fCIB", name, x, c1, c2, n, e,
                      lambda net, nm, y, c: CIB(net, nm, y, c, c, shortcut, 1.0, lk))


# -- area attention (YOLO12) ------------------------------------------------------------------


@module("AAttn", channels="same")
def AAttn(net: Net, name: str, x: Node, dim: int, num_heads: int, area: int = 1) -> Node:
    """Area attention: a 1x1 conv (qkv) gives per head a query, key and value of head_dim; the
    N positions (row-major) are cut into `area` strips of N / area, each attending within
    itself (scores q^T k, softmax, v times their transpose); the output and v go back onto the
    map, v through a 7x7 depth-wise conv (pe) added to the output; a 1x1 conv (proj) last."""
    head_dim = dim // num_heads
    c = head_dim * num_heads
    lead = [area] if area > 1 else []  # the strips: a leading axis (Ultralytics folds it into the batch)
    with net.module("AAttn", name, x) as inst:
        qkv = Conv(net, "qkv", x, dim, 3 * c, 1, act=False)
        y = net.op("flatten", "flatten", qkv, start=1)
        y = net.op("permute", "transpose", y, dims=[1, 0])
        if area > 1:
            y = net.op("reshape", "reshape", y, shape=[area, -1, 3 * c])
        y = net.op("reshape", "view", y, shape=[*lead, -1, num_heads, 3 * head_dim])
        r = len(lead)  # the axes: (area,) tokens, heads, 3 * head_dim
        y = net.op("permute", "permute", y, dims=[*range(r), r + 1, r + 2, r])
        sizes = [head_dim] * 3
        q = net.op("split", "q", y, sizes=sizes, index=0, axis=-2)
        k = net.op("split", "k", y, sizes=sizes, index=1, axis=-2)
        v = net.op("split", "v", y, sizes=sizes, index=2, axis=-2)
        qt = net.op("permute", "q_t", q, dims=[*range(r + 1), r + 2, r + 1])
        scores = net.op("matmul", "qk", [qt, k])
        weights = net.op("softmax", "softmax", scores, axis=-1, call="method")
        out = net.op("matmul", "av", [v, weights], transpose=True)
        back = [*range(r), r + 2, r, r + 1]  # (area,) heads, head_dim, tokens -> (area,) tokens, heads, head_dim
        out = net.op("permute", "out_t", out, dims=back)
        v = net.op("permute", "v_t", v, dims=back)
        out = _tokens_to_map(net, "out", out, c, x)
        v = _tokens_to_map(net, "v_map", v, c, x)
        pe = Conv(net, "pe", v, c, c, 7, 1, 3, g=c, act=False)
        y = net.op("add", "add", [out, pe])
        inst.out = Conv(net, "proj", y, c, dim, 1, act=False)
    return inst


@module("ABlock", channels="same")
def ABlock(net: Net, name: str, x: Node, dim: int, num_heads: int, mlp_ratio: float = 1.2, area: int = 1) -> Node:
    """Area attention then a two-conv feed-forward branch (mlp: dim -> dim * mlp_ratio -> dim),
    each added back onto its input."""
    with net.module("ABlock", name, x) as inst:
        y = net.op("add", "add", [x, AAttn(net, "attn", x, dim, num_heads, area)])
        inst.out = net.op("add", "add_1", [y, _mlp(net, "mlp", y, dim, int(dim * mlp_ratio))])
    return inst


@module("A2C2f", channels="repeat")
def A2C2f(net: Net, name: str, x: Node, c1: int, c2: int, n: int = 1, a2: bool = True, area: int = 1,
          residual: bool = False, mlp_ratio: float = 2.0, e: float = 0.5, g: int = 1, shortcut: bool = True) -> Node:
    """YOLO12's block: cv1 to c_; each of the n inner blocks (two ABlocks with a2, else a C3k)
    reads the last output; all joined; cv2 to c2. With a2 and residual the result is scaled
    per channel by a learned gamma and added to the input."""
    c_ = int(c2 * e)
    if c_ % 32:
        raise Unsupported(f"A2C2f's hidden width {c_} is not a multiple of 32 (Ultralytics asserts it)")
    with net.module("A2C2f", name, x) as inst:
        ys: list[Node] = [Conv(net, "cv1", x, c1, c_, 1, 1)]
        with net.module("ModuleList", "m", ys[-1]) as m:
            for i in range(n):
                if a2:
                    with net.module("Sequential", str(i), ys[-1]) as seq:
                        y = ys[-1]
                        for j in range(2):
                            y = ABlock(net, str(j), y, c_, c_ // 32, mlp_ratio, area)
                        seq.out = y
                    ys.append(seq)
                else:
                    ys.append(_c3k(net, str(i), ys[-1], c_, c_, 2, shortcut, g))
            m.out = ys[-1]
        y = Conv(net, "cv2", net.op("concat", "cat", ys), (1 + n) * c_, c2, 1)
        if a2 and residual:
            y = net.op("param", "gamma", y, shape=[c2, 1, 1], merge="mul")
            y = net.op("add", "add", [x, y])
        inst.out = y
    return inst
