"""Argument substitution: `$name` and small integer expressions such as `$width * 4`.

Stage: spec (pure). In: a raw YAML value + the arguments in scope. Out: the value with every
`$name` replaced. Expressions are parsed with `ast` and only arithmetic is evaluated: integers
(exact) and decimals, + - * / // % and parentheses, and the functions in FUNCTIONS (max, min,
ceil, floor, round, int, make_divisible); nothing is ever passed to eval(). Size is bounded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from cnncalc.errors import MAX_DIGITS, Span, SpecError

_REF = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_OPS = {"Add": lambda a, b: a + b, "Sub": lambda a, b: a - b, "Mult": lambda a, b: a * b,
        "Div": lambda a, b: a / b, "FloorDiv": lambda a, b: a // b, "Mod": lambda a, b: a % b}


def did_you_mean(word: str, choices: Any) -> str:
    """A "did you mean 'x'?" hint, or '' when nothing is close."""
    import difflib  # only when there is an error to report

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def substitute(value: Any, env: Mapping[str, Any], span: Span) -> Any:
    """Replace `$name` references in value (recursing into lists) by their values in env."""
    if value.__class__ is not str:  # the common case first: ints, booleans, lists of them
        return [substitute(v, env, span) for v in value] if isinstance(value, list) else value
    if "$" not in value:
        return value
    text = value.strip()
    whole = _REF.fullmatch(text)
    if whole:  # `$name` alone keeps the argument's type (int, list, bool, ...)
        return _lookup(whole.group(1), env, span)
    return _evaluate(text, env, span)


def _lookup(name: str, env: Mapping[str, Any], span: Span) -> Any:
    if name not in env:
        raise SpecError(span, f"unknown argument '${name}'", did_you_mean(name, env) or
                        f"arguments in scope: {', '.join('$' + k for k in env) or 'none'}")
    return env[name]


@lru_cache(maxsize=4096)
def _parse(text: str):
    """The expression's syntax tree, parsed once per distinct text (blocks repeat expressions);
    bounded, so a long-running `cnncalc serve` fed new specs does not grow without end
    (lru_cache is thread-safe)."""
    import ast

    return ast.parse(_REF.sub(lambda m: m.group(1), text), mode="eval")


def make_divisible(value: float, divisor: int, min_value: int | None = None) -> int:
    """torchvision's _make_divisible (MobileNet, EfficientNet, MNASNet): round to the nearest
    multiple of divisor, at least min_value (default divisor), never more than 10% below value."""
    floor = divisor if min_value is None else min_value
    new = max(floor, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def _ceil(x: float) -> int:
    import math

    return math.ceil(x)


def _floor(x: float) -> int:
    import math

    return math.floor(x)


# name -> (function, smallest and largest number of arguments)
FUNCTIONS: dict[str, tuple[Any, int, int]] = {
    "max": (max, 2, 8), "min": (min, 2, 8), "ceil": (_ceil, 1, 1), "floor": (_floor, 1, 1),
    "round": (round, 1, 1), "int": (int, 1, 1), "make_divisible": (make_divisible, 2, 3),
}
MAX_TEXT = 1000  # characters of one expression
_MAX_BITS = int(MAX_DIGITS * 3.3219)  # below this many bits a number has fewer digits: no check needed
MAX_NODES = 400  # syntax-tree nodes of one expression
HELP = ("expressions use $args, integers and decimals, + - * / // %, parentheses, and "
        "max, min, ceil, floor, round, int, make_divisible(value, divisor[, min])")


def _evaluate(text: str, env: Mapping[str, Any], span: Span) -> Any:
    """The value of an expression: integers stay exact ints; `/` and decimals give floats, which
    round(), ceil(), floor(), int() and make_divisible() turn back into ints. A float result
    with no fraction is returned as an int (an op argument that needs a count checks the rest).

    The tree is walked with an explicit stack, never by recursion, so no expression can reach
    Python's recursion limit; it is bounded in size (MAX_TEXT characters, MAX_NODES terms) and
    every intermediate integer in magnitude (MAX_DIGITS digits), so that arguments squared
    through nested blocks stop at once instead of growing for minutes."""

    if len(text) > MAX_TEXT:
        raise SpecError(span, f"the expression is {len(text):,} characters long (at most {MAX_TEXT:,})")
    try:
        tree = _parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        unbalanced = text.count("(") != text.count(")")
        raise SpecError(span, f"cannot read the expression '{_short(text)}'",
                        "inside {...} a comma ends the value: quote an expression that has one, "
                        "e.g. out: \"make_divisible($w * 1.1, 8)\"" if unbalanced else HELP) from None
    try:
        value = _walk(tree.body, text, env, span)
    except (OverflowError, ValueError, ZeroDivisionError) as exc:  # ceil(inf), a float too large for an int
        raise SpecError(span, f"the expression '{_short(text)}' has no finite value ({exc})") from None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _checked(value: Any, text: str, span: Span) -> Any:
    """An intermediate value, refused when it is an integer of more than MAX_DIGITS digits."""
    if value.__class__ is int and value.bit_length() > _MAX_BITS and abs(value) >= 10**MAX_DIGITS:
        raise SpecError(span, f"the expression '{_short(text)}' reaches a number of more than {MAX_DIGITS} digits",
                        "a layer size is a few digits long: is an argument multiplied by itself at every "
                        "level of nested blocks?")
    return value


def _walk(root: Any, text: str, env: Mapping[str, Any], span: Span) -> Any:
    """Post-order evaluation with an explicit stack: (node, children evaluated yet?)."""
    import ast

    count = 0
    stack: list[tuple[Any, bool]] = [(root, False)]
    values: list[Any] = []
    while stack:
        node, ready = stack.pop()
        if not ready:
            count += 1
            if count > MAX_NODES:
                raise SpecError(span, f"the expression '{_short(text)}' is too large (at most {MAX_NODES} terms)")
            if isinstance(node, ast.Constant) and type(node.value) in (int, float):
                values.append(_checked(node.value, text, span))
            elif isinstance(node, ast.Name):
                value = _lookup(node.id, env, span)
                if type(value) not in (int, float):
                    raise SpecError(span, f"'${node.id}' is {value!r}, not a number, in '{_short(text)}'")
                values.append(_checked(value, text, span))
            elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
                stack += [(node, True), (node.operand, False)]
            elif isinstance(node, ast.BinOp) and type(node.op).__name__ in _OPS:
                stack += [(node, True), (node.right, False), (node.left, False)]
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS
                    and not node.keywords):
                _, low, high = FUNCTIONS[node.func.id]
                if not low <= len(node.args) <= high:
                    raise SpecError(span, f"{node.func.id}() takes {low}{'' if low == high else f' to {high}'} "
                                    f"argument{'s' if high > 1 else ''}, in '{_short(text)}'", HELP)
                stack.append((node, True))
                stack += [(a, False) for a in reversed(node.args)]
            else:
                raise SpecError(span, f"unsupported expression '{_short(text)}'", HELP)
            continue
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                values[-1] = -values[-1]
        elif isinstance(node, ast.BinOp):
            right = values.pop()
            left = values.pop()
            if isinstance(node.op, (ast.FloorDiv, ast.Mod, ast.Div)) and right == 0:
                raise SpecError(span, f"division by zero in '{_short(text)}'")
            values.append(_checked(_OPS[type(node.op).__name__](left, right), text, span))
        else:
            n = len(node.args)
            args = values[len(values) - n:]
            del values[len(values) - n:]
            values.append(_checked(FUNCTIONS[node.func.id][0](*args), text, span))
    return values[0]
