"""Small things people expect (issue 12, point 5; issue 32): several specs in one `table`, shell
completion of bundled names and files in bash, zsh and fish (each shell run itself), every format listed in --help, the AlexNet that is which lecture's."""

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


def _shell(shell: str, script: str, cwd: Path) -> list[str]:
    """Run `script` in `shell` (skipped where it is not installed) with cnncalc on the PATH."""
    import shutil

    import pytest

    exe = shutil.which(shell)
    if exe is None:
        pytest.skip(f"{shell} is not installed (apt-get install {shell})")
    bindir = os.path.dirname(shutil.which("cnncalc") or sys.executable)
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONPATH": str(REPO)}
    done = subprocess.run([exe, "-c", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
    return done.stdout.splitlines()


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "resnet_mine.yaml").write_text("input: [3, 8, 8]\nlayers: [relu]\n")
    (tmp_path / "results").mkdir(exist_ok=True)
    return tmp_path


# the bundled names that start with resnet1 (architectures/*.yaml)
RESNET1 = ["resnet101", "resnet101-tv", "resnet152", "resnet152-tv", "resnet18"]


def test_bash_completes_bundled_names_and_files(tmp_path):
    out = _shell("bash", 'source <(_CNNCALC_COMPLETE=bash_source cnncalc); COMP_WORDS=(cnncalc table resnet1); '
                 'COMP_CWORD=2; _cnncalc_completion cnncalc 2>/dev/null; printf "%s\\n" "${COMPREPLY[@]}"',
                 _folder(tmp_path))
    assert sorted(out) == RESNET1
    out = _shell("bash", 'source <(_CNNCALC_COMPLETE=bash_source cnncalc); COMP_WORDS=(cnncalc table res); '
                 'COMP_CWORD=2; _cnncalc_completion cnncalc 2>/dev/null; printf "%s\\n" "${COMPREPLY[@]}"',
                 _folder(tmp_path))
    assert {"resnet18", "resnext50_32x4d", "resnet_mine.yaml", "results/"} <= set(out)  # names and paths


def test_zsh_completes_bundled_names_and_files(tmp_path):
    # zsh's completion widgets need a terminal; compadd and _path_files are stood in for by functions
    # that print what the script hands them
    script = ("compdef() { :; }; compadd() { print -l -- ${(P)${@[-1]}}; }; _describe() { :; }; "
              "_path_files() { print -- '<files>'; }; "
              "source <(_CNNCALC_COMPLETE=zsh_source cnncalc); words=(cnncalc table resnet1); CURRENT=3; "
              "_cnncalc_completion")
    out = _shell("zsh", script, _folder(tmp_path))
    assert sorted(line for line in out if line != "<files>") == RESNET1 and "<files>" in out


def test_fish_completes_bundled_names_and_files(tmp_path):
    folder = _folder(tmp_path)
    out = _shell("fish", "_CNNCALC_COMPLETE=fish_source cnncalc | source; complete -C 'cnncalc table resnet1'", folder)
    assert sorted(line.split("\t")[0] for line in out) == RESNET1
    out = _shell("fish", "_CNNCALC_COMPLETE=fish_source cnncalc | source; complete -C 'cnncalc table resu'", folder)
    assert [line.split("\t")[0] for line in out] == ["results/"]


def test_format_help_lists_all_six_formats():
    text = " ".join(run_cli("table", "--help").stdout.split())
    for name in ("rich", "json", "csv", "markdown", "latex", "html"):
        assert name in text.split("--format", 1)[1].split("--all")[0], name


def test_alexnet_says_which_lectures_network_it_is():
    eecs = " ".join(run_cli("table", "alexnet", env={"COLUMNS": "120"}).stdout.split())
    assert "CS231n's (96 filters, LRN) is alexnet-2012" in eecs
    cs231n = " ".join(run_cli("table", "alexnet-2012", "--format", "markdown").stdout.split())
    assert "EECS 498's table (64 filters, no LRN) is alexnet" in cs231n


# ---- issue 32: mistakes that passed silently or got a misleading message -------------------------

def test_a_mistyped_command_gets_a_suggestion(capsys):
    from cnncalc.cli import run  # the console entry point's handling of click's usage errors

    assert run(["tabel", "alexnet"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.splitlines()[0] == "error: no such command 'tabel'; did you mean 'table'?"


def test_cnncalc_alone_prints_its_help(capsys):
    from cnncalc.cli import run

    assert run([]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("Usage: cnncalc [OPTIONS] COMMAND [ARGS]...") and out.err == ""


def test_a_missing_path_is_no_such_file_not_a_bundled_name(tmp_path):
    result = run_cli("table", "my/net.yaml")  # the README's example, before the file is written
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["error: no such file: 'my/net.yaml'", "  hint: the folder 'my' does not exist"]
    result = run_cli("table", "alexnett")  # a bare name is still looked up among the bundled ones
    assert result.stderr.splitlines() == ["error: no such file or bundled architecture: 'alexnett'",
                                          "  hint: did you mean 'alexnet'?"]


def test_an_input_with_too_few_axes_names_the_flag():
    result = run_cli("table", "resnet50", "--input", "32x32")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: --input 32x32 has 2 axes, but 'resnet50' is written for 3 (its `input:` is [3, 224, 224])",
        "  hint: give all 3: e.g. --input 3x32x32"]


def test_a_classifier_that_ends_on_a_map_gets_a_note(tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text("input: [10, 16, 16]\nlayers:\n  - conv: {out: 8, kernel: 3}\n  - linear: {out: 10}\n")
    result = run_cli("table", str(spec), "--format", "csv")
    assert result.exit_code == 0  # valid PyTorch: nn.Linear on the last axis, 14 -> 10
    assert result.stdout.splitlines()[-1].startswith("linear1,8,14,10,")
    assert result.stderr.splitlines() == [
        "note: 'linear1' (linear) acts on the last axis of its 8x14x14 input, as nn.Linear does, so the network's "
        "output is the map 8x14x10; a classifier flattens first: add `- flatten` (or a global pool) before it"]
    spec.write_text("input: [10, 16, 16]\nlayers:\n  - conv: {out: 8, kernel: 3}\n  - flatten\n  - linear: {out: 10}\n")
    assert run_cli("table", str(spec), "--format", "csv").stderr == ""
    # a linear on a map inside the network (ConvNeXt's channel MLP, channels last) says nothing
    assert run_cli("table", "convnext_tiny", "--format", "csv").stderr == ""


def test_a_layer_of_several_inputs_never_reads_as_one_number():
    # resnet50's first block: add(bn3 256x56x56, shortcut 256x56x56); googlenet's first concat
    # stacks 64+128+32+32 channels (the paper's inception (3a))
    md = run_cli("table", "resnet50", "--format", "markdown").stdout
    assert "| conv2_x.0.add1 +relu | 256 x2 | 56 |" in md
    rows = list(csv.reader(io.StringIO(run_cli("table", "resnet50", "--format", "csv").stdout)))
    assert next(r for r in rows if r[0] == "conv2_x.0.add1")[1:3] == ["256 x2", "56"]
    rich = run_cli("table", "resnet50", "--all", env={"COLUMNS": "200"}).stdout
    assert next(line for line in rich.splitlines() if "conv2_x.0.add1" in line).split("│")[2].strip() == "256 x2"
    assert "| inception3a.concat1 | 64+128+32+32 | 28 |" in run_cli("table", "googlenet", "--format", "markdown").stdout


def test_a_collapsed_stage_counts_blocks_and_convs_not_bn_and_relu():
    # ResNet-50's conv2_x: 3 bottlenecks of 3 convs each, and the first one's projection shortcut
    md = run_cli("table", "resnet50", "--depth", "1", "--format", "markdown").stdout
    assert "| conv2_x (3 blocks, 10 conv) |" in md and "| conv4_x (6 blocks, 19 conv) |" in md
    # googlenet's inception (3a): 4 branches, 6 convs (1x1; 1x1 then 3x3; 1x1 then 5x5; pool then 1x1)
    assert "| inception3a (4 blocks, 6 conv) |" in run_cli("table", "googlenet", "--depth", "1", "--format", "markdown").stdout


def test_a_small_network_never_prints_a_non_zero_cell_as_zero():
    md = run_cli("table", "lenet5", "--format", "markdown", "--all").stdout.splitlines()
    assert md[0].endswith("| memory (B) | params | flop (k) |")  # the units chosen for LeNet-5 head the columns
    raw = {row["name"]: row for row in json.loads(run_cli("table", "lenet5", "--format", "json").stdout)["layers"]}
    for line in md[2:-3]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        row = raw[cells[0]]
        for cell, value in zip(cells[-3:], (row["memory_bytes"], row["params"], row["counted"])):
            assert (cell == "0") == (value == 0), (cells[0], cell, value)
    # c1: 6 filters of 5x5x1 + 6 biases = 156 params; 6x28x28 outputs x 25 MACs = 117,600 -> 118 k
    assert "| c1 | 1 | 32 | 6 | 5 | 1 | 0 | 6 | 28 | 18,816 | 156 | 118 |" in md
    assert "memory = output elements x 4 B (float32) in B," in md[-1]
    # the lecture networks keep the slides' KB, k and M (AlexNet's pooling rounds to 0 M there too)
    assert run_cli("table", "alexnet", "--format", "markdown").stdout.splitlines()[0].endswith(
        "| memory (KB) | params (k) | flop (M) |")
