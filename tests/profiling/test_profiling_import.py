"""Importing workbench.profiling stays cheap, and the data side never draws.

DESIGN.md puts the views (``workbench.views``, ``workbench.plots``) above
``workbench.profiling``: the data side imports neither matplotlib nor a plot,
and reaches a view only from the few methods a profile or a comparison uses
to show itself, on first use.
"""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import workbench.profiling
from tests.conftest import modules_loaded_by

PROFILING = Path(workbench.profiling.__file__).parent

#: the display methods that may import a view, as (module file, class, method)
DISPLAY_METHODS = {
    ("profile.py", "Profile", "layer_table_rows"), ("profile.py", "Profile", "summary"),
    ("profile.py", "Profile", "to_html"), ("profile.py", "Profile", "_repr_mimebundle_"),
    ("comparison.py", "Comparison", "to_html"),
    ("comparison.py", "Comparison", "_repr_mimebundle_"),
    ("comparison.py", "Comparison", "__str__"),
}
DRAWING = ("matplotlib", "workbench.plots")
VIEWS = ("workbench.views", "workbench.report")


def _is_under(name: str, roots: tuple[str, ...]) -> bool:
    return any(name == root or name.startswith(root + ".") for root in roots)


def _imports(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Every module ``path`` imports, with the class/function names it is imported inside.

    ``from workbench import plots`` counts as importing ``workbench.plots``.
    """
    found: list[tuple[str, tuple[str, ...]]] = []

    def visit(node: ast.AST, scope: tuple[str, ...]) -> None:
        if isinstance(node, ast.Import):
            found.extend((alias.name, scope) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, scope))
            found.extend((f"{node.module}.{alias.name}", scope) for alias in node.names)
        inner = scope
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            inner = (*scope, node.name)
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), ())
    return found


def test_importing_profiling_loads_no_pandas_matplotlib_or_jsonschema() -> None:
    assert modules_loaded_by("import workbench.profiling as p; p.Profile; p.compare",
                             ("pandas", "matplotlib", "jsonschema")) == []


def test_importing_every_profiling_module_loads_no_matplotlib_plots_or_views() -> None:
    names = [f"workbench.profiling.{m.name}" for m in pkgutil.iter_modules([str(PROFILING)])]
    assert "workbench.profiling.export" in names and "workbench.profiling.delegation" in names
    loaded = modules_loaded_by(f"import {', '.join(names)}", (*DRAWING, *VIEWS))
    assert loaded == []


def test_no_profiling_module_imports_matplotlib_or_a_plot_even_inside_a_function() -> None:
    drawing = [(path.name, name) for path in sorted(PROFILING.glob("*.py"))
               for name, _ in _imports(path) if _is_under(name, DRAWING)]
    assert drawing == []


def test_only_the_display_methods_of_profile_and_comparison_import_a_view() -> None:
    elsewhere = [(path.name, ".".join(scope), name) for path in sorted(PROFILING.glob("*.py"))
                 for name, scope in _imports(path)
                 if _is_under(name, VIEWS) and (path.name, *scope) not in DISPLAY_METHODS]
    assert elsewhere == []


def test_compare_in_the_package_is_the_function_not_the_module() -> None:
    import workbench.profiling

    # Importing the submodule of the same name must not shadow the function.
    import workbench.profiling.compare

    assert callable(workbench.profiling.compare)
