"""ImageNet-1K accuracy of the bundled specs, for the comparing-complexity chart.

Stage: data (pure lookup). In: a bundled spec's name. Out: its top-1/top-5 figure and where the
figure comes from, or None. The figures are frozen in cnncalc/data/accuracy.json by
scripts/freeze_accuracy.py: torchvision's weights metadata for torchvision-paired specs, the
papers' tables for the lecture's own networks (each entry names its source). Accuracy belongs to
a trained network at its own input size: a spec analysed with another --input or --set is not
that network, so callers ask only for specs analysed as bundled.
"""

from __future__ import annotations

import functools
import json
import os

from cnncalc.record import Record


class Accuracy(Record):
    top1: float  # percent, ImageNet-1K validation
    top5: float | None
    source: str  # "torchvision VGG16_Weights.IMAGENET1K_V1" or "He et al. 2015, Table 3: ..."
    crops: int | None = None  # test crops averaged per image: 1 (torchvision's centre crop), 10, None: unsaid

    @property
    def from_torchvision(self) -> bool:
        return self.source.startswith("torchvision ")

    @property
    def short_source(self) -> str:
        """The source without its detail: "He et al. 2015, Table 3", "torchvision weights"."""
        return "torchvision weights metadata" if self.from_torchvision else self.source.split(":")[0]

    @property
    def label(self) -> str:
        """What a chart writes after the name: "10-crop" where the figure averages ten crops (higher
        than the one centre crop of the others), else nothing."""
        return f"{self.crops}-crop" if self.crops and self.crops > 1 else ""


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, dict]:
    path = os.path.join(os.path.dirname(os.path.realpath(__file__)), "data", "accuracy.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)["models"]


def accuracy(name: str) -> Accuracy | None:
    """The bundled spec's ImageNet accuracy, or None where there is no figure (lenet5, a spec
    of your own, a paper that reports top-5 only)."""
    entry = _table().get(name)
    if entry is None or entry["top1"] is None:
        return None
    return Accuracy(entry["top1"], entry["top5"], entry["source"], entry.get("crops"))


def why_missing(name: str) -> str:
    """One clause saying why a spec has no figure."""
    entry = _table().get(name)
    if entry is None:
        return "not a bundled spec, so no trained network's accuracy is known"
    return str(entry["source"])
