"""Ultralytics model YAMLs (yolov8.yaml, yolo11-seg.yaml, ...) read as they are: the rows of
`backbone:` and `head:` ([from, repeats, module, args]) scaled as Ultralytics scales them, each
module written as cnncalc layers named as Ultralytics names them (model.2.m.0.cv1.conv), out as
a spec (readers/emit.py) that the rest of cnncalc analyses like any other.

Stage: reader (pure, torch-free; never imports ultralytics). In: the file's text, the scale,
nc, fused. Out: spec text. docs/yolo.md describes the format and what is read.

Ultralytics' rules, in our words (its parse_model and yaml_model_load):
- a file has `scales: {n: [depth, width, max_channels], ...}` and is read at one scale: the
  letter after the version in the file name (yolov8n.yaml is yolov8.yaml at n), `scale=` here
  (`--set scale=s`), or else the first scale; a file without scales has `depth_multiple` and
  `width_multiple` (YOLOv3/v5 style; no channel cap);
- repeats n > 1 become max(round(n * depth), 1);
- the output channels of most modules (args[0]) become ceil(min(c, max_channels) * width / 8) * 8,
  and their arguments [c_in, c_out, *rest], with the repeats inserted third for the CSP modules;
- `from` is -1 (the row above), a row index, or a list of them (negative: counted back).
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

from cnncalc.errors import Limits

_TOP = re.compile(r"^(backbone|head|layers)[ \t]*:", re.M)


def is_ultralytics(text: str) -> bool:
    """Whether a YAML text is an Ultralytics model file: top-level `backbone:` and `head:`, and no
    `layers:` (a cnncalc spec's)."""
    keys = set(_TOP.findall(text))
    return keys == {"backbone", "head"}


_SCALE = re.compile(r"yolo(e-)?v?\d+([nslmx])")


def scale_of(path: str) -> str:
    """The scale a file name asks for (Ultralytics' rule): yolov8n.yaml -> n, yolo11s-seg -> s,
    yolov9c -> '' (c is part of the name)."""
    found = _SCALE.search(os.path.basename(path).rsplit(".", 1)[0])
    return found.group(2) if found else ""


def unscaled(path: str) -> str:
    """The file a scaled name stands for: yolov8n.yaml -> yolov8.yaml, yolo11s-seg.yaml ->
    yolo11-seg.yaml (Ultralytics' rule: the scale letter after the version's digits goes)."""
    return re.sub(r"(\d+)([nslm]|x)(.+)?$", r"\1\3", path)


def installed_models() -> str | None:
    """The folder of the model YAMLs the installed ultralytics package ships (found without
    importing it: importing ultralytics imports torch), or None."""
    from importlib.machinery import PathFinder  # (importlib.util costs ~1 ms to import)

    try:
        spec = PathFinder.find_spec("ultralytics")
        if spec is None:  # installed some other way (an editable install's meta-path finder)
            from importlib.util import find_spec

            spec = find_spec("ultralytics")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        folder = os.path.join(root, "cfg", "models")
        if os.path.isdir(folder):
            return folder
    return None


def locate(arg: str) -> str | None:
    """The path of the Ultralytics model file `arg` names (yolov8n, yolov8n.yaml, yolo11s-seg.yaml),
    as Ultralytics finds it: the file as given, its unscaled name beside it, then the same names
    among the installed package's model files. None when none is there."""
    name = arg if arg.endswith((".yaml", ".yml")) else arg + ".yaml"
    for candidate in (name, unscaled(name)):
        if os.path.isfile(candidate):
            return candidate
    folder = installed_models()
    if folder is None or os.sep in name or "/" in name:
        return None
    wanted = {os.path.basename(name), os.path.basename(unscaled(name))}
    for root, _dirs, files in sorted(os.walk(folder)):
        for file in sorted(files):
            if file in wanted:
                return os.path.join(root, file)
    return None


def looks_like_yolo(arg: str) -> bool:
    """Whether a name that is no file and no bundled spec reads as an Ultralytics model name."""
    return bool(re.match(r"^(yolo|yoloe|rtdetr)[\w.-]*$", os.path.basename(arg)))


# -- reading ---------------------------------------------------------------------------------

def read(text: str, file: str, *, scale: str | None = None, nc: int | None = None, fused: bool = False,
         nms_free: bool = False, limits: Limits = Limits()) -> str:
    """The cnncalc spec text of an Ultralytics model file at one scale (`scale`, else the one its
    file name says, else its first), with nc classes if given, after fuse() if `fused`."""
    return _read(text, file, scale or scale_of(file), nc, fused, nms_free, limits)


@lru_cache(maxsize=16)
def _read(text: str, file: str, scale: str, nc: int | None, fused: bool, nms_free: bool, limits: Limits) -> str:
    """The conversion (reader.py), or what it gave before for exactly these inputs (the parse
    cache's derived entries, spec/cache.py: a run that read this file before imports neither the
    reader's modules nor a YAML parser)."""
    from cnncalc.spec import cache

    asked = f"{file}\n{scale}\n{nc}\n{fused}\n{nms_free}\n{limits!r}\n{text}"
    key = f"{os.path.abspath(file)}#{scale},{nc},{int(fused)},{int(nms_free)}"
    here = os.path.dirname(__file__)  # what the conversion's answer depends on: this package,
    code = [os.path.join(here, name) for name in sorted(os.listdir(here)) if name.endswith(".py")]
    readers = os.path.dirname(here)  # the spec writer and the op names it knows
    code += [os.path.join(readers, "emit.py"), os.path.join(os.path.dirname(readers), "ops", "__init__.py")]
    spec = cache.derived(asked, key, code)
    if spec is None:
        from cnncalc.readers.ultralytics.reader import convert

        spec = convert(text, file, scale, nc, fused, nms_free, limits)
        cache.keep_derived(asked, key, code, spec)
    return spec
