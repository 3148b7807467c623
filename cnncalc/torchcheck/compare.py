"""Analytic numbers vs what PyTorch measured, cell by cell, and the verdict.

Stage: torchcheck (pure: no torch import). In: Analysis + measured layers. Out: Check rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnncalc.engine import Analysis


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
    macs: Cell  # measured = FlopCounterMode FLOPs / 2, only for ops PyTorch counts
    output_bytes: Cell
    seconds: float | None = None
    macs_value: int = 0

    @property
    def cells(self) -> tuple[Cell, ...]:
        return (self.shape, self.params, self.macs, self.output_bytes)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.cells)


def compare(analysis: Analysis, measured: list, weights_only: bool = False) -> list[LayerCheck]:
    """One LayerCheck per graph node, in order; `measured` comes from torchcheck.measure."""
    by_name = {m.name: m for m in measured}
    checks = []
    for row in analysis.rows:
        m = by_name.get(row.name)
        if m is None:  # the model has no module for this node: a bug, shown as a mismatch
            checks.append(LayerCheck(row.name, row.type, Cell(row.output, "missing"), Cell(0, "missing"),
                                     Cell(row.macs, "missing"), Cell(row.output_bytes, "missing")))
            continue
        counted = row.node.op.torch_counts_macs
        measured_macs = (m.flops // 2 if m.flops % 2 == 0 else m.flops / 2) if counted else None
        torch_params = m.weights if weights_only else m.weights + m.biases
        checks.append(LayerCheck(
            row.name, row.type,
            shape=Cell(row.output, m.shape),
            params=Cell(row.params(weights_only), torch_params),
            macs=Cell(row.macs, measured_macs),
            output_bytes=Cell(row.output_bytes, m.output_bytes),
            seconds=m.seconds, macs_value=row.macs))
    return checks
