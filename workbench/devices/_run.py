"""Following the agent over an SSH channel: stream events, cancel, timeout, link drops."""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any, Protocol

from workbench import errors
from workbench.devices._channel import stderr_lines
from workbench.devices._stream import AgentStream, Heartbeat
from workbench.devices._watch import AgentWatch
from workbench.devices.base import EventCallback

if TYPE_CHECKING:
    import paramiko


class AgentBoard(Protocol):
    """What following an agent needs of the board it runs on (an SSHDevice is one)."""

    def exec(self, argv: list[str], *, timeout: float = ...) -> tuple[int, str, str]:
        """Run a command on the board: exit code, stdout, stderr."""

    def close(self) -> None:
        """Close the connection; the next use opens a new one."""


def run_channel(board: AgentBoard, channel: paramiko.Channel, *, where: str,
                on_event: EventCallback | None, heartbeat_s: float, timeout: float | None,
                cancel: threading.Event | None) -> dict[str, Any]:
    """Follow the agent running on ``channel`` (its job already sent) until it ends.

    Returns the agent's result; raises JobCancelled or JobTimeout when the job
    was stopped, LinkDropped when the link died before a result came.
    """
    transport = channel.get_transport()
    heartbeat = Heartbeat(lambda: channel.sendall(b"\n"), heartbeat_s)
    # The agent beats every interval: four intervals of silence mean the link is dead,
    # even when TCP has not noticed yet.
    silence_s = 4 * heartbeat_s
    channel.settimeout(silence_s)
    stream = AgentStream(where, on_event)

    def kill() -> None:
        pid = (stream.hello or {}).get("pid")
        if pid:
            # the link is gone too: the agent stops when its stdin closes
            with contextlib.suppress(errors.WorkbenchError):
                board.exec(["kill", "-KILL", "--", f"-{int(pid)}"], timeout=30)
        with contextlib.suppress(EOFError, OSError):  # the transport closed first
            channel.close()

    watch = AgentWatch(kill, stderr_lines(channel), cancel=cancel, timeout=timeout)
    failure: BaseException | None = None
    try:
        for line in channel.makefile("r"):
            stream.feed(line)
    except Exception as exc:  # socket errors, paramiko errors: the link may be gone
        failure = exc
    finally:
        watch.finish()
        heartbeat.stop()
    if failure is None:
        tail = watch.stderr_tail(wait=5)
        # The exit status may arrive just after the end of stdout.
        exit_code = channel.recv_exit_status() if channel.status_event.wait(10) else None
    else:
        tail, exit_code = watch.stderr_tail(), None
    channel.close()  # closes the agent's stdin: it stops if it still runs
    return conclude(board, stream, watch, where=where, failure=failure, exit_code=exit_code,
                    link_alive=transport is not None and transport.is_active(), tail=tail,
                    silence_s=silence_s)


def conclude(board: AgentBoard, stream: AgentStream, watch: AgentWatch, *, where: str,
             failure: BaseException | None, exit_code: int | None, link_alive: bool,
             tail: str, silence_s: float) -> dict[str, Any]:
    """The outcome of a followed agent: its result, or the error that says why there is none.

    ``failure`` is what broke the reading of its events (a dead link's timeout
    or socket error), ``exit_code`` the agent's (None when it was lost).
    """
    watch.raise_if_stopped(where, agent="the agent on the board", waiting=stream.waiting)
    if stream.result is None and stream.error is None and (
            failure is not None or exit_code is None or not link_alive):
        if isinstance(failure, TimeoutError):
            board.close()
            what = f"No word from the agent for {silence_s:g} s: the link is dead"
        else:
            what = "The connection dropped while the job ran"
        raise errors.LinkDropped(
            f"{what}; the agent on the board stops when it notices, and keeps the outcome "
            "of a job that finished in its job folder", where=where,
            hint="When the board is reachable again, `workbench jobs` lists the job and "
            "`workbench jobs collect ID` collects its result (job.reattach() in Python); "
            "otherwise run it again")
    if exit_code is None and stream.result is not None:
        exit_code = 0  # the result is whole; only the exit status was lost with the link
    return stream.finish(exit_code, tail)
