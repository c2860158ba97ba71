"""Runner for the onnxruntime backend (runner API 2).

Loaded by path by the agent. Two sessions per job, because profiling adds
overhead (onnxruntime issue #20238): end-to-end latency comes from a session
with profiling off; per-layer times come from a second session with the
profiler on. The profiling session also saves the graph it executed (after
fusions and layout changes) so the host can map rows to the user's nodes.

For the per-layer numerical diff (:func:`intermediates`), exposing a tensor
as an output would change the graph that runs (a fused Conv+Relu splits
again, QDQ stops fusing into QLinearConv). So the runner saves the graph the
runtime optimised with the job's options, adds the tensors that graph still
has as outputs, and runs that with optimisation off: the diff graph is the
timed graph by construction, and the runner checks that it is.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import os
import re
import time
from typing import Any, Dict, Iterator, List, Optional

RUNNER_API = 2
NAME = "onnxruntime"

LEVELS = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "layout": "ORT_ENABLE_LAYOUT",
    "all": "ORT_ENABLE_ALL",
}


def probe() -> Any:
    """Runtime version and execution providers, or None when onnxruntime is missing."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    return {"version": ort.__version__, "providers": list(ort.get_available_providers())}


def _failure(kind: str, what: str, where: Any = None, hint: Any = None) -> Exception:
    from workbench_agent.runner_api import AgentFailure

    return AgentFailure(kind, what, where=where, hint=hint)


def _session_options(ort: Any, options: Dict[str, Any], cores: Optional[List[int]] = None) -> Any:
    so = ort.SessionOptions()
    so.log_severity_level = 3
    cores = list(cores or [])
    # 0 means "one thread per core the job is pinned to" (the runtime's default counts all).
    threads = int(options.get("intra_op_threads", 0)) or len(cores)
    so.intra_op_num_threads = threads
    if _caller_core(options, cores) is not None:
        # One extra intra-op thread per further core (onnxruntime numbers processors from 1;
        # the calling thread runs on the first core: see _caller_pinned).
        so.add_session_config_entry("session.intra_op_thread_affinities",
                                    ";".join(str(core + 1) for core in cores[1:]))
    so.inter_op_num_threads = int(options.get("inter_op_threads", 0))
    level_name = LEVELS.get(options.get("graph_optimization_level", "all"), "ORT_ENABLE_ALL")
    level = getattr(ort.GraphOptimizationLevel, level_name, None)
    if level is None:  # older runtimes have no separate layout level
        level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.graph_optimization_level = level
    if options.get("execution_mode") == "parallel":
        so.execution_mode = ort.ExecutionMode.ORT_PARALLEL
    so.enable_cpu_mem_arena = bool(options.get("enable_cpu_mem_arena", True))
    if not options.get("allow_spinning", True):
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    affinity = options.get("thread_affinity")
    if affinity:
        so.add_session_config_entry("session.intra_op_thread_affinities", str(affinity))
    for dim, value in (options.get("free_dimension_overrides") or {}).items():
        so.add_free_dimension_override_by_name(str(dim), int(value))
    return so


def _caller_core(options: Dict[str, Any], cores: List[int]) -> Optional[int]:
    """The core the calling thread runs the session on when the runner places the intra-op
    threads itself (one per further core of the job), else None (nothing is placed)."""
    threads = int(options.get("intra_op_threads", 0)) or len(cores)
    if options.get("thread_affinity") or len(cores) < 2 or threads != len(cores):
        return None
    return cores[0]


@contextlib.contextmanager
def _caller_pinned(options: Dict[str, Any], cores: List[int]) -> Iterator[None]:
    """Keep the calling thread on the job's first core while it runs the session.

    The intra-op threads are pinned to the further cores; left free on all of
    them, the calling thread could settle on a worker's core and share it for
    a whole job, one core idle: such a job ran 1.5 to 2 times slower than the
    next (the GEMM calibration's ceiling jumped between jobs by as much).
    """
    core = _caller_core(options, list(cores or []))
    if core is None or not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})  # 0: this thread only
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _providers(ort: Any, options: Dict[str, Any]) -> List[Any]:
    wanted = list(options.get("providers") or ["CPUExecutionProvider"])
    available = ort.get_available_providers()
    missing = [p for p in wanted if p not in available]
    if missing:
        raise _failure("BackendUnavailable",
                       "Execution provider %s is not in this device's onnxruntime"
                       % ", ".join(missing),
                       where="onnxruntime %s" % ort.__version__,
                       hint="Available here: %s; bring a runtime bundle built with it"
                       % ", ".join(available))
    provider_options = options.get("provider_options") or {}
    return [(p, provider_options.get(p, {})) for p in wanted]


# onnxruntime's words for an operator it lacks: no schema for the domain and name, or no
# kernel for it on the session's providers
_NO_SCHEMA = re.compile(r"([\w.]*):(\w+)\(-?\d+\) is not a registered function/op")
_NO_KERNEL = re.compile(r"implementation for (\w+)\(\d+\) node with name '([^']*)'")


def _unsupported_node(path: str, message: str) -> Optional[Dict[str, object]]:
    """The model's node whose operator ``message`` (onnxruntime's error) says is missing."""
    from workbench_agent.onnx_graph import read_nodes

    schema, kernel = _NO_SCHEMA.search(message), _NO_KERNEL.search(message)
    if schema is None and kernel is None:
        return None
    try:
        nodes = read_nodes(path)
    except (OSError, ValueError):
        nodes = []
    for node in nodes:
        if schema is not None and (node["domain"] or "") == schema.group(1) \
                and node["op_type"] == schema.group(2):
            return node
        if kernel is not None and node["op_type"] == kernel.group(1) \
                and node["name"] == kernel.group(2):
            return node
    if schema is not None:
        return {"name": "", "op_type": schema.group(2), "domain": schema.group(1)}
    return {"name": kernel.group(2), "op_type": kernel.group(1), "domain": ""} if kernel else None


def _create(ort: Any, path: str, so: Any, providers: List[Any]) -> Any:
    try:
        return ort.InferenceSession(path, so, providers=providers)
    except Exception as exc:
        node = _unsupported_node(path, str(exc))
        if node is not None:
            op = "%s:%s" % (node["domain"], node["op_type"]) if node["domain"] \
                else str(node["op_type"])
            named = " (node %r)" % node["name"] if node["name"] else ""
            raise _failure(
                "UnsupportedOperator",
                "onnxruntime %s with %s has no operator %s%s"
                % (ort.__version__, ", ".join(str(p[0]) for p in providers), op, named),
                where=path,
                hint="Run the model with a backend or execution provider that has this operator "
                "(a plug-in backend, see `workbench backends`; or a runtime bundle whose "
                "onnxruntime registers it), or replace the node in the model; `workbench "
                "inspect` on the model lists its operators with their domains") from None
        raise _failure("AgentError", "onnxruntime could not create a session: %s" % exc,
                       where=path, hint="Check the model with `workbench inspect` and the options"
                       ) from None


class _CacheFlusher:
    """Touches a buffer larger than the caches between runs (outside the timed region)."""

    def __init__(self, enabled: bool, megabytes: int = 64) -> None:
        self.buffer = None
        if enabled:
            import numpy as np

            self.buffer = np.zeros(megabytes << 17, dtype=np.float64)

    def __call__(self) -> None:
        if self.buffer is not None:
            self.buffer += 1.0


def _profile_layers(ort: Any, path: str, options: Dict[str, Any], providers: List[Any],
                    feeds: Dict[str, Any], runs: int, ctx: Any) -> Dict[str, Any]:
    from workbench_agent import kept
    from workbench_agent.onnx_graph import read_nodes
    from workbench_agent.ort_trace import aggregate_file

    cores = list(getattr(ctx, "cores", []))
    so = _session_options(ort, options, cores)
    so.enable_profiling = True
    so.profile_file_prefix = os.path.join(ctx.workdir, "ort_profile")
    # A warm agent keeps the executed graph's nodes per model file, runtime and options: the
    # runtime saves the graph (weights and all) only when none is kept.
    graph_key = kept.key("executed-graph", path, runtime=ort.__version__, options=options,
                         providers=providers, cores=cores)
    executed = kept.load(graph_key)
    optimized = os.path.join(ctx.workdir, "executed_graph.onnx")
    if executed is None:
        so.optimized_model_filepath = optimized
        # Keep weights out of the saved graph: only its structure is needed.
        so.add_session_config_entry("session.optimized_model_external_initializers_file_name",
                                    "executed_graph.data")
        so.add_session_config_entry(
            "session.optimized_model_external_initializers_min_size_in_bytes", "0")
    session = _create(ort, path, so, providers)
    with _caller_pinned(options, cores):
        session.run(None, feeds)  # warm-up, not counted
        for index in range(runs):
            session.run(None, feeds)
            ctx.progress("profile", index + 1, runs)
    trace_path = session.end_profiling()
    del session
    ctx.progress("aggregate", 0, 1)
    aggregator = aggregate_file(trace_path, skip_runs=1)
    if executed is None and os.path.isfile(optimized):
        try:
            executed = {"nodes": read_nodes(optimized)}
        except (OSError, ValueError) as exc:
            ctx.log("warning", "could not read the executed graph: %s" % exc)
        else:
            kept.save(graph_key, executed)
    for leftover in [*glob.glob(os.path.join(ctx.workdir, "executed_graph.*")), trace_path]:
        os.remove(leftover)
    ctx.progress("aggregate", 1, 1)
    return {"layers": aggregator.layers(), "trace": aggregator.trace(),
            "model_load_ms": aggregator.session_ms.get("model_loading"),
            "arena_bytes": aggregator.arena_peak,
            "event_count": aggregator.events_seen, "executed_graph": executed,
            "profile_runs": aggregator.counted_runs}


def run(job: Dict[str, Any], ctx: Any) -> Dict[str, Any]:
    """Run a job: cold run, warm-up, timed runs, then profiled runs for per-layer times."""
    from workbench_agent.outputs import describe_all
    from workbench_agent.timing import cold_then_timed

    try:
        import onnxruntime as ort
    except ImportError:
        raise _failure("BackendUnavailable", "onnxruntime is not installed on this device",
                       hint="Run `workbench device setup` to install a runtime bundle") from None
    options = job["backend"].get("options") or {}
    settings = job["run"]
    path = ctx.model_path(job)
    feeds, input_records = ctx.make_inputs(job["inputs"])
    providers = _providers(ort, options)

    ctx.progress("create", 0, 1)
    start = time.perf_counter()
    cores = getattr(ctx, "cores", [])
    session = _create(ort, path, _session_options(ort, options, cores), providers)
    session_create_ms = (time.perf_counter() - start) * 1000.0
    rss_after_create = ctx.peak_rss_bytes()
    ctx.progress("create", 1, 1)

    output_names = [o.name for o in session.get_outputs()]
    run = functools.partial(session.run, None, feeds)
    with _caller_pinned(options, cores):
        outputs, cold_ms, latency, later = cold_then_timed(run, settings, ctx)
    del run  # the session goes before the profiled runs create another
    described, output_warnings = describe_all(output_names, outputs, settings, later)
    rss_after_runs = ctx.peak_rss_bytes()
    used_providers = list(session.get_providers())
    del session

    result: Dict[str, Any] = {
        "runner_api": RUNNER_API,
        "runtime": {"name": NAME, "version": ort.__version__, "providers": used_providers},
        "latency_ms": latency,
        "cold_ms": cold_ms,
        "session_create_ms": session_create_ms,
        "memory": {"peak_rss_after_create_bytes": rss_after_create,
                   "peak_rss_after_runs_bytes": rss_after_runs},
        "inputs": input_records,
        "outputs": described,
        "layers": [],
        "profile_runs": 0,
        "trace": None,
        "executed_graph": None,
        "warnings": output_warnings,
    }
    profile_runs = int(settings.get("profile_runs", 0))
    if profile_runs > 0:
        result.update(_profile_layers(ort, path, options, providers, feeds, profile_runs, ctx))
    return result


def _save_optimised(ort: Any, path: str, options: Dict[str, Any], providers: List[Any],
                    ctx: Any, stem: str, level: Any = None) -> str:
    """Create a session only to have the runtime save the graph it would execute."""
    so = _session_options(ort, options, getattr(ctx, "cores", []))
    if level is not None:
        so.graph_optimization_level = level
    saved = os.path.join(ctx.workdir, stem + ".onnx")
    so.optimized_model_filepath = saved
    so.add_session_config_entry("session.optimized_model_external_initializers_file_name",
                                stem + ".data")
    so.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes",
                                "0")
    _create(ort, path, so, providers)
    return saved


def _structure(nodes: List[Dict[str, Any]]) -> List[Any]:
    return [(n["op_type"], n["domain"], n["inputs"], n["outputs"]) for n in nodes]


def intermediates(job: Dict[str, Any], ctx: Any) -> Dict[str, Any]:
    """The tensors between the layers of the executed graph, from one run (runner API 2)."""
    import onnxruntime as ort

    from workbench_agent.intermediates import choose, describe_tensors
    from workbench_agent.onnx_graph import read_nodes, with_graph_outputs

    options = job["backend"].get("options") or {}
    path = ctx.model_path(job)
    feeds, _ = ctx.make_inputs(job["inputs"])
    providers = _providers(ort, options)
    ctx.progress("profile", 0, 2)
    off = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        timed_graph = _save_optimised(ort, path, options, providers, ctx, "diff_timed")
        timed_nodes = read_nodes(timed_graph)
        chosen, skipped = choose(timed_nodes)
        exposed = os.path.join(ctx.workdir, "diff_exposed.onnx")
        with_graph_outputs(timed_graph, exposed, [c["name"] for c in chosen])
        # what the runtime makes of the exposed graph with optimisation off
        ran_graph = _save_optimised(ort, exposed, options, providers, ctx, "diff_ran", off)
        same = _structure(read_nodes(ran_graph)) == _structure(timed_nodes)
        so = _session_options(ort, options, getattr(ctx, "cores", []))
        so.graph_optimization_level = off
        session = _create(ort, exposed, so, providers)
        names = [o.name for o in session.get_outputs()]
        values = dict(zip(names, session.run(None, feeds)))  # noqa: B905 - Python 3.8
        del session
    finally:
        for leftover in glob.glob(os.path.join(ctx.workdir, "diff_*")):
            os.remove(leftover)
    ctx.progress("profile", 1, 2)
    tensors, summarised = describe_tensors(chosen, values, job["run"])
    ctx.progress("profile", 2, 2)
    level = options.get("graph_optimization_level", "all")
    return {"available": True, "runtime": "onnxruntime %s" % ort.__version__,
            "method": "the graph onnxruntime optimised (level %s) with the tensors it keeps "
                      "exposed as outputs, run once with optimisation off" % level,
            "graph_equals_timed": same, "executed_graph": {"nodes": timed_nodes},
            "tensors": tensors, "skipped": skipped, "summarised": summarised}
