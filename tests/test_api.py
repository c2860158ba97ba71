"""The public API: pinned names, lazy imports, and the error tree."""

from __future__ import annotations

import json
import subprocess
import sys

import workbench
from tests.conftest import ROOT
from workbench import errors

PUBLIC_API = [
    "Comparison", "Device", "DeviceInfo", "Job", "LocalDevice", "Model", "Profile", "RunSettings",
    "WorkbenchError",
    "__version__", "compare", "compare_latency", "compare_outputs", "connect", "diff_layers",
    "errors", "history", "load_model", "profile", "quantize", "regress", "reserve", "submit",
    "sweep", "targets",
]
HEAVY = ["onnx", "onnxruntime", "numpy", "matplotlib", "pandas", "paramiko", "jsonschema", "rich"]


def test_the_public_api_is_exactly_the_pinned_list() -> None:
    assert sorted(workbench.__all__) == sorted(PUBLIC_API)


def test_every_public_name_resolves() -> None:
    for name in workbench.__all__:
        assert getattr(workbench, name) is not None, name


def test_import_workbench_loads_no_heavy_module() -> None:
    code = ("import json, sys; import workbench; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    assert json.loads(done.stdout) == []


def test_every_error_class_is_a_workbench_error() -> None:
    classes = [v for v in vars(errors).values() if isinstance(v, type) and
               issubclass(v, Exception)]
    assert all(issubclass(c, errors.WorkbenchError) for c in classes)
