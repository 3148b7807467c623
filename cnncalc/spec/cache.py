"""Parsed spec files kept on disk, so that a run reading a file it has read before needs no YAML
parser: importing PyYAML costs ~11 ms, a fifth of `cnncalc table resnet152`'s whole run (issue 35).

Stage: spec (beside load.py). In: a file's text and where it came from. Out: the LMap / LList /
scalar tree load.parse_yaml would build from that text, or None (then the caller parses and
offers the tree back with `keep`).

Why an entry is never stale: it holds the exact text it was parsed from, and is used only when
the text read now is the same string (one C comparison); and it holds a fingerprint of what made
the tree (this module's and load.py's files, PyYAML's installed files, the Python version), so
a changed parser or PyYAML reads as a miss. Spans are kept as (line, column) and given the file
name of this run. Limits are checked as a parse would: an entry that took more YAML nodes, or
nested deeper, than this run allows is not used, and the parse then says so.

Where: $CNNCALC_CACHE, else $XDG_CACHE_HOME/cnncalc, else ~/.cache/cnncalc (`CNNCALC_CACHE=off`
turns it off); one small file per spec file (a bundled name, or a path), replaced when the text
changes, written atomically (a temporary file renamed), skipped silently when the folder cannot
be written. Texts over MAX_TEXT characters are not kept. marshal, not pickle: it is built in
(pickle costs 2 ms to import) and holds only plain values: tuples, str, int, float, bool, None.
"""

from __future__ import annotations

import marshal
import os
import sys
from typing import Any

from cnncalc.errors import Limits, Span
from cnncalc.spec.load import LList, LMap

FORMAT = 1  # the layout of an entry below
MAX_TEXT = 256 * 1024  # characters: the largest bundled spec is 11 kB


def folder() -> str | None:
    """The cache folder, or None when caching is turned off."""
    env = os.environ.get("CNNCALC_CACHE")
    if env is not None:
        if env.strip().lower() in ("", "0", "off", "no", "false", "none"):
            return None
        return env
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # unset, or relative (which the XDG rules say to ignore)
        base = os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):  # no home folder to speak of: nothing is kept (never a folder named ~ here)
        return None
    return os.path.join(base, "cnncalc")


_fingerprint: str | None = None


def fingerprint() -> str:
    """What made a tree: this module's and load.py's files and PyYAML's as installed (size and
    modification time, PyYAML found without importing it) and the Python implementation.
    Worked out once a process (~0.1 ms)."""
    global _fingerprint
    if _fingerprint is None:
        from importlib.machinery import PathFinder  # (importlib.util costs ~1 ms to import)

        from cnncalc.spec import load

        parts = [str(FORMAT), sys.implementation.cache_tag or sys.version, _stamp([__file__, load.__file__])]
        spec = PathFinder.find_spec("yaml")
        if spec is None:  # installed some other way (a meta-path finder)
            from importlib.util import find_spec

            spec = find_spec("yaml")
        origin = spec.origin if spec is not None and spec.origin else ""
        where = os.path.dirname(origin)
        if where:  # __init__.py and the C extension _yaml*.so
            parts.append(_stamp([os.path.join(where, name) for name in sorted(os.listdir(where))
                                 if name.endswith((".py", ".so", ".pyd"))]))
        _fingerprint = "|".join([*parts, origin])
    return _fingerprint


def _stamp(paths: list[str]) -> str:
    """Size and modification time of each file (as Python checks its .pyc files)."""
    parts = []
    for path in paths:
        st = os.stat(path)
        parts.append(f"{os.path.basename(path)}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def derived(asked: str, key: str, code: list[str]) -> str | None:
    """A text made from `asked` before (a reader's spec from a foreign file: its text and
    options in `asked`), by the code in the files `code`; None when there is none, or the code
    or the question differ in any character."""
    where = folder()
    if where is None or len(asked) > MAX_TEXT:
        return None
    try:
        with open(os.path.join(where, _slot(key, ".made")), "rb") as fh:
            entry = marshal.loads(fh.read())
        stamp = _stamp(code)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if (isinstance(entry, tuple) and len(entry) == 5 and entry[0] == FORMAT and entry[3] == asked
            and entry[1] == fingerprint() and entry[2] == stamp and isinstance(entry[4], str)):
        return entry[4]
    return None


def keep_derived(asked: str, key: str, code: list[str], made: str) -> None:
    """Keep the text `made` from `asked` by the code in `code`, for derived()."""
    where = folder()
    if where is None or len(asked) > MAX_TEXT:
        return
    try:
        _write(where, _slot(key, ".made"), marshal.dumps((FORMAT, fingerprint(), _stamp(code), asked, made)))
    except (OSError, ValueError):
        return


def _write(where: str, name: str, data: bytes) -> None:
    os.makedirs(where, exist_ok=True)
    path = os.path.join(where, name)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "wb") as fh:
        fh.write(data)
    os.replace(temporary, path)  # atomic: a reader sees the old entry or the new one, never half


def _slot(key: str, suffix: str = ".tree") -> str:
    """The entry's file name for a bundled name or a path. Two keys may share one (a path cut
    short): each then only replaces the other's entry, since an entry answers its text alone."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
    return (safe if len(safe) <= 180 else f"{safe[:80]}~{safe[-99:]}") + suffix


def load(text: str, key: str, file: str, limits: Limits) -> Any:
    """The tree parsed before from exactly `text`, its spans in `file`; None when there is none."""
    where = folder()
    if where is None or len(text) > MAX_TEXT:
        return None
    try:
        with open(os.path.join(where, _slot(key)), "rb") as fh:
            entry = marshal.loads(fh.read())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if (not isinstance(entry, tuple) or len(entry) != 6 or entry[0] != FORMAT or entry[2] != text
            or entry[1] != fingerprint()):
        return None
    _, _, _, nodes, depth, tree = entry
    if nodes > limits.yaml_nodes or depth > limits.depth:
        return None  # this run allows less: the parse says what was passed
    return _decode(tree, file)


def keep(text: str, key: str, tree: Any, nodes: int, depth: int) -> None:
    """Keep the tree parsed from `text` (a file's, named by `key`) for later runs, with the YAML
    nodes it took and its deepest nesting (load.parse_counted), if caching is on."""
    where = folder()
    if where is None or len(text) > MAX_TEXT:
        return
    try:
        _write(where, _slot(key), marshal.dumps((FORMAT, fingerprint(), text, nodes, depth, _encode(tree))))
    except (OSError, ValueError):
        return


def _encode(value: Any) -> Any:
    """LMap -> ("m", line, col, ((key, key line, key col, value line, value col, value), ...));
    LList -> ("l", line, col, ((line, col, item), ...)); a scalar as itself (never a tuple)."""
    if isinstance(value, LMap):
        ks, vs = value.key_spans, value.value_spans
        return ("m", value.span.line, value.span.col,
                tuple((k, ks[k].line, ks[k].col, vs[k].line, vs[k].col, _encode(v)) for k, v in value.items()))
    if isinstance(value, LList):
        return ("l", value.span.line, value.span.col,
                tuple((s.line, s.col, _encode(v)) for s, v in zip(value.item_spans, value)))
    return value


def _decode(value: Any, file: str) -> Any:
    make = tuple.__new__

    def span(line: int, col: int) -> Span:
        return make(Span, (file, line, col))

    def decode(value: Any) -> Any:
        if value.__class__ is not tuple:
            return value
        if value[0] == "m":
            out = LMap()
            out.span = span(value[1], value[2])
            key_spans: dict[str, Span] = {}
            value_spans: dict[str, Span] = {}
            out.key_spans, out.value_spans = key_spans, value_spans
            for k, kl, kc, vl, vc, v in value[3]:
                out[k] = decode(v)
                key_spans[k], value_spans[k] = span(kl, kc), span(vl, vc)
            return out
        items = LList([decode(v) for _, _, v in value[3]])
        items.span = span(value[1], value[2])
        items.item_spans = [span(line, col) for line, col, _ in value[3]]
        return items

    return decode(value)
