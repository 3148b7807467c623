"""cnncalc: layer-by-layer complexity of CNNs (shapes, memory, params, multiply-adds) from YAML specs.

    import cnncalc
    a = cnncalc.analyze("resnet50-tv")      # a bundled name, a path, YAML text, or a dict
    a.totals.params, a.totals.macs, a.totals.memory_bytes

The analytic path (spec -> graph -> engine -> report) never imports torch. The names below are
imported on first use, so `import cnncalc` (and the CLI's start-up) costs almost nothing.
docs/api.md is the reference.
"""

from __future__ import annotations

from typing import Any

from cnncalc.errors import CnncalcError, LimitError, Limits, ShapeError, SpecError, UsageError

__version__ = "0.2.0"

_LAZY = {"analyze": "cnncalc.api", "verify": "cnncalc.api", "load": "cnncalc.api",
         "architectures": "cnncalc.api", "Analysis": "cnncalc.engine", "LayerRow": "cnncalc.engine",
         "Totals": "cnncalc.engine", "Graph": "cnncalc.graph", "Node": "cnncalc.graph",
         "PROFILES": "cnncalc.conventions", "DTYPES": "cnncalc.dtypes"}

__all__ = [
    "DTYPES",
    "PROFILES",
    "Analysis",
    "CnncalcError",
    "Graph",
    "LayerRow",
    "LimitError",
    "Limits",
    "Node",
    "ShapeError",
    "SpecError",
    "Totals",
    "UsageError",
    "__version__",
    "analyze",
    "architectures",
    "load",
    "verify",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cnncalc' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(__all__)
