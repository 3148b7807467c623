"""Windowed attention and patch merging on H x W x C channels-last maps: the Swin Transformer's
layers, as torchvision builds them (torchvision.models.swin_transformer).

Stage: ops (pure). In: op spec + an H x W x C input. Out: Shape and Cost. torch is imported only
inside to_torch() (the twins are in cnncalc/torchcheck/window.py). torchvision's
ShiftedWindowAttention calls the function shifted_window_attention with its qkv and proj
*weights*: its nn.Linear children are never called, so the tools that hook modules (thop,
torchinfo, ptflops' module hooks) do not see them; FlopCounterMode, fvcore and ptflops' patched
Tensor.matmul / F.softmax see the function's work. Hence one op per attention, counted as the
tools count torchvision's module (measured on it: docs/profiles.md).

Window arithmetic, per axis: the map is padded up to a multiple of the window (torchvision pads
the bottom and right with zeros), H_p = ceil(H / wh) * wh, W_p = ceil(W / ww) * ww; the windows are
nW = (H_p / wh) * (W_p / ww), each of N = wh * ww tokens. The shift (a cyclic roll, and a mask on
the scores) changes no count, and torchvision drops it on an axis the window covers whole
(`if window_size[0] >= pad_H: shift_size[0] = 0`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.errors import ShapeError, Span
from cnncalc.ops.registry import (
    Cost,
    Layer,
    OpDef,
    Pair,
    Saved,
    Shape,
    arg,
    fmt_shape,
    macs,
    n,
    register,
    rules,
    two_per_mac,
    zero,
)

if TYPE_CHECKING:
    from torch import nn


def windows(x: Shape, window: Pair) -> tuple[int, int, int, int]:
    """(nW, N, H_p, W_p): windows over the padded map, tokens per window, the padded sizes."""
    h, w, _ = x
    wh, ww = window
    ph, pw = -(-h // wh) * wh, -(-w // ww) * ww
    return (ph // wh) * (pw // ww), wh * ww, ph, pw


def attention_macs(x: Shape, window: Pair) -> int:
    """nW * (N*C*3C (qkv) + N*N*C (q k^T, all heads) + N*N*C (weights x v) + N*C*C (proj))."""
    nw, tokens, _, _ = windows(x, window)
    c = x[2]
    return nw * (4 * tokens * c * c + 2 * tokens * tokens * c)


def _matmuls(f: Layer) -> int:
    """One window matmul (q k^T or weights x v) over all windows and heads: nW * N*N*C."""
    nw, tokens, _, _ = windows(f.xs[0], f.op.window)  # type: ignore[attr-defined]
    return nw * tokens * tokens * f.xs[0][2]


def _scores(f: Layer) -> int:
    """The attention scores, nW * heads * N * N: what ptflops' patched F.softmax counts."""
    nw, tokens, _, _ = windows(f.xs[0], f.op.window)  # type: ignore[attr-defined]
    return nw * f.op.heads * tokens * tokens  # type: ignore[attr-defined]


class _WindowAttention(OpDef):
    """Shared fields and shape rule of the v1 and v2 window attentions."""

    category = "attention"
    heads: int = arg("int+", doc="attention heads; must divide C")
    window: Pair = arg("pair+", doc="window size [wh, ww] (Swin: 7; Swin v2: 8)")
    shift: Pair = arg("pair0", (0, 0), doc="cyclic shift [sh, sw], smaller than the window: 0 (W-MSA) or window // 2 (SW-MSA)")
    ranks, layout = (3,), "an H x W x C channels-last map"
    autocast = "low"
    sample_inputs = ((6, 7, 12),)  # padded to 8 x 8 by 4 x 4 windows: 4 windows of 16 tokens

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        x = xs[0]
        if x[2] % self.heads:
            raise ShapeError(span, f"{self.type}: heads={self.heads} must divide the {x[2]} channels of {fmt_shape(x)}",
                             "the input is H x W x C channels-last: permute [1, 2, 0] a C x H x W map first")
        if any(s >= w for s, w in zip(self.shift, self.window)):
            raise ShapeError(span, f"{self.type}: shift {list(self.shift)} must be smaller than the window "
                             f"{list(self.window)}", "Swin shifts by window // 2")
        return x

    def shifted(self, x: Shape) -> bool:
        """Whether torchvision applies the shift (and its mask) on this map."""
        _, _, ph, pw = windows(x, self.window)
        return (self.shift[0] > 0 and self.window[0] < ph) or (self.shift[1] > 0 and self.window[1] < pw)

    def elem_ops(self, x: Shape) -> int:
        """Scaling q (nW*N*C; v2: normalising q and k instead), per score the bias add, the mask
        add when shifted and softmax's 3 (outside the lecture's flop column)."""
        nw, tokens, _, _ = windows(x, self.window)
        per_score = 1 + (1 if self.shifted(x) else 0) + 3
        return nw * (tokens * x[2] + self.heads * tokens * tokens * per_score)

    def rf_window(self, xs: list[Shape]) -> tuple[Pair, Pair, Pair, Pair] | None:
        """The largest reach: a token at a window's corner sees window - 1 positions to one side,
        so the field grows as under a centred (2w - 1) kernel, stride 1 (an upper bound, as
        adaptive pooling's largest window)."""
        wh, ww = self.window
        return (2 * wh - 1, 2 * ww - 1), (1, 1), (wh - 1, ww - 1), (1, 1)

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        h, w, c = xs[0]
        wh, ww = self.window
        nw, tokens, ph, pw = windows(xs[0], self.window)
        cost = self.cost(xs, y)
        pad = f", padded to {ph} x {pw}" if (ph, pw) != (h, w) else ""
        return [
            f"Output shape = input shape = {fmt_shape(y)} (H x W x C); {wh} x {ww} windows{pad}: "
            f"nW = {ph // wh} * {pw // ww} = {nw} windows of N = {tokens} tokens, {self.heads} heads",
            *self.param_lines(c),
            f"Flop (multiply-adds) = nW * (qkv N*C*3C + q k^T N*N*C + weights x v N*N*C + proj N*C*C) = "
            f"{nw} * ({tokens}*{c}*{3 * c} + 2*{tokens}*{tokens}*{c} + {tokens}*{c}*{c}) = "
            f"{n(attention_macs(xs[0], self.window))}" + self.extra_macs_line(),
            f"Total: params {n(cost.weights + cost.biases)}, multiply-adds {n(cost.macs)}",
        ]

    def param_lines(self, c: int) -> list[str]:
        raise NotImplementedError

    def extra_macs_line(self) -> str:
        return ""


@register("window_attention")
class WindowAttention(_WindowAttention):
    """(Shifted) window multi-head self-attention on an H x W x C map, torchvision's
    ShiftedWindowAttention (Swin v1): the map padded to whole windows, (shift: rolled by -shift),
    cut into nW windows of N = wh*ww tokens; in each, qkv = linear C -> 3C, per head softmax(q k^T
    / sqrt(dh) + relative position bias (+ mask when shifted)) v, proj = linear C -> C; then the
    windows put back (rolled back) and the padding cut off.

    params = C*3C + 3C (qkv) + C*C + C (proj) + (2wh-1)*(2ww-1)*heads (relative position bias
             table; the index is a buffer)
    macs   = nW * (4*N*C*C + 2*N*N*C), nW and N over the padded map
    """

    counts = rules(
        torch=two_per_mac,  # F.linear -> addmm, q.matmul / attn.matmul -> bmm: 2 per multiply-add
        fvcore=macs,  # aten::linear (bias ignored) and aten::matmul: 1 per multiply-add
        # ptflops: F.linear is not patched and the qkv / proj modules are never called; its
        # patched Tensor.matmul counts q.matmul(k^T) and attn.matmul(v) (nW*N*N*C each), and its
        # patched F.softmax the scores (nW*heads*N*N)
        ptflops=lambda f: 2 * _matmuls(f) + _scores(f),
        torchinfo=zero,  # not a leaf (holds qkv, proj, which it never calls): no mult-adds
        thop=zero,  # no rule for the module; its linears are never called
    )
    samples = ({"heads": 3, "window": 4}, {"heads": 2, "window": 4, "shift": 2},
               {"heads": 3, "window": [4, 8], "shift": [2, 3]})

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        c = xs[0][2]
        wh, ww = self.window
        return Cost(weights=4 * c * c + (2 * wh - 1) * (2 * ww - 1) * self.heads, biases=4 * c,
                    macs=attention_macs(xs[0], self.window), elem_ops=self.elem_ops(xs[0]))

    def param_lines(self, c: int) -> list[str]:
        wh, ww = self.window
        table = (2 * wh - 1) * (2 * ww - 1) * self.heads
        return [f"Params = qkv (C*3C + 3C) + proj (C*C + C) + bias table (2wh-1)*(2ww-1)*heads = "
                f"{c}*{3 * c} + {3 * c} + {c}*{c} + {c} + {2 * wh - 1}*{2 * ww - 1}*{self.heads} = "
                f"{n(4 * c * c + 4 * c)} + {n(table)}"]

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """torchvision's shifted_window_attention, per sample, all new tensors over the padded
        map of T = H_p*W_p tokens: the padded (shifted) windows of x (T*C), q scaled, k
        transposed and v (3*T*C), the softmax weights (heads * T * N, N tokens a window) and the
        heads' output before proj (T*C): 5*T*C + heads*T*N."""
        _, tokens, ph, pw = windows(xs[0], self.window)
        t = ph * pw
        return (Saved("new", 5 * t * xs[0][2] + self.heads * t * tokens),)

    def saves_autocast(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Under autocast: the same five T*C maps in the low dtype; the scores plus the relative
        position bias (a float32 parameter) are promoted, so the softmax weights are kept in
        float32 and again as the low-dtype copy the weights x v matmul casts them to."""
        _, tokens, ph, pw = windows(xs[0], self.window)
        t = ph * pw
        return (Saved("new", 5 * t * xs[0][2] + self.heads * t * tokens),
                Saved("new", self.heads * t * tokens, "float32"))

    def cast_weights(self, xs: list[Shape], y: Shape) -> int:
        """The qkv and proj kernels (4*C*C); the bias table is added, not multiplied, and stays float32."""
        return 4 * xs[0][2] ** 2

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.window import WindowAttention as Twin

        return Twin(xs[0][2], self.window, self.shift, self.heads)


def _table(op: OpDef) -> int:
    """T = (2wh-1)*(2ww-1): the relative coordinates the v2 position-bias MLP runs on."""
    wh, ww = op.window  # type: ignore[attr-defined]
    return (2 * wh - 1) * (2 * ww - 1)


def _cpb_macs(op: OpDef) -> int:
    """The continuous position bias MLP on the T coordinates: T*2*hidden + T*hidden*heads."""
    return _table(op) * (2 * op.hidden + op.hidden * op.heads)  # type: ignore[attr-defined]


def _ptflops_v2(f: Layer) -> int:
    """ptflops on ShiftedWindowAttentionV2: its cpb_mlp modules are called, and hooked: Linear(2,
    hidden) (2*hidden + hidden bias) * T, nn.ReLU hook + patched F.relu 2 * T*hidden, Linear(hidden,
    heads, no bias) T*hidden*heads; the scores are `F.normalize(q) @ ...` (Tensor.__matmul__, not
    patched), so only attn.matmul(v) (nW*N*N*C) and F.softmax (nW*heads*N*N) count."""
    op = f.op
    t, hidden = _table(op), op.hidden  # type: ignore[attr-defined]
    return 3 * hidden * t + 2 * t * hidden + t * hidden * op.heads + _matmuls(f) + _scores(f)  # type: ignore[attr-defined]


@register("window_attention_v2")
class WindowAttentionV2(_WindowAttention):
    """(Shifted) window attention of Swin v2, torchvision's ShiftedWindowAttentionV2: as
    window_attention, with cosine attention (normalised q and k, scores times a learned per-head
    logit scale) and the bias table replaced by a continuous position bias: an MLP (Linear(2,
    hidden) + ReLU + Linear(hidden, heads, no bias)) on the T = (2wh-1)*(2ww-1) log-spaced relative
    coordinates (a buffer), 16 * sigmoid of it. The k third of the qkv bias is zeroed at every call
    but remains a parameter.

    params = C*3C + 3C (qkv) + C*C + C (proj) + heads (logit scale)
             + 2*hidden + hidden + hidden*heads (position-bias MLP)
    macs   = nW * (4*N*C*C + 2*N*N*C) + T * (2*hidden + hidden*heads)

    torchvision runs the position-bias MLP once per forward pass, whatever the batch; cnncalc
    counts every cost per sample, so its totals equal torchvision's at batch 1 (what verify
    --against torchvision compares) and exceed them by (batch - 1) MLPs at a larger batch. The
    twin runs the MLP once per sample so that it follows cnncalc at every batch.
    """

    hidden: int = arg("int+", 512, doc="the position-bias MLP's hidden width (torchvision: 512)")
    counts = rules(
        torch=two_per_mac,  # the window matmuls and the MLP's addmm: 2 per multiply-add
        fvcore=macs,  # aten::linear and aten::matmul (F.normalize, clamp, sigmoid: no handle)
        ptflops=_ptflops_v2,
        # torchinfo: only the called leaf modules with parameters, the MLP's linears: their
        # parameters (2*hidden + hidden + hidden*heads) once per sample
        torchinfo=lambda f: 3 * f.op.hidden + f.op.hidden * f.op.heads,  # type: ignore[attr-defined]
        thop=lambda f: _cpb_macs(f.op),  # count_linear on the MLP's linears; nn.ReLU zero_ops
    )
    samples = ({"heads": 3, "window": 4}, {"heads": 2, "window": 4, "shift": 2, "hidden": 16},
               {"heads": 3, "window": [4, 8], "shift": [2, 3], "hidden": 8})

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        c, h = xs[0][2], self.hidden
        return Cost(weights=4 * c * c + self.heads + 2 * h + h * self.heads, biases=4 * c + h,
                    macs=attention_macs(xs[0], self.window) + _cpb_macs(self),
                    elem_ops=self.elem_ops(xs[0]) + 2 * _table(self) * h)  # MLP ReLU; 16 * sigmoid

    def param_lines(self, c: int) -> list[str]:
        h = self.hidden
        mlp = 2 * h + h + h * self.heads
        return [f"Params = qkv (C*3C + 3C) + proj (C*C + C) + logit scale (heads) + position-bias MLP "
                f"(2*hidden + hidden + hidden*heads) = {c}*{3 * c} + {3 * c} + {c}*{c} + {c} + {self.heads} + "
                f"2*{h} + {h} + {h}*{self.heads} = {n(4 * c * c + 4 * c)} + {self.heads} + {n(mlp)}"]

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """torchvision's shifted_window_attention with cosine attention, per sample over the
        padded map of T tokens (N a window), all new tensors (measured): the padded windows of x
        (T*C); the packed qkv (3*T*C: F.normalize keeps q and k, views of it); q and k
        normalised (2*T*C); v copied for its matmul (T*C); the heads' output before proj (T*C);
        the scores before and after the softmax (2 * heads*T*N); the norms of q and k and their
        clamped copies (4 * heads*T). Once per model (torchvision runs the position bias once a
        forward pass, whatever the batch): the MLP's hidden ReLU ((2wh-1)*(2ww-1)*hidden), the
        16*sigmoid bias (heads*N*N) and the exponentiated logit scale (heads)."""
        _, tokens, ph, pw = windows(xs[0], self.window)
        t, c, h = ph * pw, xs[0][2], self.heads
        return (Saved("new", 8 * t * c + 2 * h * t * tokens + 4 * h * t),
                Saved("new", _table(self) * self.hidden + h * tokens * tokens + h, per_sample=False))

    def saves_autocast(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Under autocast (measured): the same per-sample tensors in the low dtype, except that
        the scores times the float32 logit scale are promoted to float32, so the softmax weights
        are kept in float32 and again as the low copy the weights x v matmul casts them to (low:
        8*T*C + 2*heads*T*N + 4*heads*T; float32: heads*T*N). Per model: the low-dtype cast of
        the coordinates the MLP's first linear keeps (2 * (2wh-1)*(2ww-1)), its hidden ReLU and
        the bias in the low dtype, the logit scale in float32."""
        _, tokens, ph, pw = windows(xs[0], self.window)
        t, c, h = ph * pw, xs[0][2], self.heads
        return (Saved("new", 8 * t * c + 2 * h * t * tokens + 4 * h * t),
                Saved("new", h * t * tokens, "float32"),
                Saved("new", _table(self) * (2 + self.hidden) + h * tokens * tokens, per_sample=False),
                Saved("new", h, "float32", per_sample=False))

    def cast_weights(self, xs: list[Shape], y: Shape) -> int:
        """qkv and proj (4*C*C) and the MLP's second linear (hidden*heads); its first linear
        multiplies the coordinates, a buffer with no gradient, so autograd keeps no copy of it."""
        return 4 * xs[0][2] ** 2 + self.hidden * self.heads

    def extra_macs_line(self) -> str:
        t, h = _table(self), self.hidden
        return (f"; + position-bias MLP T * (2*hidden + hidden*heads) = {t} * (2*{h} + {h}*{self.heads}) = "
                f"{n(_cpb_macs(self))}")

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.window import WindowAttentionV2 as Twin

        return Twin(xs[0][2], self.window, self.shift, self.heads, self.hidden)


@register("patch_merging")
class PatchMerging(OpDef):
    """Swin's patch merging gather on an H x W x C map (torchvision's _patch_merging_pad): the map
    padded to even H and W (zeros at the bottom and right), then each 2 x 2 neighbourhood's four
    tokens x0 = [0::2, 0::2], x1 = [1::2, 0::2], x2 = [0::2, 1::2], x3 = [1::2, 1::2] concatenated
    along the channels: ceil(H/2) x ceil(W/2) x 4C. torchvision's PatchMerging follows it with
    layernorm (4C) and linear (2C, no bias); PatchMergingV2 with the linear, then layernorm (2C).

    params = 0; macs = 0 (slices and a concatenation: data movement; no tool counts it)
    """

    ranks, layout = (3,), "an H x W x C channels-last map"
    counts = rules()
    samples = ({},)
    sample_inputs = ((5, 7, 6),)  # odd sizes: padded to 6 x 8 -> 3 x 4 x 24

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        h, w, c = xs[0]
        return (-(-h // 2), -(-w // 2), 4 * c)

    def rf_window(self, xs: list[Shape]) -> tuple[Pair, Pair, Pair, Pair] | None:
        """A 2 x 2 window, stride 2 (the padding is at the end: no shift of the first window)."""
        return (2, 2), (2, 2), (0, 0), (1, 1)

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        h, w, c = xs[0]
        return [f"Output shape = ceil(H/2) x ceil(W/2) x 4C = ceil({h}/2) x ceil({w}/2) x 4*{c} = {fmt_shape(y)}",
                "Params: none", "Flop: none (2 x 2 neighbours gathered into the channels)"]

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.window import PatchMerging as Twin

        return Twin()
