"""`verify --against torchvision`: totals of a bundled spec vs torchvision's model of that name.

Compared: total parameters, output shape, and conv + linear multiply-adds (FlopCounterMode / 2
on torchvision's model, on the meta device). Where the bundled spec follows a paper or lecture
that torchvision departs from, the difference is expected and explained, not hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.table import Table
from rich.text import Text

from cnncalc.engine import Analysis
from cnncalc.errors import UsageError

_V15 = ("torchvision's {tv} is ResNet v1.5: a stage's stride 2 sits on the 3x3 conv, not on the first 1x1 "
        "conv (He et al. Table 1): same parameters, more multiply-adds; `{name}-tv` follows torchvision")

# bundled name -> (torchvision builder, keyword arguments, known difference or "")
MODELS: dict[str, tuple[str, dict[str, Any], str]] = {
    "alexnet": ("alexnet", {}, ""),
    "vgg11": ("vgg11", {}, ""), "vgg13": ("vgg13", {}, ""), "vgg16": ("vgg16", {}, ""), "vgg19": ("vgg19", {}, ""),
    "resnet18": ("resnet18", {}, ""), "resnet34": ("resnet34", {}, ""),
    "resnet50": ("resnet50", {}, _V15), "resnet101": ("resnet101", {}, _V15), "resnet152": ("resnet152", {}, _V15),
    "googlenet": ("googlenet", {"aux_logits": False, "init_weights": False},
                  "torchvision's GoogLeNet adds batch norm after every conv, drops LRN, uses 3x3 convs in the "
                  "'5x5' branch and ceil_mode pooling; the bundled spec follows the paper's Table 1"),
}


@dataclass
class Against:
    name: str
    tv_name: str
    rows: list[tuple[str, Any, Any]] = field(default_factory=list)  # (what, cnncalc, torchvision)
    known: str = ""

    @property
    def differs(self) -> bool:
        return any(a != b for _, a, b in self.rows)

    @property
    def ok(self) -> bool:
        """A difference only fails when it is not a known, documented one."""
        return not self.differs or bool(self.known)

    def as_dict(self) -> dict[str, Any]:
        return {"torchvision_model": self.tv_name, "ok": self.ok, "known_difference": self.known or None,
                "totals": {what: {"cnncalc": a, "torchvision": b} for what, a, b in self.rows}}

    def render(self):
        table = Table(title=f"{self.name} vs torchvision.models.{self.tv_name}", header_style="bold")
        for head in ("total", "cnncalc", "torchvision", ""):
            table.add_column(head, justify="left" if head == "total" else "right")
        for what, a, b in self.rows:
            fmt = (lambda v: "x".join(map(str, v)) if isinstance(v, (list, tuple)) else f"{v:,}")
            table.add_row(what, fmt(a), fmt(b), "✓" if a == b else "≠")
        if not self.differs:
            note = Text("✓ same totals as torchvision", style="bold green")
        elif self.known:
            note = Text(f"≠ known difference: {self.known}", style="yellow")
        else:
            note = Text("✗ unexplained difference from torchvision", style="bold red")
        from rich.console import Group

        return Group(table, note)


def compare_torchvision(analysis: Analysis, device: str = "meta") -> Against:
    """Build torchvision's model of the same name and compare totals with the analysis."""
    from cnncalc.torchcheck.run import import_torch

    torch = import_torch()
    name = analysis.graph.name
    if name not in MODELS:
        raise UsageError(None, f"--against torchvision: no torchvision model is paired with '{name}'",
                         f"paired: {', '.join(MODELS)}")
    try:
        import torchvision
    except Exception:  # missing, or built for another torch ("operator torchvision::nms does not exist")
        raise UsageError(None, "--against torchvision needs torchvision built for this torch: "
                         "pip install torchvision (matching your torch version)") from None
    from torch.utils.flop_counter import FlopCounterMode

    tv_name, kwargs, known = MODELS[name]
    with torch.device(device):
        model = torchvision.models.get_model(tv_name, weights=None, **kwargs).eval()
        x = torch.empty((analysis.batch, *analysis.graph.input_shape))
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = model(x)
    params = sum(p.numel() for p in model.parameters())
    ours_macs = sum(r.macs for r in analysis.rows if r.node.op.torch_counts_macs)
    result = Against(name, tv_name, known=known)
    result.rows = [("params", analysis.totals.params(), params),
                   ("output shape", list(analysis.rows[-1].output), list(out.shape[1:])),
                   ("conv + linear MACs", ours_macs, counter.get_total_flops() // 2)]
    if not result.differs:
        result.known = ""
    result.known = result.known.format(tv=tv_name, name=name)
    return result
