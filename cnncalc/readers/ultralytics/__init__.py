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
from functools import lru_cache

from cnncalc.errors import Limits
from cnncalc.readers.ultralytics.names import (  # noqa: F401  (the package's names)
    installed_models,
    is_ultralytics,
    locate,
    looks_like_yolo,
    scale_of,
    unscaled,
)

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
    code += [os.path.join(readers, "emit.py"), os.path.join(os.path.dirname(readers), "ops", "registry.py")]
    spec = cache.derived(asked, key, code)
    if spec is None:
        from cnncalc.readers.ultralytics.reader import convert

        spec = convert(text, file, scale, nc, fused, nms_free, limits)
        cache.keep_derived(asked, key, code, spec)
    return spec
