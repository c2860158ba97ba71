"""Importing workbench.profiling stays cheap: heavy libraries load on first use."""

from __future__ import annotations

from tests.conftest import modules_loaded_by


def test_importing_profiling_loads_no_pandas_matplotlib_or_jsonschema() -> None:
    assert modules_loaded_by("import workbench.profiling as p; p.Profile; p.compare",
                             ("pandas", "matplotlib", "jsonschema")) == []


def test_compare_in_the_package_is_the_function_not_the_module() -> None:
    import workbench.profiling

    # Importing the submodule of the same name must not shadow the function.
    import workbench.profiling.compare

    assert callable(workbench.profiling.compare)
