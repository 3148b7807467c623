"""Element types: the one name -> bytes table every command and the library use.

Stage: shared (pure). A Dtype carries its name and its size together, so nothing can print
"4 B (float16)".
"""

from __future__ import annotations

from cnncalc.errors import UsageError
from cnncalc.record import Record


class Dtype(Record):
    name: str  # torch's name: float32, bfloat16, ...
    bytes: int  # bytes per element


DTYPES: dict[str, Dtype] = {d.name: d for d in (
    Dtype("float32", 4), Dtype("float16", 2), Dtype("bfloat16", 2), Dtype("float64", 8), Dtype("int8", 1),
    Dtype("uint8", 1))}
ALIASES = {"fp32": "float32", "float": "float32", "fp16": "float16", "half": "float16", "bf16": "bfloat16",
           "fp64": "float64", "double": "float64"}
NAMES = tuple(DTYPES)  # what --dtype offers


def get_dtype(name: str | Dtype) -> Dtype:
    """The Dtype called `name` (or an alias: fp16, bf16, half, ...), or a UsageError listing them."""
    if isinstance(name, Dtype):
        return name
    key = ALIASES.get(str(name).lower(), str(name).lower())
    if key not in DTYPES:
        raise UsageError(None, f"unknown dtype '{name}'", "choose one of: " + ", ".join(NAMES))
    return DTYPES[key]
