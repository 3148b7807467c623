"""Figures: plot_layers and plot_compare write valid PNG/SVG/PDF files, and matplotlib stays lazy."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cnncalc.report.plot import matplotlib_missing_message, plot_compare, plot_layers
from cnncalc.report.view import View, display_rows
from tests.conftest import analyse_bundled

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ROOT = Path(__file__).resolve().parent.parent


def svg_texts(path: Path) -> list[str]:
    """Every piece of text in an SVG (matplotlib keeps text as <text> with svg.fonttype none)."""
    root = ET.parse(path).getroot()
    return [t.strip() for el in root.iter() if el.tag.endswith("text") for t in el.itertext() if t.strip()]


def test_import_does_not_import_matplotlib():
    code = ("import sys, cnncalc.report.plot; "
            "print('matplotlib' in sys.modules or 'matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_message_names_the_extra():
    assert matplotlib_missing_message() == "plotting needs matplotlib: pip install 'cnncalc[plot]'"


@pytest.mark.parametrize("suffix", [".jpg", ".txt", ""])
def test_plot_bad_suffix_raises(tmp_path, suffix):
    analysis = analyse_bundled("lenet5")
    with pytest.raises(ValueError, match=r"\.png, \.svg or \.pdf"):
        plot_layers(analysis, View(), str(tmp_path / f"out{suffix}"))
    with pytest.raises(ValueError, match=r"\.png, \.svg or \.pdf"):
        plot_compare([("lenet5", analysis)], str(tmp_path / f"out{suffix}"))
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_plot_compare_bad_metric_and_empty(tmp_path):
    with pytest.raises(ValueError, match="accuracy, memory, activations, params, training"):
        plot_compare([("lenet5", analyse_bundled("lenet5"))], str(tmp_path / "c.png"), y="latency")
    with pytest.raises(ValueError, match="at least one model"):
        plot_compare([], str(tmp_path / "c.png"))


# The tests below draw; they need matplotlib (the ones above pass without it).

@pytest.fixture(scope="module")
def mpl():
    return pytest.importorskip("matplotlib")


@pytest.mark.parametrize("name", ["vgg16", "alexnet"])
def test_plot_layers_png(mpl, tmp_path, name):
    from matplotlib.image import imread

    path = tmp_path / f"{name}.png"
    plot_layers(analyse_bundled(name), View(), str(path))
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert 20_000 < len(data) < 5_000_000
    image = imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    height, width = image.shape[:2]
    assert width > height >= 900  # a wide figure, three panels tall
    assert width <= 20 * 150  # width grows with the rows, but is capped


def test_plot_layers_width_grows_then_caps(mpl, tmp_path):
    from matplotlib.image import imread

    widths = {}
    for name in ("lenet5", "vgg16", "resnet50", "resnet152"):
        plot_layers(analyse_bundled(name), View(), str(tmp_path / f"{name}.png"))
        widths[name] = imread(tmp_path / f"{name}.png").shape[1]
    assert widths["lenet5"] <= widths["vgg16"] < widths["resnet50"] <= widths["resnet152"] == 20 * 150


def test_plot_layers_svg_has_names_units_and_title(mpl, tmp_path):
    analysis = analyse_bundled("vgg16")
    path = tmp_path / "vgg16.svg"
    plot_layers(analysis, View(), str(path))
    texts = svg_texts(path)
    names = [r.lead.name for r in display_rows(analysis, View())]
    assert set(names) <= set(texts)  # 22 rows: every layer is named
    assert "vgg16: where memory, parameters and compute live" in texts
    assert {"activation memory (MB)", "parameters (M)", "multiply-adds (G)"} <= set(texts)
    assert "total 138 M" in texts  # 138,357,544 parameters
    assert "fc6: 103 M" in texts  # the tallest parameter bar is named


def test_plot_layers_follows_the_view(mpl, tmp_path):
    path = tmp_path / "lenet5.svg"
    plot_layers(analyse_bundled("lenet5"), View(convention="torch", weights_only=True), str(path))
    texts = svg_texts(path)
    assert "torch FLOPs (k)" in texts and "weights (k)" in texts


def test_plot_layers_thins_labels_when_many_rows(mpl, tmp_path):
    analysis = analyse_bundled("resnet152")
    names = [r.lead.name for r in display_rows(analysis, View())]
    path = tmp_path / "resnet152.svg"
    plot_layers(analysis, View(), str(path))
    shown = [t for t in svg_texts(path) if t in set(names)]
    assert names[0] in shown and names[-1] in shown
    assert len(names) // 3 < len(set(shown)) < len(names)


def test_plot_layers_svg_and_pdf_are_deterministic(mpl, tmp_path):
    analysis = analyse_bundled("alexnet")
    for suffix in (".svg", ".pdf"):
        a, b = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
        plot_layers(analysis, View(), str(a))
        plot_layers(analysis, View(), str(b))
        assert a.read_bytes() == b.read_bytes()
    assert (tmp_path / "a.pdf").read_bytes().startswith(b"%PDF")


COMPARED = ["alexnet", "vgg16", "googlenet", "resnet50"]


@pytest.fixture(scope="module")
def entries():
    return [(name, analyse_bundled(name)) for name in COMPARED]


def test_plot_compare_png(mpl, tmp_path, entries):
    from matplotlib.image import imread

    path = tmp_path / "compare.png"
    plot_compare(entries, str(path))
    assert path.read_bytes().startswith(PNG_MAGIC)
    height, width = imread(path).shape[:2]
    assert width > height > 500


@pytest.mark.parametrize(("y", "label"), [("memory", "inference memory (MB)"), ("activations", "activation memory (MB)"),
                                          ("params", "parameters (M)"),
                                          ("training", "training memory estimate (MB)")])
def test_plot_compare_svg_names_every_model(mpl, tmp_path, entries, y, label):
    path = tmp_path / f"compare_{y}.svg"
    plot_compare(entries, str(path), y=y)
    texts = svg_texts(path)
    assert set(COMPARED) <= set(texts)
    assert label in texts
    assert "multiply-adds (G)" in texts  # alexnet 0.72 G .. vgg16 15.5 G: 22x, a linear axis


def test_plot_compare_log_axis_past_30x(mpl, tmp_path, entries):
    path = tmp_path / "compare.svg"
    plot_compare([("lenet5", analyse_bundled("lenet5")), *entries], str(path), y="memory")
    assert "multiply-adds (G, log scale)" in svg_texts(path)
