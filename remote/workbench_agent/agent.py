"""Run one job and report in JSON lines (the workbench.events/2 stream).

stdout carries only events, one JSON object per line. Anything native code
prints to stdout is sent to stderr instead (the real stdout is moved to a
private file descriptor first), so a runtime's chatter can never corrupt the
stream. Exit codes: 0 success, 2 a failure the job caused (error event sent),
3 an unexpected crash in a runner (error event sent, traceback on stderr),
64 bad command line.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import json
import os
import select
import signal
import sys
import tempfile
import threading
import time
import traceback
from typing import IO, Any, Callable, Dict, List, Optional, Tuple

from workbench_agent import EVENTS_SCHEMA, RUNNER_API, __version__
from workbench_agent.inputs import make_inputs
from workbench_agent.lock import DeviceLock, LockWaitTimeout
from workbench_agent.record import JobRecord
from workbench_agent.runners import BUILTIN
from workbench_agent.sysinfo import peak_rss_bytes

EXIT_OK = 0
EXIT_JOB_FAILED = 2
EXIT_CRASHED = 3
EXIT_LINK_LOST = 4
EXIT_USAGE = 64


class AgentFailure(Exception):
    """A failure the job caused, reported to the host as an error event.

    ``kind`` names the host's error class (see workbench/errors.py), e.g.
    ``"BackendUnavailable"`` or ``"InputSpecError"``.
    """

    def __init__(self, kind: str, what: str, where: Optional[str] = None,
                 hint: Optional[str] = None) -> None:
        super().__init__(what)
        self.kind = kind
        self.what = what
        self.where = where
        self.hint = hint

    def to_dict(self) -> Dict[str, Any]:
        return {"type": self.kind, "what": self.what, "where": self.where, "hint": self.hint}


class EventWriter:
    """Writes events as JSON lines, thread-safe, flushed per line.

    With a job record, the final event is also kept in the job's folder.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.record: Optional[JobRecord] = None

    def emit(self, event: Dict[str, Any]) -> None:
        line = json.dumps(event, separators=(",", ":"), allow_nan=False)
        if self.record is not None and event.get("event") in ("result", "error"):
            self.record.outcome(event)
        with self._lock:
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except (OSError, ValueError):
                pass  # the host is gone; the outcome waits in the job folder


class Context:
    """What the agent offers a runner module (runner API 1)."""

    runner_api = RUNNER_API

    def __init__(self, writer: EventWriter, workdir: str) -> None:
        self._writer = writer
        self.workdir = workdir
        #: the cores the job is pinned to (a runner sizes its thread pool to them)
        self.cores: List[int] = []
        self._last_progress = 0.0

    def progress(self, phase: str, done: int, total: int) -> None:
        """Report progress in a stage (create, warmup, timed, profile, aggregate, point);
        throttled to ~10 events per second except sweep points and a stage's first and last
        event."""
        now = time.monotonic()
        if 0 < done < total and phase != "point" and now - self._last_progress < 0.1:
            return
        self._last_progress = now
        self.stage(phase, done=done, total=total)

    def stage(self, stage: str, **details: Any) -> None:
        """Say the job entered (or moved on in) ``stage``, with a timestamp."""
        event = {"event": "stage", "stage": stage, "time": time.time()}
        event.update(details)
        self._writer.emit(event)

    def log(self, level: str, message: str) -> None:
        self._writer.emit({"event": "log", "level": level, "message": message})

    @staticmethod
    def model_path(job: Dict[str, Any]) -> str:
        """The job's model file on this device; ModelNotFound when it is not there."""
        path = str(job["model"]["path"])
        if not os.path.isfile(path):
            raise AgentFailure("ModelNotFound", "The model file is not on the device",
                               where=path, hint="Deploy the model again")
        return path

    def make_inputs(self, specs: List[Dict[str, Any]]
                    ) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
        """Arrays for the input specs of a job, and a record of each (spec + sha256)."""
        return make_inputs(specs)

    @staticmethod
    def peak_rss_bytes() -> Optional[int]:
        return peak_rss_bytes()


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
        module_spec.loader.exec_module(module)
    api = getattr(module, "RUNNER_API", None)
    if api != RUNNER_API:
        raise AgentFailure("BackendUnavailable",
                           "The runner speaks runner API %r; this agent speaks %d"
                           % (api, RUNNER_API),
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
            result = runner.run(job, context)
    conditions = sampler.summary(cores)
    if governor.note:
        conditions["governor_note"] = governor.note
    conditions["governor_set"] = governor.wanted if governor.saved else None
    result.setdefault("warnings", []).extend(warnings + conditions.pop("warnings"))
    used = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    result["environment"] = {"cores_used": used, "conditions": conditions}
    return result


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

    try:
        lock.acquire(report, timeout=settings.get("wait_s"))
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
    return lock


def run_job(job: Dict[str, Any], writer: EventWriter) -> int:
    """Run one job, emitting events; returns the exit code."""
    writer.emit({"event": "hello", "schema": EVENTS_SCHEMA, "agent_version": __version__,
                 "pid": os.getpid(), "job": str(job.get("id", ""))})
    try:
        if job.get("schema") != "workbench.job/1":
            raise AgentFailure("FormatError", "Unknown job format %r" % job.get("schema"),
                               hint="Update the agent on the device")
        workdir = job.get("workdir") or tempfile.mkdtemp(prefix="workbench-job-")
        writer.record = JobRecord(workdir, str(job.get("id", "")))
        writer.record.status("running")
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
        line = json.dumps(result, separators=(",", ":"), allow_nan=False)
        context.stage("download", done=0, total=len(line.encode("utf-8")))
        writer.emit({"event": "result", "result": result})
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


def _private_stdout() -> IO[str]:
    """Move the real stdout to a private descriptor and point fd 1 at stderr."""
    sys.stdout.flush()
    private_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return io.TextIOWrapper(os.fdopen(private_fd, "wb", buffering=0), encoding="utf-8",
                            line_buffering=True)


def _read_job(path: Optional[str]) -> Dict[str, Any]:
    if path in (None, "-"):
        text = sys.stdin.readline()
    else:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    job = json.loads(text)
    if not isinstance(job, dict):
        raise ValueError("a job is a JSON object")
    return job


def _probe(args: List[str]) -> int:
    from workbench_agent.probe import probe

    out = _private_stdout()
    out.write(json.dumps(probe(args[0] if args else None)) + "\n")
    out.flush()
    return EXIT_OK


def _watch_stdin(heartbeat: Optional[float], record: Any) -> None:
    """Stop this agent's process group when the host is gone.

    Gone means stdin closed, or, with a heartbeat interval, no line from the host
    for six intervals (sshd may not notice a dead link for minutes). The agent
    beats too, so the host notices a silent link after four intervals: a job that
    is about to finish gets the chance to record its outcome for reattach.
    """
    limit = None if heartbeat is None else 6 * heartbeat

    def watch() -> None:
        reason = "stdin closed"
        while True:
            ready = select.select([0], [], [], limit)[0]
            if not ready:
                reason = "no heartbeat from the host for %g s" % limit
                break
            if not os.read(0, 4096):
                break
        if record() is not None:
            record().status("stopped", reason="the host is gone: " + reason)
        try:
            # stderr may be gone with the host too: a failed write must not stop the stop.
            sys.stderr.write("workbench agent: %s, the host is gone; stopping\n" % reason)
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        try:
            if os.getpgid(0) == os.getpid():
                os.killpg(0, signal.SIGKILL)
        finally:
            os._exit(EXIT_LINK_LOST)

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()


def _beat(writer: EventWriter, interval: float) -> None:
    """Tell the host every ``interval`` seconds that the agent is alive."""

    def beat() -> None:
        while True:
            time.sleep(interval)
            writer.emit({"event": "heartbeat"})

    threading.Thread(target=beat, name="heartbeat", daemon=True).start()


def _own_process_group() -> None:
    """Lead a process group, so the host can stop the agent and its children at once."""
    try:
        if os.getpgid(0) != os.getpid():
            os.setpgid(0, 0)
    except OSError:
        pass  # already a session leader (started with setsid)


def _run(args: List[str]) -> int:
    watch = "--watch-stdin" in args
    heartbeat = None
    if "--heartbeat" in args:
        index = args.index("--heartbeat")
        heartbeat = float(args[index + 1])
        del args[index:index + 2]
    args = [a for a in args if a != "--watch-stdin"]
    _own_process_group()
    out = _private_stdout()
    writer = EventWriter(out)
    try:
        job = _read_job(args[0] if args else None)
    except (OSError, ValueError) as exc:
        writer.emit({"event": "hello", "schema": EVENTS_SCHEMA, "agent_version": __version__,
                     "pid": os.getpid(), "job": ""})
        writer.emit({"event": "error", "error": {
            "type": "FormatError", "what": "Cannot read the job: %s" % exc,
            "where": args[0] if args else "stdin", "hint": "Give a workbench.job/1 JSON file"}})
        return EXIT_JOB_FAILED
    if watch:
        _watch_stdin(heartbeat, lambda: writer.record)
    if heartbeat:
        _beat(writer, heartbeat)
    try:
        return run_job(job, writer)
    finally:
        _stop_what_the_job_started()


def _stop_what_the_job_started() -> None:
    """Leave no orphans: end every process the runner started in our process group."""
    try:
        if os.getpgid(0) != os.getpid():
            return
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.killpg(0, signal.SIGTERM)
    except OSError:
        pass


COMMANDS: Dict[str, Callable[[List[str]], int]] = {
    "run": _run,
    "probe": _probe,
    "tool": lambda args: __import__("workbench_agent.tools", fromlist=["main"]).main(args),
    "version": lambda _: print(__version__) or EXIT_OK,
}


def main(argv: List[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        sys.stderr.write("usage: python -m workbench_agent "
                         "{run [JOB.json|-] [--watch-stdin] [--heartbeat S] | probe [CACHE] "
                         "| tool ... | version}\n")
        return EXIT_USAGE
    return COMMANDS[argv[0]](argv[1:])
