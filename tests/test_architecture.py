"""The package's shape, read from its source: no import cycle anywhere (imports inside functions
included, `if TYPE_CHECKING:` blocks aside), and imports that point one way only:
mltrainer (the top, `api/`) -> agent -> tools -> engine. A cycle or a backwards import fails
with the modules involved."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"agent": "mltrainer.agent", "tools": "mltrainer.tools", "engine": "mltrainer.engine"}
FOLDERS["prompts"] = "mltrainer.prompts"
FOLDERS["api"] = "mltrainer"
LAYER = {"mltrainer.engine": 0, "mltrainer.prompts": 0, "mltrainer.tools": 1, "mltrainer.agent": 2}
TOP = 3


def _modules() -> dict[str, Path]:
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (name for n in node.orelse for name in _imports(n, module, is_package))
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield submodule if submodule in MODULES else base
        yield from _imports(node, module, is_package)


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = set(_imports(tree, module, path.name == "__init__.py"))
        graph[module] = {t for t in targets if t in MODULES and t != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _layer(module: str) -> int:
    if module == "mltrainer":
        return TOP
    return next(rank for package, rank in LAYER.items() if module.startswith(package))


def test_the_source_tree_is_read_whole():
    assert "mltrainer.agent.session.loop" in MODULES
    assert "mltrainer.engine.service" in MODULES
    assert "mltrainer.agent.session.loop" in import_graph()["mltrainer.agent.session.runs"]
    assert MODULES["mltrainer"] == ROOT / "api" / "__init__.py"


def test_no_import_cycle_anywhere():
    assert cycles(import_graph()) == []


def test_imports_point_one_way_agent_tools_engine():
    backwards = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for target in targets
        if _layer(target) > _layer(module)
    )
    assert backwards == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ],
)
def test_cycles_finds_every_loop_and_nothing_else(graph, expected):
    assert cycles(graph) == expected
