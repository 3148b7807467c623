"""Bad input, round two (issue 13): flags, terminal output, files written, exit codes, verify's
memory guard, and rules that cost the same for any size. The spec-file classes are cases in
tests/bad_specs (test_errors.py runs them); these need a command line, a terminal or a disk.

The CLI runs in-process through cnncalc.cli.run, the console entry point's own handling (one
line for click's usage errors, 130 for an interrupt, a full disk named), except where a real
process is the point (a signal, /dev/full).
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnncalc.cli import run
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parent.parent


def cli(capsys, *args: str) -> tuple[int, str, str]:
    status = run(list(args))
    out = capsys.readouterr()
    return status, out.out, out.err


def one_error(status: int, out: str, err: str, fragment: str) -> None:
    """Exit 2, nothing on stdout, one `error:` line (and at most a hint), no traceback."""
    assert status == 2, err
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[0].startswith("error: ") and fragment in lines[0], err
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("  hint: ")), err


# ---- flags ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "fragment"), [
    (["--input", "1x٣٢x32"], "--input '1x٣٢x32' is not CxHxW"),  # Arabic-Indic digits: int() takes them
    (["--input", "1x3_2x32"], "--input '1x3_2x32' is not CxHxW"),  # int() takes underscores too
    (["--input", "3x" + "9" * 200 + "x9"], "a size of more than 100 digits"),
    (["--limit", "layers=٣"], "the value must be a positive integer (ASCII digits"),
    (["--limit", "layers=" + "9" * 5000], "the value must be a positive integer"),
    (["--set", "classes=!!int abc"], "'abc' is not an integer"),
    (["--set", "classes=!!python/object/apply:os.system ['echo no']"], "is not allowed"),
    (["--set", "classes=" + "9" * 5000], "an integer of 5,000 digits (at most 100)"),
    (["--batch", "0"], "Invalid value for '--batch'"),
    (["--batch", "1" + "0" * 400], "Invalid value for '--batch'"),
    (["--no-such-flag"], "No such option"),
    # an override of another kind than the spec's default (lenet5's classes: 10) names the flag, not
    # the line of the bundled file that uses it
    (["--set", "classes=1e400"], "--set classes: '1e400' is text, but the spec's default, 10, is an integer"),
    (["--set", "classes=true"], "--set classes: true is true or false, but the spec's default, 10, is an integer"),
])
def test_bad_flags_get_one_line(capsys, args, fragment):
    one_error(*cli(capsys, "table", "lenet5", *args), fragment)


def test_a_long_flag_value_is_quoted_shortened(capsys):
    status, out, err = cli(capsys, "table", "lenet5", "--limit", "layers=" + "9" * 5000)
    assert status == 2 and len(err) < 400 and "characters)" in err


def test_gpu_memory_zero_is_refused_before_any_table(capsys):
    one_error(*cli(capsys, "memory", "lenet5", "--gpu-memory", "0GB"), "--gpu-memory '0GB' is no memory at all")
    one_error(*cli(capsys, "memory", "lenet5", "--gpu-memory", "٢٤GB"), "is not a size")


# ---- exact integers in every unit -------------------------------------------------------------

BIG = 10**99
HUGE_SPEC = f"input: [3, {BIG}, {BIG}]\nlayers:\n  - conv: {{name: c, out: {BIG}, kernel: 1}}\n  - relu\n"


@pytest.fixture()
def huge(tmp_path) -> str:
    path = tmp_path / "huge.yaml"
    path.write_text(HUGE_SPEC)
    return str(path)


def test_numbers_past_1e308_print_exactly_everywhere(capsys, huge):
    batch = 10**11
    # conv 1x1: 10**99 filters of 3 weights + 10**99 biases; MACs = (10**99)**3 * 3 per sample
    params, macs = BIG * 3 + BIG, 3 * BIG**3 * batch
    out_bytes = BIG**3 * 4 * batch
    status, out, _ = cli(capsys, "table", huge, "--batch", str(batch), "--format", "json")
    data = json.loads(out)
    assert status == 0 and data["total"]["params"] == params and data["total"]["macs"] == macs
    status, out, _ = cli(capsys, "explain", huge, "c", "--batch", str(batch))
    # the KB figure: out_bytes / 1024 to two decimals, written out exactly (10**n / 1024 is exact in 10 decimals)
    kb = out_bytes // 1024
    assert status == 0 and f"{kb:,}.00" in out
    for args in (["memory", huge, "--batch", str(batch), "--gpu-memory", "24GB"],
                 ["compare", huge, "--batch", str(batch)],
                 ["table", huge, "--batch", str(batch), "--units", "auto"],
                 ["table", huge, "--units", "auto", "--format", "markdown"],
                 ["table", huge, "--rf"]):
        status, out, err = cli(capsys, *args)
        assert status == 0, (args, err)
        assert not re.search(r"\d[eE]\+\d|\binf\b|\bnan\b", out), args  # no float got in
    status, out, _ = cli(capsys, "memory", huge, "--batch", str(batch), "--format", "json")
    # parameters are float32: 4 bytes each, and as many gradient bytes
    assert json.loads(out)["parts"]["parameters"] == 4 * params


def test_auto_units_are_exact_at_any_size():
    from cnncalc.report.view import fmt_auto

    assert fmt_auto(802_816, 1024, ("B", "KB", "MB")) == "784 KB"  # 802816 / 1024 = 784 exactly
    assert fmt_auto(1536, 1024, ("B", "KB")) == "1.50 KB"
    # past the last suffix the digits grow, exactly: 10**400 B / 1024**4 TB
    text = fmt_auto(10**400, 1024, ("B", "KB", "MB", "GB", "TB"))
    assert text.endswith(" TB") and text[:-3].replace(",", "").split(".")[0] == str(10**400 // 1024**4)


def test_a_chart_of_numbers_past_1e300_is_refused_before_the_table(capsys, huge, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "c.png"
    one_error(*cli(capsys, "compare", huge, "--batch", str(10**11), "--plot", str(target), "--y", "memory"),
              "which no chart axis can hold")
    one_error(*cli(capsys, "plot", huge, "--batch", str(10**11), "-o", str(target)), "which no chart axis can hold")
    assert not target.exists()


# ---- names are text, never markup or terminal control --------------------------------------------

MARKUP = """\
name: "[/bold] :smile: [link=https://example]net"
note: "[red]careful"
input: [3, 8, 8]
layers:
  - conv: {name: "[/bold]\\x1b[31mred", out: 4, kernel: 3}
  - relu: {name: "[link=https://example]click"}
"""


def test_names_are_shown_as_typed_and_control_characters_escaped(tmp_path):
    spec = tmp_path / "m.yaml"
    spec.write_text(MARKUP)
    for args in (["table", str(spec), "--all"], ["compare", str(spec)], ["memory", str(spec)],
                 ["table", str(spec), "--format", "markdown"], ["table", str(spec), "--format", "csv"],
                 ["explain", str(spec)]):
        result = run_cli(*args, env={"COLUMNS": "200"})
        assert result.exit_code == 0, (args, result.stderr)
        assert "\x1b" not in result.stdout, args  # no escape sequence reaches the terminal
        assert "\x1b]8;" not in result.stdout  # no hyperlink
    table = run_cli("table", str(spec), "--all", env={"COLUMNS": "200"}).stdout
    assert "[/bold]\\x1b[31mred" in table and "[link=https://example]click" in table
    assert "[/bold] :smile: [link=https://example]net" in table and "[red]careful" in table


def test_names_with_a_dollar_draw(tmp_path):
    pytest.importorskip("matplotlib")
    spec = tmp_path / "d.yaml"
    spec.write_text('name: "a$b"\ninput: [3, 8, 8]\nlayers:\n  - conv: {name: "x\\x1bA", out: 4, kernel: 3}\n')
    assert run_cli("plot", str(spec), "-o", str(tmp_path / "d.png")).exit_code == 0


# ---- files: whole or not at all ---------------------------------------------------------------

def test_a_failed_write_leaves_the_old_file_and_no_partial_one(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    target = tmp_path / "vgg.png"
    target.write_bytes(b"the old plot")

    def full_disk(self, fh, **kwargs):
        fh.write(b"\x89PNG half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full_disk)
    result = run_cli("plot", "lenet5", "-o", str(target))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip() == f"error: cannot write '{target}': No space left on device"
    assert target.read_bytes() == b"the old plot"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vgg.png"]  # no .part left behind


@pytest.mark.parametrize("command", ["plot", "compare"])
def test_a_folder_or_a_missing_folder_is_refused_before_any_work(tmp_path, command):
    folder = tmp_path / "out.png"
    folder.mkdir()
    args = ["plot", "lenet5", "-o"] if command == "plot" else ["compare", "lenet5", "alexnet", "--plot"]
    result = run_cli(*args, str(folder))
    assert result.exit_code == 2 and result.stdout == ""
    assert "it is a folder; name a file in it" in result.stderr
    result = run_cli(*args, str(tmp_path / "nowhere" / "x.png"))
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_a_written_plot_is_complete_and_readable(tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "l.png"
    assert run_cli("plot", "lenet5", "-o", str(target)).exit_code == 0
    assert target.read_bytes().startswith(b"\x89PNG") and oct(target.stat().st_mode & 0o777) != "0o600"


def process(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnncalc", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, **kw)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_stdout_is_one_sentence():
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "cnncalc", "table", "alexnet"], stdout=full,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: cannot write the output: No space left on device"


def test_a_closed_pipe_is_not_an_error():
    proc = subprocess.Popen([sys.executable, "-m", "cnncalc", "table", "resnet152", "--all"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "120"})
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(100)
    proc.stdout.close()  # `| head -c 100`
    proc.wait(timeout=60)
    assert b"Traceback" not in proc.stderr.read()
    assert proc.returncode == 0


# ---- exit codes ---------------------------------------------------------------------------------

def test_exit_codes(capsys, tmp_path):
    assert cli(capsys, "table", "lenet5")[0] == 0
    assert cli(capsys, "--version")[0] == 0 and cli(capsys, "table", "--help")[0] == 0
    assert cli(capsys, "table", "nosuchnet")[0] == 2
    assert cli(capsys, "table")[0] == 2  # a missing argument is usage


def test_interrupt_exits_130(tmp_path):
    spec = tmp_path / "slow.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers:\n  - relu: {repeat: 900000}\n")
    proc = subprocess.Popen([sys.executable, "-m", "cnncalc", "table", str(spec), "--limit", "repeat=1000000",
                             "--format", "json"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    time.sleep(1.0)  # inside the expansion (it takes several seconds)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip() == "interrupted"


# ---- verify: memory first ---------------------------------------------------------------------

def test_verify_refuses_a_run_bigger_than_the_free_memory(monkeypatch):
    pytest.importorskip("torch")
    from cnncalc.torchcheck import run as torchrun

    monkeypatch.setattr(torchrun, "free_bytes", lambda torch, dev: 10 * 2**20)  # 10 MiB free
    result = run_cli("verify", "vgg16")  # 138,357,544 float32 parameters alone are 528 MiB
    assert result.exit_code == 2 and result.stdout == ""
    assert "and 0.0 GiB is free" in result.stderr and "--no-memory-check" in result.stderr
    # what it refused is the estimate: parameters + input + every layer's output
    import cnncalc

    analysis = cnncalc.analyze("vgg16")
    assert torchrun.needed_bytes(analysis) > 138_357_544 * 4 + 3 * 224 * 224 * 4
    assert run_cli("verify", "lenet5", "--device", "meta").exit_code == 0  # meta allocates nothing


def test_verify_refuses_a_tensor_torch_cannot_index():
    pytest.importorskip("torch")
    result = run_cli("verify", "lenet5", "--device", "meta", "--batch", str(10**17))
    # the input alone is 10**17 x 1 x 32 x 32 = 1.024e20 elements > 2**63 - 1 = 9.22e18
    assert result.exit_code == 2 and "more than torch can index (2**63 - 1)" in result.stderr


# ---- rules that cost the same for any size ------------------------------------------------------

def test_adaptive_pool_to_a_huge_size_is_constant_time():
    from tests.conftest import analyse_text

    a = analyse_text("input: [3, 8, 8]\nlayers:\n  - adaptive_avgpool: {out: 100000000}\n")
    # window lengths along an axis sum to size + out - gcd(size, out) = 8 + 10**8 - 8
    assert a.rows[0].output == (3, 10**8, 10**8) and a.rows[0].macs == 3 * (10**8) ** 2


def test_thousands_of_errors_are_capped_and_quick(tmp_path):
    spec = tmp_path / "dups.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers:\n" + "  - relu: {name: a}\n" * 3001)
    result = run_cli("table", str(spec))
    assert result.exit_code == 2 and result.stdout == ""
    # 3,000 duplicates of 'a': the first 50 shown, then a count
    assert result.stderr.count("duplicate layer name 'a'") == 50
    assert "... and 2,950 more" in result.stderr and result.stderr.rstrip().endswith("3,000 errors")


def test_a_long_name_is_refused_not_echoed(tmp_path):
    spec = tmp_path / "long.yaml"
    name = "x" * 200_000
    spec.write_text(f"input: [3, 8, 8]\nlayers:\n  - relu: {{name: &a {name}}}\n" + "  - relu: {name: *a}\n" * 100)
    result = run_cli("table", str(spec))
    assert result.exit_code == 2 and "a layer name of 200,000 characters (at most 200)" in result.stderr
    assert len(result.stderr) < 100 * 1000  # each message quotes a window of the line, not the name


# ---- round three (issue 31): flags and files ---------------------------------------------------

@pytest.mark.parametrize(("size", "expected"), [
    ("1024B", 1024),  # B alone is bytes (it was 1,024 GiB)
    ("1 KB", 2**10), ("16384MB", 16384 * 2**20), ("2GB", 2 * 2**30), ("24 GiB", 24 * 2**30),
    ("1.5 GiB", 3 * 2**29), ("1.5TiB", 3 * 2**39), ("80G", 80 * 2**30),
])
def test_a_size_says_its_scale(size, expected):
    from cnncalc.results import parse_size

    assert parse_size(size) == expected


@pytest.mark.parametrize(("size", "fragment"), [
    ("24", "--gpu-memory '24' has no unit"),  # bytes or GiB? say which
    ("24iB", "has no unit"),
    ("1.5B", "is not a whole number of bytes"),
    ("0.0000001KB", "is not a whole number of bytes"),
])
def test_a_size_without_its_scale_is_one_error(capsys, size, fragment):
    one_error(*cli(capsys, "memory", "lenet5", "--gpu-memory", size), fragment)


def test_an_argument_that_is_not_utf8_is_one_error(capsys):
    # Python keeps argv's byte 0xff as the lone surrogate U+DCFF (surrogateescape)
    one_error(*cli(capsys, "table", "lenet5", "--set", "classes=\udcff"),
              "the argument 'classes=\\xff' is not UTF-8 text")
    one_error(*cli(capsys, "table", "\udcff\x1b[31m.yaml"), "the argument '\\xff\\x1b[31m.yaml' is not UTF-8")


def test_a_spec_text_that_is_not_utf8_is_a_spec_error():
    import cnncalc
    from cnncalc.errors import SpecError
    from cnncalc.sources import Source

    with pytest.raises(SpecError) as info:
        cnncalc.analyze(Source('input: [3, 8, 8]\nlayers:\n  - relu: {name: "a\udcffb"}\n', "x.yaml"))
    assert str(info.value).startswith("x.yaml:3:20: error: the text is not UTF-8: the byte 0xff is not a character")


@pytest.mark.parametrize("kind", ["device", "fifo", "socket"])
def test_output_is_written_only_to_a_regular_file(tmp_path, kind):
    import socket

    if kind == "device":
        target, what = "/dev/null", "it is a character device, not a regular file"
    elif kind == "fifo":
        target, what = str(tmp_path / "pipe.html"), "it is a named pipe (FIFO), not a regular file"
        os.mkfifo(target)
    else:
        target, what = str(tmp_path / "s.html"), "it is a socket, not a regular file"
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(target)
    result = run_cli("graph", "lenet5", "--format", "html", "-o", target)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip() == f"error: cannot write '{target}': {what}; name a file"
    if kind == "device":
        assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_output_through_a_symlink_replaces_the_file_it_points_to(tmp_path):
    real, link = tmp_path / "real.html", tmp_path / "link.html"
    real.write_text("old")
    real.chmod(0o640)
    link.symlink_to(real)
    assert run_cli("graph", "lenet5", "-o", str(link)).exit_code == 0
    assert link.is_symlink() and os.readlink(link) == str(real)  # the link stays a link
    assert real.read_text().startswith("<!DOCTYPE html>") and oct(real.stat().st_mode & 0o777) == "0o640"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.html", "real.html"]


def test_check_analyses_every_variant_and_names_the_one_at_fault(tmp_path):
    spec = tmp_path / "family.yaml"
    spec.write_text("input: [3, 32, 32]\nargs: {w: 8}\nvariants:\n  small: {args: {w: 4}}\n"
                    "  tiny: {input: [3, 1, 1]}\nlayers:\n  - conv: {out: $w, kernel: 3}\n")
    assert run_cli("table", str(spec)).exit_code == 0  # the default fits
    result = run_cli("check", str(spec))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (f"{spec}:7:5: error: variant 'tiny': layer 'conv1' (conv): kernel 3 is "
                                             "larger than the padded input 1+2*0=1 along h")
    spec.write_text(spec.read_text().replace("[3, 1, 1]", "[3, 16, 16]"))
    result = run_cli("check", str(spec))
    assert result.exit_code == 0
    # conv 3x3 from 3 to w channels: params 27w + w; small (w=4) on 32x32: 30*30*4 outputs x 27 MACs
    assert f"ok: {spec} (variant small): 1 layers, 112 params, 97,200 multiply-adds, output 4x30x30" in result.stdout
    # tiny: w=8 on 16x16: 14*14*8 outputs x 27 MACs
    assert f"ok: {spec} (variant tiny): 1 layers, 224 params, 42,336 multiply-adds, output 8x14x14" in result.stdout


def test_a_checkpoint_named_twice_is_one_error(capsys):
    one_error(*cli(capsys, "memory", "alexnet", "--checkpoint", "conv2,conv2"), "--checkpoint 'conv2' is named twice")
