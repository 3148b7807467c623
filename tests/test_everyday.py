"""Small things people expect (issue 12, point 5): several specs in one `table`, shell
completion of bundled names, every format listed in --help, the AlexNet that is which lecture's."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_cli

REPO = Path(__file__).resolve().parent.parent


def test_several_specs_in_one_table_every_format():
    both = json.loads(run_cli("table", "alexnet", "lenet5", "--format", "json").stdout)
    alone = [json.loads(run_cli("table", name, "--format", "json").stdout) for name in ("alexnet", "lenet5")]
    assert both == alone
    rows = list(csv.reader(io.StringIO(run_cli("table", "alexnet", "lenet5", "--format", "csv").stdout)))
    assert rows[0][:2] == ["spec", "Layer"]
    # alexnet.yaml has 21 layers, lenet5.yaml 12: one CSV row each, named by spec
    assert [r[0] for r in rows[1:]].count("alexnet") == 21 and [r[0] for r in rows[1:]].count("lenet5") == 12
    md = run_cli("table", "alexnet", "lenet5", "--format", "markdown").stdout
    assert "| conv1 +relu |" in md and "| c1 +tanh |" in md
    text = run_cli("table", "alexnet", "lenet5", env={"COLUMNS": "100"}).stdout
    assert "alexnet: input 3x227x227" in text and "lenet5: input 1x32x32" in text


def test_a_bad_spec_among_several_prints_nothing():
    result = run_cli("table", "alexnet", "nosuchnet")
    assert result.exit_code == 2 and result.stdout == ""
    assert "no such file or bundled architecture: 'nosuchnet'" in result.stderr


def test_shell_completion_completes_bundled_names():
    env = {**os.environ, "PYTHONPATH": str(REPO), "_CNNCALC_COMPLETE": "bash_complete",
           "COMP_WORDS": "cnncalc table resnet1", "COMP_CWORD": "2"}
    out = subprocess.run([sys.executable, "-c", "from cnncalc.cli import main; main()"], env=env,
                         capture_output=True, text=True).stdout.splitlines()
    assert "plain,resnet18" in out and "plain,resnet101" in out and "plain,resnet152" in out
    assert not any(line.startswith("plain,vgg") for line in out)
    assert "file,resnet1" in out  # and paths, for your own specs


def test_format_help_lists_all_six_formats():
    text = " ".join(run_cli("table", "--help").stdout.split())
    for name in ("rich", "json", "csv", "markdown", "latex", "html"):
        assert name in text.split("--format", 1)[1].split("--all")[0], name


def test_alexnet_says_which_lectures_network_it_is():
    eecs = " ".join(run_cli("table", "alexnet", env={"COLUMNS": "120"}).stdout.split())
    assert "CS231n's (96 filters, LRN) is alexnet-2012" in eecs
    cs231n = " ".join(run_cli("table", "alexnet-2012", "--format", "markdown").stdout.split())
    assert "EECS 498's table (64 filters, no LRN) is alexnet" in cs231n
