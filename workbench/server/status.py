"""Device status for the server: what the sidebar shows, cached and shared between clients.

A device's status comes from the public API only: ``connect(name)``,
``Device.probe()`` (reachable, target, runtimes) and ``Device.status()`` (the
agent's status tool: lock holder and queue). Those calls block (paramiko,
subprocesses), so they run in a thread pool and the server's event loop keeps
answering other requests while a board does not answer.

Statuses are cached: a device is checked again only when its status is older
than :data:`MAX_AGE_S`, or when a refresh is asked for; a check already under
way is shared by every request that wants it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from workbench import errors

#: a cached status is served for this long before the device is checked again
MAX_AGE_S = 30.0

#: how long a listing waits for checks before answering with what it has (a board
#: that does not answer, or a slow emulated one, shows its last status meanwhile)
LIST_WAIT_S = 3.0


def known_names() -> dict[str, dict[str, Any]]:
    """The devices a request may name, by name (local, registry, emulated, ~/.ssh/config)."""
    from workbench.devices import known_devices

    return {str(entry["name"]): entry for entry in known_devices(include_ssh_config=True)}


def check(name: str) -> dict[str, Any]:
    """Connect, probe and ask the agent's status tool; every failure becomes a state.

    States: ``ready``, ``busy``, ``unreachable``, ``needs credentials`` (the
    server holds no password and never prompts), ``unknown host key`` (with
    its fingerprint, for trust-by-fingerprint) and ``error``.
    """
    from workbench.devices import connect

    checked = time.time()
    try:
        device = connect(name)
        info = device.probe(refresh=True)
    except errors.AuthenticationFailed as exc:
        return _failed("needs credentials", exc, checked)
    except errors.UnknownHostKey as exc:
        return {**_failed("unknown host key", exc, checked), "fingerprint": exc.fingerprint,
                "key_type": exc.key_type}
    except (errors.UnreachableHost, errors.LinkDropped) as exc:
        return _failed("unreachable", exc, checked)
    except errors.WorkbenchError as exc:
        return _failed("error", exc, checked)
    status: dict[str, Any] = {"state": "ready", "reachable": True, "message": None,
                              "busy": False, "holder": None, "queue": 0, "jobs": [],
                              "target": None, "runtimes": sorted(info.runtimes),
                              "checked": checked}
    target = _target_name(info)
    if target:
        status["target"] = target
    try:
        board = device.status()
    except errors.WorkbenchError as exc:
        # a kind without an agent status tool is still usable
        status["message"] = exc.what
        return status
    lock = board.get("lock") or {}
    status["busy"] = bool(lock.get("held"))
    status["holder"] = lock.get("holder") if status["busy"] else None
    status["queue"] = len(lock.get("waiters") or [])
    status["jobs"] = board.get("jobs") or []
    if status["busy"]:
        status["state"] = "busy"
    return status


def _target_name(info: Any) -> str | None:
    from workbench.jobs.document import detected_target

    try:
        target = detected_target(info)
    except errors.WorkbenchError:
        return None
    return str(target["name"]) if isinstance(target, dict) and target.get("name") else None


def _failed(state: str, exc: errors.WorkbenchError, checked: float) -> dict[str, Any]:
    return {"state": state, "reachable": state == "needs credentials"
            or state == "unknown host key", "message": str(exc), "error": exc.to_dict(),
            "busy": False, "holder": None, "queue": 0, "jobs": [], "target": None,
            "runtimes": [], "checked": checked}


class StatusCache:
    """Statuses by device name, checked in a thread pool, at most every ``max_age`` s."""

    def __init__(self, *, max_age: float = MAX_AGE_S, workers: int = 4,
                 checker: Callable[[str], dict[str, Any]] = check,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.executor = ThreadPoolExecutor(max_workers=workers,
                                           thread_name_prefix="workbench-status")
        self._max_age = max_age
        self._checker = checker
        self._clock = clock
        self._statuses: dict[str, tuple[float, dict[str, Any]]] = {}
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def run(self, call: Callable[..., Any], *args: Any) -> Any:
        """``call(*args)`` in the pool, awaited without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, call, *args)

    def cached(self, name: str) -> dict[str, Any] | None:
        """The last status of ``name``, however old, or None."""
        entry = self._statuses.get(name)
        return entry[1] if entry else None

    def _start(self, name: str, force: bool) -> asyncio.Future[dict[str, Any]] | None:
        if name in self._pending:
            return self._pending[name]
        entry = self._statuses.get(name)
        if entry and not force and self._clock() - entry[0] < self._max_age:
            return None
        future = asyncio.ensure_future(self.run(self._checker, name))
        self._pending[name] = future

        def store(done: asyncio.Future[dict[str, Any]]) -> None:
            self._pending.pop(name, None)
            if not done.cancelled() and done.exception() is None:
                self._statuses[name] = (self._clock(), done.result())

        future.add_done_callback(store)
        return future

    async def status(self, name: str, *, force: bool = False) -> dict[str, Any]:
        """The status of ``name``: cached when fresh, else checked (once for all callers)."""
        future = self._start(name, force)
        if future is not None:
            return await asyncio.shield(future)
        return self._statuses[name][1]

    async def statuses(self, names: list[str], *, force: bool = False,
                       wait: float = LIST_WAIT_S) -> dict[str, dict[str, Any] | None]:
        """Statuses of several devices; checks still running after ``wait`` s answer
        with the last known status (or None) and go on in the background."""
        futures = [f for f in (self._start(name, force) for name in names) if f is not None]
        if futures:
            await asyncio.wait(futures, timeout=wait)
        return {name: self.cached(name) for name in names}

    def close(self) -> None:
        """Stop the pool without waiting for checks that hang."""
        for future in list(self._pending.values()):
            future.cancel()
        self.executor.shutdown(wait=False, cancel_futures=True)
