"""Which SPEC arguments name a PyTorch model to import (docs/import.md): told without torch."""

from __future__ import annotations

import pytest

from cnncalc.sources import is_target


@pytest.mark.parametrize(("arg", "expected"), [
    ("resnet50", False),                       # a bundled name
    ("resnet50-tv", False),
    ("alexnet.yaml", False),                   # a spec file, present or not
    ("my/net.yaml", False),
    ("name: x\ninput: [3]\n", False),          # YAML text
    ("timm:resnet50", True),
    ("torchvision:r3d_18", True),
    ("json.decoder.JSONDecoder", True),        # a dotted path whose package imports
    ("json:JSONDecoder", True),
    ("nosuchpackage_xyz.models.Net", False),   # not importable: not a target (then: no such file)
    ("tests/import_models.py:Functional", True),
    ("no/such/file.py:Net", True),             # a file target (the import then says: no such file)
])
def test_is_target(arg, expected):
    assert is_target(arg) is expected


def test_the_analytic_path_never_imports_the_readers():
    import subprocess
    import sys

    code = ("import sys, cnncalc; cnncalc.analyze('resnet50-tv'); "
            "print(any(m.startswith(('cnncalc.readers', 'torch')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
