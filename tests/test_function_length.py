"""No function in the product's code is longer than ``LIMIT`` lines, the CLI's
argument tables aside.

Why: a function that does not fit on a screen is read in pieces and changed
without seeing all it does; split into named steps it reads top-down and each
step can be tested. A command's ``add_arguments`` is exempt: it is a table of
flags and help texts, one after another, with no logic to follow.
"""

from __future__ import annotations

import ast

from tests.test_import_graph import PACKAGES, ROOT

#: Lines from a function's first decorator (or its ``def``) to its last line.
LIMIT = 80


def function_lengths(source: str, module: str) -> dict[str, int]:
    """Each function's length in lines, by ``module:qualified.name``; nested
    functions are counted on their own as well as in their parent. The CLI
    commands' ``add_arguments`` methods are left out."""
    lengths: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str, in_class: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.", True)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                if not (_argument_table(module, child.name) and in_class):
                    start = min(
                        [child.lineno] + [item.lineno for item in child.decorator_list]
                    )
                    length = child.end_lineno - start + 1
                    key = f"{module}:{name}"  # a property's setter shares its name
                    lengths[key] = max(lengths.get(key, 0), length)
                visit(child, f"{name}.", False)
            else:
                visit(child, prefix, in_class)

    visit(ast.parse(source), "", False)
    return lengths


def _argument_table(module: str, function: str) -> bool:
    return module.startswith("benchmarks.cli.") and function == "add_arguments"


def _product_lengths() -> dict[str, int]:
    lengths: dict[str, int] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            lengths |= function_lengths(path.read_text(encoding="utf-8"), module)
    return lengths


def test_no_product_function_is_over_the_limit() -> None:
    too_long = sorted(
        f"{name} ({length} lines)"
        for name, length in _product_lengths().items()
        if length > LIMIT
    )
    assert not too_long, (
        f"over {LIMIT} lines (split them into named steps): " + "; ".join(too_long)
    )


def _function(name: str, body_lines: int, decorators: int = 0) -> str:
    """A function of ``1 + decorators + body_lines`` lines."""
    head = "@staticmethod\n" * decorators + f"def {name}():\n"
    return head + "    x = 1\n" * body_lines


def test_the_counter_finds_a_long_function_and_spares_a_short_one() -> None:
    source = _function("short", LIMIT - 1) + "\n\n" + _function("long", LIMIT)
    lengths = function_lengths(source, "benchmarks.some")
    assert lengths == {
        "benchmarks.some:short": LIMIT,
        "benchmarks.some:long": LIMIT + 1,
    }


def test_the_counter_counts_decorators_nested_functions_and_methods() -> None:
    method = _function("fit", LIMIT - 3, decorators=2)
    nested = _function("inner", 2)
    source = (
        "class Model:\n"
        + "".join(f"    {line}\n" for line in method.splitlines())
        + "\n"
        + _function("outer", 1).rstrip("\n")
        + "\n"
        + "".join(f"    {line}\n" for line in nested.splitlines())
    )
    lengths = function_lengths(source, "models.some")
    assert lengths == {
        "models.some:Model.fit": LIMIT,
        "models.some:outer": 5,
        "models.some:outer.inner": 3,
    }


def test_only_a_cli_command_argument_table_is_exempt() -> None:
    table = "class Run:\n" + "".join(
        f"    {line}\n" for line in _function("add_arguments", LIMIT).splitlines()
    )
    assert function_lengths(table, "benchmarks.cli.run") == {}
    assert function_lengths(table, "benchmarks.grid.run") == {
        "benchmarks.grid.run:Run.add_arguments": LIMIT + 1
    }
    loose = _function("add_arguments", LIMIT)
    assert function_lengths(loose, "benchmarks.cli.run") == {
        "benchmarks.cli.run:add_arguments": LIMIT + 1
    }


def test_every_product_package_is_read() -> None:
    lengths = _product_lengths()
    assert {name.split(".")[0] for name in lengths} == set(PACKAGES)
    assert "benchmarks.deploy.triage:triage" in lengths
    assert "benchmarks.cli.run:Run.add_arguments" not in lengths
