"""Device status for the server: what the sidebar shows, cached and shared between clients.

A device's status comes from the public API only: ``connect(name)``,
``Device.probe()`` (reachable, target, runtimes) and ``Device.status()`` (the
agent's status tool: lock holder and queue). Those calls block (paramiko,
subprocesses), so they run in a thread pool and the server's event loop keeps
answering other requests while a board does not answer.

Statuses are cached: a device is checked again only when its status is older
than :data:`MAX_AGE_S`, or when a refresh is asked for; a check already under
way is shared by every request that wants it.

An emulated board that is not running (``qemu:BOARD``, or an ``emu-*`` board
not started) is checked only when asked for by name: each check starts its
Python under qemu-user, tens of seconds of every core, so a listing or a
refresh shows it as ``not started`` until someone asks for it. Once asked
for, it is listed and refreshed like the others.

A labgrid place (``labgrid:PLACE`` or a tag filter) is never probed: its
board is reached only while the place is held, so its status is the farm's
word on the place: ``ready`` when one that matches is free, ``busy`` with its
holder when all are taken.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
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


def _empty() -> dict[str, Any]:
    """The fields every status has, whatever its state."""
    return {"message": None, "busy": False, "holder": None, "holder_job": None, "since": None,
            "queue": 0, "lock": None, "jobs": [], "target": None, "runtimes": []}


def known_names() -> dict[str, dict[str, Any]]:
    """The devices a request may name, by name (local, registry, emulated, ~/.ssh/config)."""
    from workbench.devices import known_devices

    return {str(entry["name"]): entry for entry in known_devices(include_ssh_config=True)}


def check_order(entries: dict[str, dict[str, Any]]) -> list[str]:
    """Names in the order their checks start: emulated boards last (a probe under
    qemu-user takes tens of seconds), so this machine and real boards answer first."""
    return sorted(entries, key=lambda name: entries[name].get("kind") == "emulated")


def checked_on_request(entry: dict[str, Any]) -> bool:
    """Whether a listed device is checked only when asked for by name: an emulated
    board that is not running."""
    return entry.get("kind") == "emulated" and not entry.get("running")


def not_started(name: str) -> dict[str, Any]:
    """The status listed for an emulated board nobody asked for yet (it is not checked)."""
    return {**_empty(), "state": "not started", "reachable": False, "checked": None,
            "message": f"An emulated board, checked when asked for: GET "
                       f"workbench/api/devices/{name}/status (\"check\" in the sidebar)"}


def check(name: str) -> dict[str, Any]:
    """Connect, probe and ask the agent's status tool; every failure becomes a state.

    States: ``ready``, ``busy``, ``unreachable``, ``needs credentials`` (the
    server holds no password and never prompts), ``unknown host key`` (with
    its fingerprint, for trust-by-fingerprint) and ``error``.
    """
    from workbench.devices import connect
    from workbench.devices.kinds import LABGRID_PREFIX

    checked = time.time()
    if name.startswith(LABGRID_PREFIX):
        return _place_status(name, checked)
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
    status: dict[str, Any] = {**_empty(), "state": "ready", "reachable": True,
                              "runtimes": sorted(info.runtimes), "checked": checked}
    status["target"] = _target_name(info)
    try:
        board = device.status()
    except errors.WorkbenchError as exc:
        # a kind without an agent status tool is still usable; its jobs are not known
        return {**status, "message": exc.what, "error": exc.to_dict()}
    lock = board.get("lock") or {}
    holder = lock.get("holder") or {}
    busy = bool(lock.get("held"))
    waiters = lock.get("waiters") or []
    return {**status, "state": "busy" if busy else "ready", "busy": busy,
            "holder": (holder.get("holder") or "?") if busy else None,
            "holder_job": holder.get("job") if busy else None,
            "since": lock.get("since") if busy else None, "queue": len(waiters),
            "lock": {"held": busy, "holder": holder or None, "since": lock.get("since"),
                     "waiters": waiters},
            "jobs": board.get("jobs") or []}


def _place_status(name: str, checked: float) -> dict[str, Any]:
    """A labgrid device's status from the farm's places, without holding one: ready when a
    matching place is free, busy (with its holder) when every matching place is held."""
    from workbench.devices.farm import farm_for, require_labgrid
    from workbench.devices.labgrid_device import parse_name

    try:
        tags = parse_name(name)
        require_labgrid()
        places = [p for p in farm_for().places() if p.matches(tags)]
    except errors.CoordinatorUnreachable as exc:
        return _failed("unreachable", exc, checked)
    except errors.WorkbenchError as exc:
        return _failed("error", exc, checked)
    if not places:
        return _failed("error", errors.FarmError(
            f"No place of the farm matches {name}", where=name,
            hint="See the places with `workbench farm status`"), checked)
    free = [p for p in places if not p.acquired]
    status: dict[str, Any] = {**_empty(), "reachable": True, "checked": checked,
                              "message": f"{len(free)} of {len(places)} matching places free"}
    if free:
        return {**status, "state": "ready"}
    held = min(places, key=lambda p: p.changed)
    return {**status, "state": "busy", "busy": True, "holder": held.acquired,
            "since": held.changed}


def farm_view() -> dict[str, Any]:
    """The board farm the server knows, for the sidebar, without holding anything.

    The farm is known when labgrid (the ``farm`` extra) is installed and the
    server's environment names a coordinator (``LG_COORDINATOR``); otherwise
    ``{"configured": false}`` with the reason. Known: its places (tags, holder,
    how many reservations wait for each, a stale hold's reason) and the queue
    in the coordinator's order, from :func:`~workbench.devices.farm_status`.
    Reservation tokens are left out: a token is what lets its owner use the
    reservation, and the sidebar needs none.
    """
    import os

    from workbench.devices.farm import coordinator_address, require_labgrid
    from workbench.devices.farm_status import farm_status

    checked = time.time()
    if not os.environ.get("LG_COORDINATOR"):
        return {"configured": False, "checked": checked,
                "message": "No coordinator is set: start Jupyter with LG_COORDINATOR="
                           "host:port to see a labgrid farm here"}
    try:
        require_labgrid()
    except errors.FarmNotInstalled as exc:
        return {"configured": False, "message": str(exc), "checked": checked}
    address = coordinator_address()
    try:
        status = farm_status(address)
    except errors.WorkbenchError as exc:
        return {"configured": True, "coordinator": address, "state": "unreachable"
                if isinstance(exc, errors.CoordinatorUnreachable) else "error",
                "message": str(exc), "error": exc.to_dict(), "places": [], "queue": [],
                "checked": checked}
    places = [{key: value for key, value in place.items() if key != "reservation"}
              for place in status["places"]]
    queue = [{key: value for key, value in entry.items() if key != "token"}
             for entry in status["queue"]]
    return {"configured": True, "coordinator": status["coordinator"], "state": "ok",
            "message": None, "places": places, "queue": queue, "checked": checked}


def _target_name(info: Any) -> str | None:
    from workbench.jobs.document import detected_target

    try:
        target = detected_target(info)
    except errors.WorkbenchError:
        return None
    return str(target["name"]) if isinstance(target, dict) and target.get("name") else None


def _failed(state: str, exc: errors.WorkbenchError, checked: float) -> dict[str, Any]:
    # a board that asks for credentials or shows an unknown key did answer
    reachable = state in ("needs credentials", "unknown host key")
    return {**_empty(), "state": state, "reachable": reachable, "message": str(exc),
            "error": exc.to_dict(), "checked": checked}


class _Check:
    """One check of one device: its future, and whether the checker has begun."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.begun = False
        self.future: asyncio.Future[dict[str, Any]] | None = None


class StatusCache:
    """Statuses by device name, checked in a thread pool, at most every ``max_age`` s.

    One device is checked by one thread at a time, in the order the checks
    were asked for. A request shares the check under way unless it forces a
    refresh and that check has already begun: the device may have changed
    since (a host key just trusted), so a forced refresh waits for a check
    that begins after it was asked for.
    """

    def __init__(self, *, max_age: float = MAX_AGE_S, workers: int = 4,
                 checker: Callable[[str], dict[str, Any]] = check,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.executor = ThreadPoolExecutor(max_workers=workers,
                                           thread_name_prefix="workbench-status")
        self._max_age = max_age
        self._checker = checker
        self._clock = clock
        self._numbers = itertools.count(1)
        self._statuses: dict[str, tuple[float, int, dict[str, Any]]] = {}
        self._pending: dict[str, _Check] = {}
        self._turns: dict[str, threading.Lock] = {}

    async def run(self, call: Callable[..., Any], *args: Any) -> Any:
        """``call(*args)`` in the pool, awaited without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, call, *args)

    def cached(self, name: str) -> dict[str, Any] | None:
        """The last status of ``name``, however old, or None."""
        entry = self._statuses.get(name)
        return entry[2] if entry else None

    def checking(self, name: str) -> bool:
        """Whether a check of ``name`` is under way (its cached status may be outdated)."""
        return name in self._pending

    def _check(self, name: str, check: _Check) -> dict[str, Any]:
        # in a pool thread: wait for this device's earlier check, then begin
        with self._turns.setdefault(name, threading.Lock()):
            check.begun = True
            return self._checker(name)

    def _start(self, name: str, force: bool) -> asyncio.Future[dict[str, Any]] | None:
        pending = self._pending.get(name)
        if pending is not None and pending.future is not None \
                and not (force and pending.begun):
            return pending.future
        entry = self._statuses.get(name)
        if pending is None and entry and not force \
                and self._clock() - entry[0] < self._max_age:
            return None
        check = _Check(next(self._numbers))
        # a plain future (no task): closing the server leaves nothing pending behind
        future = asyncio.get_running_loop().run_in_executor(self.executor, self._check, name,
                                                            check)
        check.future = future
        self._pending[name] = check

        def store(done: asyncio.Future[dict[str, Any]]) -> None:
            if self._pending.get(name) is check:
                del self._pending[name]
            if done.cancelled() or done.exception() is not None:
                return
            last = self._statuses.get(name)
            if last is None or last[1] < check.number:
                self._statuses[name] = (self._clock(), check.number, done.result())

        future.add_done_callback(store)
        return future

    async def status(self, name: str, *, force: bool = False) -> dict[str, Any]:
        """The status of ``name``: cached when fresh, else checked (once for all callers).

        With ``force``, from a check that began after this call.
        """
        future = self._start(name, force)
        if future is not None:
            return await asyncio.shield(future)
        return self._statuses[name][2]

    async def statuses(self, names: list[str], *, force: bool = False,
                       wait: float = LIST_WAIT_S) -> dict[str, dict[str, Any] | None]:
        """Statuses of several devices; checks still running after ``wait`` s answer
        with the last known status (or None) and go on in the background."""
        futures = [f for f in (self._start(name, force) for name in names) if f is not None]
        if futures:
            await asyncio.wait(futures, timeout=wait)
        return {name: self.cached(name) for name in names}

    async def listing(self, entries: dict[str, dict[str, Any]], *,
                      force: bool = False) -> list[dict[str, Any]]:
        """``entries`` (``known_names()``) with their statuses and whether a check is
        under way; an emulated board that is not running and was never asked for by
        name is not checked, and listed as ``not started``."""
        wanted = [name for name in check_order(entries)
                  if not checked_on_request(entries[name]) or self.cached(name) is not None
                  or self.checking(name)]
        statuses = await self.statuses(wanted, force=force)
        return [{**entry, "status": statuses[name] if name in statuses else not_started(name),
                 "checking": self.checking(name)} for name, entry in entries.items()]

    def close(self) -> None:
        """Stop the pool without waiting for checks that hang."""
        for check in list(self._pending.values()):
            if check.future is not None:
                check.future.cancel()
        self._pending.clear()
        self.executor.shutdown(wait=False, cancel_futures=True)
