"""`cnncalc plot` and `cnncalc compare --plot` write real images (matplotlib optional)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.conftest import run_cli

matplotlib = pytest.importorskip("matplotlib")

PNG = b"\x89PNG\r\n\x1a\n"


def test_plot_vgg16_png(tmp_path):
    path = tmp_path / "vgg16.png"
    result = run_cli("plot", "vgg16", "-o", str(path))
    assert result.exit_code == 0, result.stderr
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 20_000
    from matplotlib.image import imread

    image = imread(path)
    assert image.ndim == 3 and image.shape[1] > image.shape[0]  # three panels, wide


def test_plot_svg_names_every_layer(tmp_path):
    path = tmp_path / "alexnet.svg"
    assert run_cli("plot", "alexnet", "-o", str(path)).exit_code == 0
    text = "".join(ET.parse(path).getroot().itertext())
    for layer in ("conv1", "pool1", "conv5", "fc6", "fc8"):
        assert layer in text
    for label in ("activation memory", "parameters", "multiply-adds"):
        assert label in text


def test_compare_plot_labels_each_model(tmp_path):
    png, svg = tmp_path / "cmp.png", tmp_path / "cmp.svg"
    names = ("alexnet", "vgg16", "googlenet", "resnet50")
    assert run_cli("compare", *names, "--plot", str(png)).exit_code == 0
    assert png.read_bytes().startswith(PNG)
    assert run_cli("compare", *names, "--plot", str(svg), "--y", "params").exit_code == 0
    text = "".join(ET.parse(svg).getroot().itertext())
    for name in names:
        assert name in text
