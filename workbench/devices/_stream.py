"""Reading the agent's event stream (workbench.events/2, and /1 from older agents)."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from workbench import errors
from workbench.devices.base import EventCallback, error_from_event
from workbench.formats import EVENTS

STDERR_TAIL_LINES = 40
#: seconds between heartbeats to the agent; it stops after four missed ones
HEARTBEAT_S = 5.0


class Heartbeat:
    """Sends a newline to the agent's stdin every HEARTBEAT_S seconds until stopped."""

    def __init__(self, send: Callable[[], None], interval: float = HEARTBEAT_S) -> None:
        self._send = send
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._send()
            except Exception:  # the link or the agent is gone; the reader reports it
                return

    def stop(self) -> None:
        self._stop.set()


class StderrTail:
    """Keeps the last lines of the agent's stderr for error messages."""

    def __init__(self, lines: int = STDERR_TAIL_LINES) -> None:
        self._lines: deque[str] = deque(maxlen=lines)

    def add(self, line: str) -> None:
        self._lines.append(line.rstrip("\n"))

    def text(self) -> str:
        return "\n".join(self._lines)


def stage_from_progress(event: dict[str, Any]) -> dict[str, Any]:
    """An older agent's progress event (workbench.events/1) as a stage event (version 2)."""
    return {"event": "stage", "stage": event.get("phase"), "time": time.time(),
            "done": event.get("done"), "total": event.get("total")}


class AgentStream:
    """Parses event lines, forwards stage and log events, keeps the result or the error."""

    def __init__(self, where: str, on_event: EventCallback | None = None) -> None:
        self.where = where
        self.on_event = on_event
        self.result: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self.hello: dict[str, Any] | None = None
        self.garbage: list[str] = []
        #: the last queue event while the job waits for the board's lock; None once it runs
        self.waiting: dict[str, Any] | None = None

    def feed(self, line: str) -> None:
        text = line.strip()
        if not text:
            return
        try:
            event = json.loads(text)
        except ValueError:
            self.garbage.append(text[:200])  # the host never parses free text from a board
            return
        self.take(event)

    def take(self, event: Any) -> None:
        """Act on one event, parsed already (a line's JSON)."""
        kind = event.get("event") if isinstance(event, dict) else None
        if kind == "stage" and event.get("stage") == "queue":
            self.waiting = event
        elif kind not in ("heartbeat", "hello"):  # the job took the board (it logs its cores)
            self.waiting = None
        if kind in ("hello", "stage"):
            # when the host heard it, on the host's clock: the steps that cross the link
            # (the agent's start, the result's download) are timed with it
            event["received"] = time.time()
        if kind == "hello":
            self.hello = event
            # forwarded for the job's step breakdown; an older agent's hello is not version 2
            if self.on_event is not None and event.get("schema") == EVENTS:
                self.on_event(event)
        elif kind == "result":
            self.result = event.get("result")
        elif kind == "error":
            self.error = event.get("error") or {}
        elif kind in ("stage", "log") and self.on_event is not None:
            self.on_event(event)
        elif kind == "progress" and self.on_event is not None:
            self.on_event(stage_from_progress(event))

    def finish(self, exit_code: int | None, stderr_tail: str) -> dict[str, Any]:
        """The result, or raise the matching WorkbenchError."""
        if self.error is not None:
            raise error_from_event(self.error, where=self.where, exit_code=exit_code,
                                   stderr_tail=stderr_tail)
        if self.result is not None and exit_code == 0:
            return self.result
        if exit_code is not None and exit_code < 0:
            what = f"The agent was killed by signal {-exit_code} before it reported a result"
        elif self.hello is None:
            what = f"The agent did not start (exit code {exit_code})"
        else:
            what = f"The agent exited with code {exit_code} without a result"
        raise errors.AgentCrashed(what, where=self.where, exit_code=exit_code,
                                  stderr_tail=stderr_tail)
