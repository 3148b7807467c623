"""Guards for the fast path (no timings: benchmarks/run.py measures those).

The analytic path must not import torch or matplotlib, and a large spec must go through the
whole pipeline with exact totals (the scaling smoke test behind benchmarks/run.py's 100k run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_cli

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from run import synthetic_spec  # noqa: E402


def test_analytic_commands_import_neither_torch_nor_matplotlib(tmp_path):
    code = ("import sys\nfrom cnncalc.cli import cli\n"
            "for args in (['table', 'resnet152', '--format', 'json'], ['table', 'resnet50'], ['explain', 'alexnet'],\n"
            "             ['table', 'vgg16', '--rf', '--format', 'csv'], ['memory', 'resnet50'], ['compare', 'alexnet', 'vgg16'],\n"
            "             ['check', 'googlenet'], ['graph', 'resnet18'], ['graph', 'googlenet', '--depth', '1', '--format', 'dot'],\n"
            "             ['list']):\n"
            "    try:\n        cli(args)\n    except SystemExit as exc:\n        assert exc.code in (0, None), (args, exc.code)\n"
            "sys.stderr.write(repr(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'matplotlib'))))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.strip().endswith("[]"), proc.stderr[-500:]


def test_json_path_does_not_import_rich():
    code = ("import sys\nfrom cnncalc.cli import cli\n"
            "try:\n    cli(['table', 'resnet152', '--format', 'json'])\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write(repr([m for m in ('rich.console', 'rich.table') if m in sys.modules]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.stderr.strip().endswith("[]"), proc.stderr[-500:]


def test_ten_thousand_layers_end_to_end(tmp_path):
    spec = tmp_path / "big.yaml"
    spec.write_text(synthetic_spec(10_000))
    data = json.loads(run_cli("table", str(spec), "--format", "json", "--limit", "layers=20000").stdout)
    assert len(data["layers"]) == 10_000
    # 3,334 convs (layers 0, 3, ..., 9999) of 16*16*3*3 = 2,304 weights, no bias; 3,333 BNs of 2*16
    convs, bns = 3_334, 3_333
    assert data["total"]["params"] == convs * 2_304 + bns * 32
    # each conv: 16 x 8 x 8 outputs x 16*3*3 = 147,456 multiply-adds
    assert data["total"]["macs"] == convs * 147_456
    # the terminal view elides the middle instead of rendering 3,000 rows
    rich = run_cli("table", str(spec), "--limit", "layers=20000").stdout
    assert "rows not shown" in rich and len(rich.splitlines()) < 200


def test_the_benchmark_runs_in_its_quick_mode(tmp_path):
    # benchmarks/run.py --quick: each measurement once, so that the script keeps working; the
    # figures are not checked here (a timing assertion would only measure the CI machine)
    out = tmp_path / "performance.md"
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run.py"), "--quick", "--skip",
                           "tools,verify,frontends", "--out", str(out)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = out.read_text()
    for heading in ("## 1. The analytic path against the floor", "## 2. The other everyday commands",
                    "## 4. Scaling", "## 6. The library in-process", "## Targets (issue 35)"):
        assert heading in report
    targets = report.split("## Targets")[1]
    assert targets.count("| `table ") >= 6 and 'cnncalc.analyze("resnet152-tv")' in targets
