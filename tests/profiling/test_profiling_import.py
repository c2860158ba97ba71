"""Importing workbench.profiling stays cheap: heavy libraries load on first use."""

from __future__ import annotations

import os
import subprocess
import sys


def test_importing_profiling_loads_no_pandas_matplotlib_or_jsonschema() -> None:
    code = ("import sys, workbench.profiling as p; p.Profile; p.compare; "
            "print(sorted(m for m in ('pandas', 'matplotlib', 'jsonschema') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, check=True)
    assert result.stdout.strip() == "[]"


def test_compare_in_the_package_is_the_function_not_the_module() -> None:
    import workbench.profiling

    # Importing the submodule of the same name must not shadow the function.
    import workbench.profiling.compare

    assert callable(workbench.profiling.compare)
