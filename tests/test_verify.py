"""`cnncalc verify`: every bundled architecture against PyTorch, devices, exit codes, formats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from cnncalc.ops.conv import Conv2d  # noqa: E402
from cnncalc.ops.registry import Cost  # noqa: E402
from cnncalc.sources import bundled_names  # noqa: E402
from cnncalc.torchcheck.run import make_input, verify  # noqa: E402
from tests.conftest import analyse_bundled, run_cli  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("name", bundled_names())
def test_every_bundled_architecture_verifies_on_meta(name):
    analysis = analyse_bundled(name, batch=2)
    result = verify(analysis.graph, analysis, "meta")
    assert result.ok, [c.name for c in result.checks if not c.ok]
    assert len(result.checks) == len(analysis.rows)
    # every layer's FLOPs are checked against FlopCounterMode (but a train-only layer's, which eval
    # never runs: Inception-v3's AuxLogits); conv and linear really count some
    train_only = {r.name for r in analysis.rows if r.node.train_only}
    assert all(c.flops.checked != (c.name in train_only) for c in result.checks)
    counted = [c for c in result.checks if c.flops.analytic]
    assert counted and all(c.flops.measured == c.flops.analytic for c in counted)


@pytest.mark.parametrize("name", ["lenet5", "alexnet", "alexnet-2012", "resnet18", "googlenet"])
def test_small_architectures_verify_on_cpu(name):
    analysis = analyse_bundled(name)
    assert verify(analysis.graph, analysis, "cpu").ok


def test_verify_cli_vgg16_meta_prints_checks_and_exits_0():
    result = run_cli("verify", "vgg16", "--device", "meta", "--batch", "256")
    assert result.exit_code == 0, result.stdout
    assert "✓ vgg16: all 39 layers match" in result.stdout
    assert "FlopCounterMode's FLOPs of every layer" in result.stdout  # pooling's 0 is checked too


def test_verify_cli_resnet50_meta_batch_64():
    result = run_cli("verify", "resnet50", "--device", "meta", "--batch", "64")
    assert result.exit_code == 0 and "✓ resnet50: all 175 layers match" in result.stdout


@no_cuda
def test_cuda_requested_without_gpu_is_one_clear_sentence():
    proc = subprocess.run([sys.executable, "-m", "cnncalc", "verify", "vgg16", "--device", "cuda"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: CUDA was requested but torch.cuda.is_available() is False;")
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize(("device", "message"), [("gpu", "is not one of cpu, cuda, cuda:N, meta"),
                                                 ("cuda:x", "index must be a number")])
def test_bad_device_strings(device, message):
    result = run_cli("verify", "lenet5", "--device", device)
    assert result.exit_code == 2 and message in result.stderr


@cuda
def test_verify_on_cuda_with_timing_and_memory():
    result = run_cli("verify", "resnet18", "--device", "cuda", "--time", "--train", "--repeats", "3")
    assert result.exit_code == 0 and "measured" in result.stdout


def test_timing_columns_on_cpu():
    result = run_cli("verify", "lenet5", "--time", "--repeats", "2", "--peak-tflops", "1")
    assert result.exit_code == 0
    assert "GMAC/s" in result.stdout and "% of peak" in result.stdout
    assert "forward memory: analytic" in result.stdout
    assert "on CUDA only" in result.stdout


def test_a_wrong_analytic_rule_is_caught_and_exits_1(monkeypatch):
    honest = Conv2d.cost

    def off_by_one(self, xs, y):
        c = honest(self, xs, y)
        return Cost(c.weights, c.biases, c.macs + 1, c.elem_ops)

    monkeypatch.setattr(Conv2d, "cost", off_by_one)
    result = run_cli("verify", "lenet5", "--device", "meta")
    assert result.exit_code == 1
    assert "✗ lenet5: 3 of 12 layers differ" in result.stdout  # c1, c3, c5 are the convs


def test_json_report():
    data = json.loads(run_cli("verify", "lenet5", "--device", "meta", "--format", "json").stdout)
    assert data["ok"] is True and data["device"] == "meta"
    c1 = data["layers"][0]
    # C1: 6*1*5*5 + 6 = 156 params; 6*28*28*25 = 117,600 MACs = FlopCounterMode's 235,200 / 2
    assert c1["params"] == {"analytic": 156, "torch": 156, "checked": True, "ok": True}
    assert c1["flops"]["torch"] == 2 * 117_600 and c1["shape"]["torch"] == [6, 28, 28]


def test_verify_all_meta_passes_for_every_bundled_spec():
    result = run_cli("verify", "--all", "--device", "meta")
    assert result.exit_code == 0
    assert f"{len(bundled_names())} of {len(bundled_names())} architectures verified" in result.stdout


def test_verify_needs_a_spec_or_all():
    assert run_cli("verify").exit_code == 2


def test_verify_without_torch_says_how_to_install():
    code = ("import sys; sys.modules['torch'] = None\n"
            "from cnncalc.cli import cli\ncli(['verify', 'lenet5'])\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "error: verify needs PyTorch",
        "  hint: pip install torch --index-url https://download.pytorch.org/whl/cpu (the CPU build, about 200 MB), or "
        "pip install 'cnncalc[torch]' (PyPI's default: on Linux the CUDA build, about 3 GB)"]


def _has_torchvision() -> bool:
    try:
        import torchvision  # noqa: F401
    except Exception:
        return False
    return True


needs_tv = pytest.mark.skipif(not _has_torchvision(), reason="torchvision is not importable beside this torch")


@pytest.mark.skipif(_has_torchvision(), reason="checks the message of a machine without torchvision")
def test_against_torchvision_without_torchvision_is_a_clear_message():
    result = run_cli("verify", "alexnet", "--device", "meta", "--against", "torchvision")
    assert result.exit_code == 2
    assert "--against torchvision needs torchvision built for torch " in result.stderr
    import torch

    if torch.__version__ == "2.13.0+cpu":  # CI's CPU build: the matching torchvision from PyTorch's CPU index
        assert "hint: pip install 'torchvision==0.28.*' --index-url https://download.pytorch.org/whl/cpu" in result.stderr


@needs_tv
def test_against_torchvision_same_totals_for_alexnet():
    result = run_cli("verify", "alexnet", "--device", "meta", "--against", "torchvision")
    assert result.exit_code == 0 and "same totals as torchvision" in result.stdout


@needs_tv
def test_against_torchvision_explains_resnet_v15():
    result = run_cli("verify", "resnet50", "--device", "meta", "--against", "torchvision", "--format", "json")
    assert result.exit_code == 0
    against = json.loads(result.stdout)["against"]
    assert "v1.5" in against["known_difference"]
    totals = against["totals"]
    assert totals["params"]["cnncalc"] == totals["params"]["torchvision"] == 25_557_032
    assert totals["FlopCounterMode MACs"]["cnncalc"] < totals["FlopCounterMode MACs"]["torchvision"]


def test_dtype_the_cpu_cannot_run_is_a_clear_message(monkeypatch):
    from cnncalc.ops.activation import ReLU

    class NoHalf(torch.nn.Module):  # stands in for a CPU kernel PyTorch lacks in float16
        def forward(self, x):
            if x.dtype == torch.float16:
                raise RuntimeError('"relu_cpu" not implemented for Half')
            return x

    monkeypatch.setattr(ReLU, "to_torch", lambda self, xs: NoHalf())
    result = run_cli("verify", "lenet5", "--dtype", "float16")
    assert result.exit_code == 0  # lenet5 has no relu
    result = run_cli("verify", "alexnet", "--dtype", "float16")
    assert result.exit_code == 2
    assert "cannot run float16 on the CPU for layer relu1" in result.stderr
    assert "--device meta" in result.stderr


@pytest.mark.parametrize("name", bundled_names())
def test_json_counted_under_torch_is_flopcountermode_on_the_verify_model(name):
    # the acceptance line of issue 10: `table --format json --convention torch` total.counted equals
    # FlopCounterMode's total on the very model `verify` builds (meta device, batch 2)
    from torch.utils.flop_counter import FlopCounterMode

    from cnncalc.torchcheck.build import build_model
    from cnncalc.torchcheck.measure import attention_counted

    data = json.loads(run_cli("table", name, "--format", "json", "--convention", "torch", "--batch", "2").stdout)
    graph = analyse_bundled(name).graph
    model = build_model(graph, "meta").eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad(), attention_counted():
        model(make_input(torch, graph, 2, "meta", torch.float32))
    assert data["convention"]["profile"] == "torch"
    assert data["total"]["counted"] == data["total"]["flops"] == counter.get_total_flops()


def test_a_train_only_head_is_built_but_not_run():
    # the model verify builds holds the auxiliary head's parameters (checked) and never calls it:
    # FlopCounterMode sees only the trunk, as in torchvision's Inception-v3 in eval mode
    import cnncalc

    text = ("input: [8, 6, 6]\nlayers:\n  - conv: {name: trunk, out: 8, kernel: 3, pad: 1}\n"
            "  - linear: {name: aux, out: 10, train_only: true}\n  - conv: {name: after, out: 4, kernel: 1}\n")
    result = cnncalc.verify(text, device="cpu")
    checks = {c.name: c for c in result.checks}
    # linear acts on the last axis (6 features): 6 * 10 + 10 = 70 params
    assert result.ok and checks["aux"].params.checked and checks["aux"].params.measured == 6 * 10 + 10
    assert not checks["aux"].flops.checked and not checks["aux"].shape.checked
    from cnncalc.torchcheck.build import build_model

    model = build_model(cnncalc.load(text), "meta")
    assert sum(p.numel() for p in model.parameters()) == cnncalc.analyze(text).totals.params
