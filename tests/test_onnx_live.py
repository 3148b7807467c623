"""ONNX round trips, live: torchvision models exported with both of PyTorch's exporters at test
time (CI's second environment: torch, torchvision, onnx and onnxscript), read back by cnncalc and
compared with the source model (scripts/onnx_compare.py): FlopCounterMode's total and the output
shape exactly; params equal to the weights the file holds (torch's own count where the
TorchScript export folded no batch norm).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("torchvision")
pytest.importorskip("onnx")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from onnx_compare import compare  # noqa: E402

MODELS = ["resnet18", "mobilenet_v3_small", "densenet121", "squeezenet1_0", "efficientnet_b0", "inception_v3",
          "convnext_tiny", "vit_b_16", "fcn_resnet50", "r3d_18"]
DYNAMO_NOT_READ = {"convnext_tiny": "its LayerNorm2d's permutes exported as a Gather of computed indices"}


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
@pytest.mark.parametrize("name", MODELS)
def test_export_read_back_equals_the_model(name, dynamo, tmp_path):
    if dynamo:
        pytest.importorskip("onnxscript", reason="the dynamo exporter needs onnxscript")
    if dynamo and name in DYNAMO_NOT_READ:
        # not read yet (docs/onnx.md): said as one clean error, checked here
        from cnncalc.errors import CnncalcError

        with pytest.raises(CnncalcError):
            compare_or_raise(name, tmp_path, dynamo)
        return
    ok, text = compare(name, str(tmp_path), dynamo)
    assert ok, text


def compare_or_raise(name, folder, dynamo):
    import cnncalc
    from onnx_compare import export, source_model

    model, shape = source_model(name)
    path = f"{folder}/{name}.onnx"
    export(model, shape, path, dynamo)
    cnncalc.analyze(path)
