"""The engine: a shaped Graph -> exact numbers, in two parts.

analysis.py  counting: per-layer params, multiply-adds, activation memory, what each tool counts
memory.py    training and inference memory: saved tensors, autocast, peaks, checkpointing, max batch

Both are pure (no printing, no report, no torch). The names are re-exported here for callers that
import them from `cnncalc.engine`; the memory model's are loaded on first use.
"""

from __future__ import annotations

from typing import Any

from cnncalc.engine.analysis import Analysis, LayerRow, Totals, analyze, depth

__all__ = ["Analysis", "LayerRow", "Totals", "analyze", "depth"]


def __getattr__(name: str) -> Any:
    import importlib

    memory = importlib.import_module("cnncalc.engine.memory")
    try:
        return getattr(memory, name)
    except AttributeError:
        raise AttributeError(f"module 'cnncalc.engine' has no attribute '{name}'") from None
