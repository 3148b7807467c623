"""Shared helpers: run the analytic pipeline on inline YAML or a bundled spec, and the CLI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cnncalc.cli import cli
from cnncalc.engine import analyze
from cnncalc.graph import build_graph
from cnncalc.sources import Source, find, load_spec


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/* from the current output")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def analyse_text(text: str, file: str = "test.yaml", **kw):
    """Analysis of a spec given as YAML text."""
    graph = build_graph(load_spec(Source(text, file)), kw.pop("input_shape", None), kw.pop("overrides", None))
    return analyze(graph, **kw)


def analyse_bundled(name: str, input_shape=None, overrides=None, **kw):
    """Analysis of a bundled architecture."""
    return analyze(build_graph(load_spec(find(name)), input_shape, overrides), **kw)


def run_cli(*args: str, **kw):
    """Invoke the CLI in-process; stdout and stderr separate."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kw)
