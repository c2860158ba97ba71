"""Cancelling a job wherever it is: the job's cancel event, seen by the device code it runs.

A job's thread runs inside :func:`cancel_scope`; the device code under it
(connecting, probing, uploading) finds the event with :func:`current`, so a
cancel reaches a blocking call without every seam passing it along. A call
that can block for long runs inside :func:`interrupting`, which closes its
socket or channel when the event is set: the call fails at once, and the
failure is reported as :class:`~workbench.errors.JobCancelled`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from workbench import errors

_current: ContextVar[threading.Event | None] = ContextVar("workbench_cancel", default=None)
#: how often a watcher looks at the cancel event (seconds)
POLL_S = 0.05


@contextlib.contextmanager
def cancel_scope(event: threading.Event | None) -> Iterator[None]:
    """Run the block with ``event`` as the cancel event device code sees."""
    token = _current.set(event)
    try:
        yield
    finally:
        _current.reset(token)


def current() -> threading.Event | None:
    """The cancel event of the job this thread runs, if any."""
    return _current.get()


def wait_any(cancel: threading.Event, finished: threading.Event, timeout: float | None) -> bool:
    """Wait until ``cancel`` or ``finished`` is set, or ``timeout``; True when cancel was set."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while not finished.is_set():
        if cancel.wait(POLL_S):
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
    return False


def cancelled_error(where: str, doing: str) -> errors.JobCancelled:
    """The error a job cancelled while ``doing`` something raises."""
    return errors.JobCancelled(f"The job was cancelled while {doing}", where=where)


def raise_if_cancelled(where: str, doing: str) -> None:
    """Raise JobCancelled when the current job was cancelled."""
    event = current()
    if event is not None and event.is_set():
        raise cancelled_error(where, doing)


@contextlib.contextmanager
def interrupting(close: Callable[[], None], *, where: str, doing: str) -> Iterator[None]:
    """Run a blocking block; a cancel meanwhile calls ``close()`` to break it.

    Whatever the block then raises becomes JobCancelled. Without a current
    cancel event the block runs as it is.
    """
    event = current()
    if event is None:
        yield
        return
    raise_if_cancelled(where, doing)
    finished = threading.Event()

    def watch() -> None:
        if wait_any(event, finished, None) and not finished.is_set():
            with contextlib.suppress(Exception):  # already closed: nothing to break
                close()

    watcher = threading.Thread(target=watch, name="workbench-cancel-watch", daemon=True)
    watcher.start()
    try:
        yield
    except BaseException as exc:
        if event.is_set() and not isinstance(exc, errors.JobCancelled):
            raise cancelled_error(where, doing) from None
        raise
    finally:
        finished.set()
