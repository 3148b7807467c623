"""Every layer type cnncalc knows, registered by importing its family module."""

from cnncalc.ops import (  # noqa: F401  (registers)
    activation,
    attention,
    conv,
    detect,
    linear,
    maxvit,
    merge,
    mvit,
    norm,
    opaque,
    pool,
    reduce,
    resample,
    reshape,
    window,
)
from cnncalc.ops.registry import ALIASES, REGISTRY, Cost, OpDef, Shape, build_op, lookup

__all__ = ["ALIASES", "REGISTRY", "Cost", "OpDef", "Shape", "build_op", "lookup"]
