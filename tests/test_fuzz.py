"""Fuzzing the CLI with generated specs, valid and deliberately broken.

Whatever the input, `cnncalc table FILE` either succeeds (exit 0) or exits 2 with an error that
names FILE:line:col; never a traceback, never exit 1 (which is kept for verify mismatches).
"""

from __future__ import annotations

import os
import re
import tempfile

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cnncalc.cli import cli

EXAMPLES = int(os.environ.get("CNNCALC_FUZZ_EXAMPLES", "600"))

small = st.integers(1, 8)
pair = st.one_of(small, st.lists(st.integers(1, 5), min_size=2, max_size=2))
layer = st.one_of(
    st.builds(lambda o, k, s, p: {"conv": {"out": o, "kernel": k, "stride": s, "pad": p}}, small, pair, st.integers(1, 3), st.integers(0, 2)),
    st.builds(lambda k, s: {"maxpool": {"kernel": k, "stride": s}}, st.integers(1, 4), st.integers(1, 3)),
    st.builds(lambda k: {"avgpool": {"kernel": k}}, st.integers(1, 4)),
    st.builds(lambda o: {"linear": {"out": o}}, small),
    st.sampled_from(["relu", "bn", "flatten", "dropout", "global_avgpool", "sigmoid", "softmax"]),
    st.builds(lambda o: {"residual": {"body": [{"conv": {"out": o, "kernel": 3, "pad": 1}}, "bn"], "shortcut": "projection"}}, small),
    st.builds(lambda a, b: {"parallel": {"branches": {"a": [{"conv": {"out": a, "kernel": 1}}], "b": [{"conv": {"out": b, "kernel": 3, "pad": 1}}]}}}, small, small),
)
spec = st.fixed_dictionaries({"input": st.lists(st.integers(1, 32), min_size=3, max_size=3),
                              "layers": st.lists(layer, min_size=1, max_size=6)})
junk = st.one_of(st.text(max_size=6), st.floats(allow_nan=False), st.booleans(), st.none(),
                 st.integers(-5, 5), st.lists(st.integers(-2, 9), max_size=3), st.just({"a": 1}))


def mutate_value(tree, path_choice: int, value):
    """Replace one value somewhere in the spec tree (a key's value or a list item)."""
    spots = []

    def walk(node):
        if isinstance(node, dict):
            for k in node:
                spots.append((node, k))
                walk(node[k])
        elif isinstance(node, list):
            for i in range(len(node)):
                spots.append((node, i))
                walk(node[i])

    walk(tree)
    if spots:
        parent, key = spots[path_choice % len(spots)]
        parent[key] = value
    return tree


def rename_key(tree, path_choice: int, suffix: str):
    keys = []

    def walk(node):
        if isinstance(node, dict):
            for k in list(node):
                keys.append((node, k))
                walk(node[k])
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(tree)
    if keys:
        parent, key = keys[path_choice % len(keys)]
        parent[str(key) + suffix] = parent.pop(key)
    return tree


@st.composite
def spec_texts(draw) -> bytes:
    tree = draw(spec)
    kind = draw(st.sampled_from(["valid", "value", "key", "truncate", "insert", "junk", "bytes"]))
    choice = draw(st.integers(0, 200))
    if kind == "value":
        tree = mutate_value(tree, choice, draw(junk))
    elif kind == "key":
        tree = rename_key(tree, choice, draw(st.sampled_from(["x", "s", "_", "1"])))
    text = yaml.safe_dump(tree, sort_keys=False, default_flow_style=draw(st.booleans()))
    if kind == "truncate":
        text = text[: choice % (len(text) + 1)]
    elif kind == "insert":
        at = choice % (len(text) + 1)
        text = text[:at] + draw(st.sampled_from(["{", "]", ":", "- ", "\t", "&a", "*a", "!!python/object ", "$x", "\n  "])) + text[at:]
    elif kind == "junk":
        return draw(st.text(max_size=80)).encode("utf-8", "surrogatepass")
    elif kind == "bytes":
        return draw(st.binary(max_size=60))
    return text.encode()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=spec_texts())
def test_cli_never_crashes(data: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "fuzz.yaml")
        with open(path, "wb") as fh:
            fh.write(data)
        result = CliRunner().invoke(cli, ["table", path, "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    event(f"exit {result.exit_code}")
    if result.exit_code == 2:
        assert result.stdout == ""
        first = result.stderr.splitlines()[0]
        assert re.match(rf"{re.escape(path)}:\d+:\d+: error: ", first), first


def test_grammar_fuzz_in_process():
    """tests/fuzz.py: specs generated from the op registry's grammar, mutated bundled specs and
    junk, with fuzzed flags, through the real CLI in this process: 0 tracebacks, 0 unclear
    messages, 0 cases over 2 s (CNNCALC_FUZZ_CASES, 5,000 by default; docs/errors.md has the
    long run)."""
    from tests.fuzz import describe, fuzz

    cases = int(os.environ.get("CNNCALC_FUZZ_CASES", "5000"))
    report = fuzz(cases, int(os.environ.get("CNNCALC_FUZZ_SEED", "2026")))
    assert not report.failures, describe(report)
    assert sum(report.statuses.values()) == cases >= 5000 or "CNNCALC_FUZZ_CASES" in os.environ
    # the generator reaches both answers: analyses that run, and errors
    assert any(k.endswith("exit 0") for k in report.statuses) and any(k.endswith("exit 2") for k in report.statuses)
