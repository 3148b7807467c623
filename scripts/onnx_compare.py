"""Export torchvision models to ONNX with both of PyTorch's exporters and compare cnncalc's reading
of each file with the source model: FlopCounterMode's total, the output shape, and params (the
file's weight initializers; torch's own count where batch norm was not folded).

Run where torch, torchvision and onnx import (CI's second environment; the dynamo exporter also
needs onnxscript): python scripts/onnx_compare.py resnet18 vit_b_16 ... [--folder DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from typing import Any

SIZES = {"inception_v3": (3, 299, 299)}
VIDEO = (3, 16, 112, 112)


def source_model(name: str) -> tuple[Any, tuple[int, ...]]:
    import torchvision

    for where in (torchvision.models, torchvision.models.segmentation, torchvision.models.video):
        if hasattr(where, name):
            kwargs = {"aux_loss": False, "weights_backbone": None} if where is torchvision.models.segmentation else {}
            if name in ("googlenet", "inception_v3"):
                kwargs = {"aux_logits": False, "init_weights": False}
            size = VIDEO if where is torchvision.models.video else SIZES.get(name, (3, 224, 224))
            return getattr(where, name)(weights=None, **kwargs).eval(), size
    raise SystemExit(f"no torchvision model {name}")


def measure(model: Any, shape: tuple[int, ...]) -> tuple[int, int, list[int]]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from torch.nn.attention import SDPBackend, sdpa_kernel

    x = torch.zeros(1, *shape)
    torch.backends.mha.set_fastpath_enabled(False)  # else nn.MultiheadAttention's fused path hides its matmuls
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as fc:
        y = model(x)
    if isinstance(y, dict):
        y = y["out"]
    return sum(p.numel() for p in model.parameters()), int(fc.get_total_flops()), list(y.shape[1:])


def export(model: Any, shape: tuple[int, ...], path: str, dynamo: bool) -> None:
    import torch

    x = torch.zeros(1, *shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            torch.onnx.export(model, (x,), path, dynamo=True, verbose=False)
        else:
            torch.onnx.export(model, (x,), path, dynamo=False, opset_version=17)


def compare(name: str, folder: str, dynamo: bool) -> tuple[bool, str]:
    import cnncalc
    from cnncalc.readers.onnx_file import read

    model, shape = source_model(name)
    params, flops, out = measure(model, shape)
    path = os.path.join(folder, f"{name}_{'dynamo' if dynamo else 'torchscript'}.onnx")
    if not os.path.exists(path):
        export(model, shape, path, dynamo)
    got = read(path)
    a = cnncalc.analyze(path)
    ours = sum(a.counted("torch"))
    shape_ok = list(a.outputs[0][1]) == out
    # torch's own count where the file holds every parameter: not after BN folding, nor after
    # dynamo's optimizer drops a conv bias it found all zero (an untrained model's)
    params_ok = a.totals.params == got.params and (got.folded_bn or dynamo or a.totals.params == params)
    ok = ours == flops and shape_ok and params_ok
    text = (f"{name} ({'dynamo' if dynamo else 'torchscript'}): FlopCounterMode {ours:,} vs {flops:,}; output "
            f"{list(a.outputs[0][1])} vs {out}; params {a.totals.params:,} (weights in the file {got.params:,}, "
            f"torch {params:,}{', BN folded' if got.folded_bn else ''})")
    return ok, text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--folder", default=None, help="keep the exported files here (default: a temporary folder)")
    parser.add_argument("--exporter", choices=["both", "torchscript", "dynamo"], default="both")
    ns = parser.parse_args()
    folder = ns.folder or tempfile.mkdtemp()
    os.makedirs(folder, exist_ok=True)
    failed = 0
    for name in ns.models:
        for dynamo in ((False, True) if ns.exporter == "both" else (ns.exporter == "dynamo",)):
            try:
                ok, text = compare(name, folder, dynamo)
            except Exception as exc:
                ok, text = False, f"{name} ({'dynamo' if dynamo else 'torchscript'}): {type(exc).__name__}: {str(exc)[:300]}"
            print(("ok   " if ok else "FAIL ") + text, flush=True)
            failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
