"""The lecture's comparing-complexity chart (issue 12, point 3): top-1 ImageNet accuracy against
multiply-adds, bubble area = parameters, each figure's source named; and compare's small things
(--input/--set, adam like memory, matplotlib checked before anything is printed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import cnncalc
from cnncalc.accuracy import accuracy
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parent.parent
DATA = json.loads((REPO / "cnncalc" / "data" / "accuracy.json").read_text())["models"]


def test_every_bundled_spec_has_an_entry_with_a_source():
    assert set(DATA) == set(cnncalc.architectures())
    for name, entry in DATA.items():
        assert entry["source"], name
        if entry["top1"] is not None:
            assert 50 < entry["top1"] < 95, name
            assert entry["top5"] is None or entry["top1"] < entry["top5"] < 100, name


@pytest.mark.parametrize(("spec", "top1", "source"), [
    # torchvision's documented figures (the weights tables of its docs, acc@1)
    ("vgg16", 71.592, "torchvision VGG16_Weights.IMAGENET1K_V1"),
    ("resnet50-tv", 76.13, "torchvision ResNet50_Weights.IMAGENET1K_V1"),  # the original recipe, not V2's 80.858
    ("googlenet-tv", 69.778, "torchvision GoogLeNet_Weights.IMAGENET1K_V1"),
    ("vit_b_16", 81.072, "torchvision ViT_B_16_Weights.IMAGENET1K_V1"),
    # the papers' error rates, as 100 - error
    ("alexnet-2012", 100 - 40.7, "Krizhevsky et al. 2012, Table 2"),
    ("zfnet", 100 - 37.5, "Zeiler & Fergus 2013, Table 2"),
    ("resnet50", 100 - 22.85, "He et al. 2015, Table 3"),  # the paper's network: stride on the 1x1 conv
    ("inception_v4", 100 - 20.0, "Szegedy et al. 2016"),
    ("mobilenet_v1", 70.6, "Howard et al. 2017, Table 8"),
])
def test_figures_and_their_sources(spec, top1, source):
    found = accuracy(spec)
    assert found is not None and found.top1 == pytest.approx(top1, abs=1e-9)
    assert found.source.startswith(source)


def test_alexnet_at_227_says_torchvision_evaluated_224():
    found = accuracy("alexnet")
    assert found is not None and found.top1 == 56.522
    assert "evaluated at 224x224; the spec's input is 227x227" in found.source


@pytest.mark.parametrize("spec", ["lenet5", "googlenet", "preact_resnet18", "no-such-spec"])
def test_no_figure_where_none_is_known(spec):
    assert accuracy(spec) is None


def svg_text(path: Path) -> str:
    return " ".join("".join(ET.parse(path).getroot().itertext()).split())


def test_compare_plot_is_the_accuracy_chart_by_default(tmp_path):
    pytest.importorskip("matplotlib")
    svg = tmp_path / "chart.svg"
    result = run_cli("compare", "alexnet-2012", "vgg16", "resnet50-tv", "lenet5", "--plot", str(svg))
    assert result.exit_code == 0, result.stderr
    # lenet5 is left out of the chart, said in one line; the table still has it
    assert "left out of the accuracy chart: lenet5 (a 32x32 digit classifier" in result.stderr
    assert "lenet5" in result.stdout
    text = svg_text(svg)
    assert "top-1 accuracy (%), ImageNet-1K validation" in text
    assert "multiply-adds (G)" in text  # alexnet-2012 1.14 G .. vgg16 15.5 G: 14x, a linear axis
    for name in ("alexnet-2012", "vgg16", "resnet50-tv"):
        assert name in text
    assert "lenet5" not in text
    assert "Krizhevsky et al. 2012, Table 2" in text and "torchvision's weights metadata" in text


def test_compare_plot_memory_puts_vgg_highest(tmp_path):
    """The slide's "VGG: highest memory" is inference memory (parameters + live activations):
    VGG-16's 138,357,544 float32 parameters alone are 553 MB, ResNet-50's 25,557,032 are 102 MB."""
    from cnncalc.engine import forward_memory_estimate

    vgg, resnet = cnncalc.analyze("vgg16"), cnncalc.analyze("resnet50-tv")
    assert forward_memory_estimate(vgg) >= 138_357_544 * 4 > 25_557_032 * 4 * 5
    assert forward_memory_estimate(vgg) > 2 * forward_memory_estimate(resnet)
    table = json.loads(run_cli("compare", "vgg16", "resnet50-tv", "--format", "json").stdout)
    assert [m["inference_bytes"] for m in table] == [forward_memory_estimate(vgg), forward_memory_estimate(resnet)]
    pytest.importorskip("matplotlib")
    svg = tmp_path / "mem.svg"
    assert run_cli("compare", "vgg16", "resnet50-tv", "--plot", str(svg), "--y", "memory").exit_code == 0
    assert "inference memory (MB)" in svg_text(svg)


def test_compare_plot_without_any_figure_is_a_usage_error(tmp_path):
    pytest.importorskip("matplotlib")  # without it, that is the one error
    out = tmp_path / "c.png"
    result = run_cli("compare", "lenet5", "googlenet", "--plot", str(out))
    assert result.exit_code == 2 and result.stdout == ""
    assert "no ImageNet accuracy is known for any of these specs" in result.stderr and "--y memory" in result.stderr
    assert not out.exists()


def test_accuracy_chart_refuses_a_changed_network(tmp_path):
    pytest.importorskip("matplotlib")  # without it, that is the one error
    result = run_cli("compare", "vgg16", "--input", "3x32x32", "--plot", str(tmp_path / "c.png"))
    assert result.exit_code == 2 and result.stdout == ""
    assert "--y memory" in result.stderr


SPEC = """\
name: tiny
args: {width: 8}
input: [3, 16, 16]
layers:
  - conv: {out: $width, kernel: 3, pad: 1}
"""


def test_compare_takes_input_and_set(tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC)
    data = json.loads(run_cli("compare", str(spec), "--input", "3x10x12", "--set", "width=5",
                              "--format", "json").stdout)
    # 5 filters of 3x3x3 + 5 biases; each of the 5*10*12 outputs is 3*3*3 multiply-adds
    assert data[0]["input"] == [3, 10, 12]
    assert data[0]["params"] == 5 * 27 + 5 and data[0]["macs"] == 5 * 10 * 12 * 27
    hwc = json.loads(run_cli("compare", str(spec), "--input", "10x12x3", "--layout", "hwc", "--format", "json").stdout)
    assert hwc[0]["input"] == [3, 10, 12]


def test_compare_and_memory_default_to_the_same_optimizer(tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC)
    data = json.loads(run_cli("compare", str(spec), "--format", "json").stdout)[0]
    params = 8 * 27 + 8
    # float32, adam, batch 1: the peak is the conv's backward: parameters + gradients + adam's two
    # moments = 4 copies of 4 bytes, adam's step count per tensor (2 x 4 bytes), the input batch
    # (3x16x16, which the conv saves) and the gradient of the conv's 8x16x16 output (the input
    # batch needs none)
    assert data["training_bytes"] == 4 * params * 4 + 2 * 4 + 3 * 16 * 16 * 4 + 8 * 16 * 16 * 4
    memory = json.loads(run_cli("memory", str(spec), "--format", "json").stdout)
    assert memory["optimizer"] == "adam" and memory["peak"]["training"] == data["training_bytes"]


def test_compare_plot_without_matplotlib_prints_nothing(tmp_path):
    """matplotlib missing: one line and exit 2 before the table, not the table then a failure."""
    code = ("import sys; sys.modules['matplotlib'] = None; from cnncalc.cli import main; "
            f"sys.argv = ['cnncalc', 'compare', 'alexnet', 'vgg16', '--plot', {str(tmp_path / 'c.png')!r}]; main()")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == "error: plotting needs matplotlib: pip install 'cnncalc[plot]'"


def test_frozen_figures_match_torchvision():
    """The frozen torchvision figures are what torchvision's weights metadata says (CI's second
    environment, where torchvision imports; skipped elsewhere)."""
    models = pytest.importorskip("torchvision.models")
    for name, entry in DATA.items():
        if not entry["source"].startswith("torchvision "):
            continue
        enum_name, weights_name = entry["weights"].split(".")
        weights = getattr(models, enum_name)[weights_name]
        metrics = weights.meta["_metrics"]["ImageNet-1K"]
        assert (entry["top1"], entry["top5"]) == (metrics["acc@1"], metrics["acc@5"]), name


def test_each_figure_says_how_many_crops_it_averages(tmp_path):
    # He et al. 2015, Table 3 reports 10-crop testing; Krizhevsky et al. 2012 average 10 patches;
    # torchvision's metadata is one centre crop
    assert accuracy("resnet50").crops == 10 and accuracy("resnet50").label == "10-crop"
    assert accuracy("alexnet-2012").crops == 10
    assert accuracy("resnet50-tv").crops == 1 and accuracy("resnet50-tv").label == ""
    pytest.importorskip("matplotlib")
    svg = tmp_path / "cmp.svg"
    assert run_cli("compare", "resnet50", "resnet50-tv", "vgg16", "--plot", str(svg)).exit_code == 0
    text = " ".join(ET.parse(svg).getroot().itertext())
    assert "resnet50 (10-crop)" in text and "resnet50-tv (10-crop)" not in text
    assert "resnet50 (He et al. 2015, Table 3, 10-crop)" in " ".join(text.split())
