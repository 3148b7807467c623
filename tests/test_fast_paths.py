"""What keeps the analytic path near Python's floor (issue 35), checked without a clock: what
each path imports, and that every shortcut taken for speed gives what the long way gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.report.text import FORMATS, _value

REPO = Path(__file__).resolve().parent.parent


def imported_by(args: list[str], cache: Path, runs: int = 2) -> set[str]:
    """The modules a CLI run imports (the last of `runs` runs: the parse cache warm)."""
    code = ("import sys\nfrom cnncalc.cli import cli\n"
            f"try:\n    cli({args!r})\nexcept SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n"
            "sys.stderr.write('\\n' + ' '.join(sorted(sys.modules)))\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "CNNCALC_CACHE": str(cache)}
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr[-2000:]
    return set(proc.stderr.strip().splitlines()[-1].split())


def test_the_json_path_imports_only_what_it_needs(tmp_path):
    found = imported_by(["table", "resnet152", "--format", "json"], tmp_path)
    # no YAML parser (the parse cache), no json package (json's C encoder), no rich beyond none,
    # no locale (gettext translating click's --help/--version), no text-format or drawing modules, and of the
    # op families only those ResNet uses
    for name in ("yaml", "json", "json.decoder", "rich.console", "rich.table", "locale", "html",
                 "cnncalc.report.grid", "cnncalc.report.model", "cnncalc.ops.attention", "cnncalc.ops.mvit",
                 "cnncalc.ops.window", "cnncalc.ops.maxvit", "cnncalc.ops.detect", "pickle", "dataclasses"):
        assert name not in found, name
    assert {"cnncalc.ops.conv", "cnncalc.ops.norm", "cnncalc.ops.pool"} <= found


def test_a_vision_transformer_loads_the_attention_ops_it_names(tmp_path):
    found = imported_by(["table", "vit_b_16", "--format", "json"], tmp_path, runs=1)
    assert "cnncalc.ops.attention" in found and "cnncalc.ops.mvit" not in found


def test_the_head_writer_is_json_dumps():
    for name in ("resnet152", "densenet201", "vit_h_14", "alexnet", "unet"):
        data = json.loads(cnncalc.analyze(name).render("json"))
        head = {k: v for k, v in data.items() if k != "layers"}
        assert _value(head, "") == json.dumps(head, indent=2)


plain = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**30, max_value=10**30) | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(plain)
def test_the_head_writer_writes_any_plain_value_as_json_dumps(value):
    assert _value(value, "") == json.dumps(value, indent=2)


def test_receptive_fields_below_a_pixel_are_fractions_in_json():
    # a jump after upsampling is a fraction of an input pixel: written "1/16", never a crash
    data = json.loads(cnncalc.analyze("dcgan_generator").render("json", rf=True))
    field = data["layers"][-1]["receptive_field"]
    assert field["jump"] == ["1/16", "1/16"] and isinstance(data["layers"][0]["receptive_field"]["size"][0], int)


def test_the_text_formats_are_the_grid_writers():
    from cnncalc.report.grid import WRITERS

    assert FORMATS == tuple(WRITERS)


def test_the_op_index_is_current():
    # cnncalc/ops/registry.py's HOME: which module registers each op (a stale HOME is slower,
    # never wrong: lookup() then loads every family)
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "make_ops_index.py"), "--check"])
    assert proc.returncode == 0, "run python scripts/make_ops_index.py"


def test_a_name_the_index_lacks_still_finds_its_op():
    code = ("import sys, cnncalc.ops as ops\nfrom cnncalc.ops.registry import lookup\nops.HOME.clear()\n"
            "assert 'cnncalc.ops.mvit' not in sys.modules\n"
            "assert lookup('pool_attention').type == 'pool_attention' and lookup('no_such_op') is None\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-1000:]


def test_a_record_is_the_named_tuple_typing_makes():
    import pickle
    from typing import NamedTuple

    import pytest

    from cnncalc.errors import Span
    from cnncalc.record import Record

    class Typed(NamedTuple):
        """A point."""

        x: int
        y: int = 2

        def norm(self) -> int:
            return self.x + self.y

    class Mine(Record):
        """A point."""

        x: int
        y: int = 2

        def norm(self) -> int:
            return self.x + self.y

    for a, b in ((Typed(1), Mine(1)), (Typed(1, 5), Mine(x=1, y=5))):
        assert tuple(a) == tuple(b) and a.norm() == b.norm() and a._asdict() == b._asdict()
        assert repr(a).replace("Typed", "Mine") == repr(b) and b._replace(y=9) == (1, 9)
    assert Mine._fields == Typed._fields and Mine._field_defaults == Typed._field_defaults
    assert Mine.__doc__ == Typed.__doc__ and Mine.__bases__ == (tuple,) and isinstance(Mine(1), tuple)
    assert pickle.loads(pickle.dumps(Span("f.yaml", 3, 4))) == Span("f.yaml", 3, 4)
    assert Mine.__new__.__doc__ == Typed.__new__.__doc__.replace("Typed", "Mine") and Mine.x.__doc__ == Typed.x.__doc__

    def error(call):
        try:
            call()
        except (TypeError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}".replace("Typed", "Mine")
        return None

    for call in (lambda C: C(), lambda C: C(1, 2, 3), lambda C: C(1, x=2), lambda C: C(z=1),
                 lambda C: C(1)._replace(z=1), lambda C: C._make([1])):
        assert error(lambda: call(Typed)) == error(lambda: call(Mine)) is not None
    with pytest.raises(TypeError, match="Non-default namedtuple field"):
        class Bad(Record):
            x: int = 1
            y: int
    with pytest.raises(AttributeError, match="Cannot overwrite"):
        class Worse(Record):
            x: int

            def _replace(self):
                return self


def test_the_command_starts_without_the_garbage_collector_and_gives_it_back_where_wanted():
    # pyproject's console script and `python -m cnncalc` start in cnncalc.__main__.start, which
    # turns the cyclic collector off before the imports; cli.main keeps it off for the analytic
    # commands and turns it back on for the others
    import tomllib

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"cnncalc": "cnncalc.__main__:start"}
    code = ("import atexit, gc, sys\natexit.register(lambda: sys.stderr.write(f'gc={gc.isenabled()}'))\n"
            "sys.argv = ['cnncalc', *sys.argv[1:]]\nfrom cnncalc.__main__ import start\nstart()\n")
    for args, enabled in ((["table", "alexnet", "--format", "json"], False), (["verify", "--help"], True)):
        proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
        assert proc.returncode == 0 and proc.stderr.endswith(f"gc={enabled}"), proc.stderr[-500:]
