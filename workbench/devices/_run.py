"""Running the agent over an SSH channel: stream events, cancel, timeout, link drops."""

from __future__ import annotations

import json
import shlex
import threading
from typing import TYPE_CHECKING, Any

from workbench import errors
from workbench.devices._stream import AgentStream, Heartbeat, StderrTail
from workbench.devices.base import EventCallback

if TYPE_CHECKING:
    from workbench.devices.ssh import SSHDevice


def run_channel(device: SSHDevice, argv: list[str], job: dict[str, Any],
                on_event: EventCallback | None, *, timeout: float | None,
                cancel: threading.Event | None) -> dict[str, Any]:
    """Start the agent on the board, send the job, read its events until it ends."""
    where = f"{device.name}: job {job.get('id', '?')}"
    channel = device.open_session()
    transport = channel.get_transport()
    try:
        channel.exec_command(shlex.join(argv))
        channel.sendall((json.dumps(job) + "\n").encode())
    except Exception as exc:  # paramiko.SSHException, EOFError, OSError
        raise device._link_dropped("starting the agent", exc) from None
    heartbeat = Heartbeat(lambda: channel.sendall(b"\n"), device.heartbeat_s)
    # The agent beats every interval: four intervals of silence mean the link is dead,
    # even when TCP has not noticed yet.
    silence_s = 4 * device.heartbeat_s
    channel.settimeout(silence_s)
    stream = AgentStream(where, on_event)
    tail = StderrTail()
    stopped: list[str] = []
    finished = threading.Event()
    stop = cancel or threading.Event()

    def kill_remote() -> None:
        pid = (stream.hello or {}).get("pid")
        if pid:
            try:
                device.exec(["kill", "-KILL", "--", f"-{int(pid)}"], timeout=30)
            except errors.WorkbenchError:
                pass  # the link is gone too: the agent stops when its stdin closes
        try:
            channel.close()
        except (EOFError, OSError):  # the transport closed first: nothing left to close
            pass

    def watch() -> None:
        from workbench.devices.local import _wait_any

        cancelled = _wait_any(stop, finished, timeout)
        if not finished.is_set():
            stopped.append("cancel" if cancelled else "timeout")
            kill_remote()

    def read_stderr() -> None:
        # A quiet stderr is normal: keep reading through the channel's read timeouts.
        stderr = channel.makefile_stderr("r")
        while not channel.closed:
            try:
                line = stderr.readline()
            except TimeoutError:
                continue
            except Exception:  # the channel is gone; stdout's reader reports why
                return
            if not line:
                return
            tail.add(line)

    threads = [threading.Thread(target=watch, daemon=True),
               threading.Thread(target=read_stderr, daemon=True)]
    for thread in threads:
        thread.start()
    failure: BaseException | None = None
    try:
        for line in channel.makefile("r"):
            stream.feed(line)
    except Exception as exc:  # socket errors, paramiko errors: the link may be gone
        failure = exc
    finally:
        finished.set()
        heartbeat.stop()
    if failure is None:
        threads[1].join(timeout=5)
        # The exit status may arrive just after the end of stdout.
        exit_code = channel.recv_exit_status() if channel.status_event.wait(10) else None
    else:
        exit_code = None
    channel.close()  # closes the agent's stdin: it stops if it still runs
    if stopped == ["cancel"]:
        raise errors.JobCancelled("The job was cancelled; the agent on the board was stopped",
                                  where=where)
    if stopped == ["timeout"]:
        raise errors.JobTimeout(f"The job ran longer than {timeout:g} s and was stopped",
                                where=where)
    if stream.result is None and stream.error is None and (
            failure is not None or exit_code is None or not transport.is_active()):
        if isinstance(failure, TimeoutError):
            device.close()
            what = f"No word from the agent for {silence_s:g} s: the link is dead"
        else:
            what = "The connection dropped while the job ran"
        raise errors.LinkDropped(
            f"{what}; the agent on the board stops when it notices, and keeps the outcome "
            "of a job that finished in its job folder", where=where,
            hint="When the board is reachable again, job.reattach() collects a finished "
            "job's result; otherwise run it again")
    if exit_code is None and stream.result is not None:
        exit_code = 0  # the result is whole; only the exit status was lost with the link
    return stream.finish(exit_code, tail.text())
