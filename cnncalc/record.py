"""Record: typing.NamedTuple's class syntax, at half its cost when a module is imported.

    class Span(Record):
        file: str
        line: int = 1

is the same named tuple typing.NamedTuple makes (fields, defaults, methods and docstring of the
class body, `_replace`, `_asdict`, pickling), and type checkers see a NamedTuple (under
TYPE_CHECKING, Record is typing.NamedTuple). What it leaves out: typing checks each annotation
when the class is made, which under `from __future__ import annotations` compiles every field's
annotation string (~5 us a field), and collections.namedtuple compiles a `__new__` for each
class (~30 us): ~4 ms of `cnncalc table`'s ~60 ms for the ~30 records its modules define
(issue 35). The annotations are kept as written, strings.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    try:  # namedtuple's own field descriptor
        from collections import _tuplegetter  # type: ignore[attr-defined]
    except ImportError:  # another Python: the same field, read by a property
        from operator import itemgetter

        def _tuplegetter(index: int, doc: str) -> Any:
            return property(itemgetter(index), doc=doc)

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
            made = _namedtuple(typename, tuple(fields), tuple(ns[n] for n in defaults), ns["__module__"])
            made.__annotations__ = made.__new__.__annotations__ = dict(fields)
            for key, value in ns.items():
                if key in _PROHIBITED:
                    raise AttributeError("Cannot overwrite NamedTuple attribute " + key)
                if key not in _SPECIAL and key not in made._fields:
                    setattr(made, key, value)
            made.__qualname__ = ns.get("__qualname__", typename)
            return made

    Record = type.__new__(_RecordMeta, "Record", (), {"__module__": __name__})

    _NEW: dict[int, Any] = {}  # arity -> the code of `lambda _cls, a0, a1, ...: _tuple_new(_cls, (a0, a1, ...))`

    def _namedtuple(typename: str, fields: tuple[str, ...], defaults: tuple[Any, ...], module: str) -> type:
        """collections.namedtuple(typename, fields, defaults=defaults, module=module), the same
        class, less its compile: namedtuple compiles a `__new__` for each class (half its ~60
        us), here one is compiled per number of fields and given each class's field names
        (its arguments', by CodeType.replace)."""
        for name in fields:
            if name.startswith("_"):
                raise ValueError(f"Field names cannot start with an underscore: {name!r}")
        n = len(fields)
        code = _NEW.get(n)
        if code is None:
            names = ", ".join(f"a{i}" for i in range(n)) + ("," if n == 1 else "")
            code = _NEW[n] = compile(f"lambda _cls, {names}: _tuple_new(_cls, ({names}))", "<record>", "eval").co_consts[0]
        new = types.FunctionType(code.replace(co_varnames=("_cls", *fields), co_name="__new__",
                                              co_qualname=f"{typename}.__new__"),
                                 {"_tuple_new": tuple.__new__, "__builtins__": {}}, "__new__", defaults or None)
        arg_list = ", ".join(fields)
        new.__doc__ = f"Create new instance of {typename}({arg_list})"
        repr_fmt = "(" + ", ".join(f"{name}=%r" for name in fields) + ")"

        @classmethod  # type: ignore[misc]
        def _make(cls: type, iterable: Any) -> Any:
            result = tuple.__new__(cls, iterable)
            if len(result) != n:
                raise TypeError(f"Expected {n} arguments, got {len(result)}")
            return result

        def _replace(self: Any, /, **kwds: Any) -> Any:
            result = self._make(map(kwds.pop, fields, self))
            if kwds:
                raise ValueError(f"Got unexpected field names: {list(kwds)!r}")
            return result

        def __repr__(self: Any) -> str:
            return self.__class__.__name__ + repr_fmt % self

        def _asdict(self: Any) -> dict[str, Any]:
            return dict(zip(self._fields, self))

        def __getnewargs__(self: Any) -> tuple[Any, ...]:
            return tuple(self)

        for method in (_make.__func__, _replace, __repr__, _asdict, __getnewargs__):
            method.__qualname__ = f"{typename}.{method.__name__}"
        namespace: dict[str, Any] = {
            "__doc__": f"{typename}({arg_list})", "__slots__": (), "_fields": fields,
            "_field_defaults": dict(zip(fields[n - len(defaults):], defaults)) if defaults else {},
            "__new__": new, "_make": _make, "_replace": _replace, "__repr__": __repr__, "_asdict": _asdict,
            "__getnewargs__": __getnewargs__, "__match_args__": fields, "__module__": module}
        for index, name in enumerate(fields):
            namespace[name] = _tuplegetter(index, f"Alias for field number {index}")
        return type(typename, (tuple,), namespace)

