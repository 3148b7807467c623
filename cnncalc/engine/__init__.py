"""The engine: a shaped Graph -> exact numbers: counting, and the memory model.

analysis.py  counting: per-layer params, multiply-adds, activation memory, what each tool counts
saved.py     what autograd saves for backward, and each tensor's dtype under autocast
liveness.py  one training step (or inference pass) moment by moment: the peak and where it falls
segments.py  activation checkpointing's segments, as checkpoint_sequential makes them
trainable.py whether torch can train at a batch (BatchNorm needs more than one value per channel)
memory.py    training and inference memory: the parts at the peak, checkpointing, max batch

All are pure (no printing, no report, no torch). The names are re-exported here for callers that
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
