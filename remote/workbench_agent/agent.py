"""Run one job and report in JSON lines (the workbench.events/2 stream).

The job's runner module is loaded by path (or ``builtin:NAME``), the job is
pinned to its cores under the conditions it asks for, the board's lock is
taken (waiting jobs report queue stages), and the result or the error is the
last event. The process around it (stdin, heartbeats, process group) is
:mod:`workbench_agent.command`; what a runner may use is
:mod:`workbench_agent.runner_api`.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import tempfile
import time
import traceback
from typing import Any, Dict, Optional, Tuple

from workbench_agent import EVENTS_SCHEMA, RUNNER_API, RUNNER_APIS, __version__
from workbench_agent.cache import artifacts_in
from workbench_agent.intermediates import unavailable
from workbench_agent.lock import DeviceLock, LockWaitTimeout
from workbench_agent.outputs import make_safe
from workbench_agent.record import JobRecord
from workbench_agent.runner_api import AgentFailure, Context, EventWriter
from workbench_agent.runners import BUILTIN

# Older runner modules import these from here.
__all__ = ["AgentFailure", "Context", "EventWriter", "load_runner", "run_job"]

EXIT_OK = 0
EXIT_JOB_FAILED = 2
EXIT_CRASHED = 3
EXIT_LINK_LOST = 4
EXIT_USAGE = 64

#: runner modules compiled by this process, by (path, size, modification time): a warm agent
#: compiles a runner once and hands the code to every job it forks, which still executes it
#: afresh in its own process (nothing a runner did in one job is seen by the next)
_COMPILED: Dict[Tuple[str, int, int], Any] = {}


def compiled_runner(path: str) -> Any:
    """The code of the runner module at ``path``, compiled once per version of the file;
    OSError when it cannot be read, SyntaxError when it is not Python."""
    stat = os.stat(path)
    key = (path, stat.st_size, stat.st_mtime_ns)
    code = _COMPILED.get(key)
    if code is None:
        with open(path, "rb") as handle:
            code = compile(handle.read(), path, "exec", dont_inherit=True)
        _COMPILED.clear()  # one version of one runner at a time: a long-lived agent stays small
        _COMPILED[key] = code
    return code


def load_runner(spec: str) -> Any:
    """Load a runner module from a path, or ``builtin:NAME`` shipped inside the agent.

    Built-ins are imported by module name, so they load from a zipped agent too.
    """
    path = spec
    if spec.startswith("builtin:"):
        name = spec[len("builtin:"):]
        if name not in BUILTIN:
            raise AgentFailure("BackendUnavailable", "No built-in runner %r" % name,
                               hint="Built-in runners: %s" % ", ".join(BUILTIN))
        module = importlib.import_module("workbench_agent.runners." + name)
    else:
        if not os.path.isfile(path):
            raise AgentFailure("BackendUnavailable", "The backend's runner module is missing",
                               where=path, hint="Deploy the job again so the runner is uploaded")
        module_name = "workbench_runner_" + os.path.splitext(os.path.basename(path))[0]
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        if module_spec is None or module_spec.loader is None:
            raise AgentFailure("BackendUnavailable", "The runner module cannot be loaded",
                               where=path)
        module = importlib.util.module_from_spec(module_spec)
        exec(compiled_runner(path), module.__dict__)
    api = getattr(module, "RUNNER_API", None)
    if api not in RUNNER_APIS:
        raise AgentFailure("BackendUnavailable",
                           "The runner speaks runner API %r; this agent speaks %s"
                           % (api, " and ".join(map(str, RUNNER_APIS))),
                           where=path, hint="Update the backend plug-in or the agent")
    return module


def _run_under_conditions(job: Dict[str, Any], runner: Any, context: "Context") -> Dict[str, Any]:
    """Pin the job to its cores, prepare the board if asked, sample conditions, run."""
    from workbench_agent.conditions import Governor, Sampler, Sysfs, choose_cores, cool_down
    from workbench_agent.probe import clusters, parse_cpuinfo
    from workbench_agent.sysinfo import read_text

    settings = job.get("run", {})
    sysfs = Sysfs(settings.get("sysfs_root") or "/")
    found = clusters(parse_cpuinfo(read_text("/proc/cpuinfo") or ""))
    try:
        cores = choose_cores(found, settings.get("cluster", "big"), settings.get("cores"))
        if hasattr(os, "sched_setaffinity") and cores:
            os.sched_setaffinity(0, cores)
    except (IndexError, ValueError, OSError) as exc:
        raise AgentFailure("InvalidOptionValue", "Cannot run on the cores asked for: %s" % exc,
                           where="run settings cluster=%r cores=%r" % (
                               settings.get("cluster"), settings.get("cores")),
                           hint="This device's clusters: %s" % [c["cores"] for c in found]
                           ) from None
    context.cores = cores
    warnings = []
    with Governor(sysfs, cores, settings.get("governor")) as governor:
        context.log("info", "running on cores %s" % cores)
        cooled = cool_down(sysfs, settings.get("cooldown_c"),
                           float(settings.get("cooldown_timeout_s", 300)))
        if cooled:
            warnings.append(cooled)
        with Sampler(sysfs) as sampler:
            context.conditions_mark = sampler.mark
            try:
                result = runner.run(job, context)
            finally:
                context.conditions_mark = None
        if settings.get("diff"):
            result["intermediates"] = _intermediates(job, runner, context)
    make_safe(result)  # a plug-in's NaN output values must not fail the whole job
    conditions = sampler.summary(cores)
    if governor.note:
        conditions["governor_note"] = governor.note
    conditions["governor_set"] = governor.wanted if governor.saved else None
    kept = result.setdefault("warnings", [])
    kept.extend([w for w in context.warnings if w not in kept] + warnings
                + conditions.pop("warnings"))
    used = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    result["environment"] = {"cores_used": used, "conditions": conditions}
    return result


def _intermediates(job: Dict[str, Any], runner: Any, context: "Context") -> Dict[str, Any]:
    """The runner's intermediate tensors (runner API 2), or why there are none."""
    name = getattr(runner, "NAME", None) or job["backend"].get("name") or "this backend"
    if getattr(runner, "RUNNER_API", 1) < 2 or not hasattr(runner, "intermediates"):
        return unavailable("The runner of %s speaks runner API %s, which has no way to expose "
                           "intermediate tensors (runner API 2 adds intermediates(job, ctx))"
                           % (name, getattr(runner, "RUNNER_API", "?")))
    start = time.perf_counter()
    try:
        found = runner.intermediates(job, context)
    except Exception as exc:  # the timed results stand; the diff says why it is missing
        what = exc.what if isinstance(exc, AgentFailure) else "%s: %s" % (type(exc).__name__,
                                                                          exc)
        context.log("warning", "no intermediates: %s" % what)
        return unavailable("%s could not expose its intermediate tensors: %s" % (name, what))
    if not isinstance(found, dict):
        return unavailable("The runner of %s returned no intermediates" % name)
    found.setdefault("elapsed_ms", (time.perf_counter() - start) * 1000.0)
    return found


def _point_job(job: Dict[str, Any], point: Dict[str, Any]) -> Dict[str, Any]:
    merged = dict(job)
    merged.pop("sweep", None)
    merged["backend"] = dict(job["backend"], options=dict(job["backend"].get("options") or {},
                                                          **point.get("options", {})))
    merged["run"] = dict(job["run"], **point.get("run", {}))
    if point.get("model"):
        merged["model"] = point["model"]
    if point.get("inputs"):
        merged["inputs"] = point["inputs"]
    return merged


def _run_sweep(job: Dict[str, Any], runner: Any, context: "Context") -> Dict[str, Any]:
    """Every point of a sweep in this one process (no cold start per point).

    Each finished point is kept in the job folder, so running the same sweep
    again after an interruption continues where it stopped.
    """
    points = job["sweep"]
    results = []
    for index, point in enumerate(points):
        saved = os.path.join(context.workdir, "point-%04d.json" % index)
        if os.path.isfile(saved):
            with open(saved, encoding="utf-8") as handle:
                result = json.load(handle)
            context.log("info", "point %d of %d: kept from an earlier run" % (index + 1,
                                                                            len(points)))
        else:
            result = _run_under_conditions(_point_job(job, point), runner, context)
            with open(saved + ".tmp", "w", encoding="utf-8") as handle:
                json.dump(result, handle)
            os.replace(saved + ".tmp", saved)
        results.append(result)
        context.progress("point", index + 1, len(points))
    return {"runner_api": RUNNER_API, "runtime": results[0]["runtime"] if results else {},
            "latency_ms": [], "sweep": results}


def _take_board(job: Dict[str, Any], context: "Context") -> Optional[DeviceLock]:
    """Hold the board's lock for the job; while waiting, report queue stages.

    With ``lock.wait_s`` set, a job that waited that long gives up with DeviceBusy.
    """
    settings = job.get("lock")
    if not settings:
        return None
    lock = DeviceLock(settings["path"], str(job.get("id", "")), str(settings.get("holder", "?")))

    def report(queue: Dict[str, Any]) -> None:
        # the lock names the holder's job "job"; in a stage event that would read as ours
        details = {("holder_job" if key == "job" else key): value for key, value in queue.items()}
        context.stage("queue", **details)

    waited = [False]

    def report_waiting(queue: Dict[str, Any]) -> None:
        waited[0] = True
        report(queue)

    try:
        lock.acquire(report_waiting, timeout=settings.get("wait_s"))
    except LockWaitTimeout as busy:
        holder = busy.holder or {}
        held_s = time.time() - float(holder.get("since") or time.time())
        raise AgentFailure(
            "DeviceBusy", "The board is busy: job %s from %s has held it for %.0f s; this job "
            "gave up after waiting %.0f s" % (holder.get("job", "?"), holder.get("holder", "?"),
                                                held_s, busy.waited_s),
            where=settings["path"],
            hint="Try again later, wait longer (lock_wait_s), or see who holds the board with "
            "`workbench device status`") from None
    if waited[0]:  # the host stops reading this job as waiting for the board
        context.log("info", "took the board after waiting in line")
    return lock


def run_job(job: Dict[str, Any], writer: EventWriter, started: Optional[float] = None,
            warm_agent: Optional[int] = None) -> int:
    """Run one job, emitting events; returns the exit code.

    ``started`` is when this process started (seconds since the epoch): the hello
    event carries it beside its own time, so the host sees what starting Python
    and the imports cost; ``warm_agent`` is the pid of the warm agent this process
    was forked from, if it was.
    """
    hello = {"event": "hello", "schema": EVENTS_SCHEMA, "agent_version": __version__,
             "pid": os.getpid(), "job": str(job.get("id", "")), "time": time.time(),
             "warm_agent": warm_agent}
    if started is not None:
        hello["started"] = started
    writer.emit(hello)
    try:
        if job.get("schema") != "workbench.job/1":
            raise AgentFailure("FormatError", "Unknown job format %r" % job.get("schema"),
                               hint="Update the agent on the device")
        workdir = job.get("workdir") or tempfile.mkdtemp(prefix="workbench-job-")
        writer.record = JobRecord(workdir, str(job.get("id", "")))
        # what the job uses in the board's cache stays there while it runs or waits (cache.py)
        writer.record.status("running", uses=artifacts_in(job))
        runner = load_runner(job["backend"]["runner"])
        context = Context(writer, workdir)
        lock = _take_board(job, context)
        try:
            if job.get("sweep"):
                result = _run_sweep(job, runner, context)
            else:
                result = _run_under_conditions(job, runner, context)
        finally:
            if lock is not None:
                lock.release()
        result.setdefault("runner_api", RUNNER_API)
        result.setdefault("agent_version", __version__)
        final = {"event": "result", "result": result}
        line = writer.line(final)  # once: its size goes in the download stage
        context.stage("download", done=0, total=len(line.encode("utf-8")))
        writer.emit(final, line)
        return EXIT_OK
    except AgentFailure as failure:
        writer.emit({"event": "error", "error": failure.to_dict()})
        return EXIT_JOB_FAILED
    except MemoryError:
        writer.emit({"event": "error", "error": {
            "type": "AgentCrashed", "what": "The device ran out of memory while running the job",
            "where": None, "hint": "Use a smaller model or batch, or free memory on the device"}})
        return EXIT_CRASHED
    except Exception as exc:  # a runner bug or a runtime error: report it, keep the traceback
        traceback.print_exc(file=sys.stderr)
        writer.emit({"event": "error", "error": {
            "type": "AgentError", "what": "%s: %s" % (type(exc).__name__, exc),
            "where": job.get("backend", {}).get("name"),
            "hint": "See the agent's stderr above; the runtime rejected the job"}})
        return EXIT_CRASHED
