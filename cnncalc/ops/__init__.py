"""Every layer type cnncalc knows, registered by importing its family module."""

from cnncalc.ops import activation, attention, conv, linear, maxvit, merge, norm, pool, reshape, window  # noqa: F401  (registers)
from cnncalc.ops.registry import ALIASES, REGISTRY, Cost, OpDef, Shape, build_op, lookup

__all__ = ["ALIASES", "REGISTRY", "Cost", "OpDef", "Shape", "build_op", "lookup"]
