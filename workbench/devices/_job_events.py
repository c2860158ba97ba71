"""The events callback of the job this thread runs, for steps that take only a device.

A device kind's ``acquire(device)`` (a farm's reservation) reports queue stages
while it waits; the job puts its callback here around that step, as the cancel
event is found through :mod:`workbench.devices._cancel`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from workbench.devices.base import EventCallback

_current: ContextVar[EventCallback | None] = ContextVar("workbench_job_events", default=None)


@contextlib.contextmanager
def reporting(on_event: EventCallback | None) -> Iterator[None]:
    """Run the block with ``on_event`` as the callback that :func:`emit` reaches."""
    token = _current.set(on_event)
    try:
        yield
    finally:
        _current.reset(token)


def emit(event: dict[str, Any]) -> None:
    """Hand ``event`` to the current job's callback; nothing when no job listens."""
    callback = _current.get()
    if callback is not None:
        callback(event)
