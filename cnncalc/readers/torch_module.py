"""A PyTorch nn.Module -> a cnncalc spec, by recording one forward pass.

Stage: reader (imports torch; only `cnncalc import`, `cnncalc.to_spec` and `cnncalc.analyze(module)`
load it). In: an nn.Module and an input shape (C x H x W ..., no batch). Out: an emit.Instance
tree, written as YAML by emit.write.

How: one forward pass (on the meta device when the model was built there: nothing is allocated)
under two recorders at once:
- global module hooks (torch.nn.modules.module.register_module_forward_pre_hook / _hook) see every
  module call: a module in MODULES becomes one layer (its own calls inside are not recorded); any
  other module is a container, one `Instance` (a block instance in the spec);
- a TorchFunctionMode sees every torch function and Tensor method called outside those modules
  (F.relu, torch.cat, x.flatten(1), x.mean((2, 3)), x + y, @): FUNCTIONS maps them.
A tensor is followed by its id: each one produced is kept alive and mapped to the layer that made
it, so Python control flow, loops over ModuleLists, dict outputs and modules called twice all
record as they ran. What cannot be mapped is collected (op, module path, count) and reported at
once; `opaque=True` keeps each such call as a visible zero-cost `opaque` layer instead.

The tables below are the only place that knows torch's names: each entry turns one torch module or
function into one cnncalc op with its YAML keys (defaults left out, so the spec reads as written
by hand). Costs and shapes stay in cnncalc/ops/.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from cnncalc.readers.emit import INPUT, Instance, Keys, Layer, local_name, unique


class Unsupported(Exception):
    """A call no table entry maps: what it is, for the report."""


class _Param:
    """A parameter the forward pass uses as a tensor (ViT's class token, ConvNeXt's layer scale):
    merged into the map it meets (`param: {merge: concat | add | mul}`)."""

    def __init__(self, name: str, shape: tuple[int, ...]) -> None:
        self.name, self.shape = name, shape


# -- small helpers -------------------------------------------------------------------------------

def _one(value: Any) -> Any:
    """(3, 3) -> 3; (1, 7) -> [1, 7]: one number for every axis when they agree."""
    if isinstance(value, (tuple, list)):
        values = [int(v) for v in value]
        return values[0] if len(set(values)) == 1 else values
    return int(value)


def _axis(dim: int, rank: int) -> int:
    """torch's dim (with the batch) -> cnncalc's axis (without it); negative dims stay negative."""
    if dim < 0:
        return dim
    if dim == 0:
        raise Unsupported("an operation along the batch axis")
    return dim - 1


def _keys(pairs: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The op's keys, each with the default a spec may leave out (emit writes a key only where
    it differs from its default somewhere in a block, as a spec written by hand does)."""
    return Keys(pairs, defaults)


def _tensors(value: Any) -> list[torch.Tensor]:
    """Tensors in a value: a tensor, or inside tuples, lists and dicts (in order)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


# -- modules -----------------------------------------------------------------------------------

def _conv(m: Any, x: torch.Tensor) -> tuple[str, dict[str, Any]]:
    if m.padding_mode != "zeros":
        raise Unsupported(f"{type(m).__name__} with padding_mode '{m.padding_mode}'")
    transposed = isinstance(m, nn.modules.conv._ConvTransposeNd)
    pad = m.padding if isinstance(m.padding, str) else _one(m.padding)
    args = {"out": m.out_channels, "kernel": _one(m.kernel_size), "stride": _one(m.stride), "pad": pad,
            **({"output_pad": _one(m.output_padding)} if transposed else {}),
            "dilation": _one(m.dilation), "groups": m.groups, "bias": m.bias is not None}
    exact = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d) if transposed else (nn.Conv1d, nn.Conv2d, nn.Conv3d)
    if not transposed and type(m) not in exact:
        args["call"] = "subclass"  # the model's own subclass: ptflops and thop hook exact types only
    return ("conv_transpose" if transposed else "conv"), _keys(args, {"stride": 1, "pad": 0, "output_pad": 0,
                                                                       "dilation": 1, "groups": 1, "bias": True})


def _bn(m: Any, x: torch.Tensor) -> tuple[str, dict[str, Any]]:
    return "bn", _keys({"eps": m.eps, "affine": m.affine}, {"eps": 1e-5, "affine": True})


def _frozen_bn(m: Any, x: torch.Tensor) -> tuple[str, dict[str, Any]]:
    return "bn", _keys({"frozen": True, "eps": m.eps}, {"eps": 1e-5})


def _layernorm(m: Any, x: torch.Tensor) -> tuple[str, dict[str, Any]]:
    if len(m.normalized_shape) != 1 or not m.elementwise_affine or m.bias is None:
        raise Unsupported(f"LayerNorm over {tuple(m.normalized_shape)} (elementwise_affine={m.elementwise_affine}, "
                          f"bias={m.bias is not None})")
    if type(m).__name__ == "LayerNorm2d":  # torchvision's and timm's: permute to channels-last and back
        return "layernorm", _keys({"axis": 0, "eps": m.eps}, {"eps": 1e-5})
    if type(m) is not nn.LayerNorm and (type(m).__module__, type(m).__name__) not in NAMED:
        raise Unsupported(f"{type(m).__name__} (a LayerNorm subclass)")
    return "layernorm", _keys({"eps": m.eps}, {"eps": 1e-5})


def _groupnorm(m: Any, x: torch.Tensor) -> tuple[str, dict[str, Any]]:
    return "groupnorm", _keys({"groups": m.num_groups, "eps": m.eps, "affine": m.affine}, {"eps": 1e-5, "affine": True})


def _linear(m: Any, x: torch.Tensor) -> tuple[str, dict[str, Any]]:
    return "linear", _keys({"out": m.out_features, "bias": m.bias is not None}, {"bias": True})


def _pool(kind: str) -> Callable[[Any, torch.Tensor], tuple[str, dict[str, Any]]]:
    def convert(m: Any, x: torch.Tensor) -> tuple[str, dict[str, Any]]:
        if getattr(m, "return_indices", False) or getattr(m, "divisor_override", None):
            raise Unsupported(f"{type(m).__name__} with return_indices / divisor_override")
        if kind == "maxpool" and _one(m.dilation) != 1:
            raise Unsupported("MaxPool with dilation")
        kernel = _one(m.kernel_size)
        args = {"kernel": kernel, "stride": _one(m.stride) if m.stride is not None else kernel,
                "pad": _one(m.padding), "ceil_mode": m.ceil_mode}
        if kind == "avgpool":
            args["count_include_pad"] = m.count_include_pad
        return kind, _keys(args, {"stride": kernel, "pad": 0, "ceil_mode": False, "count_include_pad": True})
    return convert


def _adaptive(kind: str) -> Callable[[Any, torch.Tensor], tuple[str, dict[str, Any]]]:
    def convert(m: Any, x: torch.Tensor) -> tuple[str, dict[str, Any]]:
        size = m.output_size
        if isinstance(size, (tuple, list)) and any(s is None for s in size):
            raise Unsupported(f"{type(m).__name__} with a None size")
        return kind, {"out": _one(size)}
    return convert


def _plain(kind: str, **fixed: Any) -> Callable[[Any, torch.Tensor], tuple[str, dict[str, Any]]]:
    return lambda m, x: (kind, dict(fixed))


def _gelu(m: Any, x: torch.Tensor) -> tuple[str, dict[str, Any]]:
    if m.approximate != "none":
        raise Unsupported("GELU(approximate='tanh')")
    return "gelu", {}


def _softmax(kind: str) -> Callable[[Any, torch.Tensor], tuple[str, dict[str, Any]]]:
    def convert(m: Any, x: torch.Tensor) -> tuple[str, dict[str, Any]]:
        dim = m.dim if m.dim is not None else 1
        return kind, _keys({"axis": _axis(dim, x.dim())}, {"axis": 0})
    return convert


def _flatten(m: Any, x: torch.Tensor) -> tuple[str, dict[str, Any]]:
    return "flatten", _keys({"start": _axis(m.start_dim, x.dim()), "end": m.end_dim if m.end_dim < 0 else m.end_dim - 1},
                            {"start": 0, "end": -1})


def _upsample(m: Any, x: torch.Tensor) -> tuple[str, dict[str, Any]]:
    args: dict[str, Any] = {"mode": m.mode}
    if m.size is not None:
        args["size"] = _one(m.size)
    else:
        scale = m.scale_factor
        args["scale"] = _one(scale) if all(float(s).is_integer() for s in (scale if isinstance(scale, tuple) else [scale])) \
            else (list(scale) if isinstance(scale, tuple) else scale)
    if m.align_corners:
        args["align_corners"] = True
    return "upsample", _keys(args, {"mode": "nearest"})


def _zeropad(m: Any, x: torch.Tensor) -> tuple[str, dict[str, Any]]:
    if getattr(m, "value", 0) != 0:
        raise Unsupported(f"{type(m).__name__} with value {m.value}")
    pad = list(m.padding)
    if len(pad) != 4:
        raise Unsupported(f"{type(m).__name__} with {len(pad)} pad values")
    return "zeropad", {"pad": pad[0] if len(set(pad)) == 1 else pad}


def _mha(m: Any, x: torch.Tensor) -> tuple[str, dict[str, Any]]:
    if not m.batch_first or not m._qkv_same_embed_dim:
        raise Unsupported("nn.MultiheadAttention without batch_first or with kdim/vdim")
    return "attention", _keys({"heads": m.num_heads, "bias": m.in_proj_bias is not None}, {"bias": True})


def _timm_attention(m: Any, x: torch.Tensor) -> tuple[str, dict[str, Any]]:
    """timm's Attention (ViT, DeiT, ...): qkv = one linear D -> 3D, per head softmax(q k^T / sqrt(dh)) v
    (F.scaled_dot_product_attention, or the same written out), proj = linear D -> D: the arithmetic
    of nn.MultiheadAttention, so `attention` when nothing is added to it."""
    extras = [n for n in ("q_norm", "k_norm", "norm") if not isinstance(getattr(m, n, nn.Identity()), nn.Identity)]
    if getattr(m, "gate", None) is not None:
        extras.append("gate")
    if extras:
        raise Unsupported(f"timm Attention with {', '.join(extras)}")
    dim, width = m.qkv.in_features, m.num_heads * m.head_dim
    if width != dim or m.proj.out_features != dim or m.qkv.out_features != 3 * dim:
        raise Unsupported(f"timm Attention of width {width} on {dim} features (attn_head_dim or dim_out)")
    if abs(m.scale - m.head_dim ** -0.5) > 1e-12:
        raise Unsupported(f"timm Attention with scale {m.scale}")
    if (m.qkv.bias is None) != (m.proj.bias is None):
        raise Unsupported(f"timm Attention with qkv_bias={m.qkv.bias is not None}, proj_bias={m.proj.bias is not None}")
    return "attention", _keys({"heads": m.num_heads, "bias": m.qkv.bias is not None}, {"bias": True})


def _window_attention(m: Any, x: torch.Tensor) -> tuple[str, dict[str, Any]]:
    args = {"heads": m.num_heads, "window": _one(m.window_size), "shift": _one(m.shift_size)}
    if type(m).__name__ == "ShiftedWindowAttentionV2":
        return "window_attention_v2", _keys({**args, "hidden": m.cpb_mlp[0].out_features}, {"shift": 0, "hidden": 512})
    return "window_attention", _keys(args, {"shift": 0})


def _swap_axes(m: Any, x: torch.Tensor) -> tuple[str, dict[str, Any]]:
    a, b = m.a % x.dim(), m.b % x.dim()
    if 0 in (a, b):
        raise Unsupported("SwapAxes with the batch axis")
    dims = list(range(x.dim() - 1))
    dims[a - 1], dims[b - 1] = dims[b - 1], dims[a - 1]
    return "permute", {"dims": dims}


def _window_partition(m: Any, x: torch.Tensor, args: tuple) -> tuple[str, dict[str, Any]]:
    """torchvision MaxViT's WindowPartition(x, p): p x p windows (its grid partition is this, by
    H / 7, then SwapAxes)."""
    return "partition", _keys({"size": int(args[1]), "mode": "window"}, {"mode": "window"})


def _window_departition(m: Any, x: torch.Tensor, args: tuple) -> tuple[str, dict[str, Any]]:
    """torchvision MaxViT's WindowDepartition(x, p, h_partitions, w_partitions)."""
    p, h_parts, w_parts = (int(v) for v in args[1:4])
    return "unpartition", _keys({"size": p, "mode": "window", "height": 0 if h_parts == w_parts else h_parts * p},
                                {"mode": "window", "height": 0})


_window_partition.wants_args = _window_departition.wants_args = True  # type: ignore[attr-defined]


def _rel_attention(m: Any, x: torch.Tensor) -> tuple[str, dict[str, Any]]:
    if m.max_seq_len != m.size * m.size or m.n_heads * m.head_dim != m.merge.out_features:
        raise Unsupported(f"RelativePositionalMultiHeadAttention on {m.max_seq_len} tokens, {m.n_heads} x {m.head_dim}")
    return "rel_attention", {"heads": m.n_heads, "size": m.size}


# exact module types -> converter; a subclass is looked up by its bases (Conv3DSimple -> conv,
# with call: subclass), a class of another library by its name (torchvision's, below)
MODULES: dict[type, Callable[[Any, torch.Tensor], tuple[str, dict[str, Any]]]] = {
    **{c: _conv for c in (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)},
    nn.Linear: _linear,
    **{c: _bn for c in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)},
    nn.LayerNorm: _layernorm,
    nn.GroupNorm: _groupnorm,
    **{c: (lambda m, x: ("instancenorm", _keys({"eps": m.eps, "affine": m.affine}, {"eps": 1e-5, "affine": False})))
       for c in (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)},
    nn.LocalResponseNorm: lambda m, x: ("lrn", _keys({"size": m.size, "alpha": m.alpha, "beta": m.beta, "k": m.k},
                                                     {"alpha": 1e-4, "beta": 0.75, "k": 1.0})),
    nn.ReLU: _plain("relu"), nn.ReLU6: _plain("relu6"), nn.Sigmoid: _plain("sigmoid"), nn.Tanh: _plain("tanh"),
    nn.GELU: _gelu, nn.SiLU: _plain("silu"), nn.Hardswish: _plain("hardswish"), nn.Hardsigmoid: _plain("hardsigmoid"),
    nn.Identity: _plain("identity"),
    nn.LeakyReLU: lambda m, x: ("leaky_relu", _keys({"slope": m.negative_slope}, {"slope": 0.01})),
    nn.Softmax: _softmax("softmax"), nn.LogSoftmax: _softmax("log_softmax"),
    **{c: (lambda m, x: ("dropout", _keys({"p": m.p}, {"p": 0.5})))
       for c in (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)},
    **{c: _pool("maxpool") for c in (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)},
    **{c: _pool("avgpool") for c in (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)},
    **{c: _adaptive("adaptive_avgpool") for c in (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)},
    **{c: _adaptive("adaptive_maxpool") for c in (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)},
    nn.Flatten: _flatten,
    nn.Upsample: _upsample,
    nn.PixelShuffle: lambda m, x: ("pixel_shuffle", {"factor": m.upscale_factor}),
    nn.PixelUnshuffle: lambda m, x: ("pixel_unshuffle", {"factor": m.downscale_factor}),
    nn.ZeroPad2d: _zeropad,
    nn.ChannelShuffle: lambda m, x: ("channel_shuffle", {"groups": m.groups}),
    nn.Embedding: lambda m, x: ("embedding", {"vocab": m.num_embeddings, "dim": m.embedding_dim}),
    nn.MultiheadAttention: _mha,
}

# other libraries' modules, by module and class name (no import of those libraries here)
NAMED: dict[tuple[str, str], Callable[[Any, torch.Tensor], tuple[str, dict[str, Any]]]] = {
    ("torchvision.ops.misc", "FrozenBatchNorm2d"): _frozen_bn,
    ("torchvision.ops.stochastic_depth", "StochasticDepth"): _plain("identity"),
    ("torchvision.models.convnext", "LayerNorm2d"): _layernorm,
    ("torchvision.models.swin_transformer", "ShiftedWindowAttention"): _window_attention,
    ("torchvision.models.swin_transformer", "ShiftedWindowAttentionV2"): _window_attention,
    ("torchvision.models.video.swin_transformer", "ShiftedWindowAttention3d"): _window_attention,
    ("torchvision.ops.misc", "Permute"): lambda m, x: ("permute", {"dims": [d - 1 for d in m.dims[1:]]}),
    ("torchvision.models.maxvit", "WindowPartition"): _window_partition,  # type: ignore[dict-item]
    ("torchvision.models.maxvit", "WindowDepartition"): _window_departition,  # type: ignore[dict-item]
    ("torchvision.models.maxvit", "SwapAxes"): _swap_axes,
    ("torchvision.models.maxvit", "RelativePositionalMultiHeadAttention"): _rel_attention,
    # timm's own layers (timm.layers): the same arithmetic as torch's module, by F calls of its own
    ("timm.layers.norm", "LayerNorm"): _layernorm,
    ("timm.layers.norm", "LayerNorm2d"): _layernorm,
    ("timm.layers.norm", "GroupNorm"): _groupnorm,
    ("timm.layers.norm", "GroupNorm1"): _groupnorm,
    ("timm.layers.linear", "Linear"): _linear,
    ("timm.layers.attention", "Attention"): _timm_attention,
    ("timm.layers.drop", "DropPath"): _plain("identity"),  # stochastic depth: the input itself at inference
    ("timm.layers.drop", "DropBlock2d"): _plain("identity"),
}

# modules whose own code (not their child modules) is one op: that op is recorded first, reading
# the module's input, and what the module computes with functions is taken as its output; the
# child modules it then calls are recorded as usual (Swin's patch merging: the 2 x 2 gather in a
# function, then its norm and reduction modules)
COMPOSITE: dict[tuple[str, str], tuple[str, str, dict[str, Any]]] = {  # -> (local name, op, keys)
    ("torchvision.models.swin_transformer", "PatchMerging"): ("merge", "patch_merging", {}),
    ("torchvision.models.swin_transformer", "PatchMergingV2"): ("merge", "patch_merging", {}),
}


def _mvit_attention(m: Any, x: torch.Tensor, args: tuple) -> tuple[str, dict[str, Any]]:
    """torchvision's MultiscaleAttention(x, thw): its pools' windows, on the grid thw."""
    if m.residual_pool and m.residual_with_cls_embed:
        raise Unsupported("MultiscaleAttention with residual_with_cls_embed")

    def window(pool: Any) -> tuple[Any, Any]:
        return (_one(pool.pool.kernel_size), _one(pool.pool.stride)) if pool is not None else (1, 1)

    (kq, sq), (kkv, skv) = window(m.pool_q), window(m.pool_k)
    keys = {"heads": m.num_heads, "grid": [int(v) for v in args[1]], "out": m.output_dim if m.output_dim != x.shape[-1] else 0,
            "kernel_q": kq, "stride_q": sq, "kernel_kv": kkv, "stride_kv": skv, "rel_pos": m.rel_pos_h is not None,
            "residual_pool": m.residual_pool}
    return "pool_attention", _keys(keys, {"out": 0, "kernel_q": 1, "stride_q": 1, "kernel_kv": 1, "stride_kv": 1,
                                          "rel_pos": False, "residual_pool": False})


def _mvit_pool(m: Any, x: torch.Tensor, args: tuple) -> tuple[str, dict[str, Any]]:
    """torchvision's video.mvit.Pool(MaxPool3d) on the skip path (thw given)."""
    if not isinstance(m.pool, nn.MaxPool3d) or m.norm_act is not None:
        raise Unsupported("mvit Pool other than a bare MaxPool3d")
    kernel = _one(m.pool.kernel_size)
    return "token_maxpool", _keys({"kernel": kernel, "stride": _one(m.pool.stride), "pad": _one(m.pool.padding),
                                   "grid": [int(v) for v in args[1]]}, {"stride": kernel, "pad": 0})


def _mvit_positions(m: Any, x: torch.Tensor) -> tuple[str, dict[str, Any]]:
    return "st_pos_encoding", _keys({"grid": [m.temporal_size, *m.spatial_size], "pos_embed": m.spatial_pos is not None},
                                    {"pos_embed": True})


_mvit_attention.wants_args = _mvit_pool.wants_args = True  # type: ignore[attr-defined]  # they read the grid argument
NAMED.update({
    ("torchvision.models.video.mvit", "MultiscaleAttention"): _mvit_attention,  # type: ignore[dict-item]
    ("torchvision.models.video.mvit", "Pool"): _mvit_pool,  # type: ignore[dict-item]
    ("torchvision.models.video.mvit", "PositionalEncoding"): _mvit_positions,
})


def module_converter(m: nn.Module) -> Callable[[Any, torch.Tensor], tuple[str, dict[str, Any]]] | None:
    cls = type(m)
    found = MODULES.get(cls) or NAMED.get((cls.__module__, cls.__name__))
    if found is not None:
        return found
    for base in cls.__mro__[1:]:  # a subclass of a mapped module whose forward is its base's
        if base in MODULES and getattr(cls, "forward", None) is getattr(base, "forward", None):
            return MODULES[base]
    return None


# -- functions ---------------------------------------------------------------------------------
# Each entry: (function, its arguments as called, the output) -> [(op, YAML keys, input tensors)].
# The ops read from the torch function's positional/keyword arguments.

def _arg(args: tuple, kwargs: dict, i: int, name: str, default: Any = None) -> Any:
    return args[i] if len(args) > i else kwargs.get(name, default)


def _act(kind: str, call: str) -> Callable:
    def convert(args: tuple, kwargs: dict, out: Any) -> list:
        return [(kind, {"call": call} if call != "module" else {}, [args[0]])]
    return convert


def _binary(kind: str) -> Callable:
    def convert(args: tuple, kwargs: dict, out: Any) -> list:
        a, b = args[0], _arg(args, kwargs, 1, "other")
        if kwargs.get("alpha", 1) != 1:
            raise Unsupported(f"{kind} with alpha")
        if isinstance(a, torch.Tensor) and isinstance(b, (int, float)) and not isinstance(b, bool) and \
                b == (0 if kind in ("add", "sub") else 1):  # x + 0 (FastViT's missing branch), x * 1: x itself
            return [("pass", {}, [a])]
        if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor):
            raise Unsupported(f"{kind} with a number ({kind} by a constant)")
        return [(kind, {}, [a, b])]
    return convert


def _cat(args: tuple, kwargs: dict, out: Any) -> list:
    xs = list(_arg(args, kwargs, 0, "tensors"))
    if len(xs) == 1:  # torch.cat([x]): x itself (DenseNet's first layer)
        return [("pass", {}, xs)]
    dim = _arg(args, kwargs, 1, "dim", 0)
    axis = _axis(dim, xs[0].dim())
    return [("concat", _keys({"axis": axis}, {"axis": 0}), xs)]


def _flatten_f(args: tuple, kwargs: dict, out: Any) -> list:
    x = args[0]
    start = _arg(args, kwargs, 1, "start_dim", 0)
    end = _arg(args, kwargs, 2, "end_dim", -1)
    return [("flatten", _keys({"start": _axis(start, x.dim()), "end": end if end < 0 else end - 1},
                              {"start": 0, "end": -1}), [x])]


def _reshape(args: tuple, kwargs: dict, out: Any) -> list:
    x = args[0]
    if out.shape[0] != x.shape[0]:
        raise Unsupported("a reshape that moves the batch")
    return [("reshape", {"shape": list(out.shape[1:])}, [x])]


def _permute(args: tuple, kwargs: dict, out: Any) -> list:
    x = args[0]
    dims = args[1:] if len(args) > 1 and isinstance(args[1], int) else _arg(args, kwargs, 1, "dims")
    dims = [d % x.dim() for d in dims]
    if dims[0] != 0:
        raise Unsupported("a permute that moves the batch")
    return [("permute", {"dims": [d - 1 for d in dims[1:]]}, [x])]


def _transpose(args: tuple, kwargs: dict, out: Any) -> list:
    x = args[0]
    a, b = (_arg(args, kwargs, 1, "dim0") % x.dim(), _arg(args, kwargs, 2, "dim1") % x.dim())
    if 0 in (a, b):
        raise Unsupported("a transpose with the batch axis")
    dims = list(range(1, x.dim()))
    dims[a - 1], dims[b - 1] = dims[b - 1], dims[a - 1]
    return [("permute", {"dims": [d - 1 for d in dims]}, [x])]


def _reduce(kind: str) -> Callable:
    def convert(args: tuple, kwargs: dict, out: Any) -> list:
        x = args[0]
        dim = _arg(args, kwargs, 1, "dim")
        if dim is None:
            raise Unsupported(f"{kind} over every axis")
        dims = [dim] if isinstance(dim, int) else list(dim)
        keep = _arg(args, kwargs, 2, "keepdim", False)
        if kind == "mean" and 3 <= x.dim() <= 5 and sorted(d % x.dim() for d in dims) == list(range(2, x.dim())):
            # x.mean([2, 3]) over a map's every spatial axis: global average pooling, as a method
            return [("global_avgpool", _keys({"call": "method", "keepdim": keep}, {"keepdim": True}), [x])]
        return [(kind, _keys({"axes": [_axis(d, x.dim()) for d in dims], "keepdim": keep}, {"keepdim": False}), [x])]
    return convert


def _adaptive_f(kind: str) -> Callable:
    def convert(args: tuple, kwargs: dict, out: Any) -> list:
        return [(kind, {"out": _one(_arg(args, kwargs, 1, "output_size")), "call": "function"}, [args[0]])]
    return convert


def _pool_f(kind: str) -> Callable:
    def convert(args: tuple, kwargs: dict, out: Any) -> list:
        kernel = _one(_arg(args, kwargs, 1, "kernel_size"))
        stride = _arg(args, kwargs, 2, "stride")
        stride = kernel if stride in (None, [], ()) else _one(stride)
        pad = _one(_arg(args, kwargs, 3, "padding", 0))
        if kind == "maxpool":
            if _one(_arg(args, kwargs, 4, "dilation", 1)) != 1 or _arg(args, kwargs, 6, "return_indices", False):
                raise Unsupported("max_pool with dilation or return_indices")
            ceil = _arg(args, kwargs, 5, "ceil_mode", False)
            extra = {}
        else:
            ceil = _arg(args, kwargs, 4, "ceil_mode", False)
            extra = {"count_include_pad": _arg(args, kwargs, 5, "count_include_pad", True)}
        return [(kind, _keys({"kernel": kernel, "stride": stride, "pad": pad, "ceil_mode": ceil, **extra, "call": "function"},
                             {"stride": kernel, "pad": 0, "ceil_mode": False, "count_include_pad": True}), [args[0]])]
    return convert


def _interpolate(args: tuple, kwargs: dict, out: Any) -> list:
    x = args[0]
    size = _arg(args, kwargs, 1, "size")
    scale = _arg(args, kwargs, 2, "scale_factor")
    mode = _arg(args, kwargs, 3, "mode", "nearest")
    align = _arg(args, kwargs, 4, "align_corners")
    if _arg(args, kwargs, 5, "recompute_scale_factor") or _arg(args, kwargs, 6, "antialias", False):
        raise Unsupported("interpolate with recompute_scale_factor or antialias")
    keys: dict[str, Any] = {"mode": mode}
    if size is not None:
        keys["size"] = _one(size)
    else:
        keys["scale"] = scale if isinstance(scale, (int, float)) else list(scale)
    if align:
        keys["align_corners"] = True
    keys["call"] = "function"
    return [("upsample", _keys(keys, {"mode": "nearest"}), [x])]


def _softmax_f(kind: str, call: str) -> Callable:
    def convert(args: tuple, kwargs: dict, out: Any) -> list:
        dim = _arg(args, kwargs, 1, "dim")
        if dim is None:
            raise Unsupported(f"{kind} without dim")
        keys = _keys({"axis": _axis(dim, args[0].dim())}, {"axis": 0})
        if call == "function":
            keys["call"] = "function"
        return [(kind, keys, [args[0]])]
    return convert


def _dropout_f(args: tuple, kwargs: dict, out: Any) -> list:
    return [("dropout", _keys({"p": _arg(args, kwargs, 1, "p", 0.5), "call": "function"}, {"p": 0.5}), [args[0]])]


def _pad_f(args: tuple, kwargs: dict, out: Any) -> list:
    pad = list(_arg(args, kwargs, 1, "pad"))
    if not any(pad):  # nothing to pad (Swin3D's patch embedding on a whole number of patches)
        return [("pass", {}, [args[0]])]
    mode = _arg(args, kwargs, 2, "mode", "constant")
    value = _arg(args, kwargs, 3, "value", None)
    if mode != "constant" or value not in (None, 0, 0.0) or len(pad) != 4:
        raise Unsupported(f"F.pad mode {mode!r} value {value} over {len(pad) // 2} axes")
    return [("zeropad", {"pad": pad[0] if len(set(pad)) == 1 else pad}, [args[0]])]


def _chunk(args: tuple, kwargs: dict, out: Any) -> list:
    x = args[0]
    chunks = _arg(args, kwargs, 1, "chunks")
    axis = _axis(_arg(args, kwargs, 2, "dim", 0), x.dim())
    if len(out) != chunks or len({o.shape[axis + 1 if axis >= 0 else axis] for o in out}) != 1:
        raise Unsupported("a chunk into unequal pieces")
    return [("chunk", _keys({"chunks": chunks, "index": i, "axis": axis}, {"axis": 0}), [x]) for i in range(chunks)]


def _split(args: tuple, kwargs: dict, out: Any) -> list:
    x = args[0]
    axis = _axis(_arg(args, kwargs, 2, "dim", 0), x.dim())
    sizes = [o.shape[axis + 1 if axis >= 0 else axis] for o in out]
    return [("split", _keys({"sizes": sizes, "index": i, "axis": axis}, {"axis": 0}), [x]) for i in range(len(out))]


def _unbind(args: tuple, kwargs: dict, out: Any) -> list:
    x = args[0]
    axis = _axis(_arg(args, kwargs, 1, "dim", 0), x.dim())
    return [("select", _keys({"index": i, "axis": axis}, {"axis": 0}), [x]) for i in range(len(out))]


def _getitem(args: tuple, kwargs: dict, out: Any) -> list:
    x, key = args[0], args[1]
    key = key if isinstance(key, tuple) else (key,)
    if sum(k is Ellipsis for k in key) == 1:  # x[..., :n]: full slices for the axes it stands for
        at = next(i for i, k in enumerate(key) if k is Ellipsis)
        key = key[:at] + (slice(None),) * (x.dim() - len(key) + 1) + key[at + 1:]
    while len(key) > 1 and isinstance(key[-1], slice) and key[-1] == slice(None):  # x[:, :n, :, :] is x[:, :n]
        key = key[:-1]
    # x[:, i] (ViT's class token), x[:, :, i]: full slices, then one integer
    if len(key) >= 2 and all(isinstance(k, slice) and k == slice(None) for k in key[:-1]) and isinstance(key[-1], int):
        return [("select", _keys({"index": key[-1], "axis": len(key) - 2}, {"axis": 0}), [x])]
    # x[:, a:b] (GhostNet's x[:, :out], DPN's dense / residual channels): one piece of a split
    if len(key) >= 2 and all(isinstance(k, slice) and k == slice(None) for k in key[:-1]) and isinstance(key[-1], slice) and \
            all(isinstance(v, (int, type(None))) for v in (key[-1].start, key[-1].stop, key[-1].step)):
        axis = len(key) - 1
        start, stop, step = key[-1].indices(x.shape[axis])
        if step != 1 or stop <= start:
            raise Unsupported(f"a slice with step {step} or no entries")
        if (start, stop) == (0, x.shape[axis]):
            return [("pass", {}, [x])]
        sizes = [n for n in (start, stop - start, x.shape[axis] - stop) if n]
        return [("split", _keys({"sizes": sizes, "index": 1 if start else 0, "axis": axis - 1}, {"axis": 0}), [x])]
    raise Unsupported("indexing a tensor (x[...]) other than x[:, i] or x[:, a:b]")


def _learned(what: str, *tensors: Any) -> None:
    """A function called with a module's own weights (F.linear(x, self.weight, self.bias)): the
    op counts them as its parameters, so they must be parameters, not tensors computed from them
    (a standardized conv weight, a reparameterized kernel)."""
    for t in tensors:
        if t is not None and not isinstance(t, nn.Parameter):
            raise Unsupported(f"{what} with a computed weight (not an nn.Parameter)")


def _conv_f(args: tuple, kwargs: dict, out: Any) -> list:
    """F.conv2d(x, self.weight, self.bias, ...): timm's Conv2dSame (after its F.pad), a conv module's
    own forward. torch's conv modules are hooked as modules; this is the model's own code."""
    x, weight, bias = args[0], _arg(args, kwargs, 1, "weight"), _arg(args, kwargs, 2, "bias")
    _learned("conv", weight, bias)
    padding = _arg(args, kwargs, 4, "padding", 0)
    keys = {"out": weight.shape[0], "kernel": _one(weight.shape[2:]), "stride": _one(_arg(args, kwargs, 3, "stride", 1)),
            "pad": padding if isinstance(padding, str) else _one(padding),
            "dilation": _one(_arg(args, kwargs, 5, "dilation", 1)), "groups": _arg(args, kwargs, 6, "groups", 1),
            "bias": bias is not None, "call": "subclass"}  # ptflops and thop hook torch's conv modules only
    return [("conv", _keys(keys, {"stride": 1, "pad": 0, "dilation": 1, "groups": 1, "bias": True}), [x])]


def _linear_f(args: tuple, kwargs: dict, out: Any) -> list:
    x, weight, bias = args[0], _arg(args, kwargs, 1, "weight"), _arg(args, kwargs, 2, "bias")
    _learned("linear", weight, bias)
    return [("linear", _keys({"out": weight.shape[0], "bias": bias is not None}, {"bias": True}), [x])]


def _norm_affine(what: str, weight: Any, bias: Any) -> bool:
    _learned(what, weight, bias)
    if (weight is None) != (bias is None):
        raise Unsupported(f"{what} with a weight but no bias (or a bias but no weight)")
    return weight is not None


def _batch_norm_f(args: tuple, kwargs: dict, out: Any) -> list:
    """F.batch_norm with a module's running statistics and affine parameters (timm's BatchNormAct2d:
    batch norm in its own forward, then its drop and act modules)."""
    mean, var = _arg(args, kwargs, 1, "running_mean"), _arg(args, kwargs, 2, "running_var")
    if mean is None or var is None or _arg(args, kwargs, 5, "training", False):
        raise Unsupported("F.batch_norm on batch statistics (no running mean and variance)")
    affine = _norm_affine("F.batch_norm", _arg(args, kwargs, 3, "weight"), _arg(args, kwargs, 4, "bias"))
    return [("bn", _keys({"eps": _arg(args, kwargs, 7, "eps", 1e-5), "affine": affine}, {"eps": 1e-5, "affine": True}),
             [args[0]])]


def _layer_norm_f(args: tuple, kwargs: dict, out: Any) -> list:
    x, shape = args[0], _arg(args, kwargs, 1, "normalized_shape")
    if len(shape) != 1 or not _norm_affine("F.layer_norm", _arg(args, kwargs, 2, "weight"), _arg(args, kwargs, 3, "bias")):
        raise Unsupported(f"F.layer_norm over {tuple(shape)} or without weight and bias")
    return [("layernorm", _keys({"eps": _arg(args, kwargs, 4, "eps", 1e-5)}, {"eps": 1e-5}), [x])]


def _group_norm_f(args: tuple, kwargs: dict, out: Any) -> list:
    affine = _norm_affine("F.group_norm", _arg(args, kwargs, 2, "weight"), _arg(args, kwargs, 3, "bias"))
    return [("groupnorm", _keys({"groups": _arg(args, kwargs, 1, "num_groups"), "eps": _arg(args, kwargs, 4, "eps", 1e-5),
                                 "affine": affine}, {"eps": 1e-5, "affine": True}), [args[0]])]


def _gelu_f(args: tuple, kwargs: dict, out: Any) -> list:
    if _arg(args, kwargs, 1, "approximate", "none") != "none":
        raise Unsupported("F.gelu(approximate='tanh')")
    return [("gelu", {"call": "function"}, [args[0]])]


def _hardtanh_f(args: tuple, kwargs: dict, out: Any) -> list:
    if (_arg(args, kwargs, 1, "min_val", -1.0), _arg(args, kwargs, 2, "max_val", 1.0)) != (0.0, 6.0):
        raise Unsupported("F.hardtanh other than relu6 (0, 6)")
    return [("relu6", {"call": "function"}, [args[0]])]


def _leaky_relu_f(args: tuple, kwargs: dict, out: Any) -> list:
    return [("leaky_relu", _keys({"slope": _arg(args, kwargs, 1, "negative_slope", 0.01), "call": "function"},
                                 {"slope": 0.01}), [args[0]])]


def _same_data(args: tuple, kwargs: dict, out: Any) -> list:
    """x.unsqueeze(1), x.squeeze(-1), x.view_as(y), x.reshape_as(y): a reshape."""
    return _reshape(args[:1], {}, out)


def _expand(args: tuple, kwargs: dict, out: Any) -> list:
    """y.expand_as(x) before x * y (ECA): no data; the ops after it broadcast y as torch does."""
    x = args[0]
    if x.dim() != out.dim() or x.shape[0] != out.shape[0]:
        raise Unsupported("an expand that adds axes or expands the batch")
    return [("pass", {}, [x])]


def _einsum(args: tuple, kwargs: dict, out: Any) -> list:
    """torch.einsum of two operands that is a batched matrix product: 'bhij,bhjk->bhik' (matmul)
    or 'bhid,bhjd->bhij' (matmul with transpose), the leading axes shared, batch first."""
    eq = args[0].replace(" ", "")
    ops = list(args[1]) if len(args) == 2 and isinstance(args[1], (list, tuple)) else list(args[1:])
    if len(ops) != 2 or "->" not in eq or "." in eq:
        raise Unsupported(f"torch.einsum '{args[0]}' (not a product of two operands)")
    (sa, sb), so = eq.split("->")[0].split(","), eq.split("->")[1]
    a, b = ops
    lead = sa[:-2]
    if len(sa) < 3 or len(sa) != len(sb) or len(sa) != len(so) or sb[:-2] != lead or so[:-2] != lead or \
            len(set(sa)) != len(sa) or len(set(sb)) != len(sb) or a.shape[:-2] != b.shape[:-2]:
        raise Unsupported(f"torch.einsum '{args[0]}' (not a batched matrix product)")
    i, j = sa[-2:]
    if so[-2] != i or j in so:
        raise Unsupported(f"torch.einsum '{args[0]}' (not a batched matrix product)")
    if sb[-2:] == j + so[-1]:
        transpose = False
    elif sb[-2:] == so[-1] + j:
        transpose = True
    else:
        raise Unsupported(f"torch.einsum '{args[0]}' (not a batched matrix product)")
    if a.shape[-1] == 1:  # torch contracts an axis of 1 by a multiply, which FlopCounterMode does not count
        raise Unsupported(f"torch.einsum '{args[0]}' over an axis of size 1")
    return [("matmul", _keys({"transpose": transpose}, {"transpose": False}), [a, b])]


def _matmul(args: tuple, kwargs: dict, out: Any) -> list:
    a, b = args[0], _arg(args, kwargs, 1, "other")
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)) or a.dim() < 3 or b.dim() < 3:
        raise Unsupported("matmul of a batch with a plain matrix (write it as linear)")
    return [("matmul", {}, [a, b])]


_T = torch.Tensor
FUNCTIONS: dict[Any, Callable] = {
    F.relu: _act("relu", "function"), F.relu6: _act("relu6", "function"), F.gelu: _gelu_f,
    F.hardtanh: _hardtanh_f, F.leaky_relu: _leaky_relu_f,
    torch.sigmoid_: _act("sigmoid", "method"), _T.sigmoid_: _act("sigmoid", "method"),
    torch.tanh_: _act("tanh", "method"), _T.tanh_: _act("tanh", "method"),
    F.silu: _act("silu", "function"), torch.relu: _act("relu", "method"), _T.relu: _act("relu", "method"),
    torch.relu_: _act("relu", "method"), _T.relu_: _act("relu", "method"),
    torch.sigmoid: _act("sigmoid", "method"), _T.sigmoid: _act("sigmoid", "method"),
    torch.tanh: _act("tanh", "method"), _T.tanh: _act("tanh", "method"),
    F.hardswish: _act("hardswish", "function"), F.hardsigmoid: _act("hardsigmoid", "function"),
    **{f: _binary("add") for f in (torch.add, _T.add, _T.add_, _T.__add__, _T.__radd__, _T.__iadd__, operator.add)},
    **{f: _binary("mul") for f in (torch.mul, _T.mul, _T.mul_, _T.__mul__, _T.__rmul__, _T.__imul__, operator.mul)},
    **{f: _binary("sub") for f in (torch.sub, _T.sub, _T.sub_, _T.__sub__, _T.__isub__)},
    **{f: _binary("div") for f in (torch.div, _T.div, _T.div_, _T.__truediv__, _T.__itruediv__)},
    torch.cat: _cat, torch.concat: _cat, torch.concatenate: _cat,
    torch.flatten: _flatten_f, _T.flatten: _flatten_f,
    _T.view: _reshape, _T.reshape: _reshape, torch.reshape: _reshape,
    _T.permute: _permute, torch.permute: _permute, _T.transpose: _transpose, torch.transpose: _transpose,
    _T.mean: _reduce("mean"), torch.mean: _reduce("mean"), _T.sum: _reduce("sum"), torch.sum: _reduce("sum"),
    _T.amax: _reduce("amax"), torch.amax: _reduce("amax"),
    F.adaptive_avg_pool1d: _adaptive_f("adaptive_avgpool"), F.adaptive_avg_pool2d: _adaptive_f("adaptive_avgpool"),
    F.adaptive_avg_pool3d: _adaptive_f("adaptive_avgpool"), F.adaptive_max_pool1d: _adaptive_f("adaptive_maxpool"),
    F.adaptive_max_pool2d: _adaptive_f("adaptive_maxpool"), F.adaptive_max_pool3d: _adaptive_f("adaptive_maxpool"),
    F.max_pool1d: _pool_f("maxpool"), F.max_pool2d: _pool_f("maxpool"), F.max_pool3d: _pool_f("maxpool"),
    F.avg_pool1d: _pool_f("avgpool"), F.avg_pool2d: _pool_f("avgpool"), F.avg_pool3d: _pool_f("avgpool"),
    F.interpolate: _interpolate,
    F.softmax: _softmax_f("softmax", "function"), _T.softmax: _softmax_f("softmax", "method"),
    torch.softmax: _softmax_f("softmax", "method"),
    F.log_softmax: _softmax_f("log_softmax", "function"), _T.log_softmax: _softmax_f("log_softmax", "method"),
    F.dropout: _dropout_f,
    F.pad: _pad_f,
    torch.chunk: _chunk, _T.chunk: _chunk, torch.split: _split, _T.split: _split,
    torch.unbind: _unbind, _T.unbind: _unbind,
    _T.__getitem__: _getitem,
    torch.matmul: _matmul, _T.matmul: _matmul, _T.__matmul__: _matmul, torch.einsum: _einsum,
    # a module's own forward calling F with its parameters (timm's BatchNormAct2d, Conv2dSame, ...)
    F.conv1d: _conv_f, F.conv2d: _conv_f, F.conv3d: _conv_f, F.linear: _linear_f,
    F.batch_norm: _batch_norm_f, F.layer_norm: _layer_norm_f, F.group_norm: _group_norm_f,
    _T.unsqueeze: _same_data, torch.unsqueeze: _same_data, _T.squeeze: _same_data, torch.squeeze: _same_data,
    _T.view_as: _same_data, _T.reshape_as: _same_data,
    torch.swapaxes: _transpose, _T.swapaxes: _transpose, torch.swapdims: _transpose, _T.swapdims: _transpose,
    _T.expand: _expand, _T.expand_as: _expand,
}

# calls that give a parameter another shape (no data): the result is still that parameter
PARAM_VIEWS = {_T.view, _T.reshape, torch.reshape, _T.unsqueeze, torch.unsqueeze, _T.squeeze, _T.view_as,
               _T.reshape_as, _T.flatten}
# calls that make no layer: the output is the input (a copy or a layout change torch makes)
PASS = {_T.contiguous, _T.clone, _T.detach, _T.to, _T.float, _T.type_as}
# calls that read a tensor's size or make a constant: no layer, no data
IGNORE = {_T.size, _T.dim, _T.numel, _T.__len__, _T.shape.__get__, _T.device.__get__, _T.dtype.__get__,  # type: ignore[attr-defined]
          _T.is_floating_point, _T.__bool__, _T.__format__, _T.__repr__}


def _fname(func: Any) -> str:
    qual = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    module = getattr(func, "__module__", "") or ""
    if qual.startswith(("_TensorBase.", "TensorBase.")):
        qual = "Tensor." + qual.split(".", 1)[1]
    if qual.startswith("_VariableFunctionsClass."):
        return "torch." + qual.split(".", 1)[1]
    if qual == "boolean_dispatch.<locals>.fn":  # F.max_pool2d and its kind: the name it dispatches for
        qual = getattr(func, "__name__", "fn")
    if module.startswith("torch.nn.functional"):
        return f"F.{qual}"
    if qual.startswith("Tensor."):
        return qual
    return f"torch.{qual}" if module.startswith("torch") and "." not in qual else qual


# -- meta shortcuts ------------------------------------------------------------------------------
# On the meta device a tensor is only a shape, yet torch works out the output of a norm or of
# some activations by their Python decompositions (a dozen meta ops: 0.4 to 2 ms a call, most of
# a CNN's recording). Their output has the input's shape, dtype and layout, so both passes (the
# recording, and FlopCounterMode's, which counts no FLOPs for them) take an empty tensor like the
# input instead. Only in the plain case: a contiguous floating-point tensor on meta, not in place,
# every other tensor argument on meta with its dtype and the size torch checks; anything else
# (training mode, another device, a size torch would refuse) runs torch's own code.

def _like(x: Any, *others: Any, sizes: tuple[int, ...] = ()) -> Any:
    """An empty tensor like x, where x and the other tensors given (None: absent) are plain:
    x floating-point on meta, not empty, with a contiguous tensor's very strides (is_contiguous
    passes size-1 axes of other strides, which torch's own output keeps: tests/test_meta_shortcuts.py),
    each other of x's dtype on meta and of shape `sizes`; and nothing to differentiate (under
    grad mode, torch's output would require grad: the recorder runs under no_grad)."""
    if type(x) is not torch.Tensor or not x.is_meta or not x.is_floating_point() or not x.numel():
        return None
    step, strides = 1, []
    for n in reversed(x.shape):
        strides.append(step)
        step *= n
    if x.stride() != tuple(reversed(strides)):
        return None
    grad = torch.is_grad_enabled() and x.requires_grad
    for t in others:
        if t is not None and (not isinstance(t, torch.Tensor) or not t.is_meta or t.dtype != x.dtype or
                              tuple(t.shape) != sizes):
            return None
        grad = grad or (t is not None and torch.is_grad_enabled() and t.requires_grad)
    return None if grad else torch.empty_like(x)


def _meta_batch_norm(args: tuple, kwargs: dict) -> Any:
    x, mean, var = _arg(args, kwargs, 0, "input"), _arg(args, kwargs, 1, "running_mean"), _arg(args, kwargs, 2, "running_var")
    if mean is None or var is None or _arg(args, kwargs, 5, "training", False) or not isinstance(x, torch.Tensor) or \
            x.dim() < 2:
        return None
    return _like(x, mean, var, _arg(args, kwargs, 3, "weight"), _arg(args, kwargs, 4, "bias"), sizes=(x.shape[1],))


def _meta_layer_norm(args: tuple, kwargs: dict) -> Any:
    x, shape = _arg(args, kwargs, 0, "input"), _arg(args, kwargs, 1, "normalized_shape")
    if not isinstance(x, torch.Tensor) or not isinstance(shape, (tuple, list, torch.Size)) or not shape or \
            not all(isinstance(n, int) for n in shape) or tuple(x.shape[-len(shape):]) != tuple(shape):
        return None
    return _like(x, _arg(args, kwargs, 2, "weight"), _arg(args, kwargs, 3, "bias"), sizes=tuple(shape))


def _meta_group_norm(args: tuple, kwargs: dict) -> Any:
    x, groups = _arg(args, kwargs, 0, "input"), _arg(args, kwargs, 1, "num_groups")
    if not isinstance(x, torch.Tensor) or x.dim() < 2 or not isinstance(groups, int) or groups < 1 or x.shape[1] % groups:
        return None
    return _like(x, _arg(args, kwargs, 2, "weight"), _arg(args, kwargs, 3, "bias"), sizes=(x.shape[1],))


def _meta_activation(args: tuple, kwargs: dict) -> Any:
    """F.relu, F.relu6, F.hardswish, F.hardsigmoid (input, inplace=False); not in place."""
    if set(kwargs) - {"input", "inplace"} or len(args) + len(kwargs) > 2 or _arg(args, kwargs, 1, "inplace", False):
        return None
    return _like(_arg(args, kwargs, 0, "input"))


def _meta_gelu(args: tuple, kwargs: dict) -> Any:
    if set(kwargs) - {"input", "approximate"} or len(args) + len(kwargs) > 2 or \
            _arg(args, kwargs, 1, "approximate", "none") not in ("none", "tanh"):
        return None
    return _like(_arg(args, kwargs, 0, "input"))


META_SHORTCUTS: dict[Any, Callable[[tuple, dict], Any]] = {
    F.batch_norm: _meta_batch_norm, F.layer_norm: _meta_layer_norm, F.group_norm: _meta_group_norm,
    F.gelu: _meta_gelu, **{f: _meta_activation for f in (F.relu, F.relu6, F.hardswish, F.hardsigmoid)},
}


class _MetaShortcuts(TorchFunctionMode):
    """META_SHORTCUTS alone (FlopCounterMode's pass; the recorder applies them itself)."""

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        shortcut = META_SHORTCUTS.get(func)
        out = shortcut(args, kwargs) if shortcut is not None else None
        return func(*args, **kwargs) if out is None else out


# -- the recorder --------------------------------------------------------------------------------

class Recorder(TorchFunctionMode):
    """Records one forward pass as an Instance tree (module hooks + this function mode)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.names: dict[int, str] = {}
        self.modules = dict(model.named_modules(remove_duplicate=False))
        for qual, m in self.modules.items():
            self.names.setdefault(id(m), qual)
        self.params = {id(p): (qual.rsplit(".", 1)[-1], tuple(p.shape)) for qual, p in model.named_parameters()}
        self.root = Instance(type(model).__name__, "")
        self.stack: list[Instance] = []
        self.leaf = 0  # depth inside a module recorded whole
        self.leaf_input: Any = None
        self.leaf_name = ""
        self.leaf_args: tuple = ()
        self.producer: dict[int, Any] = {}
        self.keep: list[Any] = []  # every tensor seen stays alive, so ids are never reused
        self.taken: dict[int, set[str]] = {}
        self.unsupported: Counter[tuple[str, str]] = Counter()
        self.model = model
        self.pending: dict[int, tuple[Layer, Instance]] = {}  # lazily placed pieces (chunk i, split i)
        self.outputs: list[Any] = []
        self.params_total = self.flops = 0
        self.uncalled: list[tuple[str, int]] = []
        self.owners: dict[int, Layer] = {}  # module -> its first layer (weight sharing)
        self.output_shapes: list[tuple[int, ...]] = []

    # where the call happens
    @property
    def here(self) -> Instance:
        return self.stack[-1] if self.stack else self.root

    def path(self, name: str = "") -> str:
        from cnncalc.readers.emit import full_name

        base = full_name(self.here)
        return f"{base}.{name}" if base and name else base or name or "(model)"

    def bind(self, t: Any, node: Any) -> None:
        if isinstance(t, torch.Tensor):
            self.producer[id(t)] = node
            self.keep.append(t)

    def source(self, t: Any) -> Any:
        """What made tensor t: a Layer, an Instance's output, INPUT, or a _Param."""
        node = self.producer.get(id(t))
        if node is None:
            if id(t) in self.params:
                name, shape = self.params[id(t)]
                return _Param(name, shape)
            raise Unsupported("a tensor made inside the model (torch.zeros, arange, a buffer)")
        if isinstance(node, tuple):  # (Layer, Instance): a piece placed where it is first used
            return self.place(node)
        return node

    def place(self, pending: tuple[Layer, Instance]) -> Layer:
        layer, owner = pending
        if layer.parent is None:
            layer.parent = owner
            # before the item of `owner` that holds the current position (the layer reading it)
            cur: Any = self.here
            while cur is not None and cur.parent is not owner and cur is not owner:
                cur = cur.parent
            if cur is owner or cur is None:
                owner.items.append(layer)
            else:
                owner.items.insert(owner.items.index(cur), layer)
        return layer

    def name_in(self, inst: Instance, name: str) -> str:
        return unique(local_name(name), self.taken.setdefault(id(inst), set()))

    def add(self, op: str, args: dict[str, Any], inputs: list[Any], name: str, out: Any) -> Layer:
        inst = self.here
        layer = Layer(op, args, self.name_in(inst, name), inputs, tuple(out.shape[1:]) if isinstance(out, torch.Tensor) else (),
                      inst)
        inst.items.append(layer)
        return layer

    def fail(self, what: str, where: str) -> None:
        self.unsupported[(what, where)] += 1

    def opaque(self, name: str, what: str, params: int, xs: list[Any], out: Any) -> Layer:
        """A call no table maps, kept (--opaque) as a zero-cost layer with the shape it made and
        the parameters its module holds, reading its first input that has a source."""
        inputs = []
        for x in xs:
            try:
                inputs = [self.source(x)]
                break
            except Unsupported:
                continue
        shape = list(out.shape[1:]) if isinstance(out, torch.Tensor) else [1]
        return self.add("opaque", _keys({"shape": shape, "params": params, "what": what}, {"params": 0}),
                        inputs or [self.here.src], name, out)

    # containers never called (a ModuleList, a ModuleDict walked in a loop): while their children
    # are called, one after the other, they are open as `synthetic` instances, so that a layer's
    # name is still its module path (blocks.0.conv); function calls between the children (the
    # loop's `x = x + block(x)`) go inside, and those after the last child back out
    def enter(self, qual: str, src: Any) -> str:
        """Open the uncalled containers between the current instance and module `qual`; its
        local name there."""
        while self.stack and getattr(self.here, "synthetic", False) and not qual.startswith(self.here.qual + "."):
            self.close_synthetic()
        base = self.here.qual
        if base and not qual.startswith(base + "."):  # called from elsewhere (a shared module)
            return qual.replace(".", "_")
        parts = (qual[len(base) + 1:] if base else qual).split(".")
        for part in parts[:-1]:
            inst = Instance(type(self.modules.get(f"{self.here.qual + '.' if self.here.qual else ''}{part}")).__name__,
                            self.name_in(self.here, part), src, parent=self.here)
            inst.qual, inst.synthetic = f"{self.here.qual + '.' if self.here.qual else ''}{part}", True
            self.here.items.append(inst)
            self.stack.append(inst)
        return parts[-1]

    def close_synthetic(self) -> None:
        inst = self.stack.pop()
        parent = self.here
        while inst.items and isinstance(inst.items[-1], Layer) and inst.items[-1].function:
            moved = inst.items.pop()
            moved.parent, moved.name = parent, self.name_in(parent, moved.name.rsplit("_", 1)[0] if moved.name[-1:].isdigit()
                                                            and "_" in moved.name else moved.name)
            parent.items.insert(parent.items.index(inst) + 1, moved)
        inst.out = inst.items[-1] if inst.items else inst.src

    def close_synthetics(self) -> None:
        while self.stack and getattr(self.here, "synthetic", False):
            self.close_synthetic()

    # module hooks
    def pre(self, module: nn.Module, args: tuple) -> None:
        if self.leaf:
            self.leaf += 1
            return
        xs = _tensors(args)
        qual = self.names.get(id(module), type(module).__name__)
        try:  # first: a piece it reads is placed before it
            src = self.source(xs[0]) if xs else INPUT
        except Unsupported:
            src = INPUT
        local = self.enter(qual, src) if module is not self.model else ""
        if module_converter(module) is not None:
            self.leaf = 1
            self.leaf_input = xs
            self.leaf_args = args
            self.leaf_name = local
            return
        if module is self.model and not self.stack:
            inst = self.root
        else:
            parent = self.here
            inst = Instance(type(module).__name__, self.name_in(parent, local or type(module).__name__), parent=parent)
            parent.items.append(inst)
        inst.src, inst.qual = src, qual if module is not self.model else ""
        self.stack.append(inst)
        composite = COMPOSITE.get((type(module).__module__, type(module).__name__))
        if composite is not None:
            local, op, keys = composite
            inst.muted = self.add(op, dict(keys), [src], local, xs[0])

    def post(self, module: nn.Module, args: tuple, output: Any) -> None:
        if self.leaf > 1:
            self.leaf -= 1
            return
        if self.leaf == 1:
            self.leaf = 0
            xs = self.leaf_input
            qual = self.names.get(id(module), type(module).__name__)
            local = self.leaf_name or type(module).__name__
            outs = _tensors(output)
            try:
                convert: Any = module_converter(module)
                op, keys = (convert(module, xs[0], self.leaf_args) if getattr(convert, "wants_args", False)
                            else convert(module, xs[0]))
                inputs = [self.source(xs[0])]
                if op == "attention":  # self-attention: query, key and value are one tensor
                    if not all(x is xs[0] for x in xs[:3]):
                        raise Unsupported("nn.MultiheadAttention on different query, key and value")
                elif len(xs) > 1:
                    raise Unsupported(f"{type(module).__name__} called with {len(xs)} tensors")
                layer = self.add(op, keys, inputs, local, outs[0])
                owner = self.owners.setdefault(id(module), layer)
                if owner is not layer and any(True for _ in module.parameters()):
                    layer.shares = owner  # the module called again: its parameters counted once
            except Unsupported as exc:
                self.fail(f"{type(module).__name__}: {exc}", qual or "(model)")
                layer = self.opaque(local, type(module).__name__, sum(p.numel() for p in module.parameters()), xs,
                                    outs[0] if outs else None)
            for t in outs[:1]:
                self.bind(t, layer)
            for t in outs[1:]:  # e.g. MultiheadAttention's weights: not a layer's output
                self.producer.pop(id(t), None)
            return
        self.close_synthetics()
        inst = self.stack.pop()
        outs = _tensors(output)
        if inst is self.root:  # the network's outputs: every tensor it returns (a dict's values too)
            self.outputs = []
            for t in outs:
                try:
                    self.outputs.append(self.source(t))
                except Unsupported:
                    pass
            inst.out = self.outputs[0] if self.outputs else None
            return
        if outs:
            try:
                inst.out = self.source(outs[0])
            except Unsupported:
                inst.out = None
            for t in outs[:1]:
                self.bind(t, inst)

    # functions
    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        shortcut = META_SHORTCUTS.get(func)
        out = shortcut(args, kwargs) if shortcut is not None else None
        if out is None:
            out = func(*args, **kwargs)
        if self.leaf or func in IGNORE or not _tensors(out):
            return out
        muted = getattr(self.here, "muted", None)
        if muted is not None:  # a composite module's own code: its op, recorded already
            for t in _tensors(out):
                self.bind(t, muted)
            return out
        if func in PASS:
            x = args[0]
            if isinstance(out, torch.Tensor) and out is not x:
                self.bind(out, self.producer.get(id(x)) or self._param_or_none(x))
            return out
        self.function(func, args, kwargs, out)
        return out

    def _param_or_none(self, t: Any) -> Any:
        return self.source(t) if id(t) in self.params else None

    def function(self, func: Any, args: tuple, kwargs: dict, out: Any) -> None:
        name = _fname(func)
        where = self.path()
        convert = FUNCTIONS.get(func)
        outs = _tensors(out)
        try:
            if func in (_T.expand, _T.expand_as) and id(args[0]) in self.params:
                self.bind(out, self.source(args[0]))  # a parameter broadcast to the batch: still it
                return
            if func in PARAM_VIEWS and id(args[0]) in self.params and isinstance(out, torch.Tensor):
                # gamma.reshape(1, -1, 1, 1) (ConvNeXt's layer scale): still the parameter, shaped to broadcast
                self.params[id(out)] = (self.params[id(args[0])][0], tuple(out.shape))
                self.keep.append(out)
                return
            if convert is None:
                raise Unsupported(name)
            pieces = convert(args, kwargs, out)
        except Unsupported as exc:
            what = str(exc) if str(exc) != name else name
            self.fail(what if what.startswith(name) else f"{name}: {what}", where)
            layer = self.opaque(name.rsplit(".", 1)[-1], name, 0, _tensors(args), outs[0] if outs else None)
            for t in outs:
                self.bind(t, layer)
            return
        short = name.rsplit(".", 1)[-1].strip("_") or "op"
        if len(pieces) > 1:  # chunk, split, unbind: one layer per piece, placed where it is first read
            for (op, keys, inputs), t in zip(pieces, outs):
                try:
                    srcs = [self.source(x) for x in inputs]
                except Unsupported as exc:
                    self.fail(f"{name}: {exc}", where)
                    srcs = []
                piece = Layer(op, keys, self.name_in(self.here, f"{short}_{keys.get('index', 0)}"), srcs,
                              tuple(t.shape[1:]))
                self.producer[id(t)] = (piece, self.here)
                self.keep.append(t)
            return
        op, keys, inputs = pieces[0]
        if op == "pass":  # no layer: the output is that input
            self.bind(outs[0], self.producer.get(id(inputs[0])))
            return
        try:
            srcs = [self.source(x) for x in inputs]
        except Unsupported as exc:
            self.fail(f"{name}: {exc}", where)
            layer = self.opaque(short, name, 0, _tensors(args), outs[0])
            self.bind(outs[0], layer)
            return
        params = [s for s in srcs if isinstance(s, _Param)]
        if params:  # a learned tensor merged into the map: the spec's `param`
            if len(srcs) != 2 or len(params) != 1 or op not in ("concat", "add", "mul"):
                self.fail(f"{name} of parameters", where)
                layer = self.opaque(short, name, 0, _tensors(args), outs[0])
                self.bind(outs[0], layer)
                return
            p = params[0]
            other = srcs[1 - srcs.index(p)]
            if op == "concat" and srcs[0] is not p:
                self.fail(f"{name}: a parameter concatenated after the map", where)
            shape = list(p.shape[1:]) if op == "concat" and len(p.shape) == len(outs[0].shape) else list(p.shape)
            if op != "concat" and len(shape) == len(outs[0].shape):
                shape = shape[1:] if shape[0] == 1 else shape
            keys = {"shape": shape, "merge": op, **({"axis": keys["axis"]} if keys.get("axis") else {})}
            layer = self.add("param", keys, [other], p.name, outs[0])
        else:
            layer = self.add(op, keys, srcs, short, outs[0])
        layer.function = True  # a function call (close_synthetic moves those out)
        self.bind(outs[0], layer)


def record(model: nn.Module, input_shape: tuple[int, ...], *, batch: int = 2, tokens: bool = False,
           device: str | torch.device | None = None) -> Recorder:
    """Run the model once on a (batch, *input_shape) input and record it."""
    from torch.nn.modules import module as module_hooks

    if device is None:
        first = next(iter(model.parameters()), None)
        device = first.device if first is not None else torch.device("meta")
    x = (torch.zeros((batch, *input_shape), dtype=torch.long, device=device) if tokens
         else torch.zeros((batch, *input_shape), device=device))
    from torch.utils.flop_counter import FlopCounterMode

    from cnncalc.torchcheck.measure import attention_counted

    rec = Recorder(model)
    rec.bind(x, INPUT)
    called: set[int] = set()
    handles = [module_hooks.register_module_forward_pre_hook(rec.pre),
               module_hooks.register_module_forward_hook(rec.post),
               module_hooks.register_module_forward_pre_hook(lambda m, a: called.add(id(m)))]
    was_training = model.training
    params = list(model.parameters())
    grads = [p.requires_grad for p in params]
    model.eval()
    try:
        with torch.no_grad(), attention_counted(), rec:
            model(x)
        for h in handles:
            h.remove()
        handles = []
        # what the model says of itself, for the check: FlopCounterMode's FLOPs for one sample
        # (a batch of 1: Swin v2's position-bias MLP runs once per pass, whatever the batch)
        one = x[:1]
        # parameters not requiring grad: FlopCounterMode's module tracker fails on a module called
        # with a parameter's view (CaiT's and PiT's class token: "Expected gradient function to be set")
        for p in params:
            p.requires_grad_(False)
        with torch.no_grad(), attention_counted(), _MetaShortcuts(), FlopCounterMode(display=False) as flops:
            out = model(one)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
        for p, grad in zip(params, grads):
            p.requires_grad_(grad)
    rec.params_total = sum(p.numel() for p in model.parameters())
    rec.flops = flops.get_total_flops()
    rec.output_shapes = [tuple(t.shape[1:]) for t in _tensors(out)]
    # modules with parameters no call reached (an auxiliary head that runs only in training): not
    # called, none of their descendants called, in a container that was (a leaf-mapped module's
    # children, MultiheadAttention's out_proj, are its own business)
    modules = dict(model.named_modules())
    reached = {q for q, m in modules.items() if id(m) in called}
    for qual, m in modules.items():
        if not qual or qual in reached or any(r.startswith(qual + ".") for r in reached):
            continue
        parent = modules[qual.rsplit(".", 1)[0] if "." in qual else ""]
        if id(parent) in called and module_converter(parent) is None and not any(qual.startswith(u + ".")
                                                                                 for u, _ in rec.uncalled):
            n = sum(p.numel() for p in m.parameters())
            if n:
                rec.uncalled.append((qual, n))
    return rec


def spec_text(model: nn.Module, input_shape: tuple[int, ...], *, name: str, header: list[str] | None = None,
              tokens: bool = False, opaque: bool = False, batch: int = 2) -> tuple[str, Recorder]:
    """The spec for `model` on inputs of `input_shape`, and the recording it came from. Raises
    Unsupported listing every call no table maps (unless opaque)."""
    from cnncalc.readers.emit import write

    rec = record(model, tuple(input_shape), tokens=tokens, batch=batch)
    if rec.unsupported and not opaque:
        lines = [f"{what} at {where}" + (f" ({n} times)" if n > 1 else "") for (what, where), n in rec.unsupported.items()]
        raise Unsupported("; ".join(lines))
    outputs = rec.outputs if len(rec.outputs) > 1 else None
    text = write(rec.root, name=name, input_shape=tuple(input_shape), header=header or [], outputs=outputs, tokens=tokens)
    return text, rec


def build(factory: Callable[..., nn.Module], kwargs: dict[str, Any]) -> nn.Module:
    """The model `factory(**kwargs)` makes, with its parameters on the meta device (no memory):
    built under torch.device("meta") where it can be; a constructor that computes with tensors
    (RegNet's widths) is built with each parameter and buffer moved to meta as it is registered;
    failing both, on the CPU as it is."""
    try:
        with torch.device("meta"):
            return factory(**kwargs)
    except Exception:  # any failure of the meta build: try the next way
        pass
    register_parameter, register_buffer = nn.Module.register_parameter, nn.Module.register_buffer

    def parameter(self: nn.Module, name: str, param: Any) -> None:
        if param is not None and param.device.type != "meta":
            param = nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)
        register_parameter(self, name, param)

    def buffer(self: nn.Module, name: str, tensor: Any, persistent: bool = True) -> None:
        register_buffer(self, name, tensor.to("meta") if tensor is not None else None, persistent)

    nn.Module.register_parameter, nn.Module.register_buffer = parameter, buffer  # type: ignore[method-assign]
    try:
        return factory(**kwargs)
    except Exception:
        pass
    finally:
        nn.Module.register_parameter, nn.Module.register_buffer = register_parameter, register_buffer  # type: ignore[method-assign]
    return factory(**kwargs)
