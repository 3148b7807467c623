"""The command line as a user meets it: names and paths, formats, exit codes, errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cnncalc.sources import bundled_names
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parent.parent


def cnncalc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `python -m cnncalc` as a separate process, as a user would."""
    return subprocess.run([sys.executable, "-m", "cnncalc", *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO)})


def test_table_alexnet_prints_lecture_rows():
    result = run_cli("table", "alexnet")
    assert result.exit_code == 0
    for name in ("conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5", "flatten", "fc6", "fc7", "fc8"):
        assert name in result.stdout
    assert "flop = multiply-adds" in result.stdout  # the caption says which convention is in force


def test_json_has_documented_keys_and_exact_integers():
    data = json.loads(run_cli("table", "alexnet", "--format", "json").stdout)
    assert set(data) >= {"name", "input", "layers", "total"}
    assert data["input"] == [3, 227, 227]
    for layer in data["layers"]:
        assert set(layer) >= {"name", "type", "input", "output", "params", "macs", "memory_bytes"}
        for key in ("params", "macs", "memory_bytes"):
            assert type(layer[key]) is int
    conv1 = data["layers"][0]
    # 64*3*11*11 + 64 = 23,296 params; (64*56*56)*(3*11*11) = 72,855,552 MACs; 64*56*56*4 = 802,816 bytes
    assert (conv1["name"], conv1["params"], conv1["macs"], conv1["memory_bytes"]) == ("conv1", 23_296, 72_855_552, 802_816)
    assert data["total"]["params"] == sum(layer["params"] for layer in data["layers"])
    # every graph node is listed, the folded relu and dropout layers too (21 in alexnet.yaml)
    assert len(data["layers"]) == 21


def test_bare_name_path_and_missing_yaml_name(tmp_path):
    spec = tmp_path / "my" / "net.yaml"
    spec.parent.mkdir()
    spec.write_text("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 3}\n")
    by_path = cnncalc("table", "my/net.yaml", "--format", "json", cwd=tmp_path)
    assert by_path.returncode == 0, by_path.stderr
    assert json.loads(by_path.stdout)["layers"][0]["output"] == [4, 6, 6]
    # alexnet.yaml typed as on the slides, in a directory that has no such file
    typed = cnncalc("table", "alexnet.yaml", "--format", "json", cwd=tmp_path)
    assert typed.returncode == 0
    assert "bundled architecture 'alexnet'" in typed.stderr
    assert json.loads(typed.stdout)["name"] == "alexnet"


def test_unknown_name_suggests_a_bundled_one():
    result = cnncalc("table", "alexnt")
    assert result.returncode == 2
    assert "did you mean 'alexnet'" in result.stderr
    assert "Traceback" not in result.stderr


def test_show_prints_the_bundled_spec_verbatim():
    result = run_cli("show", "resnet50")
    assert result.exit_code == 0
    assert result.stdout == (REPO / "architectures" / "resnet50.yaml").read_text()


def test_list_shows_every_bundled_architecture():
    result = run_cli("list")
    assert result.exit_code == 0
    for name in bundled_names():
        assert name in result.stdout


def test_input_and_set_overrides():
    data = json.loads(run_cli("table", "alexnet", "--set", "classes=10", "--format", "json").stdout)
    assert data["layers"][-1]["output"] == [10]
    bad = run_cli("table", "alexnet", "--set", "clases=10")
    assert bad.exit_code == 2 and "did you mean 'classes'" in bad.stderr
    bad_input = run_cli("table", "alexnet", "--input", "3by32")
    assert bad_input.exit_code == 2 and "--input" in bad_input.stderr


def test_bad_spec_is_one_line_with_file_and_line(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("input: [3, 32, 32]\nlayers:\n  - conv: {out: 16, kernel: 3}\n  - convv: {out: 8, kernel: 3}\n")
    result = cnncalc("table", str(spec))
    assert result.returncode == 2
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{spec}:4:5: error: unknown layer type 'convv'")
    assert "did you mean 'conv'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("text", "where", "message"), [
    ("input: [3, 32, 32]\nlayers:\n  - conv: {out: 16, kernel: 3, strde: 2}\n", ":3:", "unknown argument 'strde'"),
    ("input: [3, 32, 32]\nlayers:\n  - conv: {out: 16}\n", ":3:", "missing required argument 'kernel'"),
    ("input: [3, 32, 32]\nlayers:\n  - conv: {out: true, kernel: 3}\n", ":3:", "'out' must be an integer"),
    ("input: [3, 4, 4]\nlayers:\n  - conv: {out: 8, kernel: 5}\n", ":3:", "larger than the padded input"),
    ("input: [3, 32, 32]\nlayers:\n  - conv: {out: 8, kernel: 3\n", ":3:11:", "invalid YAML"),
    ("input: [3, 32, 32]\nlayers:\n  - flatten\n  - conv: {out: 8, kernel: 3}\n", ":4:",
     "conv acts on a C x L, C x H x W or C x T x H x W feature map, got 3072"),
    ("", ":1:", "the file is empty"),
    ("- conv\n", ":1:", "a spec must be a mapping"),
    ("input: [3, 32, 32]\nlayers:\n  - add: {inputs: [input, nowhere]}\n", ":3:", "'nowhere', which is not an earlier layer"),
    ("input: !!python/object/apply:os.system ['echo hi']\nlayers: [relu]\n", ":1:", "tags such as !!python/object are refused"),
])
def test_bad_specs_exit_2_with_location(tmp_path, text, where, message):
    spec = tmp_path / "s.yaml"
    spec.write_text(text)
    result = run_cli("table", str(spec))
    assert result.exit_code == 2
    assert f"{spec}{where}" in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_and_directory(tmp_path):
    assert run_cli("table", str(tmp_path / "nope.yaml")).exit_code == 2
    result = run_cli("table", str(tmp_path))
    assert result.exit_code == 2 and "is a directory" in result.stderr


def test_table_never_imports_torch():
    code = ("import sys\nfrom cnncalc.cli import cli\n"
            "try:\n    cli(['table', 'resnet50', '--format', 'json'])\nexcept SystemExit:\n    pass\n"
            "cli_mods = [m for m in ('torch', 'matplotlib') if m in sys.modules]\n"
            "sys.stderr.write(repr(cli_mods))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.stderr.strip().endswith("[]"), result.stderr


def test_every_command_has_help_and_is_in_readme():
    from cnncalc.cli import cli

    readme = (REPO / "README.md").read_text()
    import click

    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command.help and "Example:" in command.help, name
        assert f"cnncalc {name}" in readme, f"README does not show `cnncalc {name}`"


def test_flag_choices_are_the_library_tables():
    # cli/common.py spells the choices out so that building a command imports nothing; they must
    # stay the library's own tables
    from cnncalc.cli import common
    from cnncalc.conventions import NAMES as PROFILE_NAMES
    from cnncalc.dtypes import NAMES as DTYPE_NAMES
    from cnncalc.engine import OPTIMIZER_STATES

    assert common.DTYPE_CHOICES == DTYPE_NAMES
    assert common.CONVENTIONS == PROFILE_NAMES
    assert common.OPTIMIZERS == tuple(OPTIMIZER_STATES)


@pytest.mark.parametrize(("command", "flag"), [("memory", "--params"), ("memory", "--flops"),
                                               ("memory", "--convention"), ("check", "--batch")])
def test_commands_take_only_the_flags_they_use(command, flag):
    result = run_cli(command, "alexnet", flag, "weights")
    assert result.exit_code == 2 and f"No such option '{flag}'" in result.stderr


def test_flops_flops_is_the_torch_profile():
    import json

    by_flag = json.loads(run_cli("table", "resnet18", "--format", "json", "--flops", "flops").stdout)
    by_name = json.loads(run_cli("table", "resnet18", "--format", "json", "--convention", "torch").stdout)
    assert by_flag == by_name and by_flag["convention"]["profile"] == "torch"
    # FlopCounterMode counts no pooling: resnet18's maxpool row is 0 (it was 2 x its window reads)
    maxpool = next(layer for layer in by_flag["layers"] if layer["type"] == "maxpool")
    assert maxpool["counted"] == maxpool["flops"] == 0 and maxpool["macs"] == 64 * 56 * 56 * 9
    clash = run_cli("table", "resnet18", "--flops", "flops", "--convention", "fvcore")
    assert clash.exit_code == 2 and "--flops flops is --convention torch" in clash.stderr


@pytest.mark.parametrize("convention", ["lecture", "torch", "fvcore", "ptflops", "torchinfo", "thop"])
def test_convention_reaches_every_format_and_the_caption(convention):
    import json

    from cnncalc.conventions import get_profile

    data = json.loads(run_cli("table", "resnet18", "--format", "json", "--convention", convention).stdout)
    assert data["convention"]["profile"] == convention
    assert data["total"]["counted"] == sum(layer["counted"] for layer in data["layers"])
    md = run_cli("table", "resnet18", "--format", "markdown", "--convention", convention).stdout
    caption = md.strip().splitlines()[-1].split(" · ")[0]
    counted = sorted({layer["type"] for layer in data["layers"] if layer["counted"]})
    free = sorted({layer["type"] for layer in data["layers"]} - set(counted))
    # the caption names exactly what this profile counts in this network, and what it does not
    match = re.search(r": ([a-z_0-9, ]+?)(?:; not counted: ([a-z_0-9, ]+))?$", caption)
    assert match, caption
    assert sorted(match[1].split(", ")) == counted
    assert sorted(match[2].split(", ") if match[2] else []) == free
    assert get_profile(convention).unit_label in md.splitlines()[0]
    for command in (["explain", "resnet18", "fc"], ["compare", "resnet18", "--format", "json"]):
        assert run_cli(*command, "--convention", convention).exit_code == 0
