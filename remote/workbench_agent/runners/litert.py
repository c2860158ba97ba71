"""Runner for the litert backend (runner API 2): LiteRT / TensorFlow Lite interpreters.

Loaded by path by the agent. Works with whichever Python API the device has:
``ai_edge_litert.interpreter`` (ai-edge-litert 1.x and 2.x wheels) or
``tflite_runtime.interpreter``. End-to-end latency comes from the Python
Interpreter. The Python API has no op profiler, so per-operator times come
from the ``benchmark_model`` tool when the device has it (its op-profiling
CSV); without it the result says so and carries no layer rows.

Placement: which delegate ran each operator, from the interpreter's node
list after delegation (a delegated partition is one DELEGATE node whose
boundary tensors enclose the operators it replaced).

Intermediates (:func:`intermediates`, the per-layer diff) come from an
interpreter with ``experimental_preserve_all_tensors`` and every delegate
off: a delegate's partition keeps its tensors to itself. When the timed runs
used a delegate (XNNPACK by default), the diff says its graph is not theirs.
"""

from __future__ import annotations

import os
import shutil
import time
from typing import Any, Dict, List, Optional, Tuple

RUNNER_API = 2
NAME = "litert"

_MODULES = ("ai_edge_litert.interpreter", "tflite_runtime.interpreter")
_DISTRIBUTIONS = {"ai_edge_litert.interpreter": "ai-edge-litert",
                  "tflite_runtime.interpreter": "tflite-runtime"}


def _runtime() -> Optional[Tuple[Any, str, str]]:
    """(interpreter module, its import name, version) of the first API present, or None."""
    import importlib

    for name in _MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        return module, name, _version(name)
    return None


def _version(module_name: str) -> str:
    try:
        from importlib.metadata import version

        return version(_DISTRIBUTIONS[module_name])
    except Exception:  # a vendor build without metadata
        import importlib

        top = importlib.import_module(module_name.split(".")[0])
        return str(getattr(top, "__version__", "unknown"))


def probe() -> Any:
    """Runtime version, module and delegates, or None when no LiteRT API is installed."""
    found = _runtime()
    if found is None:
        return None
    module, name, version = found
    providers = ["CPU"]
    if hasattr(module, "OpResolverType"):
        providers.append("XNNPACK")
    tool = shutil.which("benchmark_model")
    return {"version": version, "module": name, "providers": providers,
            "external_delegates": hasattr(module, "load_delegate"),
            "benchmark_model": tool}


def _failure(kind: str, what: str, where: Any = None, hint: Any = None) -> Exception:
    from workbench_agent.runner_api import AgentFailure

    return AgentFailure(kind, what, where=where, hint=hint)


def _delegate_name(path: str) -> str:
    base = os.path.basename(path)
    for prefix in ("lib",):
        base = base[len(prefix):] if base.startswith(prefix) else base
    return base.split(".so")[0] or path


def _create(module: Any, path: str, options: Dict[str, Any], threads: int,
            with_external: bool = True, with_xnnpack: Optional[bool] = None,
            preserve_all_tensors: bool = False) -> Any:
    kwargs = {"model_path": path}  # type: Dict[str, Any]
    if preserve_all_tensors:
        kwargs["experimental_preserve_all_tensors"] = True
    if threads > 0:
        kwargs["num_threads"] = threads
    xnnpack = options.get("xnnpack", True) if with_xnnpack is None else with_xnnpack
    if not xnnpack:
        if not hasattr(module, "OpResolverType"):
            raise _failure("BackendUnavailable", "This LiteRT build cannot turn XNNPACK off",
                           where=module.__name__, hint="Use xnnpack=True or a newer runtime")
        kwargs["experimental_op_resolver_type"] = \
            module.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    delegate_path = options.get("external_delegate") or ""
    if delegate_path and with_external:
        settings = {str(k): str(v) for k, v in (options.get("external_delegate_options")
                                                or {}).items()}
        try:
            kwargs["experimental_delegates"] = [module.load_delegate(delegate_path, settings)]
        except Exception as exc:
            raise _failure("BackendUnavailable", "The external delegate does not load: %s" % exc,
                           where=delegate_path, hint="Check the path and the delegate's "
                           "options on the device") from None
    try:
        interpreter = module.Interpreter(**kwargs)
        interpreter.allocate_tensors()
    except Exception as exc:
        raise _failure("AgentError", "LiteRT could not load the model: %s" % exc, where=path,
                       hint="Check the model with `workbench inspect` and the options") from None
    return interpreter


def _node_names(interpreter: Any) -> Tuple[List[Dict[str, Any]], Dict[int, str]]:
    """The interpreter's nodes and, per tensor index, its name."""
    nodes = interpreter._get_ops_details()
    names = {}  # type: Dict[int, str]
    for detail in interpreter.get_tensor_details():
        names[int(detail["index"])] = str(detail["name"])
    return nodes, names


def op_names(nodes: List[Dict[str, Any]], names: Dict[int, str]) -> Dict[int, str]:
    """Node index -> the name the static analysis gives that operator (its first output)."""
    found = {}  # type: Dict[int, str]
    taken = set()
    for node in nodes:
        if node["op_name"] == "DELEGATE":
            continue
        outputs = [int(t) for t in node["outputs"] if int(t) >= 0]
        first = names.get(outputs[0], "") if outputs else str(node["op_name"])
        name = first if first not in taken else "%s:%d" % (first, node["index"])
        taken.add(name)
        found[int(node["index"])] = name
    return found


def placement(nodes: List[Dict[str, Any]], names: Dict[int, str],
              labels: List[str]) -> Dict[str, str]:
    """Operator name -> where it ran: a delegate's label (in order of the DELEGATE nodes,
    the last label for any further ones) or "CPU"."""
    ops = op_names(nodes, names)
    producer = {}  # type: Dict[int, int]
    for node in nodes:
        if int(node["index"]) in ops:
            for tensor in node["outputs"]:
                producer[int(tensor)] = int(node["index"])
    where = {name: "CPU" for name in ops.values()}
    delegates = [n for n in nodes if n["op_name"] == "DELEGATE"]
    by_index = {int(n["index"]): n for n in nodes}
    for number, node in enumerate(delegates):
        label = labels[min(number, len(labels) - 1)] if labels else "DELEGATE"
        boundary = {int(t) for t in node["inputs"]}
        stack = [int(t) for t in node["outputs"]]
        seen = set()  # type: set
        while stack:
            tensor = stack.pop()
            if tensor in boundary or tensor not in producer or tensor in seen:
                continue
            seen.add(tensor)
            index = producer[tensor]
            where[ops[index]] = label
            stack.extend(int(t) for t in by_index[index]["inputs"] if int(t) >= 0)
    return where


class _Session:
    """One interpreter with its inputs bound; ``run`` copies inputs in and outputs out."""

    def __init__(self, interpreter: Any, feeds: Dict[str, Any]) -> None:
        self.interpreter = interpreter
        details = interpreter.get_input_details()
        resized = False
        self.inputs = []  # type: List[Tuple[int, Any]]
        for detail in details:
            name = detail["name"]
            if name not in feeds:
                raise _failure("InputSpecError", "No data for input %r" % name,
                               hint="Inputs given: %s" % ", ".join(feeds))
            value = feeds[name]
            if list(value.shape) != list(detail["shape"]):
                interpreter.resize_tensor_input(detail["index"], list(value.shape))
                resized = True
            self.inputs.append((detail["index"], value))
        if resized:
            interpreter.allocate_tensors()
        self.outputs = [(d["name"], d["index"]) for d in interpreter.get_output_details()]

    def run(self) -> List[Any]:
        for index, value in self.inputs:
            self.interpreter.set_tensor(index, value)
        self.interpreter.invoke()
        return [self.interpreter.get_tensor(index) for _, index in self.outputs]


def run(job: Dict[str, Any], ctx: Any) -> Dict[str, Any]:
    """Run a job: load, cold run, warm-up, timed runs; per-op times from benchmark_model."""
    from workbench_agent.litert_ops import profile_ops
    from workbench_agent.outputs import describe_all
    from workbench_agent.timing import cold_then_timed

    found = _runtime()
    if found is None:
        raise _failure("BackendUnavailable", "No LiteRT runtime is installed on this device",
                       hint="Run `workbench device setup` with the litert backend, or pip "
                       "install ai-edge-litert (or tflite-runtime) there")
    module, module_name, version = found
    options = job["backend"].get("options") or {}
    settings = job["run"]
    path = ctx.model_path(job)
    feeds, input_records = ctx.make_inputs(job["inputs"])
    threads = int(options.get("threads", 0)) or len(getattr(ctx, "cores", []) or [])

    ctx.progress("create", 0, 1)
    start = time.perf_counter()
    interpreter = _create(module, path, options, threads)
    session_create_ms = (time.perf_counter() - start) * 1000.0
    rss_after_create = ctx.peak_rss_bytes()
    session = _Session(interpreter, feeds)
    ctx.progress("create", 1, 1)

    outputs, cold_ms, latency, later = cold_then_timed(session.run, settings, ctx)
    rss_after_runs = ctx.peak_rss_bytes()

    labels = []  # type: List[str]
    if options.get("external_delegate"):
        labels.append(_delegate_name(options["external_delegate"]))
    if options.get("xnnpack", True):
        labels.append("XNNPACK")
    nodes, names = _node_names(interpreter)
    where = placement(nodes, names, labels)
    providers = sorted(set(where.values()))
    described, output_warnings = describe_all([name for name, _ in session.outputs], outputs,
                                              settings, later)
    del session, interpreter

    result = {
        "runner_api": RUNNER_API,
        "runtime": {"name": NAME, "version": version, "providers": providers,
                    "module": module_name},
        "latency_ms": latency, "cold_ms": cold_ms, "session_create_ms": session_create_ms,
        "model_load_ms": None,
        "memory": {"peak_rss_after_create_bytes": rss_after_create,
                   "peak_rss_after_runs_bytes": rss_after_runs},
        "inputs": input_records, "outputs": described, "layers": [], "profile_runs": 0,
        "trace": None, "executed_graph": None, "placement": where, "warnings": output_warnings,
    }  # type: Dict[str, Any]
    profile_runs = int(settings.get("profile_runs", 0))
    if profile_runs > 0:
        profiled = profile_ops(path, options, threads, profile_runs, nodes, names, where, ctx,
                               settings.get("timeout_s"))
        # the outputs' warnings stay beside the per-op times' own
        profiled["warnings"] = output_warnings + list(profiled.get("warnings") or [])
        result.update(profiled)
    return result


def all_tensors(module: Any, path: str, feeds: Dict[str, Any], threads: int = 0
                ) -> Tuple[List[Dict[str, Any]], Dict[str, Any]]:
    """One run with every tensor kept and no delegate: the executed operators (name,
    op_type, inputs, outputs, as tensor names) and every operator output by name."""
    interpreter = _create(module, path, {}, threads, with_external=False, with_xnnpack=False,
                          preserve_all_tensors=True)
    _Session(interpreter, feeds).run()
    nodes, names = _node_names(interpreter)
    ops = op_names(nodes, names)
    executed = []  # type: List[Dict[str, Any]]
    values = {}  # type: Dict[str, Any]
    for node in nodes:
        outputs = [int(t) for t in node["outputs"] if int(t) >= 0]
        executed.append({"name": ops.get(int(node["index"]), str(node["op_name"])),
                         "op_type": str(node["op_name"]), "domain": "",
                         "inputs": [names.get(int(t), "") for t in node["inputs"] if int(t) >= 0],
                         "outputs": [names.get(t, "") for t in outputs]})
        for tensor in outputs:
            values[names.get(tensor, "")] = interpreter.get_tensor(tensor).copy()
    return executed, values


def intermediates(job: Dict[str, Any], ctx: Any) -> Dict[str, Any]:
    """The tensors after every operator, from one run without delegates (runner API 2)."""
    from workbench_agent.intermediates import choose, describe_tensors

    found = _runtime()
    if found is None:
        raise _failure("BackendUnavailable", "No LiteRT runtime is installed on this device")
    module, _, version = found
    options = job["backend"].get("options") or {}
    feeds, _ = ctx.make_inputs(job["inputs"])
    threads = int(options.get("threads", 0)) or len(getattr(ctx, "cores", []) or [])
    ctx.progress("profile", 0, 1)
    executed, values = all_tensors(module, ctx.model_path(job), feeds, threads)
    chosen, skipped = choose(executed)
    tensors, summarised = describe_tensors(chosen, values, job["run"])
    ctx.progress("profile", 1, 1)
    delegates = [name for name, used in (("XNNPACK", options.get("xnnpack", True)),
                                         ("external delegate", options.get("external_delegate")))
                 if used]
    method = "LiteRT with experimental_preserve_all_tensors and no delegate, one run"
    if delegates:
        method += "; the timed runs used %s, whose kernels these are not" % " and ".join(
            delegates)
    return {"available": True, "runtime": "LiteRT %s" % version, "method": method,
            "graph_equals_timed": not delegates, "executed_graph": {"nodes": executed},
            "tensors": tensors, "skipped": skipped, "summarised": summarised}
