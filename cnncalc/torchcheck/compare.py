"""Analytic numbers vs what PyTorch measured, cell by cell, and the verdict.

Stage: torchcheck (pure: no torch import). In: Analysis + measured layers. Out: Check rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cnncalc.engine.analysis import Analysis



@dataclass(frozen=True)
class Cell:
    analytic: Any
    measured: Any  # None when PyTorch does not measure this quantity for this layer

    @property
    def checked(self) -> bool:
        return self.measured is not None

    @property
    def ok(self) -> bool:
        return not self.checked or self.analytic == self.measured


@dataclass(frozen=True)
class LayerCheck:
    name: str
    type: str
    shape: Cell
    params: Cell
    flops: Cell  # the torch profile's count vs FlopCounterMode's FLOPs, for every layer
    output_bytes: Cell
    seconds: float | None = None
    macs_value: int = 0

    @property
    def cells(self) -> tuple[Cell, ...]:
        return (self.shape, self.params, self.flops, self.output_bytes)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.cells)


def compare(analysis: Analysis, measured: list, weights_only: bool = False) -> list[LayerCheck]:
    """One LayerCheck per graph node, in order; `measured` comes from torchcheck.measure. Every
    layer's FLOPs are checked: what the torch profile says FlopCounterMode counts (2 per
    multiply-add of conv, linear and matmul; 0 for pooling, norms, activations) against what it
    counted."""
    by_name = {m.name: m for m in measured}
    flops = analysis.counted("torch")
    checks = []
    for row, predicted in zip(analysis.rows, flops):
        m = by_name.get(row.name)
        if m is None:  # the model has no module for this node: a bug, shown as a mismatch
            checks.append(LayerCheck(row.name, row.type, Cell(row.output, "missing"), Cell(0, "missing"),
                                     Cell(predicted, "missing"), Cell(row.output_bytes, "missing")))
            continue
        torch_params = m.weights if weights_only else m.weights + m.biases
        checks.append(LayerCheck(
            row.name, row.type,
            shape=Cell(row.output, m.shape),
            params=Cell(row.weights if weights_only else row.params, torch_params),
            flops=Cell(predicted, m.flops),
            output_bytes=Cell(row.output_bytes, m.output_bytes),
            seconds=m.seconds, macs_value=row.macs))
    return checks
