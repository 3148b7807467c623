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


# A hint's cost is bounded whatever the spec holds (issue 31): difflib's ratio is quadratic in
# the lengths it compares, and an error is raised per bad reference of a file.
MAX_HINT_WORD = 64  # a longer word gets no suggestion (no name is mistyped at that length)
MAX_HINT_CANDIDATES = 200  # distinct choices compared at most: those nearest the word's length
MAX_HINT_WORK = 1 << 17  # and at most this many character pairs (len(word) x len(choice)) in all


def did_you_mean(word: str, choices: Any) -> str:
    """A "did you mean 'x'?" hint, or '' when nothing is close.

    Bounded: no suggestion for a word over MAX_HINT_WORD characters; of the choices, only those
    whose length allows difflib's ratio to reach 0.6 (2*min/(a+b) >= 0.6: within 3/7..7/3 of the
    word's) are candidates, and of those at most MAX_HINT_CANDIDATES, nearest in length first,
    within MAX_HINT_WORK character pairs. The cost is one pass over the choices plus a constant."""
    if not isinstance(word, str) or not word or len(word) > MAX_HINT_WORD:
        return ""
    n = len(word)
    import difflib  # only when there is an error to report
    import heapq

    lo, hi = -(-3 * n // 7), 7 * n // 3  # lengths m with 2*min(n, m)/(n + m) >= 0.6
    fits = list(dict.fromkeys(c for c in choices if isinstance(c, str) and lo <= len(c) <= hi))
    if len(fits) > MAX_HINT_CANDIDATES:  # the nearest lengths, in their given order among equals
        fits = [c for _, _, c in heapq.nsmallest(MAX_HINT_CANDIDATES, ((abs(len(c) - n), i, c) for i, c in enumerate(fits)))]
    work, kept = 0, []
    for c in sorted(fits, key=lambda c: abs(len(c) - n)):  # stable: nearest lengths first
        work += n * len(c)
        if work > MAX_HINT_WORK:
            break
        kept.append(c)
    close = difflib.get_close_matches(word, kept, n=1, cutoff=0.6)
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


class UnknownArgument(SpecError):
    """`$name` names no argument in scope. Its hint, a pass over the names in scope, is worked
    out when first read: of a file with thousands of these, only the errors shown need one."""

    def __init__(self, span: Span | None, message: str, hint: str = "", param: str | None = None,
                 *, name: str = "", env: Mapping[str, Any] | None = None) -> None:
        super().__init__(span, message, hint, param)
        self._pending = (name, env) if env is not None else None

    @property
    def hint(self) -> str:
        if self._pending is not None:
            name, env = self._pending
            self._pending = None
            self._hint = did_you_mean(name, env) or f"arguments in scope: {', '.join('$' + k for k in env) or 'none'}"
        return self._hint

    @hint.setter
    def hint(self, value: str) -> None:
        self._hint, self._pending = value, None


def _lookup(name: str, env: Mapping[str, Any], span: Span) -> Any:
    if name not in env:
        raise UnknownArgument(span, f"unknown argument '${name}'", name=name, env=env)
    return env[name]


# A syntax tree costs about 320 bytes per character of its text. Only short texts are kept, and
# a bounded number of them, so the cache holds at most about CACHE_SIZE * CACHE_TEXT * 320 B
# (8 MB) however many distinct expressions a long-running `cnncalc serve` is sent; every
# expression of the bundled networks (at most 74 characters, 99 in all) is kept.
CACHE_TEXT = 100  # characters: a longer expression is parsed each time it is met, never kept
CACHE_SIZE = 256  # expressions kept (the least recently used goes first)


def _parse_text(text: str) -> Any:
    """The expression's syntax tree (`$name` read as `name`)."""
    import ast

    return ast.parse(_REF.sub(lambda m: m.group(1), text), mode="eval")


# the tree of a short text, parsed once per distinct text (blocks repeat expressions); only
# _evaluate calls it, after its length checks (lru_cache is thread-safe)
_parse = lru_cache(maxsize=CACHE_SIZE)(_parse_text)


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
        tree = _parse(text) if len(text) <= CACHE_TEXT else _parse_text(text)
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
