"""Where specs come from: bundled architectures by name, or files by path (the I/O edge).

Stage: input edge. In: what the user typed (`alexnet`, `alexnet.yaml`, `my/net.yaml`).
Out: the spec text and the file name to show in errors. The only module that opens spec files.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import NamedTuple

from cnncalc.errors import LimitError, Limits, Span, SpecError, UsageError
from cnncalc.spec.expr import did_you_mean
from cnncalc.spec.load import parse_yaml
from cnncalc.spec.model import ArchSpec, parse_spec


class Source(NamedTuple):
    text: str
    file: str  # shown in error messages
    bundled: str | None = None  # the bundled name, when it is one
    note: str = ""  # said on stderr (e.g. "alexnet.yaml not found here; using the bundled one")


def _bundle() -> str:
    """The bundled specs: installed as cnncalc/architectures (pyproject maps the top-level
    architectures/ there); in an editable install or a checkout, that folder itself. (os.path,
    not importlib.resources or pathlib: a wheel is always unpacked, and those imports cost
    start-up time on every run.)"""
    here = os.path.dirname(os.path.realpath(__file__))
    installed = os.path.join(here, "architectures")
    return installed if os.path.isdir(installed) else os.path.join(os.path.dirname(here), "architectures")


def bundled_names() -> list[str]:
    """Names of the bundled architectures, sorted."""
    names = (n[:-5] for n in os.listdir(_bundle()) if n.endswith(".yaml"))
    return sorted(names, key=lambda n: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", n)])


def bundled_text(name: str) -> str:
    """The YAML text of a bundled architecture."""
    with open(os.path.join(_bundle(), f"{name}.yaml"), encoding="utf-8") as fh:
        return fh.read()


def find(arg: str, limits: Limits = Limits()) -> Source:
    """Resolve a bare bundled name, a path, or a missing `NAME.yaml` that names a bundled spec."""
    names = bundled_names()
    if arg in names and os.path.splitext(arg)[1] == "" and "/" not in arg:
        return Source(bundled_text(arg), f"{arg}.yaml", bundled=arg)
    if os.path.isdir(arg):
        raise UsageError(None, f"'{arg}' is a directory, not a spec file")
    if os.path.isfile(arg):
        return Source(_read(arg, limits), arg)
    stem = os.path.basename(arg).removesuffix(".yaml").removesuffix(".yml")
    if stem in names:
        return Source(bundled_text(stem), f"{stem}.yaml", bundled=stem,
                      note=f"note: {arg} not found; using the bundled architecture '{stem}'")
    hint = did_you_mean(stem, names) or "`cnncalc list` shows the bundled architectures"
    raise UsageError(None, f"no such file or bundled architecture: '{arg}'", hint)


def _read(path: str, limits: Limits) -> str:
    size = os.path.getsize(path)
    if size > limits.file_bytes:
        raise LimitError(Span(path, 1, 1), f"the file is {size:,} bytes", "file_bytes", limits.file_bytes)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise UsageError(None, f"cannot read '{path}': {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(Span(path, line, col), "the file is not UTF-8 text") from None


def load_spec(source: Source, limits: Limits = Limits()) -> ArchSpec:
    """Parse a source's text into an ArchSpec (every error is a SpecError with file:line).

    The last few parses are kept: a notebook re-running a cell, or a sweep over batch sizes,
    analyses the same text again and again, and an ArchSpec is never changed once made (graph.py
    only reads it). A failed parse raises and is not kept."""
    return _parse(source.text, source.file, limits)


@lru_cache(maxsize=16)
def _parse(text: str, file: str, limits: Limits) -> ArchSpec:
    return parse_spec(parse_yaml(text, file, limits), file)
