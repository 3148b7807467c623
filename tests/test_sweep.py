"""`cnncalc sweep` (issue 12): params, multiply-adds and memory along one axis, with expected
numbers from arithmetic written out here."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cnncalc.cli.ranges import parse_batches, parse_shapes
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parent.parent

TINY = """\
name: tiny
args: {width: 8}
input: [3, 16, 16]
layers:
  - conv: {name: c, out: $width, kernel: 3, pad: 1}
  - relu
"""


@pytest.fixture()
def tiny(tmp_path) -> str:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return str(path)


def conv(width: int, h: int, w: int, batch: int = 1) -> dict:
    """conv 3 -> width, 3x3, pad 1 on h x w: the output is width x h x w."""
    return {"params": width * 3 * 9 + width, "macs": batch * width * h * w * 3 * 9,
            "memory_bytes": batch * width * h * w * 4}  # relu is in place: only the conv's output


def sweep(*args: str) -> dict:
    result = run_cli("sweep", *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_input_range_steps_every_changing_axis_together(tiny):
    data = sweep(tiny, "--input", "3x8x8..3x32x32/8")
    assert [p["input"] for p in data["points"]] == [[3, s, s] for s in (8, 16, 24, 32)]
    for p, s in zip(data["points"], (8, 16, 24, 32)):
        expect = conv(8, s, s)
        assert (p["params"], p["macs"], p["memory_bytes"]) == (expect["params"], expect["macs"], expect["memory_bytes"])
    assert data["swept"] == "--input"


def test_batch_scales_macs_and_memory_not_params(tiny):
    data = sweep(tiny, "--batch", "1,8,64")
    for p, b in zip(data["points"], (1, 8, 64)):
        expect = conv(8, 16, 16, b)
        assert p["batch"] == b and p["params"] == expect["params"] and p["macs"] == expect["macs"]
        assert p["memory_bytes"] == expect["memory_bytes"]
        # adam, float32, the step's timeline (docs/memory.md#the-walk): the parameters P and adam's
        # two moments and 2 step counts (8 B) always; the input batch X (3x16x16, which the conv
        # saves); the in-place relu saves its output M (the conv's 8x16x16). Relu's backward: M
        # saved, its output's and input's gradients (2 M), no parameter gradient yet. The conv's:
        # its output's gradient M and its parameters' P. The step: every gradient, and adam's sqrt
        # and denom of the conv's weight (2 x 8*3*9 floats). The peak is the largest of the three.
        params, x, m = 4 * expect["params"], b * 3 * 16 * 16 * 4, expect["memory_bytes"]
        relu = 3 * params + 8 + x + 3 * m
        conv_ = 4 * params + 8 + x + m
        step = 4 * params + 8 + x + 2 * 4 * 8 * 3 * 9
        assert p["training_bytes"] == max(relu, conv_, step)


def test_a_spec_argument(tiny):
    data = sweep(tiny, "--set", "width=4..16/4")
    assert [p["params"] for p in data["points"]] == [conv(w, 16, 16)["params"] for w in (4, 8, 12, 16)]
    assert [p["args"] for p in data["points"]] == [{"width": w} for w in (4, 8, 12, 16)]


def test_range_syntax():
    # 128, 160, ..., 512: (512 - 128) / 32 + 1 = 13 points
    shapes = parse_shapes("3x128x128..3x512x512/32")
    assert len(shapes) == 13 and shapes[0] == [3, 128, 128] and shapes[-1] == [3, 512, 512]
    assert parse_shapes("3x32x32..3x512x512*2") == [[3, s, s] for s in (32, 64, 128, 256, 512)]
    assert parse_shapes("3x224x224,3x320x256") == [[3, 224, 224], [3, 320, 256]]
    assert parse_shapes("3x100x200..3x110x210/5") == [[3, 100, 200], [3, 105, 205], [3, 110, 210]]
    assert parse_batches("1..256*2") == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert parse_batches("8..30/8") == [8, 16, 24]  # the end is kept only when a step reaches it
    # 100 sizes of resnet50 (the benchmark's sweep): 32, 64, ..., 3200
    assert len(parse_shapes("3x32x32..3x3200x3200/32")) == 100


@pytest.mark.parametrize(("args", "fragment"), [
    ([], "nothing to sweep"),
    (["--input", "3x8x8,3x16x16", "--batch", "1,2"], "sweep one axis at a time"),
    (["--input", "3x8..3x16x16/4"], "different ranks"),
    (["--input", "3x8x8..3x16x32/4"], "must change together"),
    (["--input", "3x16x16..3x8x8/4"], "ends before it starts"),
    (["--input", "3x8x8..3x16x16/0"], "the step must be at least 1"),
    (["--input", "3x8x8..3x16x16*1"], "a factor of 2 or more"),
    (["--input", "3x٣x8,3x8x8"], "is not a shape"),
    (["--batch", "1..100000/1"], "100,000 points (at most 10,000)"),
    (["--batch", "0,1"], "batch sizes are from 1"),
    (["--set", "width"], "is not key=value"),
])
def test_usage_errors(tiny, args, fragment):
    result = run_cli("sweep", tiny, *args)
    assert result.exit_code == 2 and result.stdout == "", result.stderr
    assert result.stderr.startswith("error: ") and fragment in result.stderr.splitlines()[0]


def test_a_point_that_fails_names_the_point(tiny):
    result = run_cli("sweep", "vgg16", "--input", "3x224x224,3x16x16")  # five 2x2 pools: 16 -> 0
    assert result.exit_code == 2 and result.stdout == ""
    assert "at --input 3x16x16: " in result.stderr.splitlines()[0] and "vgg16.yaml:" in result.stderr


def test_every_format_and_whole_digits_at_80_columns(tiny):
    data = sweep("resnet50", "--input", "3x128x128..3x512x512/32")
    text = run_cli("sweep", "resnet50", "--input", "3x128x128..3x512x512/32", env={"COLUMNS": "80"}).stdout
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    assert "×16.0" in text  # (512 / 128)**2 = 16: MACs grow with H x W (the pooling is adaptive)
    # conv and linear MACs of a conv net scale with H*W except the classifier: the ratio is a bit under 16
    first, last = data["points"][0]["counted"], data["points"][-1]["counted"]
    assert 15 * first < last < 16 * first
    rows = list(csv.reader(io.StringIO(run_cli("sweep", tiny, "--batch", "1,2", "--format", "csv").stdout)))
    assert rows[0][0] == "batch" and rows[2][2] == str(conv(8, 16, 16, 2)["macs"])
    for fmt in ("markdown", "latex", "html"):
        out = run_cli("sweep", tiny, "--batch", "1,2", "--format", fmt)
        assert out.exit_code == 0 and "batch" in out.stdout and str(conv(8, 16, 16, 2)["params"]) in out.stdout


def test_plot(tmp_path, tiny):
    pytest.importorskip("matplotlib")
    path = tmp_path / "s.png"
    result = run_cli("sweep", tiny, "--input", "3x8x8..3x32x32/8", "--plot", str(path))
    assert result.exit_code == 0 and path.read_bytes().startswith(b"\x89PNG")
    result = run_cli("sweep", tiny, "--set", "width=4,8", "--plot", str(tmp_path / "s.txt"))
    assert result.exit_code == 2 and result.stdout == ""


def test_sweep_imports_neither_torch_nor_matplotlib():
    code = ("import sys; from cnncalc.cli import run; "
            "run(['sweep', 'resnet18', '--batch', '1,2', '--format', 'json']); "
            "print('torch' in sys.modules, 'matplotlib' in sys.modules, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0 and proc.stderr.strip().splitlines()[-1] == "False False"


def test_a_set_hint_is_written_as_the_flag_is_typed(tiny):
    result = run_cli("sweep", tiny, "--set", "width=1..20000/1")
    assert result.exit_code == 2 and result.stdout == ""
    assert "20,000 points" in result.stderr and "--set width=16..128/16" in result.stderr


def test_sweep_and_compare_train_as_memory_does():
    # the training column with --amp, --checkpoint and --device equals `cnncalc memory` with the same
    # flags at each point (each from its own analysis)
    flags = ["--optimizer", "adamw", "--amp", "bfloat16", "--checkpoint", "4", "--device", "cuda"]
    points = json.loads(run_cli("sweep", "resnet18", "--batch", "1,8,64", *flags, "--format", "json").stdout)
    assert (points["amp"], points["checkpoint"], points["device"]) == ("bfloat16", 4, "cuda")
    for p in points["points"]:
        alone = json.loads(run_cli("memory", "resnet18", "--batch", str(p["batch"]), *flags, "--format", "json").stdout)
        assert p["training_bytes"] == alone["peak"]["training"]
    rows = json.loads(run_cli("compare", "resnet18", "vgg11", *flags, "--format", "json").stdout)
    for row in rows:
        alone = json.loads(run_cli("memory", row["name"], *flags, "--format", "json").stdout)
        assert row["training_bytes"] == alone["peak"]["training"]
    bad = run_cli("sweep", "resnet18", "--batch", "1,2", "--amp", "bfloat16", "--dtype", "float16")
    assert bad.exit_code == 2 and "runs a float32 model under autocast" in bad.stderr
