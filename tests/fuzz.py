"""Grammar-aware, in-process fuzzing of everything a user can hand cnncalc: spec files and flags.

    python -m tests.fuzz --cases 100000 --seed 1     # the long run (docs/errors.md records it)
    CNNCALC_FUZZ_CASES=5000 pytest tests/test_fuzz.py  # what CI runs (5,000 cases by default)

Each case is one of:
- a spec generated from the format's own grammar: the layer types and each one's arguments are
  read from the op registry (cnncalc/ops/registry.py: every op's fields and their kinds), with
  blocks, residual and parallel items, repeats, names, `inputs:` references, `$args`
  expressions and `variants:`; values drawn from valid ones and edge values (0, -1, 2**63,
  10**100, a 5,000-digit integer, 1e400, 010, 2:00, tags, control characters, markup);
- a bundled spec's text mutated: a token replaced by an edge value, a line deleted, doubled,
  swapped or re-indented, a tab, an anchor, an alias, a tag inserted, the file cut short;
- random bytes or text;
run through the real command line in this process (cnncalc.cli.run: the console entry point's
own handling) as `table FILE` in json or rich at a random width, `check`, `explain`, `memory` or
`compare`, sometimes with fuzzed --input/--set/--batch/--limit flags. A case passes when it
exits 0, or exits 2 with nothing on stdout and a first stderr line `FILE:LINE:COL: error: ...`
(a spec's fault) or `error: ...` (a flag's); it fails on any exception escaping the CLI (a
traceback), any other status, or taking more than SLOW seconds. Everything is drawn from one
random.Random(seed): a failing case is reproduced by its seed and index.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, NamedTuple

import yaml

COMMON = {"conv", "relu", "bn", "maxpool", "avgpool", "linear", "flatten", "dropout", "global_avgpool",
          "adaptive_avgpool", "sigmoid", "softmax", "layernorm", "gelu"}  # ops that fit most inputs
SLOW = 2.0  # seconds: a case slower than this is a failure (a hang in the making)
ROOT = Path(__file__).resolve().parent.parent

EDGE_INTS = [0, 1, 2, 3, -1, -7, 7, 64, 1000, 2**31, 2**63, 10**18, 10**99, 10**100, 10**101]
EDGE_TEXT = ["0", "-1", "010", "2:00", "0x10", "1_000", "1e400", "1e-400", ".inf", ".nan", "!!int abc",
             "!!float x", "!!bool maybe", "!!timestamp x", "!!binary aGk=", "!!python/object/apply:os.system [x]",
             "9" * 5000, "'64'", "true", "null", "~", "[]", "{}", "[1, 2, 3]", "$x", "$width * $width",
             "'" + "-" * 300 + "1'", "'" + " + ".join(["$w"] * 400) + "'", "\"\\x1b[31mred\"", "'[/bold]'",
             "'[link=https://x]y'", "\"\\t\"", "'٣٢'", "&a 3", "*a", "*nope", "same", "valid", "'1/3'"]
MUTATIONS = ["\t", "&a ", "*a", "!!int ", "!!python/name:os.system ", "- ", ": ", "{", "}", "[", "]", "$", "\n  ",
             "\x00", "\x1b[2J", "[/bold]", "repeat: 1000000", "inputs: [input]", "name: input", "…", "\ufeff"]


def _value(kind: str, rng: random.Random, noise: float = 1.0) -> Any:
    """A value for an argument of this kind (cnncalc/ops/registry.py's arg kinds): mostly valid,
    sometimes (with noise) an edge case."""
    if rng.random() < 0.15 * noise:
        return rng.choice(EDGE_INTS) if rng.random() < 0.6 else yaml.safe_load("x: " + rng.choice(EDGE_TEXT[:8]))["x"]
    if kind in ("int+", "int0", "int"):
        return rng.choice([1, 2, 3, 4, 8, 16] + ([0] if kind != "int+" else []) + ([-1] if kind == "int" else []))
    if kind in ("pair+", "pair0", "axes+", "axes0", "pads", "padding"):
        base = rng.choice([1, 2, 3] + ([0] if not kind.endswith("+") else []))
        extra = ["same", "valid"] if kind == "padding" else []
        # a window key: one value, or one per axis (2 for a C x H x W map; 1 or 3 for other ranks)
        per_axis = [[base, rng.choice([1, 2])]] + ([[base], [1, base, base]] if kind.startswith(("axes", "padding")) else [])
        return rng.choice([base, *per_axis, *extra])
    if kind == "ints":
        return [rng.choice([-1, 0, 1, 2]) for _ in range(rng.randint(1, 3))]
    if kind == "bool":
        return rng.random() < 0.5
    if kind in ("float", "prob"):
        return rng.choice([0.0, 0.1, 0.5, 1.0, 1.5])
    if kind.startswith("in:"):
        return rng.choice(kind[3:].split(","))
    return rng.choice([1, "x", None])


def _ops() -> list[tuple[str, dict[str, str], set[str]]]:
    """(type, {field: kind}, required fields) of every registered op: the grammar of a layer."""
    from cnncalc.ops import REGISTRY
    from cnncalc.ops.registry import REQUIRED

    return [(name, {f: a.kind for f, a in cls.fields.items()},
             {f for f, a in cls.fields.items() if a.default is REQUIRED}) for name, cls in sorted(REGISTRY.items())]


class Grammar:
    def __init__(self, rng: random.Random, noise: float = 1.0) -> None:
        """noise 0 writes specs that are mostly valid (so the analysis runs); 1 adds edge values,
        typos and odd names."""
        self.rng, self.ops, self.names, self.noise = rng, _ops(), ["input"], noise

    def layer(self, depth: int, blocks: list[str], args: list[str]) -> Any:
        rng = self.rng
        roll = rng.random()
        if depth < 3 and roll < 0.08:
            return {"residual": {"body": self.layers(depth + 1, blocks, args, 3),
                                 "shortcut": rng.choice(["identity", "projection", "x"][: 3 if self.noise else 2])}}
        if depth < 3 and roll < 0.14:
            return {"parallel": {"branches": {f"b{i}": self.layers(depth + 1, blocks, args, 2) for i in range(2)}}}
        if blocks and roll < 0.24:
            values: dict[str, Any] = {a: rng.choice([1, 4, "$" + a]) for a in args if rng.random() < 0.5}
            return {rng.choice(blocks): values} if values or rng.random() < 0.5 else rng.choice(blocks)
        common = [op for op in self.ops if op[0] in COMMON]
        name, kinds, required = rng.choice(common if rng.random() > 0.3 + 0.7 * self.noise else self.ops)
        fields = {f: self._arg(k) for f, k in kinds.items() if f in required or rng.random() < 0.25}
        if rng.random() < 0.2:
            odd = ["input", "a.b", "x" * 300, *self.names[-3:]] if rng.random() < self.noise else []
            fields["name"] = rng.choice([f"l{len(self.names)}", *odd])
            self.names.append(str(fields["name"]))
        if rng.random() < 0.1:
            fields["repeat"] = rng.choice([0, 1, 2, 3] + ([10**6, "$" + (args[0] if args else "n")] if self.noise else []))
        if rng.random() < 0.1 * self.noise and self.names:
            fields["inputs"] = rng.sample(self.names, k=min(len(self.names), rng.randint(0, 2)))
        if rng.random() < 0.05 * self.noise:
            fields[rng.choice(["strde", "outt", "x"])] = 1
        return {name: fields} if fields or rng.random() < 0.3 else name

    def _arg(self, kind: str) -> Any:
        if self.rng.random() < 0.08 * self.noise:
            return self.rng.choice(["$w", "$w * 2", "max($w, 3)", "$w // 0", "ceil($w / 3)", "$nope", "$w *"])
        return _value(kind, self.rng, self.noise)

    def layers(self, depth: int, blocks: list[str], args: list[str], most: int) -> list:
        return [self.layer(depth, blocks, args) for _ in range(self.rng.randint(1, most))]

    def spec(self) -> dict:
        rng = self.rng
        args = rng.sample(["w", "width", "n", "classes"], k=rng.randint(0, 2))
        tree: dict[str, Any] = {}
        if rng.random() < 0.3:
            tree["name"] = rng.choice(["net", "[/bold]", "a\x1bb", "x" * 1000, 5][: 5 if self.noise else 2])
        if args or rng.random() < 0.1:
            tree["args"] = {a: rng.choice([1, 2, 4, 8, None, 10**100][: 6 if self.noise else 4]) for a in args}
        rank = rng.choice([1, 2, 3, 3, 3, 4])
        tree["input"] = [rng.choice([1, 3, 8, 16, 32]) for _ in range(rank)] if rng.random() < 1 - 0.05 * self.noise \
            else rng.choice([[], [0, 3], "3x32x32", [3, 10**100, 2]])
        blocks = [f"blk{i}" for i in range(rng.randint(0, 2))]
        if blocks:
            tree["blocks"] = {}
            for b in blocks:
                inner = self.layers(1, [x for x in blocks if x != b or rng.random() < 0.1], args, 3)
                tree["blocks"][b] = {"args": {a: None for a in args}, "layers": inner} if args else inner
        tree["layers"] = self.layers(0, blocks, args, 8)
        if rng.random() < 0.05:
            tree["variants"] = {"v1": {"args": {a: 3 for a in args}}}
        if rng.random() < 0.05 * self.noise:
            tree[rng.choice(["layer", "inputs", "note", "layout"])] = rng.choice(["hwc", "x", [1]])
        return tree


def _mutate(text: str, rng: random.Random) -> str:
    """A bundled spec's text, changed in one to three places."""
    for _ in range(rng.randint(1, 3)):
        lines = text.split("\n")
        op = rng.random()
        i = rng.randrange(len(lines))
        if op < 0.35:  # a number or a word replaced by an edge value
            tokens = list(re.finditer(r"-?[0-9]+|[A-Za-z_]+", lines[i]))
            if tokens:
                t = rng.choice(tokens)
                edge = rng.choice(EDGE_TEXT + [str(v) for v in EDGE_INTS])
                lines[i] = lines[i][: t.start()] + edge + lines[i][t.end():]
        elif op < 0.5:
            del lines[i]
        elif op < 0.6:
            lines.insert(i, lines[i])
        elif op < 0.7:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op < 0.8:
            lines[i] = rng.choice(["", " ", "  ", "\t"]) + lines[i].lstrip() if rng.random() < 0.5 else "  " + lines[i]
        elif op < 0.95:
            at = rng.randint(0, len(lines[i]))
            lines[i] = lines[i][:at] + rng.choice(MUTATIONS) + lines[i][at:]
        else:
            return "\n".join(lines)[: rng.randrange(len(text) + 1)]
        text = "\n".join(lines)
    return text


def _bundled() -> list[str]:
    """The bundled specs small enough to run many times (most of them)."""
    folder = ROOT / "architectures"
    return [p.read_text() for p in sorted(folder.glob("*.yaml")) if p.stat().st_size < 12_000]


def _flags(rng: random.Random) -> list[str]:
    pick = rng.random()
    if pick < 0.7:
        return []
    choices = [["--input", rng.choice(["3x32x32", "1x٣٢x32", "3x0x8", "3x" + "9" * 200 + "x1", "32x32x3", "3_2x8x8",
                                        "8", "197x768", "x", ""])],
               ["--set", rng.choice(["classes=10", "w=!!int x", "w=" + "9" * 5000, "classes=[1,", "=3", "w"])],
               ["--batch", rng.choice(["1", "0", "7", str(10**17), "1" + "0" * 30, "-1", "x"])],
               ["--limit", rng.choice(["layers=10", "layers=٣", "repeat=0", "nope=1", "layers=" + "9" * 40])],
               ["--units", rng.choice(["auto", "raw"])], ["--layout", "hwc"], ["--all"], ["--depth", "1"]]
    return rng.choice(choices)


class Case(NamedTuple):
    kind: str
    data: bytes
    argv: list[str]  # with FILE where the spec's path goes


def make_case(rng: random.Random, bundled: list[str]) -> Case:
    roll = rng.random()
    if roll < 0.5:
        tree = Grammar(rng, noise=rng.choice([0.0, 0.0, 0.3, 1.0])).spec()
        try:
            text = yaml.safe_dump(tree, sort_keys=False, default_flow_style=rng.choice([None, True, False]),
                                  allow_unicode=rng.random() < 0.5, width=rng.choice([80, 10**6]))
        except yaml.YAMLError:
            text = repr(tree)
        kind, data = "grammar", text.encode("utf-8", "surrogatepass")
    elif roll < 0.92:
        kind, data = "mutated", _mutate(rng.choice(bundled), rng).encode("utf-8", "surrogatepass")
    elif roll < 0.96:
        kind, data = "text", "".join(chr(rng.randrange(0, 0x3000)) for _ in range(rng.randint(0, 200))).encode(
            "utf-8", "surrogatepass")
    else:
        kind, data = "bytes", bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
    command = rng.choices([["table", "FILE", "--format", "json"], ["table", "FILE"], ["check", "FILE"],
                           ["explain", "FILE"], ["memory", "FILE"], ["compare", "FILE", "lenet5"]],
                          weights=[50, 20, 10, 8, 6, 6])[0]
    return Case(kind, data, [*command, *_flags(rng)])


LOCATED = re.compile(r"^.+?:\d+:\d+: error: ")


class Outcome(NamedTuple):
    ok: bool
    status: int | None
    seconds: float
    problem: str


def run_case(case: Case, path: str, width: int) -> Outcome:
    """Run one case through the CLI in this process; judge what it did."""
    from cnncalc.cli import run

    with open(path, "wb") as fh:
        fh.write(case.data)
    argv = [path if a == "FILE" else a for a in case.argv]
    out, err = io.StringIO(), io.StringIO()
    os.environ["COLUMNS"] = str(width)
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = run(argv)
    except BaseException:  # a traceback: the bug this hunts
        return Outcome(False, None, time.perf_counter() - start, traceback.format_exc(limit=-8))
    seconds = time.perf_counter() - start
    stdout, stderr = out.getvalue(), err.getvalue()
    if seconds > SLOW:
        return Outcome(False, status, seconds, f"took {seconds:.2f} s")
    if status == 0:
        return Outcome(True, 0, seconds, "")
    if status != 2:
        return Outcome(False, status, seconds, f"exit {status}: {stderr[-500:]}")
    first = stderr.splitlines()[0] if stderr else ""
    if stdout:
        return Outcome(False, 2, seconds, f"exit 2 with output on stdout: {stdout[:200]!r}")
    if "Traceback" in stderr or not (LOCATED.match(first) or first.startswith("error: ")):
        return Outcome(False, 2, seconds, f"unclear message: {stderr[:500]!r}")
    return Outcome(True, 2, seconds, "")


class Report(NamedTuple):
    cases: int
    seed: int
    failures: list[tuple[int, Case, Outcome]]
    statuses: dict[str, int]
    slowest: float
    seconds: float


def fuzz(cases: int, seed: int, stop_after: int = 20) -> Report:
    import gc

    rng = random.Random(seed)
    bundled = _bundled()
    failures: list[tuple[int, Case, Outcome]] = []
    statuses: dict[str, int] = {}
    slowest, start = 0.0, time.perf_counter()
    columns = os.environ.get("COLUMNS")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "fuzz.yaml")
        try:
            for index in range(cases):
                case = make_case(rng, bundled)
                outcome = run_case(case, path, rng.choice([40, 60, 80, 120, 200]))
                slowest = max(slowest, outcome.seconds)
                key = f"{case.kind} exit {outcome.status}"
                statuses[key] = statuses.get(key, 0) + 1
                if not outcome.ok:
                    failures.append((index, case, outcome))
                    if len(failures) >= stop_after:
                        break
                if index % 500 == 499:
                    gc.collect()
        finally:
            if columns is None:
                os.environ.pop("COLUMNS", None)
            else:
                os.environ["COLUMNS"] = columns
    return Report(cases, seed, failures, statuses, slowest, time.perf_counter() - start)


def describe(report: Report) -> str:
    lines = [f"{report.cases:,} cases, seed {report.seed}: {len(report.failures)} failures, slowest case "
             f"{report.slowest:.2f} s, {report.seconds:.0f} s in all"]
    lines += [f"  {k}: {v:,}" for k, v in sorted(report.statuses.items())]
    for index, case, outcome in report.failures:
        lines.append(f"case {index} ({case.kind}, {' '.join(case.argv)}): {outcome.problem}\n"
                     f"  input: {case.data[:300]!r}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--save", metavar="DIR", help="write each failing input there")
    args = parser.parse_args()
    report = fuzz(args.cases, args.seed, stop_after=1000)
    print(describe(report))
    if args.save:
        os.makedirs(args.save, exist_ok=True)
        for index, case, _ in report.failures:
            Path(args.save, f"case{index}.yaml").write_bytes(case.data)
    sys.exit(1 if report.failures else 0)


if __name__ == "__main__":
    main()
