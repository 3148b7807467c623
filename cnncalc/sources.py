"""Where specs come from: bundled architectures by name, or files by path (the I/O edge).

Stage: input edge. In: what the user typed (`alexnet`, `alexnet.yaml`, `my/net.yaml`).
Out: the spec text and the file name to show in errors. The only module that opens spec files.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Any

from cnncalc.errors import LimitError, Limits, Span, SpecError, UsageError, safe_text, shorten
from cnncalc.record import Record
from cnncalc.spec.expr import did_you_mean
from cnncalc.spec.load import parse_counted, parse_yaml
from cnncalc.spec.model import ArchSpec, parse_spec


class Source(Record):
    text: str
    file: str  # shown in error messages
    bundled: str | None = None  # the bundled name, when it is one
    note: str = ""  # said on stderr (e.g. "alexnet.yaml not found here; using the bundled one")
    variant: str | None = None  # one of the file's `variants:` (efficientnet_b3 of efficientnet.yaml)
    scale: str | None = None  # an Ultralytics model file's scale, from the name asked for (yolov8n: n)
    cache: str | None = None  # a file's key in the parse cache (spec/cache.py): its bundled name or path


@lru_cache(maxsize=1)
def _bundle() -> str:
    """The bundled specs: installed as cnncalc/architectures (pyproject maps the top-level
    architectures/ there); in an editable install or a checkout, that folder itself. (os.path,
    not importlib.resources or pathlib: a wheel is always unpacked, and those imports cost
    start-up time on every run.)"""
    here = os.path.dirname(os.path.realpath(__file__))
    installed = os.path.join(here, "architectures")
    return installed if os.path.isdir(installed) else os.path.join(os.path.dirname(here), "architectures")


def _files() -> list[str]:
    """Stems of the bundled spec files."""
    return [n[:-5] for n in os.listdir(_bundle()) if n.endswith(".yaml")]


_VARIANT = re.compile(r"^variants:[ \t]*(?:#.*)?\n((?:(?:[ \t].*|[ \t]*)\n)*)", re.M)
_VARIANT_NAME = re.compile(r"^  ([A-Za-z0-9_.-]+):", re.M)


@lru_cache(maxsize=1)
def variants() -> dict[str, str]:
    """Bundled variant name -> the file it is a variant of (efficientnet_b3 -> efficientnet).

    Read from the files' top-level `variants:` blocks by a pattern, not by parsing every file
    (only `list`, a name that is no file, and did-you-mean come here); a test checks the pattern
    finds exactly the variants the YAML parser sees. Reading all ~90 files costs ~4 ms, so the
    index is kept in the parse cache (spec/cache.py), under the folder's listing with each
    file's size and modification time (as Python checks its .pyc files): 90 stats instead."""
    from cnncalc.spec import cache

    stems = sorted(_files())
    listing = bundle_listing()
    kept = cache.derived(listing, "bundled-variants", [__file__])
    if kept is not None:
        return dict(line.split("=", 1) for line in kept.splitlines())
    found: dict[str, str] = {}
    for stem in stems:
        block = _VARIANT.search(bundled_text(stem))
        if block:
            for name in _VARIANT_NAME.findall(block.group(1)):
                found.setdefault(name, stem)
    cache.keep_derived(listing, "bundled-variants", [__file__], "\n".join(f"{k}={v}" for k, v in found.items()))
    return found


def bundle_listing() -> str:
    """The bundled files as the parse cache keys what is derived from them all: the folder, and
    each file's name, size and modification time (as Python checks its .pyc files)."""
    folder = _bundle()
    stems = sorted(_files())
    stamps = [os.stat(os.path.join(folder, f"{stem}.yaml")) for stem in stems]
    return folder + "\n" + "\n".join(f"{stem}:{st.st_size}:{st.st_mtime_ns}" for stem, st in zip(stems, stamps))


def bundled_names() -> list[str]:
    """Names of the bundled architectures, sorted: each file, or a family file's variants (the
    family file itself still loads by its name: its top level, as written)."""
    found = variants()
    names = (set(_files()) - set(found.values())) | set(found)
    return sorted(names, key=lambda n: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", n)])


def bundled_text(name: str) -> str:
    """The YAML text of a bundled architecture (a variant's: the file it is a variant of)."""
    path = os.path.join(_bundle(), f"{name}.yaml")
    if not os.path.exists(path) and name in variants():
        path = os.path.join(_bundle(), f"{variants()[name]}.yaml")
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def _variant_of(name: str) -> str | None:
    """The bundled file whose `variants:` has `name` (densenet201: densenet), or None. The files
    likeliest to hold it are read first (a stem the name starts with, then stems sharing its
    first three letters: 1-5 files instead of all ~90, ~3 ms, issue 35); a variant name is in one
    file only (tests/test_architectures.py), so the first file that lists it is the answer."""
    stems = _files()
    likely = sorted((s for s in stems if name.startswith(s)), key=len, reverse=True)
    likely += [s for s in stems if s[:3] == name[:3] and s not in likely]
    for stem in likely:
        block = _VARIANT.search(bundled_text(stem))
        if block and name in _VARIANT_NAME.findall(block.group(1)):
            return stem
    return variants().get(name)


def _bundled(name: str, note: str = "") -> Source | None:
    """The Source of a bundled file or variant called `name`, or None."""
    if os.path.exists(os.path.join(_bundle(), f"{name}.yaml")):
        return Source(bundled_text(name), f"{name}.yaml", bundled=name, note=note, cache=f"{name}.yaml")
    family = _variant_of(name)
    if family is not None:
        return Source(bundled_text(family), f"{family}.yaml", bundled=name, note=note, variant=name,
                      cache=f"{family}.yaml")
    return None


def find(arg: str, limits: Limits = Limits()) -> Source:
    """Resolve a bare bundled name, a path, `-` (the spec on standard input, shown as <stdin>), or
    a missing `NAME.yaml` that names a bundled spec."""
    if arg == "-":
        return Source(_read_stdin(limits), "<stdin>")
    if os.path.splitext(arg)[1] == "" and "/" not in arg and os.sep not in arg and arg:
        source = _bundled(arg)
        if source is not None:
            return source
    if os.path.isdir(arg):
        raise UsageError(None, f"'{arg}' is a directory, not a spec file")
    if os.path.isfile(arg):
        return Source(_read(arg, limits), arg, cache=os.path.abspath(arg))
    yolo = _ultralytics(arg, limits)
    if yolo is not None:
        return yolo
    stem = os.path.basename(arg).removesuffix(".yaml").removesuffix(".yml")
    # the note goes to a terminal: the path as typed, its control characters shown escaped
    said = f"note: {safe_text(shorten(arg))} not found; using the bundled architecture '{safe_text(shorten(stem))}'"
    source = _bundled(stem, note=said) if stem else None
    if source is not None:
        return source
    if "/" in arg or os.sep in arg or arg.endswith((".yaml", ".yml")):  # a path: no bundled name was meant
        folder = os.path.dirname(arg)
        where = (f"the folder '{folder}' does not exist" if folder and not os.path.isdir(folder) else
                 f"paths are relative to {os.getcwd()}" if not os.path.isabs(arg) else "")
        raise UsageError(None, f"no such file: '{arg}'", where)
    hint = did_you_mean(stem, bundled_names()) or "`cnncalc list` shows the bundled architectures"
    raise UsageError(None, f"no such file or bundled architecture: '{arg}'", hint)


def _ultralytics(arg: str, limits: Limits) -> Source | None:
    """An Ultralytics model file by the name Ultralytics takes (yolov8n.yaml is yolov8.yaml at
    scale n; beside the path given, then in the installed ultralytics package), or None; a name
    that reads as one when ultralytics is not installed is an error that says what to install."""
    from cnncalc.readers import ultralytics as yolo

    if len(arg) > 255 or not (arg.endswith((".yaml", ".yml")) or yolo.looks_like_yolo(arg)):
        return None  # (a file name is at most 255 bytes: the name rules' regexes stay short)
    path = yolo.locate(arg)
    if path is not None:
        return Source(_read(path, limits), path, scale=yolo.scale_of(arg) or None)
    if yolo.looks_like_yolo(arg) and "/" not in arg and os.sep not in arg and yolo.installed_models() is None:
        raise UsageError(None, f"'{arg}' reads as an Ultralytics model name, and the ultralytics package (whose "
                         "model files cnncalc reads) is not installed here",
                         "pip install --no-deps ultralytics (the YAML files are all cnncalc needs), or give the "
                         "path of the model YAML")
    return None


def ultralytics_spec(source: Source, args: dict[str, Any], limits: Limits = Limits()) -> Source:
    """The Source of the cnncalc spec an Ultralytics model file reads as, when `source` is one
    (else `source` itself). Takes `scale` (n, s, ...), `nc` (classes), `fused` and `nms_free` (0
    or 1: an end-to-end head's one-to-one answer, Ultralytics' nms=False) out of args, the
    overrides only this reader understands (docs/yolo.md)."""
    text = "\n" + source.text
    if "\nbackbone" not in text or "\nhead" not in text:  # no top-level backbone and head: no reader imported
        return source
    from cnncalc.readers.ultralytics import is_ultralytics, read

    if not is_ultralytics(source.text):
        return source
    scale = args.pop("scale", None) or source.scale
    nc = args.pop("nc", None)
    fused = args.pop("fused", 0)
    nms_free = args.pop("nms_free", 0)
    if scale is not None and not isinstance(scale, str):
        raise UsageError(None, f"scale is a letter of the file's `scales:` (n, s, m, l, x), found {scale!r}",
                         param="scale")
    if nc is not None and (not isinstance(nc, int) or isinstance(nc, bool) or nc < 1):
        raise UsageError(None, f"nc is the number of classes, a positive integer, found {nc!r}", param="nc")
    for key, value in (("fused", fused), ("nms_free", nms_free)):
        if value not in (0, 1, True, False):
            raise UsageError(None, f"{key} is 0 or 1, found {value!r}", param=key)
    text = read(source.text, source.file, scale=scale, nc=nc, fused=bool(fused), nms_free=bool(nms_free),
                limits=limits)
    key = f"{os.path.abspath(source.file)}#{scale},{nc},{int(bool(fused))},{int(bool(nms_free))}.cnncalc"
    return Source(text, source.file + " (read as a cnncalc spec)", note=source.note, cache=key)


def onnx_source(path: str, input_shape: tuple[int, ...] | None = None, limits: Limits = Limits()) -> Source:
    """The Source of the spec an ONNX file reads as, on input_shape (no batch; the file's own
    sizes without it): cnncalc.readers.onnx_file, docs/onnx.md."""
    if not os.path.isfile(path):
        raise UsageError(None, f"no such file: '{path}'", "" if os.path.isabs(path) else f"paths are relative to "
                         f"{os.getcwd()}")
    from cnncalc.readers.onnx_file import read

    got = read(path, input_shape, limits)
    return Source(got.text, path + " (read as a cnncalc spec)")


def is_target(arg: str) -> bool:
    """Whether a SPEC argument names a PyTorch model to import (docs/import.md). The common case,
    a bundled name or a .yaml path, is told here without importing anything; the rest is
    cnncalc.readers.targets.is_target's to decide."""
    if (":" not in arg and "." not in arg) or arg.endswith((".yaml", ".yml", ".json")) or "\n" in arg:
        return False
    from cnncalc.readers.targets import is_target as full

    return full(arg)


def imported(spec: Any) -> Source:
    """The Source of an imported model's spec (cnncalc.readers.targets.Imported)."""
    return Source(spec.text, spec.file)


def _read_stdin(limits: Limits) -> str:
    """The spec piped in (`cnncalc table - < net.yaml`), within the same size limit as a file."""
    import sys

    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError(None, "'-' reads the spec from standard input, but nothing is piped in",
                         "e.g. cat net.yaml | cnncalc table -")
    data = sys.stdin.buffer.read(limits.file_bytes + 1)
    if len(data) > limits.file_bytes:
        raise LimitError(Span("<stdin>", 1, 1), f"the input is over {limits.file_bytes:,} bytes", "file_bytes",
                         limits.file_bytes)
    return _decode(data, "<stdin>")


def _read(path: str, limits: Limits) -> str:
    size = os.path.getsize(path)
    if size > limits.file_bytes:
        raise LimitError(Span(path, 1, 1), f"the file is {size:,} bytes", "file_bytes", limits.file_bytes)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise UsageError(None, f"cannot read '{path}': {exc.strerror}") from None
    return _decode(data, path)


def _decode(data: bytes, file: str) -> str:
    """UTF-8 text, or a SpecError at the first byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(Span(file, line, col), "the file is not UTF-8 text") from None


def load_spec(source: Source, limits: Limits = Limits()) -> ArchSpec:
    """Parse a source's text into an ArchSpec (every error is a SpecError with file:line).

    The last few parses are kept: a notebook re-running a cell, or a sweep over batch sizes,
    analyses the same text again and again, and an ArchSpec is never changed once made (graph.py
    only reads it). A failed parse raises and is not kept; a text over CACHED_TEXT characters is
    parsed anew each time (16 parses of 4 MB specs would hold gigabytes, in `serve` for good)."""
    if len(source.text) > CACHED_TEXT:
        return parse_spec(parse_yaml(source.text, source.file, limits), source.file, source.variant)
    return _parse(source.text, source.file, limits, source.variant, source.cache)


CACHED_TEXT = 256 * 1024  # the largest bundled spec is 11 kB


@lru_cache(maxsize=16)
def _parse(text: str, file: str, limits: Limits, variant: str | None, cache: str | None = None) -> ArchSpec:
    """A file's text through the parse cache on disk (spec/cache.py: no YAML parser imported for
    a file read before), other texts through the YAML parser."""
    if cache is None:
        return parse_spec(parse_yaml(text, file, limits), file, variant)
    from cnncalc.spec import cache as disk

    tree = disk.load(text, cache, file, limits)
    if tree is None:
        tree, nodes, depth = parse_counted(text, file, limits)
        disk.keep(text, cache, tree, nodes, depth)
    return parse_spec(tree, file, variant)
