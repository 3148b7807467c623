"""opaque: a call an importer could not map to a cnncalc op, kept so the rest of the model has a
table (`cnncalc import --opaque`, docs/import.md).

Stage: ops (pure). It carries what the recording saw, the output shape and the parameters, and
counts no work: its multiply-adds are 0 in the lecture column and in every profile, whatever the
real call does. Every report says so: its type is `opaque`, `what` names the call, and the
table's footnote lists it among the layers not counted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cnncalc.errors import Span
from cnncalc.ops.registry import Cost, DocRow, OpDef, Saved, Shape, arg, fmt_shape, n, register, rules

if TYPE_CHECKING:
    from torch import nn


@register("opaque")
class Opaque(OpDef):
    """A call cnncalc cannot count (torch.sort, a custom autograd Function, an op with no cnncalc
    equivalent), standing in with the output shape it had (`shape`, one sample) and the
    parameters of the module that made it (`params`, counted as weights).

    params = params; macs = 0 (and 0 in every profile: not counted, said in every report)
    """

    doc_row = DocRow("any", "`shape` (its output, one sample), `params` (0), `what` (the call, for the reports)",
                     "`shape`", "`params`", "0 (not counted: the importer could not map the call)")
    shape: tuple[int, ...] = arg("ints", doc="the output shape the call had, one sample (no batch)")
    params: int = arg("int0", 0, doc="the parameters of the module that made it")
    what: str = arg("text", "", doc="the call it stands for (torch.sort, a module's class)")
    counts = rules(lecture=lambda f: 0)
    samples: ClassVar[tuple[Any, ...]] = ({"shape": [4, 2]}, {"shape": [3, 5, 5], "params": 12, "what": "torch.sort"})

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        return tuple(self.shape)

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        return Cost(weights=self.params)

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Nothing known: what the real call saves is not counted either."""
        return ()

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        return [f"Output shape = {fmt_shape(y)}, as recorded from the model ({self.what or 'a call'})",
                f"Params = {n(self.params)} (the module's, as recorded)",
                "Flop: not counted: cnncalc has no op for this call (cnncalc import --opaque)"]

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        from cnncalc.torchcheck.modules import Opaque as Twin

        return Twin(tuple(self.shape), self.params)
