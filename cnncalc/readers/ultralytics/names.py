"""Ultralytics model files by name: which text is one, the scale a file name asks for, and where
the installed ultralytics package keeps its YAMLs (found without importing it).

Stage: reader (input edge; no YAML parsed here). Used by sources.py to find a file and by the
reader to name what it read.
"""

from __future__ import annotations

import os
import re

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
