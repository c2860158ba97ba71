"""The reference backend: a pure-numpy ONNX interpreter, as an Edge Workbench plug-in.

A third-party package: the workbench finds it through its entry point in the
``workbench.backends`` group, ships ``runner.py`` to the device and the agent
loads it there by path. Nothing in the workbench names it.

It is slow on purpose and simple enough to read: its outputs are a reference
for numerical checks of other backends (``keep_outputs``, ``dtype="float64"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import errors
from workbench.backends import Backend, Option

if TYPE_CHECKING:
    from workbench.devices.base import DeviceInfo
    from workbench.models import Model

__version__ = "0.1.0"
__all__ = ["ReferenceBackend"]


class ReferenceBackend(Backend):
    """Pure-numpy reference interpreter of ONNX models, one numpy kernel per node."""

    name = "reference"
    formats = ("onnx",)
    runtime = "numpy"
    description = ("A pure-numpy interpreter of ONNX models, evaluated node by node in graph "
                   "order: a numerical reference, not a fast runtime. Per-layer times: each "
                   "row's timer covers exactly one numpy evaluation of that node (its kernel "
                   "call), nothing else.")
    options = (
        Option("dtype", "str", "float32", "floating-point type the nodes compute in; float64 "
               "gives a more precise reference (outputs keep the model's types)",
               choices=("float32", "float64")),
        Option("keep_outputs", "bool", False, "return the output values as lists (outputs of up "
               "to 65536 values), for numerical checks"),
    )

    def check_device(self, info: DeviceInfo, options: dict[str, Any]) -> None:
        """The device needs numpy, nothing else."""
        if not info.numpy:
            raise errors.BackendUnavailable(
                "numpy is not installed on the device", where=info.name,
                hint=f"Install numpy for Python {info.python} on it "
                f"(`workbench device setup {info.name}` brings a runtime bundle with it)")

    def prepare(self, model: Model, options: dict[str, Any]) -> list[Path]:
        """The model as it is, once every node has a kernel here."""
        from workbench_reference_backend.runner import SUPPORTED_OPS

        def op(node: Any) -> str:  # an op of another domain is named with its domain
            default = node.domain in ("", "ai.onnx")
            return node.op_type if default else f"{node.domain}.{node.op_type}"

        missing = sorted({op(n) for n in model.nodes if op(n) not in SUPPORTED_OPS})
        if missing:
            raise errors.BackendUnavailable(
                f"The reference backend has no kernel for {', '.join(missing)}",
                where=f"model {model.name}", hint=f"Supported ops: {', '.join(SUPPORTED_OPS)}")
        return model.files()

    def runner_path(self) -> Path:
        return Path(__file__).resolve().parent / "runner.py"

    def layer_rows(self, result: dict[str, Any], model: Model) -> list[dict[str, Any]]:
        """One row per node, named as the node: each row covers exactly that node."""
        known = {n.name for n in model.nodes}
        return [dict(row, original_nodes=[row["name"]] if row["name"] in known else [],
                     kind="compute") for row in result.get("layers") or []]

    def describe(self) -> dict[str, Any]:
        return dict(super().describe(), description=self.description)
