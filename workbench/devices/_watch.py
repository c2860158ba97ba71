"""Watching an agent while its stdout is read: stop it on cancel or timeout, keep its stderr.

Local and SSH runs read the agent's event lines on the job's thread. Beside
that reader, :class:`AgentWatch` runs two threads: one waits for the job's
cancel event or its time limit and then kills the agent; the other keeps the
tail of the agent's stderr for error messages. After the stdout ends, the run
asks the watch whether it stopped the agent, so a killed agent is reported as
cancelled or timed out rather than as crashed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from workbench import errors
from workbench.devices._cancel import wait_any
from workbench.devices._stream import StderrTail


class AgentWatch:
    """The threads beside an agent's stdout reader (see the module's docstring).

    ``kill`` stops the agent and everything it started; it runs on the watcher
    thread, at most once. ``stderr`` yields the agent's stderr lines; it may
    raise when the stream breaks (the stdout reader reports why).
    """

    def __init__(self, kill: Callable[[], None], stderr: Iterable[str], *,
                 cancel: threading.Event | None, timeout: float | None,
                 limit: float | None = None) -> None:
        self.tail = StderrTail()
        #: "cancel" or "timeout" once the watch stopped the agent
        self.stopped: str | None = None
        self.timeout = timeout
        #: the job's whole time limit, for messages (``timeout`` may be what was left of it)
        self.limit = timeout if limit is None else limit
        self._kill = kill
        self._cancel = cancel or threading.Event()
        self._finished = threading.Event()
        # finish() and the watcher's decision to kill exclude each other: once finish()
        # returns, ``stopped`` no longer changes.
        self._deciding = threading.Lock()
        self._watcher = threading.Thread(target=self._watch, name="agent-watch", daemon=True)
        self._reader = threading.Thread(target=self._read, args=(stderr,), name="agent-stderr",
                                        daemon=True)
        self._watcher.start()
        self._reader.start()

    def _watch(self) -> None:
        cancelled = wait_any(self._cancel, self._finished, self.timeout)
        with self._deciding:
            if self._finished.is_set():
                return
            self.stopped = "cancel" if cancelled else "timeout"
        self._kill()

    def _read(self, lines: Iterable[str]) -> None:
        try:
            for line in lines:
                self.tail.add(line)
        except Exception:  # the stream broke: the stdout reader sees it too and says why
            return

    def finish(self) -> None:
        """The agent's stdout ended: stop watching (the agent is no longer killed)."""
        with self._deciding:
            self._finished.set()

    def stderr_tail(self, wait: float = 0.0) -> str:
        """The last lines of the agent's stderr, after waiting up to ``wait`` seconds for its
        end (it ends when the agent and the children that share its stderr are gone)."""
        self._reader.join(wait)
        return self.tail.text()

    def raise_if_stopped(self, where: str, agent: str = "the agent",
                         waiting: dict[str, Any] | None = None) -> None:
        """Raise JobCancelled or JobTimeout when the watch stopped ``agent``; ``waiting``,
        the job's last queue event when it still waited for the board then."""
        if self.stopped == "cancel":
            raise errors.JobCancelled(f"The job was cancelled; {agent} was stopped", where=where)
        if self.stopped == "timeout" and waiting is not None:
            holder = waiting.get("holder") or "another job"
            raise errors.JobTimeout(
                f"The job waited for the board longer than its time limit ({self.limit:g} s) "
                f"and was stopped before it ran: {holder} held the board", where=where,
                hint="Run it again when the board is free (`workbench device status` names "
                "who holds it), or give the job a longer timeout")
        if self.stopped == "timeout":
            raise errors.JobTimeout(f"The job ran longer than {self.limit:g} s and was stopped",
                                    where=where)
