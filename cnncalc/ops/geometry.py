"""One geometry for every dimension: the sliding window of convolution, pooling and transposed
convolution along any number of spatial axes, as torch's _ConvNd and _ConvTransposeNd do.

Stage: ops (pure). The input's rank decides the dimension: C x L is 1-D, C x H x W 2-D,
C x T x H x W 3-D. A window key (kernel, stride, pad, dilation, output_pad) is one integer for
every spatial axis or a list with one per axis; per_axis() resolves it against the input. Here:
the output size of a window along one axis (floor, ceil_mode, transposed), the shape rule of a
window op on a whole map, the slides' worked arithmetic for it, and how a table cell shows it.
"""

from __future__ import annotations

from typing import Any

from cnncalc.errors import ShapeError, Span

Axes = tuple[int, ...]  # one value per spatial axis: (l,), (h, w) or (t, h, w)

SPATIAL_RANKS = (2, 3, 4)  # C x L, C x H x W, C x T x H x W
MAPS = "a C x L, C x H x W or C x T x H x W feature map"
LAYOUTS = {2: "a C x L sequence (1-D)", 3: "a C x H x W feature map", 4: "a C x T x H x W volume (3-D)"}


def letters(rank: int) -> tuple[str, ...]:
    """The slides' letters of the spatial axes: L; H, W; T, H, W."""
    return {1: ("L",), 2: ("H", "W"), 3: ("T", "H", "W")}.get(rank, tuple(f"D{i}" for i in range(rank)))


def per_axis(value: Any, rank: int, key: str, op: str, span: Span | None) -> Axes:
    """A window key for an input with `rank` spatial axes: one integer broadcast to every axis,
    or a list with one value per axis (a ShapeError when the counts differ)."""
    if isinstance(value, int):
        return (value,) * rank
    if len(value) == rank:
        return tuple(value)
    names = " x ".join(letters(rank))
    raise ShapeError(span, f"{op}: '{key}' has {len(value)} values, one per spatial axis, but the input has "
                     f"{rank} ({names})", f"write {key}: {value[0]} for every axis, or a list of {rank}")


def resolved(op: Any, key: str, value: Any, rank: int, span: Span | None) -> Axes:
    """per_axis for an op's key, kept on the op (ops are immutable and shared by every layer
    built from the same YAML values: resnet152's 3x3 convs resolve their kernel once)."""
    memo = op.__dict__.get("_axes")
    if memo is None:
        memo = {}
        object.__setattr__(op, "_axes", memo)
    axes = memo.get((key, rank))
    if axes is None:
        axes = memo[(key, rank)] = per_axis(value, rank, key, op.type, span)
    return axes


def window_out(size: int, kernel: int, stride: int, pad: int, dilation: int = 1,
               ceil_mode: bool = False) -> int:
    """Output length of a sliding window along one axis, exactly as PyTorch computes it.

    floor: out = (size + 2*pad - dilation*(kernel-1) - 1) // stride + 1
    ceil_mode (Caffe's rule): the same with ceiling division, minus one when the last window
    would start in the right padding. May return <= 0; callers turn that into a ShapeError.
    """
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + pad:
        out -= 1
    return out


def transposed_out(size: int, kernel: int, stride: int, pad: int, dilation: int = 1, output_pad: int = 0) -> int:
    """Output length of a transposed convolution along one axis (torch's ConvTranspose formula):
    out = (size - 1)*stride - 2*pad + dilation*(kernel - 1) + output_pad + 1."""
    return (size - 1) * stride - 2 * pad + dilation * (kernel - 1) + output_pad + 1


def spatial(layer: str, x: tuple[int, ...], kernel: Axes, stride: Axes, pad: Axes, dilation: Axes,
            ceil_mode: bool, span: Span | None, whole_kernel: bool = True) -> Axes:
    """The output sizes of a window op on a C x ... input, one per spatial axis, or a ShapeError
    that says why not. whole_kernel: the kernel must fit in the padded input (torch checks this
    for conv; a pool only needs an output of at least 1, which ceil_mode can give from a partial
    window)."""
    outs = []
    for axis, size, k, s, p, d in zip(letters(len(x) - 1), x[1:], kernel, stride, pad, dilation):
        axis = axis.lower()
        reach = d * (k - 1) + 1
        if whole_kernel and size + 2 * p < reach:
            raise ShapeError(span, f"{layer}: kernel {reach} is larger than the padded input "
                             f"{size}+2*{p}={size + 2 * p} along {axis}")
        out = window_out(size, k, s, p, d, ceil_mode)
        if out < 1:
            raise ShapeError(span, f"{layer}: output {axis} would be {out} (input {size}, kernel {reach}, "
                             f"stride {s}, pad {p})", "the input is too small for this layer")
        outs.append(out)
    return tuple(outs)


def transposed_spatial(layer: str, x: tuple[int, ...], kernel: Axes, stride: Axes, pad: Axes, output_pad: Axes,
                       dilation: Axes, span: Span | None) -> Axes:
    """The output sizes of a transposed window op, one per spatial axis, or a ShapeError."""
    outs = []
    for axis, size, k, s, p, o, d in zip(letters(len(x) - 1), x[1:], kernel, stride, pad, output_pad, dilation):
        axis = axis.lower()
        if o >= s and o >= d:  # torch: "output padding must be smaller than either stride or dilation"
            raise ShapeError(span, f"{layer}: output_pad {o} along {axis} must be smaller than the stride ({s}) "
                             f"or the dilation ({d})")
        out = transposed_out(size, k, s, p, d, o)
        if out < 1:
            raise ShapeError(span, f"{layer}: output {axis} would be {out} (input {size}, kernel {k}, stride {s}, "
                             f"pad {p})", "lower pad")
        outs.append(out)
    return tuple(outs)


def cell(value: Any) -> str:
    """A window key as a table cell: 3, or 3x7x7 when the axes differ (None: empty)."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return str(value[0]) if len(set(value)) == 1 else "x".join(map(str, value))
    return str(value)


def axis_formula(size: int, kernel: int, stride: int, pad: int, dilation: int, out: int, ceil: bool,
                 letter: str = "W") -> str:
    """The slides' output-size line with the numbers substituted:
    W' = (W - K + 2P) / S + 1 = (227 - 11 + 2*2) / 4 + 1 = 220 / 4 + 1 = 56, or with floor(...)."""
    k = dilation * (kernel - 1) + 1
    k_text = f"({dilation}*({kernel}-1)+1)" if dilation > 1 else f"{kernel}"
    num = size - k + 2 * pad
    subst = f"({size} - {k_text} + 2*{pad})" if pad else f"({size} - {k_text})"
    if num % stride == 0:
        return f"{letter}' = ({letter} - K + 2P) / S + 1 = {subst} / {stride} + 1 = {num} / {stride} + 1 = {out}"
    rounding = "ceil" if ceil else "floor"
    exact = num / stride + 1  # display only: the engine's integer rule gives `out`
    tail = f" (and a last window starting in the padding is dropped) = {out}" if ceil and out != -(-num // stride) + 1 else ""
    return (f"{letter}' = {rounding}(({letter} - K + 2P) / S + 1) = {rounding}({subst} / {stride} + 1) = "
            f"{rounding}({num} / {stride} + 1) = {rounding}({exact:g}) = {-(-num // stride) + 1 if ceil else out}{tail}")


def transposed_formula(size: int, kernel: int, stride: int, pad: int, dilation: int, output_pad: int, out: int,
                       letter: str = "W") -> str:
    """The transposed convolution's output-size line, as the slides would write it:
    W' = (W - 1)*S - 2P + D*(K - 1) + OP + 1 = (4 - 1)*2 - 2*1 + 1*(4 - 1) + 0 + 1 = 8."""
    return (f"{letter}' = ({letter} - 1)*S - 2P + D*(K - 1) + OP + 1 = ({size} - 1)*{stride} - 2*{pad} + "
            f"{dilation}*({kernel} - 1) + {output_pad} + 1 = {out}")


def merge_lines(per_axis_lines: list[str], names: tuple[str, ...]) -> list[str]:
    """One line per axis, or one for axes whose lines are alike but for their letter
    (H' = W' = ... for a square map)."""
    out: list[str] = []
    groups: list[tuple[str, list[str]]] = []  # (the line written for the last axis, the axes alike)
    for name, line in zip(names, per_axis_lines):
        key = line.replace(f"{name}'", "#'").replace(f"({name} ", "(# ").replace(f"{name} -", "# -")
        for seen in groups:
            if seen[0] == key:
                seen[1].append(name)
                break
        else:
            groups.append((key, [name]))
    for key, axes in groups:
        last = axes[-1]
        line = key.replace("#'", f"{last}'").replace("(# ", f"({last} ").replace("# -", f"{last} -")
        if len(axes) > 1:
            line = line.replace(f"{last}' = ", " = ".join(f"{a}'" for a in axes) + " = ", 1)
        out.append(line)
    return out


def spatial_lines(x: tuple[int, ...], y: tuple[int, ...], kernel: Axes, stride: Axes, pad: Axes, dilation: Axes,
                  ceil: bool) -> list[str]:
    """Output-size lines of every spatial axis (one line for axes that work out alike)."""
    names = letters(len(x) - 1)
    lines = [axis_formula(x[i + 1], kernel[i], stride[i], pad[i], dilation[i], y[i + 1], ceil, names[i])
             for i in range(len(names))]
    return merge_lines(lines, names)
