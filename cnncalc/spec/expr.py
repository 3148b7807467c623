"""Argument substitution: `$name` and small integer expressions such as `$width * 4`.

Stage: spec (pure). In: a raw YAML value + the arguments in scope. Out: the value with every
`$name` replaced. Expressions are parsed with `ast` and only integer arithmetic is evaluated
(+ - * // % and parentheses); nothing is ever passed to eval().
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from cnncalc.errors import Span, SpecError

_REF = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_OPS = {"Add": lambda a, b: a + b, "Sub": lambda a, b: a - b, "Mult": lambda a, b: a * b,
        "FloorDiv": lambda a, b: a // b, "Mod": lambda a, b: a % b}


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


@cache
def _parse(text: str):
    """The expression's syntax tree, parsed once per distinct text (blocks repeat expressions)."""
    import ast

    return ast.parse(_REF.sub(lambda m: m.group(1), text), mode="eval")


def _evaluate(text: str, env: Mapping[str, Any], span: Span) -> int:
    import ast

    try:
        tree = _parse(text)
    except SyntaxError:
        raise SpecError(span, f"cannot read the expression '{text}'",
                        "expressions use $args, integers, + - * // % and parentheses") from None

    def walk(node: ast.AST) -> int:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.Name):
            value = _lookup(node.id, env, span)
            if type(value) is not int:
                raise SpecError(span, f"'${node.id}' is {value!r}, not an integer, in '{text}'")
            return value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op).__name__ in _OPS:
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, (ast.FloorDiv, ast.Mod)) and right == 0:
                raise SpecError(span, f"division by zero in '{text}'")
            return _OPS[type(node.op).__name__](left, right)
        raise SpecError(span, f"unsupported expression '{text}'",
                        "expressions use $args, integers, + - * // % and parentheses")

    return walk(tree)
