"""Record: typing.NamedTuple's class syntax, at half its cost when a module is imported.

    class Span(Record):
        file: str
        line: int = 1

is the same named tuple typing.NamedTuple makes (fields, defaults, methods and docstring of the
class body, `_replace`, `_asdict`, pickling), and type checkers see a NamedTuple (under
TYPE_CHECKING, Record is typing.NamedTuple). What it leaves out: typing checks each annotation
when the class is made, which under `from __future__ import annotations` compiles every field's
annotation string (~5 us a field): ~2.5 ms of `cnncalc table`'s ~60 ms for the ~30 records
its modules define (issue 35). The annotations are kept as written, strings.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    # what typing.NamedTupleMeta refuses or leaves to namedtuple itself (Python 3.11's rules)
    _PROHIBITED = frozenset({"__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults",
                             "_make", "_replace", "_asdict", "_source"})
    _SPECIAL = frozenset({"__module__", "__name__", "__annotations__", "__qualname__"})

    class _RecordMeta(type):
        def __new__(cls, typename: str, bases: tuple[type, ...], ns: dict[str, Any]) -> type:
            if bases != (Record,):
                raise TypeError("a Record inherits from Record only")
            fields = ns.get("__annotations__", {})
            defaults = [name for name in fields if name in ns]
            for name in fields:  # as typing does: no field without a default after one with
                if name not in ns and defaults and list(fields).index(name) > list(fields).index(defaults[0]):
                    raise TypeError(f"Non-default namedtuple field {name} cannot follow default field "
                                    f"{', '.join(defaults)}")
            made = collections.namedtuple(typename, list(fields), defaults=[ns[n] for n in defaults],
                                          module=ns["__module__"])
            made.__annotations__ = made.__new__.__annotations__ = dict(fields)
            for key, value in ns.items():
                if key in _PROHIBITED:
                    raise AttributeError("Cannot overwrite NamedTuple attribute " + key)
                if key not in _SPECIAL and key not in made._fields:
                    setattr(made, key, value)
            made.__qualname__ = ns.get("__qualname__", typename)
            return made

    Record = type.__new__(_RecordMeta, "Record", (), {"__module__": __name__})
