"""Small torch modules for graph ops that torch.nn lacks as modules (add, concat)."""

from __future__ import annotations

import torch
from torch import nn


class Functional(nn.Module):
    """A layer the model calls as a function (F.relu, F.max_pool2d) rather than as a module. The
    counters that hook modules (thop, ptflops' module hooks) then see it as they see it in the
    model the spec follows; ptflops' patched torch.nn.functional still sees the call."""

    def __init__(self, function: str, **kwargs: object) -> None:
        super().__init__()
        self.function, self.kwargs = function, kwargs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import torch.nn.functional as F

        return getattr(F, self.function)(x, **self.kwargs)  # looked up per call: tools patch F

    def extra_repr(self) -> str:
        return f"F.{self.function}({', '.join(f'{k}={v!r}' for k, v in self.kwargs.items())})"


class Method(nn.Module):
    """A layer the model calls as a torch function or tensor method (torch.relu(x), x.sigmoid()):
    no module hook and no patched torch.nn.functional sees it."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(torch, self.name)(x)

    def extra_repr(self) -> str:
        return f"torch.{self.name}"


class Opaque(nn.Module):
    """The stand-in for a call an importer could not map: zeros of the recorded shape, and the
    recorded number of parameters (so that params agree); no work FlopCounterMode counts."""

    def __init__(self, shape: tuple[int, ...], params: int) -> None:
        super().__init__()
        self.shape = shape
        self.weight = nn.Parameter(torch.zeros(params)) if params else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros((x.shape[0], *self.shape))


class FrozenBatchNorm2d(nn.Module):
    """torchvision.ops.FrozenBatchNorm2d (torchvision/ops/misc.py), written out so that verify
    needs no torchvision: batch norm whose weight, bias and statistics are all buffers."""

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(num_features))
        self.register_buffer("bias", torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    weight: torch.Tensor
    bias: torch.Tensor
    running_mean: torch.Tensor
    running_var: torch.Tensor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.reshape(1, -1, 1, 1)
        b = self.bias.reshape(1, -1, 1, 1)
        rv = self.running_var.reshape(1, -1, 1, 1)
        rm = self.running_mean.reshape(1, -1, 1, 1)
        scale = w * (rv + self.eps).rsqrt()
        bias = b - rm * scale
        return x * scale + bias


_SUBCLASSES: dict[type, type] = {}


def conv_subclass(base: type) -> type:
    """A subclass of nn.Conv1d/2d/3d that changes nothing, as torchvision's Conv3DSimple: the
    counting tools that look a module's exact type up (ptflops, thop) do not count it."""
    if base not in _SUBCLASSES:
        _SUBCLASSES[base] = type(f"{base.__name__}Subclass", (base,), {"__module__": __name__})
    return _SUBCLASSES[base]


class Resize(nn.Module):
    """nn.Upsample (module) or F.interpolate (function) by size, scale, or the size of a second
    input, as torchvision's segmentation heads call it: F.interpolate(x, size=input.shape[-2:])."""

    def __init__(self, size: tuple[int, ...] | None, scale: tuple[float, ...] | None, mode: str,
                 align_corners: bool | None, function: bool) -> None:
        super().__init__()
        self.size, self.scale, self.mode, self.align_corners, self.function = size, scale, mode, align_corners, function
        self.up = None if function else nn.Upsample(size=size, scale_factor=scale, mode=mode,
                                                     align_corners=align_corners)

    def forward(self, x: torch.Tensor, like: torch.Tensor | None = None) -> torch.Tensor:
        import torch.nn.functional as F

        if like is not None:
            return F.interpolate(x, size=like.shape[2:], mode=self.mode, align_corners=self.align_corners)
        if self.up is not None:
            return self.up(x)
        return F.interpolate(x, size=self.size, scale_factor=self.scale, mode=self.mode,
                             align_corners=self.align_corners)


class Sum(nn.Module):
    """Elementwise sum of its inputs (a residual add)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Concat(nn.Module):
    """Concatenation of its inputs along one dimension (the channels by default)."""

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)


class Product(nn.Module):
    """Elementwise product of its inputs, with broadcasting (squeeze-and-excitation)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Difference(nn.Module):
    """a - b, with broadcasting."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a - b


class Quotient(nn.Module):
    """a / b, with broadcasting."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a / b


class Split(nn.Module):
    """One piece of torch.split(x, sizes, dim): pieces of unequal sizes."""

    def __init__(self, sizes: tuple[int, ...], index: int, dim: int) -> None:
        super().__init__()
        self.sizes, self.index, self.dim = list(sizes), index, dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.split(x, self.sizes, dim=self.dim)[self.index]


class Reduce(nn.Module):
    """x.mean / x.sum / x.amax over some dimensions (the batch excluded), as a tensor method."""

    def __init__(self, how: str, dims: tuple[int, ...], keepdim: bool) -> None:
        super().__init__()
        self.how, self.dims, self.keepdim = how, list(dims), keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(x, self.how)(self.dims, keepdim=self.keepdim)


class Chunk(nn.Module):
    """One of `chunks` equal slices of a dimension (ShuffleNet v2's channel split; q, k, v)."""

    def __init__(self, chunks: int, index: int, dim: int = 1) -> None:
        super().__init__()
        self.chunks, self.index, self.dim = chunks, index, dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.chunk(self.chunks, dim=self.dim)[self.index]


class Permute(nn.Module):
    """x.permute(dims), the batch dimension first and kept."""

    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(self.dims)


class Reshape(nn.Module):
    """x.reshape(batch, *shape)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor, *like: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)


class Select(nn.Module):
    """x.select(dim, index): one position of a dimension, the dimension removed (x[:, 0])."""

    def __init__(self, dim: int, index: int) -> None:
        super().__init__()
        self.dim, self.index = dim, index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.select(self.dim, self.index)


class Learned(nn.Module):
    """A learned tensor (zeros; only its shape matters here) concatenated before the input along
    `dim`, added to it, or multiplied with it: class token, position embedding, layer scale."""

    def __init__(self, shape: tuple[int, ...], merge: str, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, *shape))
        self.merge, self.dim = merge, dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.merge == "concat":
            return torch.cat([self.weight.expand(x.shape[0], *self.weight.shape[1:]), x], dim=self.dim)
        return x + self.weight if self.merge == "add" else x * self.weight


class LayerNormOver(nn.LayerNorm):
    """nn.LayerNorm over another dimension than the last (ConvNeXt's LayerNorm2d: channels of
    N x C x H x W): the dimension is moved last, normalised, and moved back, as torchvision does."""

    def __init__(self, size: int, dim: int, eps: float) -> None:
        super().__init__(size, eps=eps)
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.movedim(self.dim, -1)).movedim(-1, self.dim)


class MatMul(nn.Module):
    """a @ b, or a @ b^T (attention scores), over the last two dimensions."""

    def __init__(self, transpose: bool) -> None:
        super().__init__()
        self.transpose = transpose

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.matmul(a, b.transpose(-2, -1) if self.transpose else b)


class Mean(nn.Module):
    """x.mean over the spatial axes, kept as 1 x 1 (ShuffleNet v2's global pool is x.mean([2, 3]),
    a tensor method no counting tool hooks; keepdim keeps cnncalc's C x 1 x 1 shape)."""

    def __init__(self, keepdim: bool = True) -> None:
        super().__init__()
        self.keepdim = keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(list(range(2, x.dim())), keepdim=self.keepdim)


class SelfAttention(nn.Module):
    """nn.MultiheadAttention(D, heads, batch_first=True) called as torchvision's ViT calls it:
    attention(x, x, x, need_weights=False)[0]."""

    def __init__(self, dim: int, heads: int, bias: bool) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, heads, bias=bias, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attention(x, x, x, need_weights=False)[0]


class BoxDecode(nn.Module):
    """YOLO's anchor decode on (B, 4, A) distances: boxes around anchor points 0.5, 1.5, ... of
    one row (the real anchors' values do not change a shape or a count), times a stride of 8."""

    def __init__(self, xywh: bool = True) -> None:
        super().__init__()
        self.xywh = xywh

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        anchors = (torch.arange(x.shape[-1], dtype=x.dtype, device=x.device) + 0.5).expand(1, 2, -1)
        lt, rb = x.chunk(2, 1)
        x1y1, x2y2 = anchors - lt, anchors + rb
        boxes = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) if self.xywh else torch.cat((x1y1, x2y2), 1)
        return boxes * 8.0


class TopkBoxes(nn.Module):
    """An end-to-end head's top-k on (B, 4 + nc + extra, A): (B, min(k, A), 6 + extra)."""

    def __init__(self, nc: int, k: int) -> None:
        super().__init__()
        self.nc, self.k = nc, k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():  # an answer to read, never part of a training step
            return self._pick(x)

    def _pick(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 1)
        boxes, scores, extra = x.split([4, self.nc, x.shape[-1] - 4 - self.nc], dim=-1)
        k = min(self.k, x.shape[1])
        conf, index = scores.amax(-1).topk(k, dim=1)
        label = scores.argmax(-1).gather(1, index).to(x.dtype)

        def pick(t: torch.Tensor) -> torch.Tensor:
            return t.gather(1, index[..., None].expand(-1, -1, t.shape[-1]))

        return torch.cat([pick(boxes), conf[..., None], label[..., None], pick(extra)], dim=-1)


class KptDecode(nn.Module):
    """A pose head's keypoint decode on (B, C, A): x and y of each keypoint moved to anchor points
    0.5, 1.5, ... (the same for both axes: the values do not change a count), times a stride of
    8; with dims 3 the visibility through a sigmoid."""

    def __init__(self, dims: int = 3, scale: int = 2) -> None:
        super().__init__()
        self.dims, self.scale = dims, scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        anchors = torch.arange(x.shape[-1], dtype=x.dtype, device=x.device) + 0.5
        y = x.clone()
        if self.dims == 3:
            y[:, 2::3] = y[:, 2::3].sigmoid()
        for axis in (0, 1):
            if self.scale == 2:
                y[:, axis::self.dims] = (y[:, axis::self.dims] * 2.0 + (anchors - 0.5)) * 8.0
            else:
                y[:, axis::self.dims] = (y[:, axis::self.dims] + anchors) * 8.0
        return y


class RboxDecode(nn.Module):
    """An oriented-box decode on (B, 4, A) distances and (B, 1, A) angles: (B, 4, A) rotated
    boxes (centre, size) around anchor points 0.5, 1.5, ..., times a stride of 8."""

    def forward(self, x: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
        anchors = (torch.arange(x.shape[-1], dtype=x.dtype, device=x.device) + 0.5).expand(1, 2, -1)
        lt, rb = x.chunk(2, 1)
        cos, sin = torch.cos(angle), torch.sin(angle)
        dx, dy = ((rb - lt) / 2).chunk(2, 1)
        centre = torch.cat([dx * cos - dy * sin, dx * sin + dy * cos], 1) + anchors
        return torch.cat([centre, lt + rb], 1) * 8.0
