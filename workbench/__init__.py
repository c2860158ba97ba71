"""Edge Workbench: load a model, pick a device and a backend, profile it layer by layer.

    import workbench as wb
    m = wb.load_model("zoo:mobilenetv2")
    p = wb.profile(m, device="local", backend="onnxruntime", runs=50)
    p.to_html("report.html")

The names below load on first use, so ``import workbench`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench._lazy import attach
from workbench.errors import WorkbenchError

__version__ = "0.1.0"

__all__ = [
    "Comparison",
    "Device",
    "DeviceInfo",
    "Job",
    "LocalDevice",
    "Model",
    "Profile",
    "RunSettings",
    "WorkbenchError",
    "__version__",
    "compare",
    "compare_latency",
    "compare_outputs",
    "connect",
    "diff_layers",
    "errors",
    "history",
    "load_model",
    "profile",
    "quantize",
    "regress",
    "reserve",
    "submit",
    "sweep",
    "targets",
]

_LAZY: dict[str, tuple[str, str | None]] = {
    "Device": ("workbench.devices", "Device"),
    "DeviceInfo": ("workbench.devices", "DeviceInfo"),
    "LocalDevice": ("workbench.devices", "LocalDevice"),
    "connect": ("workbench.devices", "connect"),
    "reserve": ("workbench.devices", "reserve"),
    "Job": ("workbench.jobs", "Job"),
    "RunSettings": ("workbench.jobs", "RunSettings"),
    "profile": ("workbench.jobs", "profile"),
    "submit": ("workbench.jobs", "submit"),
    "Model": ("workbench.models", "Model"),
    "load_model": ("workbench.models", "load_model"),
    "Profile": ("workbench.profiling", "Profile"),
    "Comparison": ("workbench.profiling", "Comparison"),
    "compare": ("workbench.history", "compare"),
    "compare_latency": ("workbench.profiling", "compare_latency"),
    "compare_outputs": ("workbench.accuracy", "compare_outputs"),
    "diff_layers": ("workbench.layer_diff", "diff_layers"),
    "quantize": ("workbench.models.quantize", "quantize"),
    "errors": ("workbench.errors", None),
    "history": ("workbench.history", None),
    "regress": ("workbench.profiling.regress", "regress"),
    "sweep": ("workbench.sweeps", "sweep"),
    "targets": ("workbench.targets", None),
}

if TYPE_CHECKING:
    from workbench import errors, history, targets
    from workbench.accuracy import compare_outputs
    from workbench.devices import Device, DeviceInfo, LocalDevice, connect, reserve
    from workbench.history import compare
    from workbench.jobs import Job, RunSettings, profile, submit
    from workbench.layer_diff import diff_layers
    from workbench.models import Model, load_model
    from workbench.models.quantize import quantize
    from workbench.profiling import Profile
    from workbench.profiling.compare import compare_latency
    from workbench.profiling.comparison import Comparison
    from workbench.profiling.regress import regress
    from workbench.sweeps import sweep


__getattr__, __dir__ = attach(__name__, _LAZY, __all__)
