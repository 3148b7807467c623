"""`verify --against torchvision`: totals of a bundled spec vs torchvision's model of that name.

Compared: total parameters, output shape, and conv + linear multiply-adds (FlopCounterMode / 2
on torchvision's model, on the meta device). Where the bundled spec follows a paper or lecture
that torchvision departs from, the difference is expected and explained, not hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cnncalc.errors import UsageError
from cnncalc.report.term import Group, Table, Text

if TYPE_CHECKING:
    from cnncalc.engine.analysis import Analysis


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
            table.add_row(what, _fmt(a), _fmt(b), "✓" if a == b else "≠")
        if not self.differs:
            note = Text("✓ same totals as torchvision", style="bold green")
        elif self.known:
            note = Text(f"≠ known difference: {self.known}", style="yellow")
        else:
            note = Text("✗ unexplained difference from torchvision", style="bold red")
        return Group(table, note)


def _fmt(value: Any) -> str:
    return "x".join(map(str, value)) if isinstance(value, (list, tuple)) else f"{value:,}"


def conv_linear_macs(analysis: Analysis) -> int:
    """The multiply-adds FlopCounterMode sees (conv, linear, matmul): the torch profile / 2."""
    return analysis.total_counted("torch") // 2


def compare_torchvision(analysis: Analysis) -> Against:
    """Build torchvision's model of the same name and compare totals with the analysis."""
    from cnncalc.torchcheck.run import import_torch

    torch = import_torch()
    name, pairing = analysis.graph.name, analysis.graph.torchvision
    if pairing is None:
        raise UsageError(None, f"against='torchvision': '{name}' names no torchvision model",
                         "add `torchvision: {model: NAME}` to the spec")
    try:
        import torchvision
    except Exception:  # missing, or built for another torch ("operator torchvision::nms does not exist")
        from cnncalc.torchcheck.install import torchvision_command

        raise UsageError(None, f"against='torchvision' needs torchvision built for torch {torch.__version__}",
                         f"{torchvision_command(torch)} (one built for another torch would replace yours)") from None
    tv_name, kwargs, known = pairing["model"], pairing["kwargs"], pairing["differs"]
    tv = torchvision_totals(torch, torchvision, tv_name, kwargs, analysis.graph.input_shape, analysis.batch)
    result = Against(name, tv_name, known=known)
    result.rows = [("params", analysis.totals.params, tv["params"]),
                   ("output shape", list(analysis.rows[-1].output), tv["output"]),
                   ("FlopCounterMode MACs", conv_linear_macs(analysis), tv["macs"])]
    return result


def torchvision_totals(torch, torchvision, model_name: str, kwargs: dict, input_shape, batch: int = 1) -> dict:
    """params, output shape and conv + linear + matmul MACs of a torchvision model (meta device, no
    weights). Attention is counted in full: nn.MultiheadAttention's fast path is turned off and
    scaled_dot_product_attention runs its math backend, whose matmuls FlopCounterMode sees (the
    fused kernels hide a third of ViT's multiply-adds from it)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    try:
        with torch.device("meta"):
            model = torchvision.models.get_model(model_name, weights=None, **kwargs).eval()
    except NotImplementedError:  # a builder that reads tensor values (RegNet's widths): build on the CPU
        model = torchvision.models.get_model(model_name, weights=None, **kwargs).eval().to("meta")
    x = torch.empty((batch, *input_shape), device="meta")
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
            out = model(x)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    if isinstance(out, dict):  # a segmentation model's {"out": ..., "aux": ...}: the main output
        out = out["out"]
    return {"params": sum(p.numel() for p in model.parameters()), "output": list(out.shape[1:]),
            "macs": counter.get_total_flops() // 2}
