"""What the counting tools themselves report for a torch model: FlopCounterMode, fvcore, ptflops,
torchinfo and thop, each called the way its README shows (the model in eval mode, CPU).

Stage: torchcheck (imports torch, and a tool only when asked for it). In: an nn.Module and one
sample's input shape. Out: (count, params) as the tool reports them, as ints. The profiles in
cnncalc/conventions.py are checked against these: on cnncalc's own torch twins
(tests/test_conventions.py) and on torchvision's models (scripts/freeze_tools.py).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import Any

TOOLS = ("torch", "fvcore", "ptflops", "torchinfo", "thop")


def tool_count(tool: str, model: Any, shape: tuple[int, ...], batch: int = 1, tokens: bool = False) -> tuple[int, int]:
    """(count, params) as `tool` reports them for `batch` samples of `shape` (ptflops: one);
    tokens: the input is integer token ids (int64 zeros), as a spec with `tokens: true` says.

    Build a fresh model for each tool: thop leaves buffers behind on the modules it profiles."""
    import torch

    x = torch.zeros(batch, *shape, dtype=torch.long) if tokens else torch.randn(batch, *shape)
    if tool == "torch":
        from torch.utils.flop_counter import FlopCounterMode

        from cnncalc.torchcheck.measure import attention_counted

        with FlopCounterMode(display=False) as counter, torch.no_grad(), attention_counted():
            model(x)
        return int(counter.get_total_flops()), sum(p.numel() for p in model.parameters())
    if tool == "fvcore":
        # not under no_grad: there nn.MultiheadAttention takes its fast path, which fvcore's
        # trace sees as one unsupported op (ViT-B/16 would lose its projections)
        from fvcore.nn import FlopCountAnalysis, parameter_count

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            analysis = FlopCountAnalysis(model, x).unsupported_ops_warnings(False)
            analysis = analysis.uncalled_modules_warnings(False).tracer_warnings("none")
            return int(analysis.total()), int(parameter_count(model)[""])
    if tool == "ptflops":
        from ptflops import get_model_complexity_info

        if batch != 1:
            raise ValueError("ptflops always runs one sample")
        ids = {"input_constructor": lambda size: torch.zeros((1, *size), dtype=torch.long)} if tokens else {}
        with contextlib.redirect_stdout(io.StringIO()):
            macs, params = get_model_complexity_info(model, tuple(shape), as_strings=False,
                                                     print_per_layer_stat=False, backend="pytorch", **ids)
        if macs is None:
            raise RuntimeError("ptflops failed on this model")
        return int(macs), int(params)
    if tool == "torchinfo":
        from torchinfo import summary

        stats = summary(model, input_size=(batch, *shape), verbose=0, device="cpu",
                        dtypes=[torch.long] if tokens else None)
        return int(stats.total_mult_adds), int(stats.total_params)
    if tool == "thop":
        import thop

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ops, params = thop.profile(model, inputs=(x,), verbose=False)  # floats
        return int(ops), int(params)
    raise ValueError(f"unknown tool {tool!r}")


def torchvision_model(name: str, kwargs: dict[str, Any]) -> Any:
    """torchvision's model, no weights, in eval mode, seeded."""
    import torch
    import torchvision

    torch.manual_seed(0)
    return torchvision.models.get_model(name, weights=None, **kwargs).eval()
