"""Regenerate docs/errors.md from tests/bad_specs/*.yaml and what `cnncalc table` prints for each.

Run from the repository root: python scripts/make_errors_doc.py > docs/errors.md
(tests/test_errors.py checks the messages themselves; this only keeps the page in step.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BAD = Path(__file__).resolve().parent.parent / "tests" / "bad_specs"
GROUPS = [
    ("Layer types and arguments", ["unknown_type", "unknown_block", "unknown_argument", "unknown_block_argument",
                                   "missing_argument", "missing_block_argument"]),
    ("Wrong types and values", ["string_for_int", "float_for_int", "bool_for_int", "list_for_int", "zero_channels",
                                "negative_kernel", "zero_stride", "negative_pad"]),
    ("Shapes that do not fit", ["pool_pad_too_large", "output_size_zero", "kernel_larger_than_input",
                                "groups_do_not_divide", "conv_after_flatten", "linear_wrong_size", "add_mismatch",
                                "concat_mismatch"]),
    ("References, names and blocks", ["unknown_reference", "later_reference", "self_reference", "duplicate_names",
                                      "layer_named_input", "inputs_empty",
                                      "block_uses_itself", "blocks_use_each_other", "unknown_dollar_argument",
                                      "bad_expression", "block_instance_named_like_a_layer", "block_named_like_an_op",
                                      "block_with_empty_inputs", "layer_named_like_a_block_instance",
                                      "residual_shape_changes", "variant_sets_unknown_arg"]),
    ("The file itself", ["unknown_top_key", "missing_input", "bad_input", "empty_file", "not_a_mapping",
                         "invalid_yaml", "duplicate_key", "two_layers_in_one_item", "not_utf8"]),
    ("Values YAML reads in surprising ways", ["tag_int_not_a_number", "tag_int_empty", "tag_float_not_a_number",
                                               "tag_bool_maybe", "tag_timestamp", "tag_timestamp_date", "tag_binary",
                                               "octal_leading_zero", "sexagesimal", "int_too_long", "float_too_large"]),
    ("Expressions", ["unary_minus_chain", "long_sum", "squared_through_blocks"]),
    ("What reaches the terminal", ["control_characters_in_name"]),
    ("Safety: no code from YAML, and limits", ["python_tag", "python_scalar_tag", "alias_bomb", "huge_repeat", "nested_repeats",
                                               "every_layer_left_out", "unknown_op_no_inputs"]),
]

HEAD = """# Errors

Every mistake in a spec or on the command line is reported as

    FILE:LINE:COL: error: WHAT (and in which layer)
     LINE | the offending line
          |     ^
      hint: what to do about it

on stderr, with exit status 2 and nothing on stdout. Independent problems of one file (unknown
types or arguments, wrong values, bad references) are all reported in one run, like a compiler;
shape inference stops at the first shape that does not fit. `cnncalc check SPEC...` validates
without printing a table. Exit status 1 is kept for `cnncalc verify` finding a mismatch; a Python
traceback is always a bug (please report it; `--traceback` shows it).

Each example below is a file in `tests/bad_specs/` (its first comment lines tell the test what
to expect), followed by what `cnncalc table spec.yaml` prints for it.
"""

TAIL = """## Command line

| mistake | message |
| --- | --- |
| a name that is neither a file nor bundled | `error: no such file or bundled architecture: 'alexnt'` + `hint: did you mean 'alexnet'?` |
| a missing path (`my/net.yaml`, `net.yaml`) | `error: no such file: 'my/net.yaml'` + `hint: the folder 'my' does not exist` (no bundled name suggested) |
| `cnncalc tabel` | `error: no such command 'tabel'; did you mean 'table'?` |
| an argument that is not UTF-8 (`--set $'classes=\xff'`) | `error: the argument 'classes=\xff' is not UTF-8 text` |
| a directory | `error: 'specs/' is a directory, not a spec file` |
| `--set clases=10` | `error: --set clases: the spec has no argument 'clases'` + `hint: did you mean 'classes'?` |
| `--set classes=[1,` | `error: --set 'classes=[1,': cannot read the value: invalid YAML: ...` |
| `--set classes='!!int abc'`, a 5,000-digit value | read by the spec loader: `'abc' is not an integer`, `an integer of 5,000 digits (at most 100)` |
| `--input 3x32` | `error: --input '3x32' is not CxHxW of positive integers` |
| `--input 1x٣٢x32`, `--input 3x3_2x32` | `error: --input '1x٣٢x32' is not CxHxW` (ASCII digits only) |
| `table resnet50 --input 32x32` | `error: --input 32x32 has 2 axes, but 'resnet50' is written for 3 (its `input:` is [3, 224, 224])` + `hint: give all 3: e.g. --input 3x32x32` |
| `--set classes=1e400` (the default is an integer) | `error: --set classes: '1e400' is text, but the spec's default, 1000, is an integer` |
| `--limit layer=5` | `error: --limit 'layer=5': no limit named 'layer'` + `hint: did you mean 'layers'?` |
| `--limit layers=٣`, a 5,000-digit value | `error: --limit 'layers=٣': the value must be a positive integer (ASCII digits, at most 18)` |
| `--batch 0`, `--batch` past 10**18, an unknown flag | click's message in one line: `error: Invalid value for '--batch': ...` + `hint: cnncalc table --help lists the options` |
| `memory --gpu-memory 0GB` | `error: --gpu-memory '0GB' is no memory at all` |
| `--gpu-memory 24` (bytes or GiB?), `--gpu-memory 1.5B` | `error: --gpu-memory '24' has no unit` + `hint: say which: '24GB' (24 GiB) or '24B' (24 bytes)`; `... is not a whole number of bytes`. A size says its unit: `1024B` is 1,024 bytes; K/M/G/T with or without an i are powers of 1024 (GPU makers' "24 GB" is 24 GiB) |
| `memory --checkpoint conv2,conv2` | `error: --checkpoint 'conv2' is named twice` |
| `plot -o somefolder/`, a missing folder | `error: cannot write 'somefolder': it is a folder; name a file in it` |
| `-o /dev/null`, a named pipe, a socket | `error: cannot write '/dev/null': it is a character device, not a regular file; name a file`. cnncalc writes regular files only (renaming over a device as root would replace it). A symbolic link is followed: the file it points to is replaced and the link stays, as a shell's `>` does |
| a full disk, no permission | `error: cannot write 'x.png': No space left on device`; the old file is left as it was |
| `table ... > /dev/full` | `error: cannot write the output: No space left on device` |
| `verify` of a run bigger than the free memory | `error: verify would need about 10,739.3 GiB on cpu (...), and 22.8 GiB is free` + `hint: --device meta checks shapes and FLOPs without memory; --no-memory-check runs it anyway` |
| `verify` of a tensor past 2**63 - 1 elements | `error: layer 'input' would be a tensor of ... elements (batch ...): more than torch can index (2**63 - 1)` |
| `verify --device cuda` without a GPU | `error: CUDA was requested but torch.cuda.is_available() is False; ...` |
| `verify` without PyTorch | `error: verify needs PyTorch` + `hint: pip install torch --index-url https://download.pytorch.org/whl/cpu (the CPU build, about 200 MB), or pip install 'cnncalc[torch]' ...` |

Names, descriptions and notes are the spec's text, never markup: `[/bold]` prints as typed and
`[link=...]` makes no hyperlink, in every table and chart; control characters (an escape
sequence in a name) are shown escaped, `\x1b`, in every message and table. Messages quote at
most 400 characters of a value (a 200 kB name is shortened, saying by how much), a file's
errors stop at 50 (`... and 2,951 more`, then the count), and a layer name is at most 200
characters. Every file cnncalc writes (plots, charts) is written beside its target and renamed
into place when complete, so a failure leaves no partial file and any old one untouched.

## Exit status

| status | meaning |
| --- | --- |
| 0 | success |
| 1 | `cnncalc verify` found a difference between the analysis and PyTorch |
| 2 | a bad spec, a bad flag or usage, or an output that cannot be written |
| 130 | interrupted (Ctrl-C) |

## Fuzzing

`tests/fuzz.py` hunts for inputs that escape these rules. It runs in-process through the real
command line (`cnncalc.cli.run`), about 3 ms a case, on specs generated from the format's own
grammar (the layer types and each one's arguments are read from the op registry, with blocks,
residual and parallel items, repeats, names, `inputs:`, `$args` expressions and variants, at
three levels of noise from valid to edge values), on bundled specs mutated (a token replaced by
an edge value such as `010`, `2:00`, `1e400`, a 5,000-digit integer or a tag; lines deleted,
doubled, swapped or re-indented; tabs, anchors, aliases, control characters inserted; the file
cut short), and on random text and bytes, as `table` (json, or rich at 40 to 200 columns),
`check`, `explain`, `memory` or `compare`, sometimes with fuzzed `--input`, `--set`, `--batch`,
`--limit`, `--units`, `--layout`, `--all`, `--depth`. A case passes when it exits 0, or exits 2
with nothing on stdout and one `FILE:LINE:COL: error:` (or, for a flag, `error:`) message; any
traceback, other status or case slower than 2 s fails it.

- CI (`tests/test_fuzz.py::test_grammar_fuzz_in_process`): 5,000 cases, seed 2026, about 15 s.
- The long run, 2026-12-05: `python -m tests.fuzz --cases 100000 --seed 1`: **0 failures** in
  100,000 cases (4,422 generated and 5,946 mutated specs analysed; 81,651 spec errors and 7,981
  unreadable files answered with exit 2), slowest case 0.73 s, 292 s in all on this 2-core
  machine.
- What the first runs found, each fixed at its root and kept as a case above: a layer that
  failed to build with `inputs: []` (`unknown op no inputs`), and a spec whose every layer is
  `repeat: 0` (`every layer left out`).

## Limits

| limit | default | what it bounds |
| --- | --- | --- |
| `file_bytes` | 4 MiB | the size of a spec file |
| `yaml_nodes` | 1,000,000 | YAML nodes after aliases are expanded (stops "billion laughs") |
| `depth` | 64 | YAML nesting, and blocks used inside blocks |
| `repeat` | 10,000 | one `repeat:` count |
| `layers` | 1,000,000 | layers after every block and repeat is expanded |

Raise one with `--limit NAME=N` (repeatable) on `table`, `check` and `verify`.

### What each costs at its maximum

Every command's cost grows near-linearly with what the limits bound (issue 31): no step is
quadratic in the layers, the errors or a name's length. Measured on the development machine
(2 cores, Python 3.11), one whole process each:

| at the limit | command | time | memory |
| --- | --- | --- | --- |
| `layers`: 1,000,000 layers from a 100-byte spec (`repeat:` 1,000 of a block of 999 relus) | `check` | 4.6 s | 0.67 GB |
| the same | `table` (the terminal table, folded) | 8.0 s | 0.71 GB |
| the same | `table --format json` | 13.6 s | 1.3 GB |
| the same | `graph --format dot` | 10.4 s | 0.81 GB |
| the same | `memory --gpu-memory 24GB --max-batch` (one analysis, one walk of the step) | 21.2 s | 1.7 GB |
| `file_bytes`: a 4 MB spec of 230,000 layers written out (conv, bn, relu) | `check` | 8.7 s | 0.76 GB |
| `file_bytes`: a 4 MB spec with 130,000 errors (unknown `$arguments`, 20,000 arguments in scope) | `check` | 5.2 s | 0.66 GB |
| 10,000 sweep points (`MAX_POINTS`) on the batch axis: `cnncalc sweep resnet152 --batch 1..10000` | `sweep --format json` | 0.5 s | 61 MB |
| the same, the terminal table | `sweep` | 4.5 s | 83 MB |

Bounds that need no flag:

- Errors: every error of a file is counted, the first 50 are shown (`... and N more`), and only
  those 50 get a "did you mean" hint: each costs a pass over the names in scope.
- A "did you mean" hint is looked for only for a word of at most 64 characters, among the names
  whose length lets difflib's ratio reach 0.6 (3/7 to 7/3 of the word's), at most 200 of them,
  the nearest in length first: about 20 ms for the worst hint among 20,000 names (so at most
  about 1 s for the 50 shown). A 38 kB file of 90 unknown 190-character references took 30 s
  before these bounds, 0.2 s after.
- A sweep keeps only the numbers it shows per point, never the points' analyses; a batch axis is
  one analysis (every number is per sample x batch, the training peak of each batch read from
  the upper envelope of the step's moments). Other axes analyse each point once: their cost is
  the points times one analysis (100 input sizes of ResNet-152: 1.3 s).
- Known exception, being fixed: `graph --format dot` (and svg, png, pdf) of a drawing with tens
  of thousands of clusters side by side (a 50,000-branch `parallel:`) copies graphviz's subgraph
  bodies, quadratic in the clusters: 49 s at 100,000 layers.
"""


def main() -> None:
    out = [HEAD]
    listed = set()
    for title, names in GROUPS:
        out.append(f"## {title}\n")
        for name in names:
            listed.add(name)
            path = BAD / f"{name}.yaml"
            text = path.read_bytes().decode("utf-8", "replace")
            if name == "alias_bomb":
                text = "\n".join(text.splitlines()[:6]) + "\n# ... up to i: [*h, *h, ...], ten times more each line\n"
            text = "\n".join(line if len(line) <= 120 else f"{line[:100]}... ({len(line):,} characters)"
                             for line in text.splitlines())
            result = subprocess.run([sys.executable, "-m", "cnncalc", "table", "spec.yaml"], cwd=_copy(path),
                                    capture_output=True, text=True)
            out.append(f"### {name.replace('_', ' ')}\n\n```yaml\n{text.rstrip()}\n```\n\n```\n{result.stderr.rstrip()}\n```\n")
    missing = {p.stem for p in BAD.glob("*.yaml")} - listed
    if missing:
        sys.exit(f"bad specs not in any group: {sorted(missing)}")
    out.append(TAIL)
    sys.stdout.write("\n".join(out))


def _copy(path: Path) -> str:
    import tempfile

    folder = tempfile.mkdtemp()
    (Path(folder) / "spec.yaml").write_bytes(path.read_bytes())
    return folder


if __name__ == "__main__":
    main()
