"""Every layer type cnncalc knows, each registered by its family module (conv.py, norm.py, ...).

A family is imported the first time a spec names one of its ops (registry.lookup, through HOME
below): `cnncalc table resnet152` never loads the transformer or detection ops. REGISTRY and
ALIASES read from this package (`from cnncalc.ops import REGISTRY`) load every family first, so
they are always complete.
"""

from typing import Any

from cnncalc.ops.registry import Cost, OpDef, Shape, build_op, load_all, lookup

__all__ = ["ALIASES", "REGISTRY", "Cost", "OpDef", "Shape", "build_op", "lookup"]

# HOME begin (written by scripts/make_ops_index.py)
HOME = {
    "adaptive_avgpool": "pool", "adaptive_maxpool": "pool", "adaptiveavgpool": "pool", "add": "merge",
    "amax": "reduce", "attention": "attention", "avgpool": "pool", "avgpool1d": "pool", "avgpool2d": "pool",
    "avgpool3d": "pool", "batchnorm": "norm", "bn": "norm", "box_decode": "detect", "channel_shuffle": "reshape",
    "chunk": "reshape", "concat": "merge", "conv": "conv", "conv1d": "conv", "conv2d": "conv", "conv3d": "conv",
    "conv_transpose": "conv", "deconv": "conv", "div": "merge", "dropout": "activation",
    "elementwise": "activation", "embedding": "linear", "fc": "linear", "flatten": "linear", "gap": "pool",
    "gelu": "activation", "global_avgpool": "pool", "gn": "norm", "groupnorm": "norm", "hardsigmoid": "activation",
    "hardswish": "activation", "identity": "activation", "instancenorm": "norm", "interpolate": "resample",
    "kpt_decode": "detect", "layernorm": "norm", "leaky_relu": "activation", "linear": "linear", "ln": "norm",
    "log_softmax": "activation", "lrn": "norm", "matmul": "linear", "maxpool": "pool", "maxpool1d": "pool",
    "maxpool2d": "pool", "maxpool3d": "pool", "mean": "reduce", "mha": "attention", "mul": "merge",
    "opaque": "opaque", "param": "merge", "partition": "maxvit", "patch_merging": "window", "permute": "reshape",
    "pixel_shuffle": "resample", "pixel_unshuffle": "resample", "pool_attention": "mvit", "rbox_decode": "detect",
    "rel_attention": "maxvit", "relu": "activation", "relu6": "activation", "reshape": "reshape",
    "select": "reshape", "sigmoid": "activation", "silu": "activation", "softmax": "activation", "split": "reshape",
    "st_pos_encoding": "mvit", "sub": "merge", "sum": "reduce", "swish": "activation", "tanh": "activation",
    "token_maxpool": "mvit", "topk_boxes": "detect", "unpartition": "maxvit", "upsample": "resample",
    "view": "reshape", "window_attention": "window", "window_attention_v2": "window", "zeropad": "reshape",
}
# HOME end


def __getattr__(name: str) -> Any:
    if name in ("REGISTRY", "ALIASES", "RANK_ALIASES"):
        from cnncalc.ops import registry

        load_all()
        return getattr(registry, name)
    raise AttributeError(f"module 'cnncalc.ops' has no attribute '{name}'")
