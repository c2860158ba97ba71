"""The armnn backend (host half): Arm NN, the Arm ecosystem's plug-in runtime, via PyArmNN.

Runs .tflite models through Arm NN's TfLite parser (``load_model("m.tflite")`` or a
zoo model's twin ``zoo:NAME.tflite``), and ONNX models through their .tflite twin
where the twin builder covers them: no ONNX parser is packaged with Arm NN 22.
Each layer goes to the first backend of the ``backends`` list that supports it:
CpuAcc (the Arm Compute Library's NEON kernels), CpuRef (Arm NN's reference
kernels), GpuAcc (OpenCL) where the board has it. Per-layer rows come from Arm
NN's profiler, one row per TFLite operator (a fused activation is part of its
operator's row), each with the Arm Compute Library kernels that ran it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import errors
from workbench.backends.base import Backend, Option
from workbench.backends.litert import twin_nodes

if TYPE_CHECKING:
    from workbench.devices.base import DeviceInfo
    from workbench.models import Model

#: the Arm NN backends a job may ask for, in Arm NN's own names
ARMNN_BACKENDS = ("CpuAcc", "CpuRef", "GpuAcc")
#: ONNX model sha256 -> its twin, built once per process (prepare and the rows both need it)
_TWINS: dict[str, Model] = {}
#: (model sha256, format) -> TFLite operator index -> the model's nodes, mapped once per process
_OPERATOR_NODES: dict[tuple[str, str], dict[str, list[str]]] = {}
#: twin sha256 -> its operators' ONNX nodes (the rows' reference_nodes)
_REFERENCE_NODES: dict[str, dict[str, list[str]]] = {}


class ArmNnBackend(Backend):
    """Arm NN with its CpuAcc, CpuRef and GpuAcc backends, as present on the device."""

    name = "armnn"
    formats = ("tflite", "onnx")
    runtime = "armnn"
    description = ("Arm NN (PyArmNN) with its TfLite parser; each layer runs on the first "
                   "backend of the preference list that supports it. Latency is one "
                   "EnqueueWorkload per run with the profiler off. Per-layer times come from Arm "
                   "NN's profiler in separate runs: the wall-clock time of each layer's workload, "
                   "one row per TFLite operator (a fused activation, which Arm NN runs as a layer "
                   "of its own, is in its operator's row), with the Arm Compute Library kernels "
                   "inside each row. Arm NN 22 does not expose a thread count to Python: CpuAcc "
                   "uses one thread per core.")
    options = (
        Option("backends", "list", ["CpuAcc", "CpuRef"], "Arm NN backends in order of preference "
               "(CpuAcc, CpuRef, GpuAcc); a layer the first cannot run falls back to the next"),
        Option("fp16", "bool", False, "fp16 turbo mode: run fp32 layers in fp16 where the "
               "backend supports it (ReduceFp32ToFp16)"),
    )

    def validate_options(self, options: dict[str, Any] | None) -> dict[str, Any]:
        checked = super().validate_options(options)
        wanted = checked["backends"]
        unknown = [b for b in wanted if b not in ARMNN_BACKENDS]
        if unknown or not wanted:
            raise errors.InvalidOptionValue(
                f"{wanted!r} is not a list of Arm NN backends", where="armnn option 'backends'",
                hint=f"Give one or more of {', '.join(ARMNN_BACKENDS)}, most preferred first")
        return checked

    def check_device(self, info: DeviceInfo, options: dict[str, Any]) -> None:
        if info.runtime_version(self.runtime) is None and info.arch != "aarch64":
            # setup would refuse too: Debian's Arm NN is built for arm64 boards only
            raise errors.BackendUnavailable(
                f"Arm NN runs on aarch64 boards with Debian bookworm; this device is "
                f"{info.arch}", where=info.name,
                hint="Profile on such a board (`workbench device setup BOARD --backend armnn` "
                "installs Arm NN there) or on the emulated one: --device qemu:raspberry-pi-5")
        super().check_device(info, options)
        self.require_providers(info, options.get("backends", []), "Arm NN backend", "backends")

    def device_choices(self, info: DeviceInfo) -> dict[str, list[Any]]:
        """The Arm NN backends the device's build offers."""
        return {"backends": info.providers(self.runtime)}

    def prepare(self, model: Model, options: dict[str, Any]) -> list[Path]:
        return _tflite_of(model).files()

    def runner_path(self) -> Path:
        from workbench._paths import agent_root

        return agent_root() / "workbench_agent" / "runners" / "armnn.py"

    def layer_rows(self, result: dict[str, Any], model: Model) -> list[dict[str, Any]]:
        """Runner rows named by the model's nodes: for a .tflite model its operators (and,
        for a twin, the ONNX nodes as ``reference_nodes``); for an ONNX model run through its
        twin, the ONNX nodes themselves."""
        nodes = _operator_nodes(model)
        rows = []
        for row in result.get("layers") or []:
            covered = [n for i in row.get("operators") or [] for n in nodes.get(str(i), [])]
            extra: dict[str, Any] = {}
            if model.format == "tflite" and getattr(model, "reference", None) is not None:
                onnx_nodes = _reference_nodes(model)
                extra["reference_nodes"] = [o for n in covered for o in onnx_nodes.get(n, [])]
            rows.append({**row, "original_nodes": list(dict.fromkeys(covered)),
                         "kind": "compute" if covered else "other", **extra})
        return rows

    def placement(self, result: dict[str, Any], model: Model) -> dict[str, str] | None:
        """The model's nodes -> the Arm NN backend that ran them, from the optimized graph."""
        by_operator = result.get("operator_backends")
        if not isinstance(by_operator, dict):
            return None
        nodes = _operator_nodes(model)
        return {node: str(backend) for index, backend in by_operator.items()
                for node in nodes.get(str(index), [])}


def _tflite_of(model: Model) -> Model:
    """The .tflite model Arm NN runs for ``model``: itself, or an ONNX model's twin."""
    if model.format == "tflite":
        return model
    if model.format != "onnx":
        raise errors.BackendUnavailable(
            f"The armnn backend runs .tflite models; {model.name!r} is {model.format}",
            where=f"model {model.name!r}", hint="Convert it to .tflite first")
    from workbench.models.tflite.twin import twin

    if model.sha256 in _TWINS:
        return _TWINS[model.sha256]
    try:
        _TWINS[model.sha256] = twin(model)
        return _TWINS[model.sha256]
    except errors.UnsupportedConversion as exc:
        raise errors.BackendUnavailable(
            f"Arm NN 22 has no ONNX parser, and this model's .tflite twin cannot be built: "
            f"{exc.what}", where=f"model {model.name!r}",
            hint="Convert it to .tflite first (e.g. with ai-edge-torch or onnx2tf) and load "
            "the .tflite file, or run it with backend='onnxruntime'") from exc


def _reference_nodes(twin: Model) -> dict[str, list[str]]:
    """A twin's operators -> the ONNX nodes each stands for (mapped once per twin)."""
    if twin.sha256 not in _REFERENCE_NODES:
        _REFERENCE_NODES[twin.sha256] = twin_nodes(twin) or {}
    return _REFERENCE_NODES[twin.sha256]


def _operator_nodes(model: Model) -> dict[str, list[str]]:
    """TFLite operator index (as text) -> the model's nodes it stands for."""
    key = (model.sha256, model.format)
    if key not in _OPERATOR_NODES:
        runnable = _tflite_of(model)
        names = [n.name for n in runnable.nodes]
        if runnable is model:
            _OPERATOR_NODES[key] = {str(i): [name] for i, name in enumerate(names)}
        else:
            onnx_nodes = _reference_nodes(runnable)
            _OPERATOR_NODES[key] = {str(i): list(onnx_nodes.get(name, []))
                                    for i, name in enumerate(names)}
    return _OPERATOR_NODES[key]
