"""cnncalc: layer-by-layer complexity of CNNs (shapes, memory, params, multiply-adds) from YAML specs.

    import cnncalc
    a = cnncalc.analyze("resnet50-tv")      # a bundled name, a path, YAML text, or a dict
    a.totals.params, a.totals.macs, a.totals.memory_bytes
    a.memory(optimizer="adam", amp="bfloat16").peak.training, a.max_batch("24GB")
    cnncalc.compare(["alexnet", "vgg16"]), cnncalc.sweep("resnet50", batch=[1, 8, 64])
    cnncalc.analyze(model, input=(3, 224, 224))   # a PyTorch nn.Module; cnncalc.to_spec(model, ...) its spec

The analytic path (spec -> graph -> engine -> report) never imports torch. The names below are
imported on first use, so `import cnncalc` (and the CLI's start-up) costs almost nothing.
docs/api.md is the reference.
"""

from __future__ import annotations

from typing import Any

from cnncalc.errors import CnncalcError, LimitError, Limits, ShapeError, SpecError, UsageError

__version__ = "0.2.0"

_LAZY = {"analyze": "cnncalc.api", "verify": "cnncalc.api", "load": "cnncalc.api", "compare": "cnncalc.api",
         "sweep": "cnncalc.api", "architectures": "cnncalc.api", "to_spec": "cnncalc.api", "Analysis": "cnncalc.results",
         "Memory": "cnncalc.results", "Comparison": "cnncalc.results", "Sweep": "cnncalc.results",
         "Verification": "cnncalc.results", "LayerRow": "cnncalc.engine.analysis",
         "Totals": "cnncalc.engine.analysis", "Graph": "cnncalc.graph", "Node": "cnncalc.graph",
         "PROFILES": "cnncalc.conventions", "DTYPES": "cnncalc.dtypes"}

__all__ = [
    "DTYPES",
    "PROFILES",
    "Analysis",
    "CnncalcError",
    "Comparison",
    "Graph",
    "LayerRow",
    "LimitError",
    "Limits",
    "Memory",
    "Node",
    "ShapeError",
    "SpecError",
    "Sweep",
    "Totals",
    "UsageError",
    "Verification",
    "__version__",
    "analyze",
    "architectures",
    "compare",
    "load",
    "sweep",
    "to_spec",
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
