"""The layers' edges, read from the source: who may import whom, and no import circles (type-only imports aside)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.settings import ROOT

PACKAGES = ("core", "data", "service", "web", "bench", "scripts")


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[0] in PACKAGES:
            found[".".join(parts).removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _type_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(path: Path) -> set[str]:
    """Every module named by an import run at some point (a function's too), but not ``if TYPE_CHECKING:``."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _type_only(node):
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return {name for name in found if name.split(".")[0] in (*PACKAGES, "tests")}


GRAPH = {
    name: {dep for dep in imports_of(path) if dep in MODULES or dep.startswith("tests")}
    for name, path in MODULES.items()
}


def edges(source: str, target: str) -> list[tuple[str, str]]:
    return [(m, d) for m, deps in GRAPH.items() if m.startswith(source) for d in deps if d.startswith(target)]


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("core", "data"),
        ("core", "service"),
        ("core", "web"),
        ("data", "service"),
        ("data", "web"),
        ("service", "web"),
        ("web", "data"),
        ("bench", "tests"),
    ],
)
def test_a_layer_never_imports_one_above_it(source, target):
    assert edges(source + ".", target) == []


def test_route_modules_never_import_each_other():
    assert [(m, d) for m, d in edges("web.routes.", "web.routes.") if m != d] == []


def test_celery_and_torch_stay_where_they_belong():
    def importers(library: str) -> set[str]:
        return {name for name, path in MODULES.items() if library in _third_party(path)}

    assert {m for m in importers("celery") | importers("kombu") if not m.startswith("service.distributed")} == set()
    torch_users = importers("torch") | importers("diffusers")
    assert {m for m in torch_users if not m.startswith(("service.generation.pipeline", "bench", "scripts"))} == set()


def _third_party(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
    return names


def test_there_are_no_import_circles():
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH.get(v, ()):
            if w not in MODULES:
                continue
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                on_stack.discard(w)
                component.append(w)
            on_stack.discard(v)
            if component:
                circles.append([v, *component])

    for module in MODULES:
        if module not in index:
            strong(module)
    assert circles == []


def test_no_private_name_is_imported_from_another_module():
    private = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
                private += [f"{name}: {node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    assert private == []


DATABASE_FIXTURES = {"settings", "database", "raw", "pool", "make_client", "client"}


def test_service_tests_use_fakes_only():
    """tests/service promises no database and no broker: no fixture, import or subprocess that brings one."""
    reaching = []
    for path in sorted((ROOT / "tests" / "service").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                reaching += [f"{path.name}:{node.name}({a.arg})" for a in node.args.args if a.arg in DATABASE_FIXTURES]
            elif isinstance(node, ast.ImportFrom) and node.module in ("data.connection", "pymysql"):
                reaching.append(f"{path.name}: imports {node.module}")
            elif isinstance(node, ast.ImportFrom) and node.module == "bench.server":
                reaching += [f"{path.name}: starts a server" for a in node.names if a.name.startswith("start")]
            elif isinstance(node, ast.Import) and any(a.name in ("pymysql", "redis") for a in node.names):
                reaching.append(f"{path.name}: imports {[a.name for a in node.names]}")
    assert reaching == []
