"""The product's modules import each other without cycles, only downward
through the layers, and never another package's private names.

Why: a cycle means two modules cannot be understood, tested or moved apart,
and Python resolves it only by the order things happen to be imported in; an
upward import is a cycle waiting to happen and hides where a thing belongs.
The graph is read from the source (every ``import``, at module level or
inside a function, ``TYPE_CHECKING`` blocks included), so a lazy import
counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("benchmarks", "features", "models", "reports")

#: Bottom to top: a module imports its own layer's modules or lower layers'
#: (docs/architecture.md draws them).
LAYERS = (
    "benchmarks",  # the package itself: its version and thread policy
    "models",
    "features",
    "benchmarks.core",
    "benchmarks.scoring",
    "benchmarks.data",
    "benchmarks.grid",
    "benchmarks.analysis",
    "reports",
    "benchmarks.deploy",
    "benchmarks.export",
    "benchmarks.cli",
)


def _modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _imported(node: ast.AST, modules: dict[str, Path]) -> set[str]:
    """The product modules one import statement loads: ``from pkg import sub``
    names the submodule, not the package's ``__init__``."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        names = []
        for alias in node.names:
            submodule = f"{node.module}.{alias.name}"
            names.append(submodule if submodule in modules else node.module)
    else:
        return set()
    found = set()
    for name in names:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name:
            found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        imported = set()
        for node in ast.walk(tree):
            imported |= _imported(node, modules)
        graph[name] = imported - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as the modules along it, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_the_product_has_no_import_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 50 and "benchmarks.cli" in graph["benchmarks.__main__"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def layer(module: str) -> str:
    """The layer of ``module``: a ``benchmarks`` subpackage, or a top-level
    package."""
    if module == "benchmarks.__main__":
        return "benchmarks.cli"
    parts = module.split(".")
    return (
        ".".join(parts[:2]) if parts[0] == "benchmarks" and len(parts) > 1 else parts[0]
    )


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    rank = {name: index for index, name in enumerate(LAYERS)}
    return [
        f"{module} -> {target}"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if rank[layer(target)] > rank[layer(module)]
    ]


def test_every_module_has_a_layer() -> None:
    assert {layer(module) for module in import_graph()} == set(LAYERS)


def test_benchmarks_is_a_few_modules_over_its_subpackages() -> None:
    top = sorted(path.name for path in (ROOT / "benchmarks").glob("*.py"))
    assert top == ["__init__.py", "__main__.py"]


def test_imports_only_go_down_the_layers() -> None:
    upward = upward_imports(import_graph())
    assert not upward, "upward imports: " + "; ".join(upward)


def test_an_upward_import_is_found() -> None:
    graph = {"benchmarks.data.sources": {"benchmarks.grid.store"}}
    assert upward_imports(graph) == ["benchmarks.data.sources -> benchmarks.grid.store"]
    assert upward_imports({"benchmarks.grid.store": {"benchmarks.data.sources"}}) == []


def private_imports(module: str, tree: ast.AST) -> list[str]:
    """The private names (``_name``, a module or a thing in one) that
    ``module`` imports from outside the package that owns them."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] not in PACKAGES:
                continue
            private = [i for i, part in enumerate(parts) if part.startswith("_")]
            private = [i for i in private if not parts[i].startswith("__")]
            if private:
                owner = ".".join(parts[: private[0]])
                if module != owner and not module.startswith(owner + "."):
                    found.append(f"{module} imports {name}")
    return found


def test_no_package_imports_another_ones_private_names() -> None:
    found = []
    for module, path in sorted(_modules().items()):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found += private_imports(module, tree)
    assert not found, "; ".join(found)


def test_a_private_import_is_found() -> None:
    tree = ast.parse(
        "from models._keras_data import resize_images\nimport models._cnn\n"
    )
    assert private_imports("benchmarks.grid.explanations", tree) == [
        "benchmarks.grid.explanations imports models._keras_data.resize_images",
        "benchmarks.grid.explanations imports models._cnn",
    ]
    assert private_imports("models._keras_classifier", tree) == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": {"b"}, "b": {"b2"}, "b2": {"b"}}, ["b", "b2", "b"]),
    ],
)
def test_find_cycle(graph, expected) -> None:
    assert find_cycle(graph) == expected


def test_a_lazy_import_counts(tmp_path) -> None:
    source = "def f():\n    from benchmarks.grid.store import RunStore\n"
    tree = ast.parse(source)
    modules = {"benchmarks.grid.store": tmp_path, "benchmarks": tmp_path}
    found = set().union(*(_imported(node, modules) for node in ast.walk(tree)))
    assert found == {"benchmarks.grid.store"}
