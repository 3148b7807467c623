"""Read a spec's text into plain Python values that remember where they came from.

Stage: spec (the only YAML user). In: text + file name. Out: LMap / LList / scalars, where every
mapping and list carries the 1-based Span of itself and of each of its items. Only the safe
loader is used; tags that would construct Python objects are refused.
"""

from __future__ import annotations

from typing import Any

import yaml

from cnncalc.errors import LimitError, Limits, Span, SpecError

# The C loader is several times faster; marks (line/col) are kept by both.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_STR, _INT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int"


class LMap(dict):
    """A YAML mapping: a dict plus the span of the mapping, of each key and of each value."""

    span: Span
    key_spans: dict[str, Span]
    value_spans: dict[str, Span]

    def at(self, key: str) -> Span:
        """Span of the value under `key` (or of the mapping when the key is absent)."""
        return self.value_spans.get(key, self.span)


class LList(list):
    """A YAML sequence: a list plus the span of the sequence and of each item."""

    span: Span
    item_spans: list[Span]


class _Builder:
    """Turns composed YAML nodes into LMap/LList/scalars, counting nodes (alias bombs) and
    depth (recursive aliases). Scalars take a fast path: a 100k-layer spec has ~10^6 of them."""

    def __init__(self, file: str, limits: Limits) -> None:
        self.file, self.limits = file, limits
        self.nodes = 0
        self.scalars = yaml.constructor.SafeConstructor()

    def span(self, node: yaml.Node) -> Span:
        mark = node.start_mark  # PyYAML marks are 0-based
        return Span(self.file, mark.line + 1, mark.column + 1)

    def count(self, node: yaml.Node) -> None:
        self.nodes += 1
        if self.nodes > self.limits.yaml_nodes:
            raise LimitError(self.span(node), "the document expands to too many YAML nodes (aliases "
                             "repeated many times?)", "yaml_nodes", self.limits.yaml_nodes)

    def build(self, node: yaml.Node, depth: int = 0) -> Any:
        if node.__class__ is yaml.ScalarNode:
            return self.scalar(node)
        self.count(node)
        if depth > self.limits.depth:
            raise LimitError(self.span(node), "the YAML nests too deeply (a recursive alias?)",
                             "depth", self.limits.depth)
        if node.tag not in _PLAIN_TAGS:
            raise SpecError(self.span(node), f"the tag '{node.tag}' is not allowed",
                            "only plain YAML values are allowed; tags such as !!python/object are refused")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, depth)
        out = LList(self.build(item, depth + 1) for item in node.value)
        out.span = self.span(node)
        out.item_spans = [self.span(item) for item in node.value]
        return out

    def scalar(self, node: yaml.ScalarNode) -> Any:
        self.count(node)
        tag, text = node.tag, node.value
        if tag == _STR:  # the common cases without the constructor machinery
            return text
        if tag == _INT and text.isdigit() and (text[0] != "0" or text == "0"):  # YAML 1.1: 010 is octal
            return int(text)
        try:
            return self.scalars.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise SpecError(self.span(node), f"cannot read this value: {_problem(exc)}",
                            "only plain YAML values are allowed; tags such as !!python/object are refused") from None

    def _mapping(self, node: yaml.MappingNode, depth: int) -> LMap:
        out = LMap()
        out.span = self.span(node)
        key_spans: dict[str, Span] = {}
        value_spans: dict[str, Span] = {}
        out.key_spans, out.value_spans = key_spans, value_spans
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` merges a mapping in
                merged = self.build(value_node, depth + 1)
                for part in merged if isinstance(merged, list) else [merged]:
                    if not isinstance(part, LMap):
                        raise SpecError(self.span(value_node), "`<<:` needs a mapping or a list of mappings")
                    for k, v in part.items():
                        if k not in out:
                            out[k] = v
                            key_spans[k], value_spans[k] = part.key_spans[k], part.value_spans[k]
                continue
            key = self.build(key_node, depth + 1)
            span = self.span(key_node)
            if not isinstance(key, str):
                raise SpecError(span, f"keys must be strings, found {type(key).__name__} {key!r}")
            if key in out:
                raise SpecError(span, f"duplicate key '{key}' (first given at line {key_spans[key].line})")
            out[key] = self.build(value_node, depth + 1)
            key_spans[key], value_spans[key] = span, self.span(value_node)
        return out


def _problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return str(problem).strip()


def _tab_at(text: str, mark: Any) -> int | None:
    """The column (0-based) of a tab in the indentation of the line a YAML error points at, when
    that tab is what stopped the parser (the error is at or after it), else None."""
    if mark is None:
        return None
    lines = text.split("\n", mark.line + 1)
    if mark.line >= len(lines):
        return None
    line = lines[mark.line]
    indent = line[: len(line) - len(line.lstrip(" \t-"))]
    column = indent.find("\t")
    return column if 0 <= column <= mark.column else None


def parse_yaml(text: str, file: str, limits: Limits = Limits()) -> Any:
    """Parse one YAML document into LMap/LList/scalars; every error is a SpecError with a span."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and mark and mark.index >= len(text.rstrip()):
            mark = exc.context_mark  # the problem is "end of file": point at what was left open
        span = Span(file, mark.line + 1, mark.column + 1) if mark else Span(file, 1, 1)
        tab = _tab_at(text, mark)
        if tab is not None:
            raise SpecError(Span(file, mark.line + 1, tab + 1) if mark else span,
                            "invalid YAML: a tab character in the indentation (YAML indents with spaces only)",
                            "replace the tab with spaces (most editors: convert indentation to spaces)") from None
        context = f" ({exc.context} at line {exc.context_mark.line + 1})" if exc.context and exc.context_mark else ""
        raise SpecError(span, f"invalid YAML: {_problem(exc)}{context}") from None
    except yaml.YAMLError as exc:
        raise SpecError(Span(file, 1, 1), f"invalid YAML: {_problem(exc)}") from None
    if node is None:
        raise SpecError(Span(file, 1, 1), "the file is empty", "a spec needs at least `input:` and `layers:`")
    return _Builder(file, limits).build(node)
