"""Ways of writing and feeding a spec that users expect (issue 12, point 5): PyTorch's
`padding='same'`, a spec on standard input, hints that say what to write, tabs named as tabs."""

from __future__ import annotations

import pytest

from tests.conftest import analyse_text, run_cli

SAME = """\
name: same
input: [3, 32, 31]
layers:
  - conv: {out: 8, kernel: 4, pad: same}
  - conv: {out: 6, kernel: [3, 2], pad: same, dilation: [2, 3], groups: 2}
  - conv: {out: 4, kernel: 3, stride: 2, pad: valid}
"""


def test_pad_same_keeps_the_size_and_counts_like_any_conv():
    a = analyse_text(SAME)
    conv1, conv2, conv3 = a.rows
    # torch: padding='same' keeps H and W at stride 1 whatever the kernel (even ones too)
    assert conv1.output == (8, 32, 31) and conv2.output == (6, 32, 31)
    # 8 filters of 3x4x4 + 8 biases; each of the 8*32*31 outputs is 3*4*4 multiply-adds
    assert conv1.params == 8 * 3 * 4 * 4 + 8 and conv1.macs == (8 * 32 * 31) * (3 * 4 * 4)
    # groups 2: each of the 6 filters sees 8/2 = 4 channels of a 3x2 window
    assert conv2.params == 6 * 4 * 3 * 2 + 6 and conv2.macs == (6 * 32 * 31) * (4 * 3 * 2)
    # pad: valid is pad 0: (32 - 3) // 2 + 1 = 15, (31 - 3) // 2 + 1 = 15
    assert conv3.output == (4, 15, 15)


@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")
def test_pad_same_agrees_with_torch():
    torch = pytest.importorskip("torch")
    x = torch.zeros(1, 3, 32, 31)
    for stride_one in (torch.nn.Conv2d(3, 8, 4, padding="same"),
                       torch.nn.Conv2d(3, 6, (3, 2), padding="same", dilation=(2, 3))):
        assert tuple(stride_one(x).shape[1:]) == (stride_one.out_channels, 32, 31)
    result = run_cli("verify", "-", input=SAME)
    assert result.exit_code == 0, result.output
    assert "all 3 layers match" in result.output


def test_pad_same_with_a_stride_is_refused_at_the_pad():
    text = SAME.replace("pad: same}", "pad: same, stride: 2}", 1)
    result = run_cli("table", "-", input=text)
    assert result.exit_code == 2 and result.stdout == ""
    # line 4, column of the value `same`
    assert result.stderr.startswith("<stdin>:4:36: error: layer 'conv1' (conv): pad: same needs stride 1")
    assert "Traceback" not in result.stderr
    # a 3x3 kernel's same padding is 1 each side, and the hint says so
    text = SAME.replace("kernel: 4, pad: same}", "kernel: 3, pad: same, stride: 2}", 1)
    assert "write the padding out: pad: 1" in run_cli("table", "-", input=text).stderr


def test_a_misspelt_pad_word_suggests_the_right_one():
    result = run_cli("table", "-", input=SAME.replace("pad: valid", "pad: vaild"))
    assert result.exit_code == 2
    assert "found 'vaild'" in result.stderr and "did you mean 'valid'" in result.stderr


def test_spec_from_stdin_is_named_stdin_in_errors():
    ok = run_cli("table", "-", "--format", "json", input=SAME)
    assert ok.exit_code == 0 and '"name": "same"' in ok.stdout
    bad = run_cli("table", "-", input="input: [3, 8, 8]\nlayers:\n  - conv: {out: 4}\n")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("<stdin>:3:5: error:")
    empty = run_cli("table", "-", input="")
    assert empty.exit_code == 2 and empty.stderr.startswith("<stdin>:1:1: error: the file is empty")


def test_lrn_without_size_says_what_to_write():
    result = run_cli("table", "-", input="input: [3, 8, 8]\nlayers:\n  - lrn: {}\n")
    assert result.exit_code == 2
    assert "missing required argument 'size'" in result.stderr
    assert "hint: add size: 5" in result.stderr  # AlexNet's LRN, the only one in the lectures


def test_missing_argument_hint_quotes_a_sample_written_as_yaml():
    result = run_cli("table", "-", input="input: [3, 8, 8]\nlayers:\n  - conv: {kernel: 3}\n")
    assert result.exit_code == 2
    assert "missing required argument 'out'" in result.stderr
    assert "hint: add out, e.g. conv: {out: 8, kernel: 3, pad: 1}" in result.stderr


@pytest.mark.parametrize("text, line", [
    ("input: [3, 8, 8]\nlayers:\n\t- relu: {}\n", 3),
    ("input: [3, 8, 8]\nlayers:\n  - relu:\n\t  {}\n", 4),
])
def test_a_tab_in_the_indentation_is_named_as_a_tab(text, line):
    result = run_cli("table", "-", input=text)
    assert result.exit_code == 2 and result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first == (f"<stdin>:{line}:1: error: invalid YAML: a tab character in the indentation "
                     "(YAML indents with spaces only)")
    assert "replace the tab with spaces" in result.stderr
