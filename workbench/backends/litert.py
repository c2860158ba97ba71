"""The litert backend (host half): LiteRT / TensorFlow Lite interpreters and their delegates.

Runs .tflite models (``load_model("model.tflite")``, or a zoo model's twin,
``zoo:NAME.tflite``). The runner module (``workbench_agent/runners/litert.py``)
uses whichever Python API the device has: ai-edge-litert 2.x or 1.x, or
tflite_runtime. XNNPACK is LiteRT's default CPU delegate; ``xnnpack=False``
runs the built-in kernels; an external delegate (e.g. Arm NN's) loads by path.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import errors
from workbench.backends.base import Backend, Option

if TYPE_CHECKING:
    from workbench.devices.base import DeviceInfo
    from workbench.models import Model


class LiteRtBackend(Backend):
    """LiteRT with XNNPACK, the built-in kernels, or an external delegate."""

    name = "litert"
    formats = ("tflite",)
    runtime = "litert"
    package = "ai-edge-litert"
    description = ("LiteRT (TensorFlow Lite) interpreter, XNNPACK on or off, external delegates "
                   "by path. Latency is one set_tensor + invoke + get_tensor round per run. "
                   "Per-layer times come from the benchmark_model tool's op profiler when the "
                   "device has it: one row per operator the interpreter executed, the kernel's "
                   "time only, and one row for each delegated partition (a whole graph under "
                   "XNNPACK is one row), as the average over the profiled runs; without the "
                   "tool there are no per-layer rows.")
    options = (
        Option("threads", "int", 0, "interpreter threads (0: one per core the job runs on)",
               minimum=0),
        Option("xnnpack", "bool", True, "apply the XNNPACK delegate (LiteRT's default CPU "
               "delegate); False runs the built-in kernels"),
        Option("external_delegate", "str", "", "path of an external delegate library on the "
               "device (e.g. libarmnnDelegate.so); empty for none"),
        Option("external_delegate_options", "dict", {}, "options passed to the external "
               "delegate, name -> value", example={"backends": "CpuAcc,CpuRef"}),
        Option("benchmark_model", "str", "", "path of the benchmark_model tool on the device "
               "for per-op times; empty: look for it on PATH"),
    )

    def check_device(self, info: DeviceInfo, options: dict[str, Any]) -> None:
        super().check_device(info, options)
        if not options.get("xnnpack", True) and "XNNPACK" not in info.providers(self.runtime):
            raise errors.BackendUnavailable(
                "This device's LiteRT build cannot turn XNNPACK off",
                where=f"{info.name}, litert {info.runtime_version(self.runtime)}",
                hint="Use xnnpack=True, or install ai-edge-litert 1.4 or newer")

    def validate_options(self, options: dict[str, Any] | None) -> dict[str, Any]:
        checked = super().validate_options(options)
        for key, value in checked["external_delegate_options"].items():
            if not isinstance(value, str | int | float | bool):
                raise errors.InvalidOptionValue(
                    f"{value!r} is not a string or number", where=f"litert option "
                    f"'external_delegate_options' key {key!r}",
                    hint="Delegate options are name -> value pairs of text or numbers")
        if checked["external_delegate_options"] and not checked["external_delegate"]:
            raise errors.InvalidOptionValue(
                "external_delegate_options given without external_delegate",
                where="litert options", hint="Give the delegate's path as external_delegate")
        return checked

    def prepare(self, model: Model, options: dict[str, Any]) -> list[Path]:
        if model.format not in self.formats:
            raise errors.BackendUnavailable(
                f"The litert backend runs .tflite models; {model.name!r} is {model.format}",
                where=f"model {model.name!r}",
                hint="Load a .tflite file, or a zoo model's twin with "
                "load_model('zoo:NAME.tflite')")
        return model.files()

    def runner_path(self) -> Path:
        from workbench._paths import agent_root

        return agent_root() / "workbench_agent" / "runners" / "litert.py"

    def layer_rows(self, result: dict[str, Any], model: Model) -> list[dict[str, Any]]:
        """Runner rows with the operators each covers (a delegate row covers its partition).

        For a twin of an ONNX model, each row also names the ONNX nodes its operators
        stand for (``reference_nodes``), so it lines up with an onnxruntime profile.
        """
        known = {n.name for n in model.nodes}
        onnx_nodes = twin_nodes(model)
        rows = []
        for row in result.get("layers") or []:
            covered = [n for n in row.get("nodes") or [] if n in known]
            kind = "compute" if covered else "other"
            extra: dict[str, Any] = {}
            if onnx_nodes is not None:
                extra["reference_nodes"] = [o for n in covered for o in onnx_nodes.get(n, [])]
            rows.append({**row, "original_nodes": covered, "kind": kind, **extra})
        return rows


def twin_nodes(model: Model) -> dict[str, list[str]] | None:
    """For a twin, each TFLite operator's ONNX nodes (None for other models).

    The twin keeps the ONNX tensor names, so the operators map back through
    tensor boundaries exactly as onnxruntime's fused nodes do; operators the
    builder inserted (explicit padding) cover no ONNX node.
    """
    from workbench.models.mapping import map_executed_nodes

    reference = getattr(model, "reference", None)
    if reference is None:
        return None
    executed = [{"name": n.name, "op_type": n.op_type, "inputs": n.inputs, "outputs": n.outputs}
                for n in model.nodes]
    mapping = map_executed_nodes(executed, reference.topology())
    return {name: list(found["original_nodes"]) for name, found in mapping.items()}
