"""Read a spec's text into plain Python values that remember where they came from.

Stage: spec (the only YAML user). In: text + file name. Out: LMap / LList / scalars, where every
mapping and list carries the 1-based Span of itself and of each of its items. Only the safe
loader is used; tags that would construct Python objects are refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncalc.errors import MAX_DIGITS, LimitError, Limits, Span, SpecError

if TYPE_CHECKING:
    import yaml
else:
    yaml = None  # PyYAML, imported by the first parse (_yaml): a text the parse cache holds needs none


def _yaml() -> Any:
    """PyYAML, imported on first use (~11 ms of a run; spec/cache.py answers most runs without it)."""
    global yaml
    if yaml is None:
        import yaml as module

        yaml = module
    return yaml

_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_STR, _INT, _FLOAT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_BOOL, _NULL, _TIMESTAMP = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:timestamp"
_TRUE, _FALSE = ("true", "yes", "on", "y"), ("false", "no", "off", "n")


def _show(text: str) -> str:
    """A value quoted in a message: at most 40 characters, control characters escaped."""
    short = text if len(text) <= 40 else text[:37] + "..."
    return short.encode("unicode_escape").decode("ascii") if not short.isprintable() else short


def _sexagesimal(digits: str, sign: int) -> str:
    """What YAML 1.1 makes of 2:00 (120), for the message; '?' when it is not even that."""
    value = 0
    for part in digits.split(":"):
        if not part.isdigit() or len(part) > 6:
            return "?"
        value = value * 60 + int(part)
    return str(sign * value)


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
        self.deepest = 0  # the deepest mapping or list built (what the depth limit is checked against)

    def span(self, node: yaml.Node) -> Span:
        mark = node.start_mark  # PyYAML marks are 0-based
        return Span(self.file, mark.line + 1, mark.column + 1)

    def count(self, node: yaml.Node) -> None:
        self.nodes += 1
        if self.nodes > self.limits.yaml_nodes:
            raise LimitError(self.span(node), "the document expands to too many YAML nodes (aliases "
                             "repeated many times?)", "yaml_nodes", self.limits.yaml_nodes)

    def foresee(self, root: yaml.Node) -> None:
        """Refuse an alias bomb before building it: the size of each node once expanded, each
        distinct node measured once (aliases share nodes), so a document of a few lines that
        expands to billions of nodes costs as many steps as it has lines. A recursive alias is
        left to build(), which stops it by depth."""
        sizes: dict[int, int] = {}
        active: set[int] = set()

        def size(node: yaml.Node, depth: int) -> int:
            key = id(node)
            if key in sizes:
                return sizes[key]
            if key in active or depth > self.limits.depth:
                return 1
            total = 1
            if isinstance(node, yaml.SequenceNode):
                active.add(key)
                total += sum(size(item, depth + 1) for item in node.value)
                active.discard(key)
            elif isinstance(node, yaml.MappingNode):
                active.add(key)
                total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
                active.discard(key)
            if total > self.limits.yaml_nodes:
                raise LimitError(self.span(node), "the document expands to too many YAML nodes (aliases "
                                 "repeated many times?)", "yaml_nodes", self.limits.yaml_nodes)
            sizes[key] = total
            return total

        size(root, 0)

    def build(self, node: yaml.Node, depth: int = 0) -> Any:
        if node.__class__ is yaml.ScalarNode:
            return self.scalar(node)
        self.count(node)
        if depth > self.deepest:
            self.deepest = depth
        if depth > self.limits.depth:
            raise LimitError(self.span(node), "the YAML nests too deeply (a recursive alias?)",
                             "depth", self.limits.depth)
        if node.tag not in _PLAIN_TAGS:
            raise SpecError(self.span(node), f"the tag '{_show(node.tag.replace('tag:yaml.org,2002:', '!!'))}' is "
                            "not allowed", "only plain YAML values are allowed: text, integers, decimals, "
                            "true/false, null, lists and mappings (tags such as !!python/object are refused)")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, depth)
        out = LList(self.build(item, depth + 1) for item in node.value)
        out.span = self.span(node)
        out.item_spans = [self.span(item) for item in node.value]
        return out

    def scalar(self, node: yaml.ScalarNode) -> Any:
        """A scalar by its tag, converted here rather than by PyYAML's constructors (which crash
        on `!!int abc` and read YAML 1.1's 010 as 8 and 2:00 as 120): text, an integer of at most
        MAX_DIGITS digits in plain decimal (or 0x/0o/0b), a finite decimal, true/false, null.
        A date stays text; any other tag is refused."""
        self.count(node)
        tag, text = node.tag, node.value
        if tag == _STR:  # the common cases first
            return text
        if tag == _INT:
            if text.isdigit() and (text[0] != "0" or text == "0") and len(text) <= MAX_DIGITS:
                return int(text)
            return self._int(node)
        if tag == _FLOAT:
            return self._float(node)
        if tag == _BOOL:
            word = text.lower()
            if word in _TRUE or word in _FALSE:
                return word in _TRUE
            raise SpecError(self.span(node), f"'{_show(text)}' is not a boolean", "write true or false")
        if tag == _NULL:
            if text in ("", "~", "null", "Null", "NULL"):
                return None
            raise SpecError(self.span(node), f"'{_show(text)}' is not null", "write null, or leave the value empty")
        if tag == _TIMESTAMP:  # an unquoted date (source: 2015-12-10): its text, when it is a date
            if yaml.resolver.Resolver().resolve(yaml.ScalarNode, text, (True, False)) != _TIMESTAMP:
                raise SpecError(self.span(node), f"'{_show(text)}' is not a date",
                                "write a date as YAML does (2015-12-10), or drop the tag")
            return text
        short = tag.replace("tag:yaml.org,2002:", "!!")
        raise SpecError(self.span(node), f"the tag '{_show(short)}' is not allowed",
                        "only plain YAML values are allowed: text, integers, decimals, true/false, null, "
                        "lists and mappings (tags such as !!python/object are refused)")

    def _int(self, node: yaml.ScalarNode) -> int:
        text = node.value.strip()
        digits = text.lstrip("+-").replace("_", "")
        sign = -1 if text.startswith("-") else 1
        span = self.span(node)
        if ":" in digits:
            raise SpecError(span, f"{_show(text)} is a base-60 number in YAML 1.1 (it would be read as "
                            f"{_sexagesimal(digits, sign)})", f"write the number you mean, or quote it: \"{_show(text)}\"")
        base = {"0x": 16, "0o": 8, "0b": 2}.get(digits[:2].lower(), 10)
        body = digits[2:] if base != 10 else digits
        if len(body) > MAX_DIGITS:
            raise SpecError(span, f"an integer of {len(body):,} digits (at most {MAX_DIGITS})",
                            "no layer needs a number this long")
        allowed = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}[base]
        if not body or not all(c in allowed for c in body):
            raise SpecError(span, f"'{_show(text)}' is not an integer", "write digits, e.g. 64")
        if base == 10 and len(body) > 1 and body[0] == "0":
            raise SpecError(span, f"{_show(text)} has a leading zero: YAML 1.1 reads it as the octal number "
                            f"{sign * int(body, 8) if set(body) <= set('01234567') else '(not octal either)'}",
                            f"write {sign * int(body)} without the zero, or 0o{body.lstrip('0') or '0'} "
                            "for octal")
        return sign * int(body, base)

    def _float(self, node: yaml.ScalarNode) -> float:
        text = node.value.strip()
        span = self.span(node)
        word = text.lower().lstrip("+-")
        if word in (".inf", ".nan"):
            raise SpecError(span, f"'{_show(text)}' is not a finite number", "write a decimal, e.g. 0.5")
        clean = text.replace("_", "")
        if len(clean) > MAX_DIGITS + 10 or not clean.isascii():
            raise SpecError(span, f"'{_show(text)}' is not a decimal number cnncalc reads", "write a decimal, e.g. 0.5")
        try:
            value = float(clean)
        except ValueError:
            raise SpecError(span, f"'{_show(text)}' is not a decimal number", "write a decimal, e.g. 0.5") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise SpecError(span, f"'{_show(text)}' is too large for a decimal number")
        return value

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
    return parse_counted(text, file, limits)[0]


def parse_counted(text: str, file: str, limits: Limits = Limits()) -> tuple[Any, int, int]:
    """parse_yaml's tree, the YAML nodes it took and its deepest nesting (what the limits were
    checked against: spec/cache.py keeps them with the tree)."""
    try:
        text.encode("utf-8")  # one C pass; a str from bytes that were not UTF-8 holds lone surrogates
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        col = exc.start - (text.rfind("\n", 0, exc.start) + 1) + 1
        bad = text[exc.start]
        what = f"the byte 0x{ord(bad) - 0xDC00:02x}" if 0xDC80 <= ord(bad) <= 0xDCFF else f"'{_show(bad)}'"
        raise SpecError(Span(file, line, col), f"the text is not UTF-8: {what} is not a character",
                        "save the file (or write the value) as UTF-8") from None
    _yaml()
    try:  # the C loader when PyYAML has one: several times faster, and marks (line/col) are kept by both
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
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
    builder = _Builder(file, limits)
    if "*" in text:  # an alias is written *name: without one, no node is shared and the count in build() is exact
        builder.foresee(node)
    tree = builder.build(node)
    return tree, builder.nodes, builder.deepest
