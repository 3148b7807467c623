"""Every layer type cnncalc knows, each registered by its family module (conv.py, norm.py, ...).

A family is imported the first time a spec names one of its ops (registry.lookup, through HOME
in registry.py): `cnncalc table resnet152` never loads the transformer or detection ops. REGISTRY and
ALIASES read from this package (`from cnncalc.ops import REGISTRY`) load every family first, so
they are always complete.
"""

from typing import Any

from cnncalc.ops.registry import HOME, Cost, OpDef, Shape, build_op, load_all, lookup

__all__ = ["ALIASES", "HOME", "REGISTRY", "Cost", "OpDef", "Shape", "build_op", "lookup"]


def __getattr__(name: str) -> Any:
    if name in ("REGISTRY", "ALIASES", "RANK_ALIASES"):
        from cnncalc.ops import registry

        load_all()
        return getattr(registry, name)
    raise AttributeError(f"module 'cnncalc.ops' has no attribute '{name}'")
