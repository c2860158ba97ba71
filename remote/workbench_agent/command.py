"""The agent's command line and process: read the job, watch the host, stop cleanly.

stdout carries only events, one JSON object per line. Anything native code
prints to stdout is sent to stderr instead (the real stdout is moved to a
private file descriptor first), so a runtime's chatter can never corrupt the
stream. Exit codes: 0 success, 2 a failure the job caused (error event sent),
3 an unexpected crash in a runner (error event sent, traceback on stderr),
4 the host went away, 64 bad command line. ``serve`` is the warm agent
(:mod:`workbench_agent.serve`).
"""

from __future__ import annotations

import io
import json
import os
import select
import signal
import sys
import threading
import time
from typing import IO, Any, Callable, Dict, List, Optional

from workbench_agent import EVENTS_SCHEMA, __version__
from workbench_agent.agent import (
    EXIT_JOB_FAILED,
    EXIT_LINK_LOST,
    EXIT_OK,
    EXIT_USAGE,
    run_job,
)
from workbench_agent.runner_api import EventWriter


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
        return run_job(job, writer, started=_process_started())
    finally:
        _stop_what_the_job_started()


def _process_started() -> Optional[float]:
    """When this process started (seconds since the epoch, to 10 ms), from /proc."""
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as handle:
            uptime = float(handle.read().split()[0])
        return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def _serve(args: List[str]) -> int:
    from workbench_agent.serve import serve

    _own_process_group()
    return serve(args, _private_stdout())


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
    "serve": _serve,
    "probe": _probe,
    "tool": lambda args: __import__("workbench_agent.tools", fromlist=["main"]).main(args),
    "version": lambda _: print(__version__) or EXIT_OK,
}


def main(argv: List[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        sys.stderr.write("usage: python -m workbench_agent "
                         "{run [JOB.json|-] [--watch-stdin] [--heartbeat S] "
                         "| serve [--heartbeat S] [--idle S] [--preload MOD,MOD] [--probe CACHE] "
                         "| probe [CACHE] "
                         "| tool ... | version}\n")
        return EXIT_USAGE
    return COMMANDS[argv[0]](argv[1:])
