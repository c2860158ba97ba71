"""The warm agent: one process per host session that keeps Python, numpy and the
runtime imported, and runs the jobs it is sent one after another.

    python -m workbench_agent serve [--heartbeat S] [--idle S] [--preload MOD,MOD]
                                    [--probe CACHE]

Lines from the host on stdin: ``{"job": {...}}`` runs a job, ``{"cancel": ID}``
stops it, ``{"forget": FOLDER}`` removes a collected job's folder, and an empty
line is a heartbeat. Lines to the host on stdout: ``ready`` once the imports are
done (with ``--probe``, after probing the board in this very process: ``ready``
carries the probe and the runtime folders on the agent's path that exist, and
the runtimes the probe imported stay imported for the jobs), then for every job
the job's own event stream (``hello`` ... ``result`` or ``error``) and an
``exit`` event with its exit code. Right after ``ready``, ``warm`` once the
modules to preload (the backend's runtime) are imported: a job sent meanwhile
waits for them, which costs it nothing, as its own process would import them
anyway, and an agent started ahead of its job (beside the upload) has them
ready when the job comes; ``heartbeat`` while idle;
``bye`` with a reason when the agent stops by itself (idle too long, or a runtime
bundle changed under it: the host then starts a fresh one).

Each job runs in a child forked from this process, so the imports are paid once
while every job still gets a process of its own: the child leads its own process
group, takes the board's lock, and a cancel kills that group, which frees the
lock as the kernel drops the dead holder's flock. The host going away (stdin
closed, or no heartbeat for six intervals) stops the running job and this
process; a child whose server died stops itself. Nothing is left behind.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import shutil
import signal
import sys
import tempfile
import threading
import time
from typing import IO, Any, Dict, List, Optional

from workbench_agent import EVENTS_SCHEMA, __version__, kept
from workbench_agent.agent import EXIT_CRASHED, EXIT_LINK_LOST, EXIT_OK, compiled_runner, run_job
from workbench_agent.record import JobRecord, collect
from workbench_agent.runner_api import EventWriter

#: seconds without a job after which the warm agent stops
IDLE_S = 600.0


def _runtime_paths() -> List[str]:
    """Where the runtime is imported from: a new bundle installed meanwhile changes these."""
    entries = [e for e in os.environ.get("PYTHONPATH", "").split(os.pathsep) if e]
    return [os.path.realpath(entry) for entry in entries]


def _runtime_dirs() -> List[str]:
    """The folders on the agent's path (as given) that exist: which runtime bundles it sees."""
    entries = [e for e in os.environ.get("PYTHONPATH", "").split(os.pathsep) if e]
    return [entry for entry in entries if os.path.isdir(entry)]


def _probed(cache: str) -> Dict[str, Any]:
    """The board's probe made here, for the ``ready`` event; why not, if it failed."""
    from workbench_agent.probe import probe

    try:
        return {"probe": probe(cache), "runtime_dirs": _runtime_dirs()}
    except Exception as exc:  # the host asks the probe command, which reports it in full
        return {"probe_error": "%s: %s" % (type(exc).__name__, exc)}


def _preload(names: List[str]) -> List[str]:
    """Import what jobs will need; a module the board lacks is simply not warm."""
    loaded = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # ImportError, or a runtime that fails to load: the job reports it
            continue
        loaded.append(name)
    return loaded


def _compile_runner(job: Dict[str, Any]) -> None:
    """Compile the job's runner here, once, for this job and the jobs after it (each job still
    executes it afresh in its own process); a runner that does not compile is the job's to
    report."""
    spec = str((job.get("backend") or {}).get("runner") or "")
    if spec and not spec.startswith("builtin:"):
        try:
            compiled_runner(spec)
        except Exception:  # OSError, SyntaxError, ValueError: the job reports it in full
            pass


def _exit_code(status: int) -> int:
    """A waitpid status as an exit code (negative: the signal that killed it)."""
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


class _Child:
    """The forked process running one job."""

    def __init__(self, pid: int, job: Dict[str, Any], ended: int, server_alive: int) -> None:
        self.pid = pid
        self.job_id = str(job.get("id", ""))
        self.workdir = job.get("workdir")
        #: readable (at its end) once the child is gone
        self.ended = ended
        #: the child reads its end of this pipe: it ends when this server dies
        self.server_alive = server_alive

    def kill(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass  # gone already

    def reap(self) -> int:
        code = _exit_code(os.waitpid(self.pid, 0)[1])
        for fd in (self.ended, self.server_alive):
            os.close(fd)
        return code


def _run_child(job: Dict[str, Any], out: IO[str], heartbeat: Optional[float],
               server_alive: int, forked: float) -> int:
    """In the forked child: lead a process group, watch the server, run the job."""
    from workbench_agent.command import _beat, _stop_what_the_job_started

    os.setpgid(0, 0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)  # the host's lines are the server's to read
    os.close(null)

    def watch_server() -> None:
        while os.read(server_alive, 1):
            pass
        os.killpg(0, signal.SIGKILL)  # the server died: no orphan job

    threading.Thread(target=watch_server, name="server-watch", daemon=True).start()
    writer = EventWriter(out)
    if heartbeat:
        _beat(writer, heartbeat)
    try:
        return run_job(job, writer, started=forked, warm_agent=os.getppid())
    finally:
        _stop_what_the_job_started()


#: the start of a warm agent's kept folder's name, before its pid
KEPT_PREFIX = "workbench-warm-"


def sweep_kept(base: Optional[str] = None) -> None:
    """Remove the kept folders of warm agents that are gone: one killed (the board's
    reboot of the agent, an out-of-memory kill) had no chance to remove its own."""
    base = base or tempfile.gettempdir()
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        if not name.startswith(KEPT_PREFIX):
            continue
        try:
            pid = int(name[len(KEPT_PREFIX):].split("-", 1)[0])
            os.kill(pid, 0)
        except ValueError:
            continue
        except ProcessLookupError:  # its agent is gone
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)
        except PermissionError:  # another account's agent, alive
            continue


class Server:
    """The warm agent's loop (see the module's docstring)."""

    def __init__(self, out: IO[str], heartbeat: Optional[float], idle: float,
                 preload: List[str]) -> None:
        self.out = out
        #: imported right after ``ready``, before any job is read
        self.preload = preload
        self.heartbeat = heartbeat
        self.idle = idle
        self.runtime = _runtime_paths()
        self.child: Optional[_Child] = None
        self._buffer = b""
        #: what its jobs keep for the jobs after them (:mod:`workbench_agent.kept`), removed
        #: when this agent stops
        sweep_kept()
        self.kept = tempfile.mkdtemp(prefix=KEPT_PREFIX + "%d-" % os.getpid())
        os.environ[kept.ENV] = self.kept

    def forget_kept(self) -> None:
        shutil.rmtree(self.kept, ignore_errors=True)

    def emit(self, event: Dict[str, Any]) -> None:
        self.out.write(EventWriter.line(event) + "\n")
        self.out.flush()

    def loop(self) -> int:
        if self.preload:
            self.emit({"event": "warm", "preloaded": _preload(self.preload)})
            self.preload = []
        now = time.monotonic()
        heard = idle_since = beaten = now
        silence = None if self.heartbeat is None else 6 * self.heartbeat
        while True:
            waits = [self.idle - (now - idle_since)] if self.child is None else []
            if self.heartbeat is not None:
                waits.append(self.heartbeat)
            readable = [0] + ([self.child.ended] if self.child is not None else [])
            ready = select.select(readable, [], [], max(min(waits), 0.0) if waits else None)[0]
            now = time.monotonic()
            if self.child is not None and self.child.ended in ready:
                child, self.child = self.child, None
                self.emit({"event": "exit", "job": child.job_id, "code": child.reap()})
                now = idle_since = time.monotonic()
            if 0 in ready:
                data = os.read(0, 1 << 16)
                if not data:
                    self._stop("stdin closed")
                heard = now
                self._buffer += data
                while b"\n" in self._buffer:
                    line, self._buffer = self._buffer.split(b"\n", 1)
                    if self._handle(line) is not None:
                        return EXIT_OK
            if silence is not None and now - heard > silence:
                self._stop("no heartbeat from the host for %g s" % silence)
            if self.child is None:
                if now - idle_since >= self.idle:
                    self.emit({"event": "bye", "reason": "idle for %g s" % self.idle})
                    return EXIT_OK
                if self.heartbeat is not None and now - beaten >= self.heartbeat:
                    self.emit({"event": "heartbeat"})
                    beaten = now

    def _handle(self, line: bytes) -> Optional[str]:
        """Act on one line from the host; a reason when the server must stop."""
        if not line.strip():
            return None  # a heartbeat
        try:
            message = json.loads(line)
        except ValueError:
            return None  # the host only sends JSON; a stray line is not worth a crash
        if not isinstance(message, dict):
            return None
        if "cancel" in message:
            if self.child is not None and self.child.job_id == str(message["cancel"]):
                self.child.kill()
        elif "forget" in message:
            self._forget(str(message["forget"]))
        elif "job" in message:
            if self.child is not None:
                # the host sends one job at a time; a second one is refused, not queued
                self.emit({"event": "exit", "job": str(message["job"].get("id", "")),
                           "code": EXIT_CRASHED, "busy": True})
            elif _runtime_paths() != self.runtime:
                self.emit({"event": "bye", "reason": "the runtime changed"})
                return "stale"
            else:
                _compile_runner(message["job"])
                self.child = self._fork(message["job"])
        return None

    def _forget(self, folder: str) -> None:
        """Remove a collected job's folder (only a job folder: ``.../jobs/<id>``)."""
        if os.path.basename(os.path.dirname(folder.rstrip("/"))) == "jobs":
            shutil.rmtree(folder, ignore_errors=True)

    def _fork(self, job: Dict[str, Any]) -> _Child:
        ended_r, ended_w = os.pipe()
        alive_r, alive_w = os.pipe()
        self.out.flush()
        sys.stderr.flush()
        forked = time.time()
        pid = os.fork()
        if pid == 0:  # the child never returns into the server's loop
            code = EXIT_CRASHED
            try:
                os.close(ended_r)
                os.close(alive_w)
                code = _run_child(job, self.out, self.heartbeat, alive_r, forked)
            finally:
                os._exit(code)
        os.close(ended_w)
        os.close(alive_r)
        try:
            os.setpgid(pid, pid)  # also done by the child: whichever runs first
        except OSError:
            pass
        return _Child(pid, job, ended_r, alive_w)

    def _stop(self, reason: str) -> None:
        """The host is gone: stop the running job (recording why) and this process."""
        child = self.child
        if child is not None:
            child.kill()
            child.reap()
            if child.workdir and collect(child.workdir).get("outcome") is None:
                JobRecord(child.workdir, child.job_id).status(
                    "stopped", reason="the host is gone: " + reason)
        self.forget_kept()
        try:
            sys.stderr.write("workbench agent: %s, the host is gone; stopping\n" % reason)
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os._exit(EXIT_LINK_LOST)


def serve(args: List[str], out: IO[str]) -> int:
    """Run the warm agent until the host goes away or it idles out."""
    heartbeat = float(_option(args, "--heartbeat") or 0) or None
    idle = float(_option(args, "--idle") or IDLE_S)
    preload = [n for n in (_option(args, "--preload") or "").split(",") if n]
    probe_cache = _option(args, "--probe")
    server = Server(out, heartbeat, idle, preload)
    try:
        ready = {"event": "ready", "schema": EVENTS_SCHEMA, "agent_version": __version__,
                 "pid": os.getpid()}
        if probe_cache is not None:
            ready.update(_probed(probe_cache))
        server.emit(ready)
        return server.loop()
    finally:
        server.forget_kept()


def _option(args: List[str], name: str) -> Optional[str]:
    if name in args:
        index = args.index(name)
        if index + 1 < len(args):
            return args[index + 1]
    return None
