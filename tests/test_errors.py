"""Bad input: one clear error per problem, naming file:line:col, exit status 2, never a traceback.

Each tests/bad_specs/*.yaml starts with comments that say what the CLI must answer:
`# error:` (a fragment of the first line), `# hint:` (optional) and `# line-has:` (text that the
line the error points at must contain, so the location is checked, not just present).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli

BAD = Path(__file__).parent / "bad_specs"
LOCATION = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error: (?P<message>.*)$")


def expectations(path: Path) -> dict[str, str]:
    head = {}
    for line in path.read_bytes().decode("latin-1").splitlines():
        match = re.match(r"# (error|hint|line-has): (.*)", line)
        if match:
            head[match[1]] = match[2]
    return head


@pytest.mark.parametrize("path", sorted(BAD.glob("*.yaml")), ids=lambda p: p.stem)
def test_bad_spec(path):
    expect = expectations(path)
    start = time.perf_counter()
    result = run_cli("table", str(path))
    elapsed = time.perf_counter() - start
    assert result.exit_code == 2
    assert result.stdout == ""  # nothing half-written
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    match = LOCATION.match(first)
    assert match, first
    assert match["file"] == str(path)
    assert expect["error"] in first, first
    if "hint" in expect:
        hint = [line for line in result.stderr.splitlines() if line.startswith("  hint: ")]
        assert hint and expect["hint"] in hint[0], result.stderr
    line = path.read_bytes().decode("utf-8", "replace").splitlines()[int(match["line"]) - 1]
    assert expect["line-has"] in line, (first, line)
    assert elapsed < 60  # a limit stops alias bombs and huge repeats: they must not hang (generous bound)


def test_several_problems_in_one_file_are_all_reported(tmp_path):
    spec = tmp_path / "three.yaml"
    spec.write_text("input: [3, 32, 32]\nlayers:\n  - conv: {out: 16, kernel: 3, strde: 2}\n  - relu\n"
                    "  - convv: {out: 8}\n  - maxpool: {kernel: 2, stride: true}\n")
    result = run_cli("check", str(spec))
    assert result.exit_code == 2
    located = [line for line in result.stderr.splitlines() if LOCATION.match(line)]
    assert [line.split(": error:")[0] for line in located] == [f"{spec}:3:32", f"{spec}:5:5", f"{spec}:6:34"]
    assert "3 errors" in result.stderr


def test_error_shows_the_line_with_a_caret(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("input: [3, 32, 32]\nlayers:\n  - conv: {out: 16, kernel: 3, strde: 2}\n")
    lines = run_cli("table", str(spec)).stderr.splitlines()
    assert lines[1] == "    3 |   - conv: {out: 16, kernel: 3, strde: 2}"
    assert lines[2].index("^") == lines[1].index("strde")


def test_a_mistake_in_a_block_is_reported_once_with_the_instance_name(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("input: [8, 8, 8]\nblocks:\n  unit:\n    layers:\n      - conv: {out: 8, kernal: 3}\n"
                    "layers:\n  - unit: {name: stage, repeat: 3}\n")
    result = run_cli("table", str(spec))
    assert result.exit_code == 2
    assert result.stderr.count("error:") == 1
    assert "layer 'stage.0.conv1' (conv): unknown argument 'kernal'" in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "classes=[1,"], "--set 'classes=[1,': cannot read the value"),
    (["--set", "classes"], "is not key=value"),
    (["--set", "clases=10"], "the spec has no argument 'clases'"),
    (["--input", "3x0x32"], "--input '3x0x32' is not CxHxW of positive integers"),
    (["--input", "3xAx32"], "--input '3xAx32' is not CxHxW"),
    (["--input", "3x0x32"], "of positive integers"),
    (["--limit", "layer=5"], "no limit named 'layer'"),
    (["--limit", "layers=-5"], "must be a positive integer"),
])
def test_bad_overrides_exit_2(args, message):
    result = run_cli("table", "alexnet", *args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_missing_file_and_directory(tmp_path):
    path = tmp_path / "nope.yaml"
    missing = run_cli("table", str(path))
    assert missing.exit_code == 2 and missing.stderr.startswith(f"error: no such file: '{path}'")
    directory = run_cli("table", str(tmp_path))
    assert directory.exit_code == 2 and "is a directory" in directory.stderr


def test_limits_are_named_and_can_be_raised(tmp_path):
    spec = tmp_path / "deep.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers:\n  - relu: {repeat: 20}\n")
    tight = run_cli("table", str(spec), "--limit", "layers=10")
    assert tight.exit_code == 2
    # foreseen after the first relu: the input + 20 relus = 21 layers, before building them
    assert "expands to about 21 layers (check `repeat:` counts) (limit layers=10)" in tight.stderr
    assert "--limit layers=N" in tight.stderr
    assert run_cli("table", str(spec), "--limit", "layers=100").exit_code == 0
    assert run_cli("table", str(spec), "--limit", "repeat=5").exit_code == 2
    big = tmp_path / "big.yaml"
    big.write_text("input: [3, 8, 8]\nlayers: [relu]\n" + "#" * 2000 + "\n")
    result = run_cli("table", str(big), "--limit", "file_bytes=1000")
    assert result.exit_code == 2 and "(limit file_bytes=1,000)" in result.stderr


def test_recursive_alias_is_stopped(tmp_path):
    spec = tmp_path / "loop.yaml"
    spec.write_text("input: [3, 8, 8]\nloop: &a [*a]\nlayers: [relu]\n")
    result = run_cli("table", str(spec))
    assert result.exit_code == 2 and "Traceback" not in result.stderr


def test_numbers_stay_exact_beyond_64_bits(tmp_path):
    # 2**20 input channels at 1024x1024, 2**20 filters of 3x3: 2**20 * 1024*1024 * 2**20 * 9 multiply-adds
    spec = tmp_path / "huge.yaml"
    spec.write_text("input: [1048576, 1024, 1024]\nlayers:\n  - conv: {out: 1048576, kernel: 3, pad: 1}\n")
    data = json.loads(run_cli("table", str(spec), "--format", "json", "--batch", "1000").stdout)
    macs = 1000 * 1048576 * 1024 * 1024 * 1048576 * 9
    assert macs > 2**63
    assert data["layers"][0]["macs"] == macs == 10_376_293_541_461_622_784_000
    assert data["layers"][0]["params"] == 1048576 * 1048576 * 9 + 1048576
    assert data["total"]["memory_bytes"] == 1000 * 1048576 * 1024 * 1024 * 4


def test_check_accepts_good_specs_and_reports_each_bad_one(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 8, 8]\nlayers: [convv]\n")
    result = run_cli("check", "alexnet", str(bad), "resnet50")
    assert result.exit_code == 2
    assert "ok: alexnet: 21 layers, 61,100,840 params" in result.stdout
    assert "ok: resnet50" in result.stdout
    assert f"{bad}:2:10: error: unknown layer type 'convv'" in result.stderr
    assert "1 of 3 specs have errors" in result.stderr
    assert run_cli("check", "alexnet", "vgg16").exit_code == 0


def test_docs_errors_page_shows_every_bad_spec():
    page = (Path(__file__).resolve().parent.parent / "docs" / "errors.md").read_text()
    for path in sorted(BAD.glob("*.yaml")):
        assert f"### {path.stem.replace('_', ' ')}" in page, f"rerun scripts/make_errors_doc.py ({path.stem})"
        assert expectations(path)["error"] in page, path.stem
