"""The host's side of a warm agent: one agent process on a board that runs job after job.

An SSH device starts one on its first job (``python -m workbench_agent serve``
on a channel of its own) and hands it every later job, so a job costs no new
channel, no Python start and no imports. The agent forks a child per job (see
``workbench_agent.serve``): the board's lock, cancel and the stop when the host
goes away work as with a cold agent. Its lines are read on a thread of its own;
a job reads them from a queue, so nothing is lost between jobs.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from typing import TYPE_CHECKING, Any

from workbench.devices._channel import stderr_lines
from workbench.devices._run import AgentBoard, conclude
from workbench.devices._stream import AgentStream, Heartbeat, StderrTail
from workbench.devices._watch import AgentWatch
from workbench.devices.base import EventCallback

if TYPE_CHECKING:
    import paramiko

#: seconds a warm agent may take to import the runtime and say it is ready
READY_S = 120.0
#: what every warm agent imports as it starts (a job sent meanwhile waits for them): every
#: module a job imports, so no job compiles one from the zipped agent (numpy.random: random
#: inputs; numpy imports it lazily)
WARM_PRELOAD = ("numpy", "numpy.random", "workbench_agent.agent", "workbench_agent.conditions",
                "workbench_agent.probe", "workbench_agent.timing", "workbench_agent.kept",
                "workbench_agent.ort_trace", "workbench_agent.onnx_graph")
#: what a warm agent imports as it starts, by built-in backend. These runtimes also run in a
#: process forked after they were imported; others (Arm NN) hang there, so only these take
#: over the agent that probed the board (which imported every runtime the probe looked at).
WARM_IMPORTS = {"onnxruntime": ("onnxruntime",),
                "litert": ("ai_edge_litert.interpreter", "tflite_runtime.interpreter")}
#: seconds the process of a job that returned its result may take to end before the next job
#: gives up on its agent (and has a fresh one)
EXIT_WAIT_S = 60.0


class NotStarted(Exception):
    """The warm agent ended before it started the job (it idled out, or the runtime on the
    board changed): nothing ran, so the job may go to a fresh agent."""


class WarmAgent:
    """A warm agent running on ``channel`` (its command sent); ``ready`` once it answered."""

    def __init__(self, channel: paramiko.Channel, *, agent_path: str, heartbeat_s: float,
                 where: str, backend: str = "", preloading: bool = False) -> None:
        self.channel = channel
        #: the agent zip it runs: a job for another agent needs another process
        self.agent_path = agent_path
        #: the backend whose runtime bundle alone is on its path: another backend's job
        #: needs another process
        self.backend = backend
        self.heartbeat_s = heartbeat_s
        self.where = where
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._tail = StderrTail()
        self._send_lock = threading.Lock()
        self._busy = threading.Lock()
        #: the job whose result came back but whose process's exit the agent has not told yet
        self._exiting: str | None = None
        #: the agent imports its runtime after ``ready`` and says ``warm`` when done: it reads
        #: no job (and sends no heartbeat) meanwhile, so the first job waits for that line
        self._warming = preloading
        self._ended = threading.Event()
        channel.settimeout(None)
        threading.Thread(target=self._read, name="warm-agent", daemon=True).start()
        threading.Thread(target=self._read_stderr, name="warm-agent-stderr",
                         daemon=True).start()
        self._heartbeat = Heartbeat(lambda: self._send(""), heartbeat_s)
        self.ready = self._wait_ready()
        #: an agent started to probe the board: the runtime folders its path holds that exist
        #: (None for an agent started for one backend's jobs)
        self.runtime_dirs: list[str] | None = self.ready.get("runtime_dirs")

    def serves(self, backend: str, backend_path: list[str]) -> bool:
        """Whether a job of ``backend`` (whose runtime path is ``backend_path``) may run here.

        An agent started for one backend runs that backend's jobs. An agent that probed
        the board (with every backend's path) becomes the agent of the first backend
        that asks, if that backend's runtime runs in a forked process (:data:`WARM_IMPORTS`:
        the probe imported every runtime it looked at, and Arm NN's jobs hang in a process
        forked after that) and no runtime folder but those of ``backend_path`` exists on the
        board (both paths then import the same modules); another backend's job then needs
        another agent, as it would have without the probe.
        """
        if self.backend or self.runtime_dirs is None:
            return self.backend == backend
        if backend not in WARM_IMPORTS or not set(self.runtime_dirs) <= set(backend_path):
            return False
        self.backend = backend
        return True

    # --- the channel ----------------------------------------------------------

    def _read(self) -> None:
        try:
            for line in self.channel.makefile("r"):
                self._lines.put(line)
        except Exception:  # the link broke: the job reading the queue says so
            pass
        finally:
            self._ended.set()
            self._lines.put(None)

    def _read_stderr(self) -> None:
        with contextlib.suppress(Exception):  # the stream broke with the link
            for line in stderr_lines(self.channel):
                self._tail.add(line)

    def _send(self, line: str) -> None:
        with self._send_lock:
            self.channel.sendall((line + "\n").encode())

    def _next(self, timeout: float | None) -> dict[str, Any] | str | None:
        """The next line, parsed when it is an event; None at the end of the stream."""
        line = self._lines.get(timeout=timeout)
        if line is None:
            self._lines.put(None)  # the end stays the end for whoever reads next
            return None
        try:
            event = json.loads(line)
        except ValueError:
            return line
        return event if isinstance(event, dict) else line

    def _wait_ready(self) -> dict[str, Any]:
        try:
            while True:
                event = self._next(READY_S)
                if event is None:
                    raise NotStarted(f"the warm agent did not start: {self._tail.text()[-500:]}")
                if isinstance(event, dict) and event.get("event") == "ready":
                    return event
        except queue.Empty:
            self.close()
            raise NotStarted(f"the warm agent did not answer in {READY_S:g} s") from None

    @property
    def alive(self) -> bool:
        return not self._ended.is_set() and not self.channel.closed

    def close(self) -> None:
        """Close its channel: the agent's stdin ends and it stops (with any job it runs)."""
        self._heartbeat.stop()
        with contextlib.suppress(Exception):  # the link is gone already
            self.channel.close()

    # --- jobs ---------------------------------------------------------------

    def try_take(self) -> bool:
        """Reserve the agent for one job; False when another job of this host runs on it."""
        return self._busy.acquire(blocking=False)

    def release(self) -> None:
        self._busy.release()

    def _await_exit(self, where: str, *, timeout: float | None,
                    cancel: threading.Event | None) -> None:
        """Wait until the agent can take a job: its runtime imported (``warm``, for a
        freshly started agent) and the process of the job before exited (the agent runs
        one at a time).

        The wait counts in the job's ``timeout`` and stops at its ``cancel`` (the job never
        started). NotStarted when the agent ends instead, or outlasts its bound
        (:data:`READY_S` for the import, :data:`EXIT_WAIT_S` for a process, or four
        heartbeats of silence while a process ends): the agent is closed (which stops that
        process) and the job may go to a fresh one.
        """
        if self._warming:
            self._await_event(where, "warm", None, "waiting for the agent to import its "
                              "runtime", bound=READY_S, silence=None,
                              timeout=timeout, cancel=cancel)
            self._warming = False
        if self._exiting is not None:
            self._await_event(where, "exit", self._exiting, "waiting for the job before to "
                              "end on the board", bound=EXIT_WAIT_S,
                              silence=4 * self.heartbeat_s, timeout=timeout, cancel=cancel)
            self._exiting = None

    def _await_event(self, where: str, name: str, job: str | None, doing: str, *,
                     bound: float, silence: float | None, timeout: float | None,
                     cancel: threading.Event | None) -> None:
        """Read the agent's lines until its ``name`` event (of ``job``, when given)."""
        from workbench import errors
        from workbench.devices._cancel import POLL_S, cancelled_error

        started = heard = time.monotonic()
        while True:
            now = time.monotonic()
            if cancel is not None and cancel.is_set():
                raise cancelled_error(where, doing)
            if timeout is not None and now - started >= timeout:
                raise errors.JobTimeout(f"The job ran longer than {timeout:g} s and was stopped "
                                        f"while {doing}", where=where)
            if (silence is not None and now - heard >= silence) or now - started >= bound:
                self.close()
                raise NotStarted(f"the warm agent did not answer while {doing}")
            try:
                event = self._next(POLL_S if cancel is not None or timeout is not None
                                   else self.heartbeat_s)
            except queue.Empty:
                continue
            heard = time.monotonic()
            if event is None:
                raise NotStarted(f"the warm agent stopped while {doing}")
            if isinstance(event, dict) and event.get("event") == name \
                    and (job is None or str(event.get("job", "")) == job):
                return

    def forget(self, workdir: str) -> bool:
        """Have the agent remove a collected job's folder; False when it cannot be asked."""
        try:
            self._send(json.dumps({"forget": workdir}))
        except Exception:  # the link is gone: the caller removes it another way
            return False
        return True

    def run(self, board: AgentBoard, job: dict[str, Any], on_event: EventCallback | None, *,
            timeout: float | None, cancel: threading.Event | None) -> dict[str, Any]:
        """Run ``job`` on the agent (taken with :meth:`try_take`); like a cold run's result.

        Raises NotStarted when the agent ended before it started the job.
        """
        job_id = str(job.get("id", ""))
        where = f"{self.where}: job {job_id or '?'}"
        waited, limit = time.monotonic(), timeout
        self._await_exit(where, timeout=timeout, cancel=cancel)
        if timeout is not None:  # the wait counts in the job's time
            timeout = max(timeout - (time.monotonic() - waited), 0.0)
        while not self._lines.empty():  # idle heartbeats from before this job
            if self._next(0) is None:
                raise NotStarted("the warm agent had stopped")
        stream = AgentStream(where, on_event)
        self._tail = StderrTail()
        silence_s = 4 * self.heartbeat_s

        def kill() -> None:
            try:
                self._send(json.dumps({"cancel": job_id}))
            except Exception:  # the link is gone: the agent stops the job when it notices
                self.close()

        try:
            self._send(json.dumps({"job": job}))
        except Exception as exc:  # paramiko.SSHException, EOFError, OSError
            raise NotStarted(f"the warm agent's channel failed: {exc}") from None
        watch = AgentWatch(kill, (), cancel=cancel, timeout=timeout, limit=limit)
        failure: BaseException | None = None
        exit_code: int | None = None
        try:
            while True:
                event = self._next(silence_s)
                if event is None:
                    break
                if isinstance(event, dict) and event.get("event") == "exit":
                    exit_code = int(event.get("code", 1))
                    break
                if isinstance(event, dict) and event.get("event") == "result":
                    # The result is whole and its outcome kept: the job is done. Its process's
                    # exit is awaited before the next job is sent, not on this job's path.
                    stream.take(event)
                    self._exiting = job_id
                    break
                if isinstance(event, dict) and event.get("event") == "bye" \
                        and stream.hello is None:
                    raise NotStarted(f"the warm agent stopped: {event.get('reason')}")
                if isinstance(event, str):
                    stream.feed(event)
                else:
                    stream.take(event)
        except queue.Empty:
            failure = TimeoutError("no line from the warm agent")
            self.close()
        finally:
            watch.finish()
        if exit_code is None and stream.hello is None and failure is None \
                and not watch.stopped:
            raise NotStarted("the warm agent ended before the job started")
        transport = self.channel.get_transport()
        return conclude(board, stream, watch, where=where, failure=failure,
                        exit_code=exit_code, tail=self._tail.text(), silence_s=silence_s,
                        link_alive=exit_code is not None or (
                            transport is not None and transport.is_active()))


def start_warm(channel: paramiko.Channel, argv: list[str], *, agent_path: str,
               heartbeat_s: float, where: str, backend: str = "",
               preloading: bool = False) -> WarmAgent:
    """Start ``argv`` (the agent's serve command, quoted) on ``channel`` and wait until ready;
    ``preloading`` when it imports modules after ``ready`` (and says ``warm`` then)."""
    import shlex

    try:
        channel.exec_command(shlex.join(argv))
    except Exception as exc:  # paramiko.SSHException, EOFError, OSError
        with contextlib.suppress(Exception):
            channel.close()
        raise NotStarted(f"the warm agent could not be started: {exc}") from None
    return WarmAgent(channel, agent_path=agent_path, heartbeat_s=heartbeat_s, where=where,
                     backend=backend, preloading=preloading)
