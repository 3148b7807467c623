"""Shared helpers: run the analytic pipeline on inline YAML or a bundled spec, and the CLI."""

from __future__ import annotations

import contextlib
import os
import tempfile

import pytest
from click.testing import CliRunner

import cnncalc
from cnncalc.cli import cli
from cnncalc.sources import Source


# The parse cache (cnncalc/spec/cache.py) of the tests and of the processes they start: a folder of
# this run's own, never the user's ~/.cache; tests/test_parse_cache.py checks the cache itself.
os.environ["CNNCALC_CACHE"] = tempfile.mkdtemp(prefix="cnncalc-test-cache-")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/* from the current output")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def analyse_text(text: str, file: str = "test.yaml", input_shape=None, overrides=None, **kw):
    """Analysis of a spec given as YAML text, named `file` in errors (through the library)."""
    return cnncalc.analyze(Source(text, file), input=input_shape, args=overrides, **kw)


def analyse_bundled(name: str, input_shape=None, overrides=None, **kw):
    """Analysis of a bundled architecture (through the library)."""
    return cnncalc.analyze(name, input=input_shape, args=overrides, **kw)


def run_cli(*args: str, **kw):
    """Invoke the CLI in-process; stdout and stderr separate."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kw)


def cli_error(tmp_path, name: str, text: str) -> str:
    """What `cnncalc table NAME` prints on stderr (exit 2) for this text saved as NAME in tmp_path:
    the message the live editor must show word for word."""
    import os

    (tmp_path / name).write_text(text, encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = run_cli("table", name)
    finally:
        os.chdir(cwd)
    assert result.exit_code == 2
    return result.stderr.rstrip("\n")


# the profiles in the order the op tests list their counts
ORDER = ("lecture", "torch", "fvcore", "ptflops", "torchinfo", "thop")


def layer(op_type, args, x):
    """One op on one input shape: (op, output shape, cost, its count under every profile in ORDER)."""
    from cnncalc.ops import build_op

    op = build_op(op_type, args, {}, None)
    y = op.output_shape([x], None)
    cost = op.cost([x], y)
    return op, y, cost, tuple(op.counted(p, (x,), y, cost) for p in ORDER)


@contextlib.contextmanager
def saved_storages(module):
    """Within the block, record the distinct storages autograd saves for backward that are not
    the module's parameters or buffers: yields {storage pointer: bytes}. Saved tensors are kept
    alive to the block's end (no pointer is reused) and detached (a saved output would hold its
    own grad_fn)."""
    import torch

    params = {t.untyped_storage().data_ptr() for t in [*module.parameters(), *module.buffers()]}
    seen, keep = {}, []

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            seen[storage.data_ptr()] = storage.nbytes()
        keep.append(t)
        return t.detach()

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        yield seen
