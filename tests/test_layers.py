"""Imports go one way: `plan` ← `activities` ← `workflows` ← `ecoplan` (CLI, web, API) ←
`worker.py` (issue 21, item 4). A module imports from its own layer or a lower one, and no
two project modules import each other, directly or round a longer circle.

Every project .py file is read with `ast` (nothing is imported, no server): every `import`
and `from … import` counts, also those inside functions, under `if TYPE_CHECKING:` or in
`try:`. `from package import name` counts as importing the submodule `package.name` when
there is one, else the package itself. The parent packages Python runs on the way to a
submodule (`ecoplan/__init__.py` for `ecoplan.api`) are not counted: they hold docstrings.
`tests/` and `benchmarks/` are outside the rule.
"""

from __future__ import annotations

import ast
import functools
from collections import defaultdict
from pathlib import Path
from typing import Iterable, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"plan": 0, "activities": 1, "workflows": 2, "ecoplan": 3, "worker": 4}  # low to high

# Imports that still break the rule, in files whose rewrite belongs to other work (named per
# entry). Each entry is (importer, imported), module names. It only shrinks: the tests below
# fail while an entry names an import that is no longer there or no longer breaks the rule.
ALLOWED_FOR_NOW: set[tuple[str, str]] = {
}


class Import(NamedTuple):
    importer: str  # module names
    imported: str
    path: str  # the importer's file, relative to the repository
    line: int


def project_files() -> dict[str, Path]:
    """module name -> file, for every .py file under the layered folders and worker.py."""
    files = {"worker": ROOT / "worker.py"}
    for top in ("plan", "activities", "workflows", "ecoplan"):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            files[".".join(parts)] = path
    return files


def _project_module(name: str, modules: dict[str, Path]) -> str | None:
    """The project module `name` lives in (the longest known prefix), or None for a library."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in modules:
            return candidate
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path], root: Path = ROOT) -> list[Import]:
    """The project modules `module` (the file at `path`) imports, each with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    rel = str(path.relative_to(root))
    out = []
    for node in _statements(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x, from ..y import z
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            names = [f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source for a in node.names]
        else:
            continue
        for name in names:
            target = _project_module(name, modules)
            if target is not None and target != module:
                out.append(Import(module, target, rel, node.lineno))
    return list(dict.fromkeys(out))  # `from x import a, b`: once


def _statements(tree: ast.Module):
    """Every statement, also those in functions, classes, if/try/with/for/while/match bodies:
    an import is a statement, so expressions need not be visited (half the time of ast.walk)."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            todo += getattr(node, field, ())


@functools.cache
def all_imports() -> tuple[Import, ...]:
    """Read once per test session (about a quarter of a second of CPU for the whole project)."""
    modules = project_files()
    return tuple(i for module, path in modules.items() for i in imports_of(module, path, modules))


def layer(module: str) -> int:
    return LAYERS[module.split(".")[0]]


def upward(imports: Iterable[Import]) -> list[Import]:
    """Imports of a module of a higher layer."""
    return [i for i in imports if layer(i.imported) > layer(i.importer)]


def _graph(imports: Iterable[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for i in imports:
        graph[i.importer].add(i.imported)
    return graph


def import_groups(imports: Iterable[Import]) -> list[list[str]]:
    """The strongly connected groups of two or more modules (Tarjan): each module of a group
    reaches every other through imports, and every import within a group lies on a circle."""
    graph = _graph(imports)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
    return sorted(groups)


def circles(imports: Iterable[Import]) -> list[list[str]]:
    """One circle per group, through its first module: [a, b, …, a]."""
    graph = _graph(imports)
    return [_circle_through(g, graph) for g in import_groups(imports)]


def _circle_through(group: list[str], graph: dict[str, set[str]]) -> list[str]:
    """The shortest path from the group's first module back to itself, within the group."""
    start, members = group[0], set(group)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if child not in came_from:
                    came_from[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no circle in {group}")  # a strongly connected group always has one


def _describe(circle: list[str], imports: Iterable[Import]) -> str:
    lines = [" → ".join(circle)]
    for a, b in zip(circle, circle[1:]):
        where = sorted({f"{i.path}:{i.line}" for i in imports if (i.importer, i.imported) == (a, b)})
        lines.append(f"    {a} imports {b} at {', '.join(where)}")
    return "\n".join(lines)


def test_no_module_imports_a_higher_layer():
    imports = all_imports()
    wrong = [i for i in upward(imports) if (i.importer, i.imported) not in ALLOWED_FOR_NOW]
    assert not wrong, "imports of a higher layer (plan ← activities ← workflows ← ecoplan ← worker.py):\n" + "\n".join(
        f"  {i.path}:{i.line} imports {i.imported}" for i in sorted(wrong, key=lambda i: (i.path, i.line)))


def test_no_two_modules_import_each_other():
    imports = all_imports()
    found = circles([i for i in imports if (i.importer, i.imported) not in ALLOWED_FOR_NOW])
    assert not found, "import circles:\n" + "\n".join("  " + _describe(c, imports) for c in found)


def test_every_allowed_exception_still_occurs():
    """ALLOWED_FOR_NOW only shrinks: an entry whose import went, or no longer breaks the
    rule, must be removed."""
    imports = all_imports()
    groups = [set(g) for g in import_groups(imports)]
    up = {(i.importer, i.imported) for i in upward(imports)}
    present = {(i.importer, i.imported) for i in imports}
    stale = []
    for a, b in sorted(ALLOWED_FOR_NOW):
        if (a, b) not in present:
            stale.append(f"  {a} no longer imports {b}")
        elif (a, b) not in up and not any(a in g and b in g for g in groups):
            stale.append(f"  {a} imports {b}, but that is neither upward nor part of a circle any more")
    assert not stale, "remove these from ALLOWED_FOR_NOW in tests/test_layers.py:\n" + "\n".join(stale)


def test_the_checker_sees_imports_inside_functions_and_relative_ones(tmp_path):
    """The reader itself: an import inside a function, a relative one and `from package
    import submodule` are seen with their lines; the upward one and a circle of three are found."""
    sources = {
        "plan.a": "def f():\n    from ecoplan import c\n",
        "workflows.b": "from plan import a\nfrom . import d\n",
        "workflows.d": "",
        "ecoplan.c": "import workflows.b as b\n",
    }
    modules = {}
    for name, text in sources.items():
        modules[name] = tmp_path / f"{name}.py"
        modules[name].write_text(text, encoding="utf-8")
    imports = [i for name, path in modules.items() for i in imports_of(name, path, modules, root=tmp_path)]
    assert {(i.importer, i.imported, i.line) for i in imports} == {
        ("plan.a", "ecoplan.c", 2), ("workflows.b", "plan.a", 1), ("workflows.b", "workflows.d", 2),
        ("ecoplan.c", "workflows.b", 1)}
    assert [(i.path, i.line, i.imported) for i in upward(imports)] == [("plan.a.py", 2, "ecoplan.c")]
    assert circles(imports) == [["ecoplan.c", "workflows.b", "plan.a", "ecoplan.c"]]
    real = project_files()  # a package's module importing a sibling through the package
    pdf = imports_of("activities.documents.pdf", real["activities.documents.pdf"], real)
    assert ("activities.documents.pdf", "activities.documents.chart") in {(i.importer, i.imported) for i in pdf}
