"""The package's import graph: no cycle among cnncalc's modules, counting the imports inside
functions too (only `if TYPE_CHECKING:` blocks, which never run, are left out), and imports that
point inward: the engine and the reports never reach the library's results or the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "cnncalc"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py")}


def _resolve(name: str) -> str | None:
    """The cnncalc module an import names: itself, or the package it is a name of."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(module: str) -> set[str]:
    """Every cnncalc module `module` imports when it runs, at any depth of its code."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("cnncalc"):
                    found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.startswith("cnncalc"):
                for alias in node.names:  # `from cnncalc.report import view` imports the module view
                    found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    resolved = {_resolve(name) for name in found}
    return {m for m in resolved if m and m != module}


GRAPH = {m: imports_of(m) for m in MODULES}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            connect(v)
    return out


def test_the_checker_sees_function_level_imports():
    # api.analyze imports the engine inside the function: that edge must be in the graph
    assert "cnncalc.engine.analysis" in GRAPH["cnncalc.api"]
    assert "cnncalc.report.memory" in GRAPH["cnncalc.results"]
    assert len(MODULES) > 60


def test_no_import_cycle():
    assert _cycles() == []


def test_imports_point_inward():
    # the core is pure: it never reaches a report, the library's results or the CLI (an op's
    # to_torch may build its twin from torchcheck/, the one place torch enters an op)
    for module, targets in GRAPH.items():
        if module.startswith(("cnncalc.engine", "cnncalc.ops", "cnncalc.spec", "cnncalc.graph")):
            assert not {t for t in targets if t.startswith(("cnncalc.report", "cnncalc.cli", "cnncalc.results",
                                                             "cnncalc.api"))}, module
        if module.startswith(("cnncalc.engine", "cnncalc.spec", "cnncalc.graph")):
            assert not {t for t in targets if t.startswith("cnncalc.torchcheck")}, module
        if module.startswith("cnncalc.report"):  # reports read Analysis; they do not assemble or parse flags
            assert not {t for t in targets if t.startswith(("cnncalc.cli", "cnncalc.api", "cnncalc.results"))}, module


def test_every_package_is_in_the_wheel():
    # pyproject.toml lists the packages a regular (non-editable) install ships: a subpackage left
    # out imports in a checkout and fails after `pip install .` (cnncalc.readers.ultralytics did)
    import tomllib

    root = Path(__file__).resolve().parent.parent
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(root).parts) for p in (root / "cnncalc").rglob("__init__.py")}
    assert found <= listed, sorted(found - listed)
