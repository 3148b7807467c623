"""Windowed attention and patch merging on channels-last maps: H x W x C (Swin) and T x H x W x C
(Video Swin), as torchvision builds them (torchvision.models.swin_transformer and
torchvision.models.video.swin_transformer).

Stage: ops (pure). In: op spec + an H x W x C or T x H x W x C input (the rank decides). Out: Shape
and Cost. torch is imported only inside to_torch() (the twins are in cnncalc/torchcheck/window.py).
torchvision's ShiftedWindowAttention and ShiftedWindowAttention3d call a function
(shifted_window_attention, shifted_window_attention_3d) with their qkv and proj *weights*: their
nn.Linear children are never called, so the tools that hook modules (thop, torchinfo, ptflops'
module hooks) do not see them; FlopCounterMode, fvcore and ptflops' patched Tensor.matmul /
F.softmax see the function's work. Hence one op per attention, counted as the tools count
torchvision's modules (measured on both: docs/profiles.md).

Window arithmetic, one for every rank, per spatial axis (H, W; or T, H, W) of size s, window w,
shift h (windows() below):
  - where the map is not larger than the window (s <= w) one window covers the axis, and torchvision
    drops the shift there; the 3-D module also shrinks the window to the map (w = s:
    _get_window_and_shift_size), the 2-D one keeps it and pads the map up to it;
  - the map is padded with zeros at the end up to whole windows, s_p = ceil(s / w) * w;
  - nW = prod(s_p / w) windows of N = prod(w) tokens.
The shift (a cyclic roll, and a mask on the scores) changes no count.
"""

from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING, Any, ClassVar

from cnncalc.errors import ShapeError, Span
from cnncalc.ops.geometry import Axes, letters, resolved
from cnncalc.ops.registry import (
    Cost,
    DocRow,
    Layer,
    OpDef,
    Saved,
    Shape,
    Window,
    arg,
    fmt_shape,
    macs,
    n,
    register,
    rules,
    two_per_mac,
    zero,
)
from cnncalc.record import Record

if TYPE_CHECKING:
    from torch import nn

MAPS = "an H x W x C or T x H x W x C channels-last map"
# Where the map is not larger than the window, by spatial axes: torchvision's 2-D
# ShiftedWindowAttention keeps the window (the map is padded up to it), its 3-D
# ShiftedWindowAttention3d shrinks the window to the map. Both drop the shift there.
SHRINKS_TO_MAP = {2: False, 3: True}


class Windows(Record):
    """How torchvision cuts one channels-last map into windows."""

    size: Axes  # the window used on this map, per spatial axis
    shift: Axes  # the shift used (0 where one window covers the axis)
    padded: Axes  # the map padded up to whole windows
    windows: int  # nW
    tokens: int  # N, tokens in a window

    @property
    def padded_tokens(self) -> int:
        """nW * N: the tokens of the padded map."""
        return self.windows * self.tokens


def windows(x: Shape, window: Axes, shift: Axes) -> Windows:
    """The windows of torchvision's (shifted) window attention on a channels-last map x, for a
    window and shift with one value per spatial axis of x (see the module's docstring)."""
    sizes = x[:-1]
    shrink = SHRINKS_TO_MAP[len(sizes)]
    size = tuple(min(s, w) if shrink else w for s, w in zip(sizes, window))
    used = tuple(0 if s <= w else h for s, w, h in zip(sizes, window, shift))
    padded = tuple(-(-s // w) * w for s, w in zip(sizes, size))
    return Windows(size, used, padded, prod(p // w for p, w in zip(padded, size)), prod(size))


def attention_macs(g: Windows, c: int) -> int:
    """nW * (N*C*3C (qkv) + N*N*C (q k^T, all heads) + N*N*C (weights x v) + N*C*C (proj))."""
    return g.windows * (4 * g.tokens * c * c + 2 * g.tokens * g.tokens * c)


def _geometry(f: Layer) -> Windows:
    return f.op.geometry(f.xs[0])  # type: ignore[attr-defined]


def _matmuls(f: Layer) -> int:
    """One window matmul (q k^T or weights x v) over all windows and heads: nW * N*N*C."""
    g = _geometry(f)
    return g.windows * g.tokens * g.tokens * f.xs[0][-1]


def _scores(f: Layer) -> int:
    """The attention scores, nW * heads * N * N: what ptflops' patched F.softmax counts."""
    g = _geometry(f)
    return g.windows * f.op.heads * g.tokens * g.tokens  # type: ignore[attr-defined]


def _by(values: Axes) -> str:
    return " x ".join(map(str, values))


class _WindowAttention(OpDef):
    """Shared fields, shape rule and worked arithmetic of the v1 and v2 window attentions."""

    category = "attention"
    heads: int = arg("int+", doc="attention heads; must divide C")
    window: Any = arg("axes+", doc="window size, one for every axis or one per axis: [wh, ww]; [wt, wh, ww] "
                      "(Swin: 7; Swin v2: 8; Video Swin: [8, 7, 7])")
    shift: Any = arg("axes0", 0, doc="cyclic shift, one for every axis or one per axis, smaller than the window: "
                     "0 (W-MSA) or window // 2 (SW-MSA)")
    ranks: ClassVar[tuple[int, ...] | None] = (3, 4)
    layout = MAPS
    autocast = "low"
    sample_inputs = ((6, 7, 12),)  # padded to 8 x 8 by 4 x 4 windows: 4 windows of 16 tokens

    def axes(self, key: str, x: Shape, span: Span | None = None) -> Axes:
        """window or shift with one value per spatial axis of the channels-last map x."""
        return resolved(self, key, getattr(self, key), len(x) - 1, span)

    def geometry(self, x: Shape, span: Span | None = None) -> Windows:
        """The windows torchvision cuts this map into."""
        return windows(x, self.axes("window", x, span), self.axes("shift", x, span))

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        x = xs[0]
        window, shift = self.axes("window", x, span), self.axes("shift", x, span)
        if x[-1] % self.heads:
            order = "[1, 2, 0]" if len(x) == 3 else "[1, 2, 3, 0]"
            raise ShapeError(span, f"{self.type}: heads={self.heads} must divide the {x[-1]} channels of {fmt_shape(x)}",
                             f"the input is channels-last, C last: permute {order} a C x ... map first")
        if any(s >= w for s, w in zip(shift, window)):
            raise ShapeError(span, f"{self.type}: shift {list(shift)} must be smaller than the window "
                             f"{list(window)}", "Swin shifts by window // 2")
        return x

    def shifted(self, x: Shape) -> bool:
        """Whether torchvision applies the shift (a roll, and a mask on the scores) on this map."""
        return any(self.geometry(x).shift)

    def bias_table(self, x: Shape) -> int:
        """(2w-1) relative positions per axis of the configured window: the table's rows."""
        return prod(2 * w - 1 for w in self.axes("window", x))

    def elem_ops(self, x: Shape) -> int:
        """Scaling q (nW*N*C; v2: normalising q and k instead), per score the bias add, the mask
        add when shifted and softmax's 3 (outside the lecture's flop column)."""
        g = self.geometry(x)
        per_score = 1 + (1 if any(g.shift) else 0) + 3
        return g.windows * (g.tokens * x[-1] + self.heads * g.tokens * g.tokens * per_score)

    def rf_window(self, xs: list[Shape]) -> Window | None:
        """The largest reach: a token at a window's corner sees window - 1 positions to one side,
        so the field grows as under a centred (2w - 1) kernel, stride 1 (an upper bound, as
        adaptive pooling's largest window), on every spatial axis."""
        size = self.geometry(xs[0]).size
        return (tuple(2 * w - 1 for w in size), (1,) * len(size), tuple(w - 1 for w in size), (1,) * len(size))

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        x = xs[0]
        c, names = x[-1], letters(len(x) - 1)
        g, window, shift = self.geometry(x), self.axes("window", x), self.axes("shift", x)
        cost = self.cost(xs, y)
        lines = [f"Output shape = input shape = {fmt_shape(y)} ({' x '.join((*names, 'C'))})",
                 f"Windows of {_by(g.size)} = {g.tokens} tokens (N), {self.heads} heads: "
                 f"nW = {' * '.join(str(p // w) for p, w in zip(g.padded, g.size))} = {g.windows}"]
        shrunk = [a for a, w, u in zip(names, window, g.size) if u < w]
        if shrunk:
            lines.append(f"  (the {_by(window)} window shrinks to the map along {', '.join(shrunk)}: "
                         "torchvision's 3-D rule)")
        if g.padded != x[:-1]:
            lines.append(f"  (the map padded with zeros to {_by(g.padded)}: whole windows)")
        dropped = [a for a, h, u in zip(names, shift, g.shift) if h and not u]
        if any(g.shift):
            lines.append(f"Shift {_by(g.shift)}: a roll and a mask, no multiply-adds")
            if dropped:
                lines.append(f"  (none along {', '.join(dropped)}: one window covers it, torchvision drops it)")
        elif dropped:
            lines.append("Shift: none (one window covers the map; torchvision drops it)")
        lines += self.param_lines(x)
        lines += ["Flop (multiply-adds) = nW * (N*C*3C qkv + N*N*C q k^T + N*N*C weights x v",
                  "                             + N*C*C proj)",
                  f"  = {g.windows} * ({g.tokens}*{c}*{3 * c} + 2*{g.tokens}*{g.tokens}*{c} + {g.tokens}*{c}*{c})"
                  f" = {n(attention_macs(g, c))}",
                  *self.extra_macs_lines(x),
                  f"Total: params {n(cost.weights + cost.biases)}, multiply-adds {n(cost.macs)}"]
        return lines

    def param_lines(self, x: Shape) -> list[str]:
        raise NotImplementedError

    def extra_macs_lines(self, x: Shape) -> list[str]:
        return []


@register("window_attention")
class WindowAttention(_WindowAttention):
    """(Shifted) window multi-head self-attention on an H x W x C or T x H x W x C map,
    torchvision's ShiftedWindowAttention (Swin v1) and ShiftedWindowAttention3d (Video Swin): the
    map padded to whole windows, (shift: rolled by -shift), cut into nW windows of N tokens
    (N = wh*ww; wt*wh*ww); in each, qkv = linear C -> 3C, per head softmax(q k^T / sqrt(dh) +
    relative position bias (+ mask when shifted)) v, proj = linear C -> C; then the windows put
    back (rolled back) and the padding cut off. Window and shift per axis: the module's docstring.

    params = C*3C + 3C (qkv) + C*C + C (proj) + prod(2w-1)*heads (relative position bias table,
             (2wh-1)(2ww-1) or (2wt-1)(2wh-1)(2ww-1) rows of the configured window; the index is
             a buffer)
    macs   = nW * (4*N*C*C + 2*N*N*C), nW and N over the padded map
    """

    doc_row = DocRow(
        "any",
        "`heads`, `window` (w, [wh, ww] or [wt, wh, ww]), `shift` (0); on `H × W × C` or `T × H × W × C`",
        "same",
        "`4·C² + 4·C + (2wh−1)(2ww−1)·heads` (3-D: `·(2wt−1)` too)",
        "`nW·(4·N·C² + 2·N²·C)`, N = wh·ww (3-D: wt·wh·ww), nW windows of the map padded to whole windows "
        "(3-D: a window larger than the map shrinks to it)")
    counts = rules(
        torch=two_per_mac,  # F.linear -> addmm, q.matmul / attn.matmul -> bmm: 2 per multiply-add
        fvcore=macs,  # aten::linear (bias ignored) and aten::matmul: 1 per multiply-add
        # ptflops: F.linear is not patched and the qkv / proj modules are never called; its
        # patched Tensor.matmul counts q.matmul(k^T) and attn.matmul(v) (nW*N*N*C each), and its
        # patched F.softmax the scores (nW*heads*N*N); F.dropout (3-D) is not patched
        ptflops=lambda f: 2 * _matmuls(f) + _scores(f),
        torchinfo=zero,  # not a leaf (holds qkv, proj, which it never calls): no mult-adds
        thop=zero,  # no rule for the module; its linears are never called
    )
    samples = ({"heads": 3, "window": 4}, {"heads": 2, "window": 4, "shift": 2},
               {"heads": 3, "window": [4, 8], "shift": [2, 3]},
               # 3-D: 3 x 6 x 7 padded to 4 x 8 x 8, 8 windows of 2 x 4 x 4 = 32 tokens, shifted
               ({"heads": 2, "window": [2, 4, 4], "shift": [1, 2, 2]}, [(3, 6, 7, 8)]),
               # 3-D: T = 3 <= 4, the window shrinks to 3 x 4 x 4 and the T shift is dropped
               ({"heads": 2, "window": 4, "shift": 2}, [(3, 6, 7, 8)]),
               ({"heads": 1, "window": [2, 3, 2], "shift": 1}, [(5, 3, 2, 4)]))

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        x = xs[0]
        c = x[-1]
        return Cost(weights=4 * c * c + self.bias_table(x) * self.heads, biases=4 * c,
                    macs=attention_macs(self.geometry(x), c), elem_ops=self.elem_ops(x))

    def param_tensors(self, xs: list[Shape], y: Shape) -> tuple[int, ...]:
        """The relative position bias table, qkv's weight and bias, proj's weight and bias."""
        c = xs[0][-1]
        return (self.bias_table(xs[0]) * self.heads, 3 * c * c, 3 * c, c * c, c)

    def buffers(self, xs: list[Shape], y: Shape) -> tuple[int, int]:
        """relative_position_index: (window tokens)^2, int64."""
        return (0, prod(self.axes("window", xs[0])) ** 2)

    def param_lines(self, x: Shape) -> list[str]:
        c, window = x[-1], self.axes("window", x)
        factors = "*".join(f"(2w{a.lower()}-1)" for a in letters(len(window)))
        table = self.bias_table(x) * self.heads
        return ["Params = qkv (C*3C + 3C) + proj (C*C + C)",
                f"         + relative position bias table {factors}*heads",
                f"  = {c}*{3 * c} + {3 * c} + {c}*{c} + {c} + {'*'.join(str(2 * w - 1) for w in window)}*{self.heads}"
                f" = {n(4 * c * c + 4 * c)} + {n(table)}"]

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """torchvision's shifted_window_attention(_3d), per sample, all new tensors over the
        padded map of T = nW*N tokens (measured on ShiftedWindowAttention and
        ShiftedWindowAttention3d): the padded (shifted) windows of x (T*C), q scaled, k and v
        copied into the batched matmuls' layout (3*T*C), the softmax weights (heads*T*N) and the
        heads' output before proj (T*C): 5*T*C + heads*T*N. With one head, k and v are views of
        the packed qkv, which is kept whole instead (3*T*C for the two: 6*T*C + heads*T*N).
        Once per model, where the 3-D window shrinks to the map: the index rows it gathers the
        bias with (index[:N, :N].flatten(), a copy: N*N int64)."""
        return self._saved(xs[0], ())

    def saves_autocast(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Under autocast: the same T*C maps in the low dtype; the scores plus the relative
        position bias (a float32 parameter) are promoted, so the softmax weights are kept in
        float32 and again as the low-dtype copy the weights x v matmul casts them to."""
        g = self.geometry(xs[0])
        return self._saved(xs[0], (Saved("new", self.heads * g.padded_tokens * g.tokens, "float32"),))

    def _saved(self, x: Shape, promoted: tuple[Saved, ...]) -> tuple[Saved, ...]:
        g = self.geometry(x)
        t, copies = g.padded_tokens, 5 if self.heads > 1 else 6
        index = (Saved("new", g.tokens * g.tokens, "int64", per_sample=False),) \
            if g.tokens < prod(self.axes("window", x)) else ()
        return (Saved("new", copies * t * x[-1] + self.heads * t * g.tokens), *promoted, *index)

    def cast_weights(self, xs: list[Shape], y: Shape) -> int:
        """The qkv and proj kernels (4*C*C); the bias table is added, not multiplied, and stays float32."""
        return 4 * xs[0][-1] ** 2

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.window import WindowAttention as Twin

        x = xs[0]
        return Twin(x[-1], self.axes("window", x), self.axes("shift", x), self.heads)


def _cpb_macs(op: Any, x: Shape) -> int:
    """The continuous position bias MLP on the T = (2wh-1)*(2ww-1) coordinates:
    T*2*hidden + T*hidden*heads."""
    return op.bias_table(x) * (2 * op.hidden + op.hidden * op.heads)


def _ptflops_v2(f: Layer) -> int:
    """ptflops on ShiftedWindowAttentionV2: its cpb_mlp modules are called, and hooked: Linear(2,
    hidden) (2*hidden + hidden bias) * T, nn.ReLU hook + patched F.relu 2 * T*hidden, Linear(hidden,
    heads, no bias) T*hidden*heads; the scores are `F.normalize(q) @ ...` (Tensor.__matmul__, not
    patched), so only attn.matmul(v) (nW*N*N*C) and F.softmax (nW*heads*N*N) count."""
    op: Any = f.op
    t, hidden = op.bias_table(f.xs[0]), op.hidden
    return 3 * hidden * t + 2 * t * hidden + t * hidden * op.heads + _matmuls(f) + _scores(f)


@register("window_attention_v2")
class WindowAttentionV2(_WindowAttention):
    """(Shifted) window attention of Swin v2, torchvision's ShiftedWindowAttentionV2, on an
    H x W x C map only (torchvision has no 3-D Swin v2): as window_attention, with cosine
    attention (normalised q and k, scores times a learned per-head logit scale) and the bias
    table replaced by a continuous position bias: an MLP (Linear(2, hidden) + ReLU +
    Linear(hidden, heads, no bias)) on the T = (2wh-1)*(2ww-1) log-spaced relative coordinates (a
    buffer), 16 * sigmoid of it. The k third of the qkv bias is zeroed at every call but remains
    a parameter.

    params = C*3C + 3C (qkv) + C*C + C (proj) + heads (logit scale)
             + 2*hidden + hidden + hidden*heads (position-bias MLP)
    macs   = nW * (4*N*C*C + 2*N*N*C) + T * (2*hidden + hidden*heads)

    torchvision runs the position-bias MLP once per forward pass, whatever the batch; cnncalc
    counts every cost per sample, so its totals equal torchvision's at batch 1 (what verify
    --against torchvision compares) and exceed them by (batch - 1) MLPs at a larger batch. The
    twin runs the MLP once per sample so that it follows cnncalc at every batch.
    """

    doc_row = DocRow(
        "any",
        "as `window_attention`, plus `hidden` (512); on `H × W × C` only",
        "same",
        "`4·C² + 4·C + heads + 3·hidden + hidden·heads`",
        "`nW·(4·N·C² + 2·N²·C) + (2wh−1)(2ww−1)·(2·hidden + hidden·heads)`")
    hidden: int = arg("int+", 512, doc="the position-bias MLP's hidden width (torchvision: 512)")
    ranks: ClassVar[tuple[int, ...] | None] = (3,)
    layout = "an H x W x C channels-last map only (torchvision has no 3-D Swin v2; window_attention takes T x H x W x C)"
    counts = rules(
        torch=two_per_mac,  # the window matmuls and the MLP's addmm: 2 per multiply-add
        fvcore=macs,  # aten::linear and aten::matmul (F.normalize, clamp, sigmoid: no handle)
        ptflops=_ptflops_v2,
        # torchinfo: only the called leaf modules with parameters, the MLP's linears: their
        # parameters (2*hidden + hidden + hidden*heads) once per sample
        torchinfo=lambda f: 3 * f.op.hidden + f.op.hidden * f.op.heads,  # type: ignore[attr-defined]
        thop=lambda f: _cpb_macs(f.op, f.xs[0]),  # count_linear on the MLP's linears; nn.ReLU zero_ops
    )
    samples = ({"heads": 3, "window": 4}, {"heads": 2, "window": 4, "shift": 2, "hidden": 16},
               {"heads": 3, "window": [4, 8], "shift": [2, 3], "hidden": 8})

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        x = xs[0]
        c, h = x[-1], self.hidden
        return Cost(weights=4 * c * c + self.heads + 2 * h + h * self.heads, biases=4 * c + h,
                    macs=attention_macs(self.geometry(x), c) + _cpb_macs(self, x),
                    elem_ops=self.elem_ops(x) + 2 * self.bias_table(x) * h)  # MLP ReLU; 16 * sigmoid

    def param_tensors(self, xs: list[Shape], y: Shape) -> tuple[int, ...]:
        """logit_scale, qkv's and proj's weight and bias, the position-bias MLP's 3 tensors."""
        c, h = xs[0][-1], self.hidden
        return (self.heads, 3 * c * c, 3 * c, c * c, c, 2 * h, h, h * self.heads)

    def buffers(self, xs: list[Shape], y: Shape) -> tuple[int, int]:
        """relative_coords_table (float: a coordinate per axis for each table row) and
        relative_position_index ((window tokens)^2, int64)."""
        window = self.axes("window", xs[0])
        return (self.bias_table(xs[0]) * len(window), prod(window) ** 2)

    def param_lines(self, x: Shape) -> list[str]:
        c, h = x[-1], self.hidden
        mlp = 2 * h + h + h * self.heads
        return ["Params = qkv (C*3C + 3C) + proj (C*C + C) + logit scale (heads)",
                "         + position-bias MLP (2*hidden + hidden + hidden*heads)",
                f"  = {c}*{3 * c} + {3 * c} + {c}*{c} + {c} + {self.heads} + (2*{h} + {h} + {h}*{self.heads})",
                f"  = {n(4 * c * c + 4 * c)} + {self.heads} + {n(mlp)}"]

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """torchvision's shifted_window_attention with cosine attention, per sample over the
        padded map of T tokens (N a window), all new tensors (measured): the padded windows of x
        (T*C); the packed qkv (3*T*C: F.normalize keeps q and k, views of it); q and k
        normalised (2*T*C); v copied for its matmul (T*C); the heads' output before proj (T*C);
        the scores before and after the softmax (2 * heads*T*N); the norms of q and k and their
        clamped copies (4 * heads*T). Once per model (torchvision runs the position bias once a
        forward pass, whatever the batch): the MLP's hidden ReLU ((2wh-1)*(2ww-1)*hidden), the
        16*sigmoid bias (heads*N*N) and the exponentiated logit scale (heads)."""
        g = self.geometry(xs[0])
        t, c, h, tokens = g.padded_tokens, xs[0][-1], self.heads, g.tokens
        return (Saved("new", 8 * t * c + 2 * h * t * tokens + 4 * h * t),
                Saved("new", self.bias_table(xs[0]) * self.hidden + h * tokens * tokens + h, per_sample=False))

    def saves_autocast(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Under autocast (measured): the same per-sample tensors in the low dtype, except that
        the scores times the float32 logit scale are promoted to float32, so the softmax weights
        are kept in float32 and again as the low copy the weights x v matmul casts them to (low:
        8*T*C + 2*heads*T*N + 4*heads*T; float32: heads*T*N). Per model: the low-dtype cast of
        the coordinates the MLP's first linear keeps (2 * (2wh-1)*(2ww-1)), its hidden ReLU and
        the bias in the low dtype, the logit scale in float32."""
        g = self.geometry(xs[0])
        t, c, h, tokens = g.padded_tokens, xs[0][-1], self.heads, g.tokens
        return (Saved("new", 8 * t * c + 2 * h * t * tokens + 4 * h * t),
                Saved("new", h * t * tokens, "float32"),
                Saved("new", self.bias_table(xs[0]) * (2 + self.hidden) + h * tokens * tokens, per_sample=False),
                Saved("new", h, "float32", per_sample=False))

    def cast_weights(self, xs: list[Shape], y: Shape) -> int:
        """qkv and proj (4*C*C) and the MLP's second linear (hidden*heads); its first linear
        multiplies the coordinates, a buffer with no gradient, so autograd keeps no copy of it."""
        return 4 * xs[0][-1] ** 2 + self.hidden * self.heads

    def extra_macs_lines(self, x: Shape) -> list[str]:
        t, h = self.bias_table(x), self.hidden
        return ["+ position-bias MLP T * (2*hidden + hidden*heads), T = (2wh-1)*(2ww-1)",
                f"  = {t} * (2*{h} + {h}*{self.heads}) = {n(_cpb_macs(self, x))}"]

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.window import WindowAttentionV2 as Twin

        x = xs[0]
        return Twin(x[-1], self.axes("window", x), self.axes("shift", x), self.heads, self.hidden)


@register("patch_merging")
class PatchMerging(OpDef):
    """Swin's patch merging gather on an H x W x C or T x H x W x C map (torchvision's
    _patch_merging_pad, which Video Swin reuses: it merges H and W, never T): the map padded to
    even H and W (zeros at the bottom and right), then each 2 x 2 neighbourhood's four tokens
    x0 = [0::2, 0::2], x1 = [1::2, 0::2], x2 = [0::2, 1::2], x3 = [1::2, 1::2] concatenated along
    the channels: (T x) ceil(H/2) x ceil(W/2) x 4C. torchvision's PatchMerging follows it with
    layernorm (4C) and linear (2C, no bias); PatchMergingV2 with the linear, then layernorm (2C).

    params = 0; macs = 0 (slices and a concatenation: data movement; no tool counts it)
    """

    doc_row = DocRow(
        "any",
        "none; on `H × W × C` or `T × H × W × C`",
        "`(T ×) ⌈H/2⌉ × ⌈W/2⌉ × 4C` (2 × 2 neighbours into the channels; T is kept)")
    ranks, layout = (3, 4), MAPS
    counts = rules()
    samples: ClassVar[tuple[Any, ...]] = ({}, ({}, [(3, 5, 7, 6)]))  # 2-D, and 3-D: 3 x 3 x 4 x 24
    sample_inputs = ((5, 7, 6),)  # odd sizes: padded to 6 x 8 -> 3 x 4 x 24

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        *lead, h, w, c = xs[0]
        return (*lead, -(-h // 2), -(-w // 2), 4 * c)

    def rf_window(self, xs: list[Shape]) -> Window | None:
        """A 2 x 2 window, stride 2, over H and W (the padding is at the end: no shift of the
        first window); T passes through (1, 1)."""
        lead = (1,) * (len(xs[0]) - 3)
        return (*lead, 2, 2), (*lead, 2, 2), (0,) * (len(lead) + 2), (1,) * (len(lead) + 2)

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        *lead, h, w, c = xs[0]
        t = "T x " if lead else ""
        ts = f"{lead[0]} x " if lead else ""
        return [f"Output shape = {t}ceil(H/2) x ceil(W/2) x 4C",
                f"  = {ts}ceil({h}/2) x ceil({w}/2) x 4*{c} = {fmt_shape(y)}",
                "Params: none", "Flop: none (2 x 2 neighbours gathered into the channels)"]

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.window import PatchMerging as Twin

        return Twin()
