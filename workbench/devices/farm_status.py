"""A farm's state for people: places, tags, holders, the queue, and stale holds.

labgrid keeps a place acquired until someone releases it, so a client killed
while holding (a crashed kernel, a closed laptop) leaves the place taken for
good. The coordinator cannot tell a live holder from a dead one (it keeps no
list of clients), so this machine keeps a hold record per place it holds
(``<cache dir>/farm-holds``: place, coordinator, holder, process id, since):
a hold whose process on this machine is gone is **stale**. A place acquired
outside any reservation while others wait for it is reported too (someone
used ``labgrid-client acquire`` and bypassed the queue). :func:`free_stale`
releases a stale hold, as ``labgrid-client release --kick`` would.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from workbench import errors
from workbench._atomic import write_atomic
from workbench._paths import cache_dir

__all__ = ["farm_status", "forget_hold", "free_stale", "record_hold"]


def _holds_dir() -> Path:
    return cache_dir() / "farm-holds"


def _record_path(coordinator: str, place: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{coordinator}_{place}")
    return _holds_dir() / f"{safe}.json"


def record_hold(coordinator: str, place: str, holder: str, token: str,
                changed: float | None = None) -> None:
    """Note that this process holds ``place`` (removed by :func:`forget_hold`).

    ``changed`` is the place's change time the coordinator set when this process
    acquired it: a later acquisition changes it, so the record then no longer
    speaks for the place. The record is readable by its owner only.
    """
    record = {"coordinator": coordinator, "place": place, "holder": holder, "token": token,
              "changed": changed, "pid": os.getpid(), "host": socket.gethostname(),
              "since": time.time()}
    write_atomic(_record_path(coordinator, place), json.dumps(record), error=errors.FarmError,
                 make_parents=True, mode=0o600)


def forget_hold(coordinator: str, place: str) -> None:
    """The place was given back: drop its hold record."""
    _record_path(coordinator, place).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another account's process: alive
        return True
    return True


def _records(coordinator: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    folder = _holds_dir()
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a record being written: the next look sees it
        if record.get("coordinator") == coordinator:
            found[str(record.get("place"))] = record
    return found


def _same_hold(place: Any, record: dict[str, Any]) -> bool:
    """Whether ``record`` was written for the place's present hold, not an earlier one by
    the same holder: its reservation is the place's, or the place has not changed since."""
    if record.get("holder") != place.acquired or record.get("host") != socket.gethostname():
        return False
    if place.reservation is not None and record.get("token") == place.reservation:
        return True
    changed = record.get("changed")
    return isinstance(changed, (int, float)) and float(changed) == float(place.changed)


def _stale_reason(place: Any, record: dict[str, Any] | None, waiting: int) -> str | None:
    if not place.acquired:
        return None
    if record is not None and _same_hold(place, record) \
            and not _alive(int(record.get("pid", 0))):
        return (f"its holder's process {record.get('pid')} on this machine is gone "
                "(a killed client)")
    if place.reservation is None and waiting:
        return "acquired outside the queue while reservations wait for it"
    return None


def farm_status(coordinator: str | None = None) -> dict[str, Any]:
    """The farm at ``coordinator`` (default: $LG_COORDINATOR) as a JSON-able dict:
    ``places`` (name, tags, holder, reservation, changed, stale) and ``queue`` (the
    waiting reservations in the coordinator's order, with what they ask for)."""
    from workbench.devices.farm import farm_for

    farm = farm_for(coordinator)
    places = farm.places()
    reservations = farm.reservations()
    records = _records(farm.address)
    waiting = [r for r in reservations if r.state == "waiting"]
    rows = []
    for place in places:
        wanted_by = sum(1 for r in waiting if place.matches(r.tags))
        stale = _stale_reason(place, records.get(place.name), wanted_by)
        rows.append({"name": place.name, "tags": place.tags, "holder": place.acquired,
                     "reservation": place.reservation, "changed": place.changed,
                     "waiting": wanted_by, "stale": stale})
    queue = [{"position": index + 1, "owner": r.owner, "asks": r.tags, "prio": r.prio,
              "since": r.created, "token": r.token} for index, r in enumerate(waiting)]
    return {"coordinator": farm.address, "places": rows, "queue": queue}


def free_stale(place: str, coordinator: str | None = None) -> str:
    """Release ``place`` if its hold is stale; returns the holder it was taken from.

    Only the holder seen as stale is kicked: a place taken meanwhile by
    someone else is left alone (FarmError).
    """
    from workbench.devices.farm import farm_for

    status = farm_status(coordinator)
    row = next((p for p in status["places"] if p["name"] == place), None)
    if row is None:
        raise errors.FarmError(f"No place called {place!r}",
                               where=f"coordinator {status['coordinator']}",
                               hint="See the places with `workbench farm status`")
    if not row["stale"]:
        raise errors.FarmError(
            f"The place {place!r} is {'held by ' + row['holder'] if row['holder'] else 'free'}"
            ", and that hold is not stale", where=f"coordinator {status['coordinator']}",
            hint="Only a stale hold is freed; ask its holder to let go, or use "
            "`labgrid-client -p PLACE release --kick` if you are sure")
    farm = farm_for(coordinator)
    if row["reservation"]:
        # the dead holder's reservation first, or the freed place stays set aside for it
        try:
            farm.cancel(row["reservation"])
        except errors.FarmError:
            pass  # expired meanwhile
    farm.release(place, holder=row["holder"])
    forget_hold(farm.address, place)
    return str(row["holder"])
