"""The command line's sweep syntax: --input, --batch and --set values with lists and ranges,
read into the Python values cnncalc.sweep() takes (docs/sweep.md):

    --input 3x128x128..3x512x512/32     a range: the axes that differ step by 32 together
    --input 3x32x32..3x512x512*2        a geometric range: each point twice the last
    --input 3x224x224,3x320x320         a list (points are written with x, so commas separate)
    --batch 1,8,64  |  --batch 1..256*2 |  --batch 8..64/8
    --set width=32,64,128  |  --set width=16..128/16

Stage: CLI edge (pure text -> values). Errors name the flag.
"""

from __future__ import annotations

import re
from typing import Any

from cnncalc.cli.common import parse_sets
from cnncalc.errors import UsageError, shorten

MAX_POINTS = 10_000  # a sweep is a table and a chart, not a grid search
_INT = r"[0-9]{1,100}"
_RANGE = re.compile(rf"(?P<a>[0-9x]+)\.\.(?P<b>[0-9x]+)(?:(?P<op>[/*])(?P<step>{_INT}))?", re.ASCII)


def _bad(flag: str, text: str, why: str, example: str) -> UsageError:
    joint = "=" if flag.startswith("--set ") else " "  # --set width=16..128/16, --batch 1,8,64
    return UsageError(None, f"{flag} '{shorten(text, 80)}': {why}", f"e.g. {flag}{joint}{example}")


def _int_range(flag: str, text: str, example: str) -> list[int] | None:
    """A..B/STEP (arithmetic), A..B*F (geometric), or None when text is not a range."""
    match = re.fullmatch(rf"(?P<a>{_INT})\.\.(?P<b>{_INT})(?:(?P<op>[/*])(?P<step>{_INT}))?", text, re.ASCII)
    if match is None:
        return None
    return _steps(flag, text, int(match["a"]), int(match["b"]), match["op"] or "/", int(match["step"] or 1), example)


def _steps(flag: str, text: str, a: int, b: int, op: str, step: int, example: str) -> list[int]:
    if b < a:
        raise _bad(flag, text, "the range ends before it starts", example)
    if op == "/":
        if step < 1:
            raise _bad(flag, text, "the step must be at least 1", example)
        count = (b - a) // step + 1
        if count > MAX_POINTS:
            raise _bad(flag, text, f"{count:,} points (at most {MAX_POINTS:,})", example)
        return [a + i * step for i in range(count)]
    if step < 2 or a < 1:
        raise _bad(flag, text, "a geometric range needs a factor of 2 or more, from 1 or more", example)
    out = [a]
    while out[-1] * step <= b:
        out.append(out[-1] * step)
    return out


def parse_shapes(text: str) -> list[list[int]]:
    """The points of --input: a list of shapes, or a range between two shapes of one rank."""
    flag, example = "--input", "3x128x128..3x512x512/32"
    text = text.strip().lower()
    match = _RANGE.fullmatch(text)
    if match:
        a, b = _shape(match["a"], text), _shape(match["b"], text)
        if len(a) != len(b):
            raise _bad(flag, text, f"the two ends have different ranks ({len(a)} and {len(b)} axes)", example)
        moving = [i for i in range(len(a)) if a[i] != b[i]]
        if not moving:
            return [a]
        spans = {b[i] - a[i] for i in moving}
        starts = {a[i] for i in moving}
        if len(spans) > 1 or (match["op"] == "*" and len(starts) > 1):
            raise _bad(flag, text, "the axes that change must change together (from the same size, or by the "
                       "same amount)", example)
        steps = _steps(flag, text, a[moving[0]], b[moving[0]], match["op"] or "/", int(match["step"] or 1), example)
        shift = [v - a[moving[0]] for v in steps] if match["op"] != "*" else None
        points = []
        for k, v in enumerate(steps):
            shape = list(a)
            for i in moving:
                shape[i] = a[i] + shift[k] if shift is not None else v
            points.append(shape)
        return points
    if ".." in text:
        raise _bad(flag, text, "a range is START..END/STEP or START..END*FACTOR", example)
    shapes = [_shape(part, text) for part in text.split(",")]
    if len(shapes) > MAX_POINTS:
        raise _bad(flag, text, f"{len(shapes):,} points (at most {MAX_POINTS:,})", example)
    return shapes


def _shape(part: str, text: str) -> list[int]:
    from cnncalc.errors import MAX_DIGITS

    dims = part.strip().split("x")
    if not all(re.fullmatch(r"[0-9]+", d, re.ASCII) for d in dims) or not 1 <= len(dims) <= 8:
        raise _bad("--input", text, f"'{shorten(part, 40)}' is not a shape such as 3x224x224 (points are "
                   "written with x; commas separate points)", "3x224x224,3x320x320")
    if any(len(d) > MAX_DIGITS for d in dims) or min(int(d) for d in dims) < 1:
        raise _bad("--input", text, "sizes are positive integers of at most 100 digits", "3x224x224")
    return [int(d) for d in dims]


def parse_batches(text: str) -> list[int]:
    flag, example = "--batch", "1,8,64"
    text = text.strip()
    points = _int_range(flag, text, example)
    if points is None:
        parts = text.split(",")
        if not all(re.fullmatch(r"[0-9]{1,18}", p.strip(), re.ASCII) for p in parts):
            raise _bad(flag, text, "not a batch size, a list (1,8,64) or a range (1..256*2)", example)
        points = [int(p) for p in parts]
    if min(points) < 1 or max(points) > 10**18:
        raise _bad(flag, text, "batch sizes are from 1 to 10**18", example)
    if len(points) > MAX_POINTS:
        raise _bad(flag, text, f"{len(points):,} points (at most {MAX_POINTS:,})", example)
    return points


def parse_set(item: str) -> tuple[str, list[Any]]:
    """`width=32,64,128` or `width=16..128/16` -> ("width", [values]); one value is a plain
    override. A value that is a YAML list or mapping ([3, 5]) is one value, not split."""

    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise UsageError(None, f"--set '{shorten(item, 80)}' is not key=value", "e.g. --set width=32,64,128")
    key, value = key.strip(), value.strip()
    numbers = _int_range(f"--set {key}", value, "16..128/16")
    if numbers is not None:
        return key, numbers
    parts = [value] if value[:1] in "[{" else value.split(",")
    if len(parts) > MAX_POINTS:
        raise _bad(f"--set {key}", value, f"{len(parts):,} points (at most {MAX_POINTS:,})", "32,64,128")
    return key, [parse_sets((f"{key}={p}",))[key] for p in parts]


def check_one_axis(inputs: list[list[int]] | None, batches: list[int], sets: list[tuple[str, list[Any]]]) -> None:
    """A usage error, in the flags' words, unless exactly one flag has several values."""
    moving = ["--input"] if inputs is not None and len(inputs) > 1 else []
    moving += ["--batch"] if len(batches) > 1 else []
    moving += [f"--set {key}" for key, values in sets if len(values) > 1]
    if not moving:
        raise UsageError(None, "nothing to sweep: give a list or a range to --input, --batch or one --set",
                         "e.g. cnncalc sweep resnet50 --input 3x128x128..3x512x512/32")
    if len(moving) > 1:
        raise UsageError(None, f"sweep one axis at a time; this run changes {' and '.join(moving)}",
                         "fix all but one to a single value")
