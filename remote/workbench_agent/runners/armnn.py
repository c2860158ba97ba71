"""Runner for the armnn backend (runner API 1): Arm NN through PyArmNN.

Loaded by path by the agent. The TfLite parser builds the network, ``Optimize``
assigns each layer to the first backend of the preference list that supports
it (CpuAcc: the Arm Compute Library's NEON kernels; CpuRef: Arm NN's reference
kernels; GpuAcc: OpenCL), and the loaded network runs. Latency comes from runs
with the profiler off; per-layer and per-kernel times from separate runs with
it on (see ``workbench_agent/armnn_profile.py`` for how rows are made).
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any, Dict, List

RUNNER_API = 1
NAME = "armnn"


def _failure(kind: str, what: str, where: Any = None, hint: Any = None) -> Exception:
    from workbench_agent.runner_api import AgentFailure

    return AgentFailure(kind, what, where=where, hint=hint)


#: the folder of a bundle's dynamic backends, once its libraries are loaded
_BUNDLE = {}  # type: Dict[str, str]


def _load_bundle() -> None:
    """Load the shared libraries of an Arm NN bundle on the path (``armnn-bundle.json``, made
    by the host from Debian's packages), so pyarmnn finds them without LD_LIBRARY_PATH, and
    note where its dynamic backends are. Nothing happens for a system-wide Arm NN."""
    import ctypes
    import sys

    for entry in sys.path:
        manifest = os.path.join(entry or ".", "armnn-bundle.json")
        if not os.path.isfile(manifest):
            continue
        with open(manifest) as handle:
            bundle = json.load(handle)
        folder = os.path.abspath(os.path.join(entry or ".", "armnn-lib"))
        waiting = list(bundle.get("libraries") or [])
        problem = ""
        while waiting:  # a library loads once the ones it needs are loaded: no fixed order
            left = []
            for name in waiting:
                try:
                    ctypes.CDLL(os.path.join(folder, name), mode=ctypes.RTLD_GLOBAL)
                except OSError as exc:
                    left.append(name)
                    problem = str(exc)
            if len(left) == len(waiting):
                raise _failure("BackendUnavailable", "The Arm NN bundle's libraries do not "
                               "load on this board: %s" % problem, where=folder,
                               hint="The bundle is made for Debian or Raspberry Pi OS bookworm "
                               "(arm64, glibc 2.36+, libstdc++6 12); run `workbench device "
                               "setup DEVICE --backend armnn` again on such a board")
            waiting = left
        _BUNDLE["backends"] = os.path.abspath(
            os.path.join(entry or ".", str(bundle.get("backends") or "armnn-lib/backends")))
        return


def _import() -> Any:
    import contextlib
    import io

    if not _BUNDLE:
        _load_bundle()
    # PyArmNN prints a line for each parser the build lacks (Caffe, ONNX, TF) on import.
    with contextlib.redirect_stdout(io.StringIO()):
        import pyarmnn

    return pyarmnn


def _new_runtime(ann: Any) -> Any:
    """An Arm NN runtime, with a bundle's backends where one was loaded."""
    options = ann.CreationOptions()
    if _BUNDLE.get("backends"):
        options.m_DynamicBackendsPath = _BUNDLE["backends"]
    return ann.IRuntime(options)


def backends_of(spec: Any) -> List[str]:
    """The backends a runtime's device spec lists, e.g. ['CpuAcc', 'CpuRef']."""
    getter = getattr(spec, "GetSupportedBackends", None)
    if getter is not None:
        return [str(b) for b in getter()]
    match = re.search(r"supportedBackends:\s*\[([^\]]*)\]", str(spec))
    return [b.strip() for b in match.group(1).split(",") if b.strip()] if match else []


def probe() -> Any:
    """Arm NN's version, its backends and whether its TfLite parser is there, or None when
    PyArmNN is missing."""
    try:
        ann = _import()
    except ImportError:
        return None
    runtime = _new_runtime(ann)
    return {"version": str(ann.ARMNN_VERSION), "providers": backends_of(runtime.GetDeviceSpec()),
            "tflite_parser": hasattr(ann, "ITfLiteParser")}


def _parse(ann: Any, path: str) -> Any:
    parser = ann.ITfLiteParser()
    try:
        network = parser.CreateNetworkFromBinaryFile(path)
    except Exception as exc:  # armnn.ParseException and friends
        text = str(exc).strip()
        message = text.splitlines()[0].split(" at function ")[0] if text else type(exc).__name__
        if "not supported" in message.lower() or "unsupported" in message.lower():
            raise _failure("UnsupportedOperator", "Arm NN %s cannot parse an operator of this "
                           "model: %s" % (ann.ARMNN_VERSION, message), where=path,
                           hint="Run it with backend='litert' or 'onnxruntime', or replace that "
                           "operator in the model") from None
        raise _failure("AgentError", "Arm NN's TfLite parser rejected the model: %s" % message,
                       where=path, hint="Check the model with `workbench inspect`") from None
    return parser, network


class _Network:
    """A loaded network with its inputs and outputs bound."""

    def __init__(self, ann: Any, path: str, options: Dict[str, Any], feeds: Dict[str, Any],
                 workdir: str) -> None:
        self.ann = ann
        parser, network = _parse(ann, path)
        self.runtime = _new_runtime(ann)
        available = backends_of(self.runtime.GetDeviceSpec())
        wanted = [str(b) for b in options.get("backends") or ["CpuAcc", "CpuRef"]]
        missing = [b for b in wanted if b not in available]
        if missing:
            raise _failure("BackendUnavailable", "Arm NN backend %s is not available here"
                           % ", ".join(missing), where="Arm NN %s" % ann.ARMNN_VERSION,
                           hint="Available backends: %s" % ", ".join(available))
        settings = ann.OptimizerOptions()
        settings.m_ReduceFp32ToFp16 = bool(options.get("fp16", False))
        try:
            optimized, messages = ann.Optimize(network, [ann.BackendId(b) for b in wanted],
                                               self.runtime.GetDeviceSpec(), settings)
        except Exception as exc:
            raise _failure("BackendUnavailable", "Arm NN could not place every layer on %s: %s"
                           % (", ".join(wanted), exc), where="Arm NN %s" % ann.ARMNN_VERSION,
                           hint="Add CpuRef to the backends: it runs every layer Arm NN "
                           "has") from None
        self.messages = [str(m) for m in messages or ()]
        dot = os.path.join(workdir, "armnn_graph.dot")
        optimized.SerializeToDot(dot)
        with open(dot) as handle:
            self.dot = handle.read()
        os.remove(dot)
        self.net_id, _ = self.runtime.LoadNetwork(optimized)
        bindings, arrays = [], []
        for name in parser.GetSubgraphInputTensorNames(0):
            if name not in feeds:
                raise _failure("InputSpecError", "No data for input %r" % name,
                               hint="Inputs given: %s" % ", ".join(feeds))
            binding = parser.GetNetworkInputBindingInfo(0, name)
            bindings.append(binding)
            arrays.append(_layout(feeds[name], binding[1].GetShape()))
        self.inputs = ann.make_input_tensors(bindings, arrays)
        self.output_names = list(parser.GetSubgraphOutputTensorNames(0))
        self.outputs = ann.make_output_tensors(
            [parser.GetNetworkOutputBindingInfo(0, n) for n in self.output_names])

    def run(self) -> List[Any]:
        self.runtime.EnqueueWorkload(self.net_id, self.inputs, self.outputs)
        return [a.copy() for a in self.ann.workload_tensors_to_ndarray(self.outputs)]


def _layout(array: Any, shape: Any) -> Any:
    """An NCHW array for an NHWC input (an ONNX model run through its .tflite twin) in the
    twin's layout; any other array as given."""
    wanted = [int(shape[i]) for i in range(shape.GetNumDimensions())]
    if list(array.shape) != wanted and array.ndim == 4 \
            and list(array.transpose(0, 2, 3, 1).shape) == wanted:
        return array.transpose(0, 2, 3, 1).copy()
    return array


def _profile(network: _Network, runs: int, ctx: Any) -> Dict[str, Any]:
    from workbench_agent import armnn_profile

    profiler = network.runtime.GetProfiler(network.net_id)
    profiler.EnableProfiling(True)
    for index in range(runs):
        network.runtime.EnqueueWorkload(network.net_id, network.inputs, network.outputs)
        ctx.progress("profile", index + 1, runs)
    profiler.EnableProfiling(False)
    ctx.progress("aggregate", 0, 1)
    document = json.loads(profiler.as_json())
    layers = armnn_profile.graph_layers(network.dot)
    rows, warnings = armnn_profile.layer_rows(layers, armnn_profile.workload_runs(document))
    ctx.progress("aggregate", 1, 1)
    return {"layers": rows, "warnings": warnings, "profile_runs": runs if rows else 0}


def run(job: Dict[str, Any], ctx: Any) -> Dict[str, Any]:
    """Run a job: parse, optimize, load, cold run, warm-up, timed runs, then profiled runs."""
    from workbench_agent import armnn_profile
    from workbench_agent.outputs import describe_all
    from workbench_agent.timing import cold_then_timed

    try:
        ann = _import()
    except ImportError:
        raise _failure("BackendUnavailable", "PyArmNN is not installed on this device",
                       hint="Run `workbench device setup DEVICE --backend armnn`, or install "
                       "Debian's python3-pyarmnn and libarmnn-cpuacc-backend22 there") from None
    options = job["backend"].get("options") or {}
    settings = job["run"]
    path = ctx.model_path(job)
    feeds, input_records = ctx.make_inputs(job["inputs"])

    ctx.progress("create", 0, 1)
    start = time.perf_counter()
    network = _Network(ann, path, options, feeds, ctx.workdir)
    session_create_ms = (time.perf_counter() - start) * 1000.0
    rss_after_create = ctx.peak_rss_bytes()
    ctx.progress("create", 1, 1)

    outputs, cold_ms, latency, later = cold_then_timed(network.run, settings, ctx)
    rss_after_runs = ctx.peak_rss_bytes()
    described, output_warnings = describe_all(network.output_names, outputs, settings, later)

    graph = armnn_profile.graph_layers(network.dot)
    where = armnn_profile.placement(graph)
    result = {
        "runner_api": RUNNER_API,
        "runtime": {"name": NAME, "version": str(ann.ARMNN_VERSION),
                    "providers": sorted(set(where.values()))},
        "latency_ms": latency, "cold_ms": cold_ms, "session_create_ms": session_create_ms,
        "model_load_ms": None,
        "memory": {"peak_rss_after_create_bytes": rss_after_create,
                   "peak_rss_after_runs_bytes": rss_after_runs},
        "inputs": input_records, "outputs": described, "layers": [], "profile_runs": 0,
        "trace": None, "executed_graph": None, "operator_backends": where,
        "graph_layers": graph, "warnings": output_warnings + network.messages,
    }  # type: Dict[str, Any]
    profile_runs = int(settings.get("profile_runs", 0))
    if profile_runs > 0:
        found = _profile(network, profile_runs, ctx)
        result["warnings"] = result["warnings"] + found.pop("warnings")
        result.update(found)
    return result

