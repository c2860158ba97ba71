"""The ``labgrid`` device kind: a board reserved from a labgrid farm, then run over SSH.

``labgrid:PLACE`` asks for one place by name; ``labgrid:soc=bcm2712,lab=ws``
for any place whose tags include those. Around each job (the kind's acquire
and release steps) the device:

1. reserves a matching place from the coordinator and, while it waits, reports
   ``queue`` stages (``source: "farm"``) with its position among the
   reservations that compete for the same places;
2. acquires the place and reads its ``NetworkService`` (address, port, user;
   a password there is ignored, as every client of the coordinator can read it);
3. runs the job with the SSH device's own code (host keys, cache, agent, the
   board's lock as a second line against users who bypass the coordinator);
4. cancels the reservation, then releases the place (in that order, so the
   next user is served at once), whatever happened to the job.

Between holds the device knows no address: a place is never used again through
:func:`workbench.devices.connect`'s cache once its reservation ended.
``workbench.reserve(name)`` holds one place across several jobs, up to a time limit.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from workbench import errors
from workbench.devices import _cancel, _job_events
from workbench.devices.base import DeviceInfo
from workbench.devices.farm import Farm, PlaceState, ReservationState
from workbench.devices.farm_status import forget_hold, record_hold
from workbench.devices.ssh import SSHDevice
from workbench.devices.ssh_connect import Endpoint, resolve

__all__ = ["PREFIX", "LabgridDevice", "parse_name", "queue_position"]

PREFIX = "labgrid:"
#: how often a waiting reservation is polled (seconds): the hand-off time after a release
WAIT_POLL_S = 0.1
#: how long the SSH link to a place given back stays open, unused, for holding it again
IDLE_LINK_S = 60.0
#: labgrid's own rules for tag keys and values
_TAG_KEY = re.compile(r"[a-z][a-z0-9_]+")
_TAG_VALUE = re.compile(r"[a-z0-9_]*")
_PLACE = re.compile(r"[A-Za-z0-9_.-]+")


def parse_name(name: str) -> dict[str, str]:
    """The tags a ``labgrid:`` device name asks for: ``{"name": PLACE}`` or its tag filter."""
    spec = name[len(PREFIX):] if name.startswith(PREFIX) else name
    example = "labgrid:pi5-1 (a place) or labgrid:soc=bcm2712,lab=ws (tags)"
    if "=" not in spec:
        if not _PLACE.fullmatch(spec):
            raise errors.InvalidOptionValue(f"{spec!r} is not a place name", where=name,
                                            hint=f"Write {example}")
        return {"name": spec}
    tags: dict[str, str] = {}
    for part in spec.split(","):
        key, _, value = part.partition("=")
        if not _TAG_KEY.fullmatch(key) or not _TAG_VALUE.fullmatch(value) or key in tags:
            raise errors.InvalidOptionValue(
                f"{part!r} is not a tag filter labgrid takes", where=name,
                hint=f"Keys are lower-case letters, digits and '_', values too; write {example}")
        tags[key] = value
    return tags


def queue_position(token: str, reservations: list[ReservationState],
                   places: list[PlaceState]) -> dict[str, Any]:
    """Where the waiting reservation ``token`` stands: ``place`` (1 is next) and ``length``
    among the waiting reservations that compete for the same places, in the coordinator's
    order (priority, then age), and who holds those places now.

    The coordinator reports no position; this is computed from its reservations.
    """
    mine = next((r for r in reservations if r.token == token), None)
    if mine is None:
        return {"place": 1, "length": 1, "holder": None}
    wanted = {p.name for p in places if p.matches(mine.tags)}
    competing = [r for r in sorted(reservations, key=lambda r: (-r.prio, r.created))
                 if r.state == "waiting" and any(p.matches(r.tags) for p in places
                                                 if p.name in wanted)]
    holders = sorted({p.acquired for p in places if p.name in wanted and p.acquired})
    index = next((i for i, r in enumerate(competing) if r.token == token), len(competing))
    return {"place": index + 1, "length": max(len(competing), index + 1),
            "holder": ", ".join(holders) or None}


class _Hold:
    """One reservation and the place it got."""

    def __init__(self, farm: Farm, token: str) -> None:
        self.farm = farm
        self.token = token
        self.place: str | None = None
        self.acquired = False
        self.since = time.time()


class LabgridDevice(SSHDevice):
    """A board from a labgrid farm: ``labgrid:PLACE`` or ``labgrid:key=value,...``.

    ``coordinator`` (default: ``$LG_COORDINATOR``, else 127.0.0.1:20408) says
    which farm; ``prio`` the reservation's priority; ``wait_s`` how long a job
    may wait for a place (None: as long as it takes). The other keywords are
    the SSH device's (key_filename, known_hosts, python, board_dir, ...); the
    address, port and user come from the place's NetworkService (``user=``
    overrides the user).
    """

    kind = "labgrid"

    def __init__(self, name: str, *, coordinator: str | None = None, prio: float = 0.0,
                 wait_s: float | None = None, **ssh: Any) -> None:
        from workbench.devices.farm import coordinator_address, require_labgrid

        if "host" in ssh or "port" in ssh:
            raise errors.UnknownOption("host and port cannot be set for a labgrid device",
                                       where=name, hint="The place's NetworkService gives them")
        require_labgrid()
        self.tags = parse_name(name)
        self.coordinator = coordinator_address(coordinator)
        self.prio = float(prio)
        self.wait_s = wait_s
        self._user = ssh.pop("user", None)
        super().__init__(name, **ssh)
        #: the place held now, or None between holds
        self.place: str | None = None
        self._hold: _Hold | None = None
        self._holders = 0
        self._hold_lock = threading.RLock()
        self._take_lock = threading.Lock()
        #: set when a hold taken with reserve() ended before it was left
        self._ended: str | None = None
        self._timer: threading.Timer | None = None
        #: (place, host, port, user) of the last board held, and its probe
        self._last_board: tuple[tuple[Any, ...], DeviceInfo | None] | None = None
        self._idle_closer: threading.Timer | None = None

    # --- taking and giving back a place ----------------------------------------

    def hold(self, max_s: float | None = None) -> str:
        """Take a place (or count one more user of the place held); returns its name.

        With ``max_s``, the place is given back after that many seconds even if
        still in use (jobs then fail, and later ones raise HoldEnded).
        """
        # one reservation at a time: a second job on this device object shares the place
        with self._take_lock:
            with self._hold_lock:
                if self._ended is not None:
                    raise errors.HoldEnded(self._ended, where=self.name)
                if self._hold is not None:
                    self._holders += 1
                    return str(self.place)
            hold = self._take()
            with self._hold_lock:
                self._hold, self._holders, self.place = hold, 1, hold.place
                if max_s is not None:
                    self._timer = threading.Timer(max_s, self._time_up, args=(hold, max_s))
                    self._timer.daemon = True
                    self._timer.start()
            return str(hold.place)

    def unhold(self) -> None:
        """One user fewer; the last one gives the place back."""
        with self._hold_lock:
            if self._hold is None:
                return
            self._holders -= 1
            if self._holders > 0:
                return
            hold, self._hold = self._hold, None
        self._give_back(hold)

    def leave(self) -> None:
        """End a hold taken with ``reserve()``: give the place back now, whoever uses it."""
        with self._hold_lock:
            hold, self._hold, self._holders, self._ended = self._hold, None, 0, None
        if hold is not None:
            self._give_back(hold)

    def _time_up(self, hold: _Hold, max_s: float) -> None:
        with self._hold_lock:
            if self._hold is not hold:
                return
            self._hold, self._holders = None, 0
            self._ended = (f"The place {hold.place!r} was given back after {max_s:g} s, the "
                           "time limit of its reservation")
        self._give_back(hold, keep_link=False)

    def _take(self) -> _Hold:
        from workbench.devices.farm import farm_for

        farm = farm_for(self.coordinator)
        hold = _Hold(farm, farm.reserve(self.tags, self.prio).token)
        try:
            hold.place = self._wait(hold)
            changed = farm.acquire(hold.place)
            hold.acquired = True
            service = farm.service(hold.place)
            record_hold(farm.address, hold.place, farm.identity, hold.token, changed)
        except BaseException:  # error, cancel, Ctrl-C: the queue must not keep us
            self._give_back(hold, keep_link=False)
            raise
        with self._connect_lock:
            if self._idle_closer is not None:
                self._idle_closer.cancel()
            board = (hold.place, service.host, service.port, self._user or service.user)
            if self._last_board is not None and self._last_board[0] == board:
                # the same place's board again: its link, warm agent and probe still hold
                self._info = self._last_board[1]
            else:
                self.close()
            self._settings["host"], self._settings["port"] = service.host, service.port
            self._settings["user"] = self._user or service.user
        return hold

    def _wait(self, hold: _Hold) -> str:
        cancel = _cancel.current()
        deadline = None if self.wait_s is None else time.monotonic() + self.wait_s
        last: dict[str, Any] | None = None
        while True:
            state = hold.farm.poll(hold.token)
            if state.place and state.state in ("allocated", "acquired"):
                return state.place
            if state.state not in ("waiting", "allocated"):
                raise errors.FarmError(f"The reservation for {self.name} is {state.state}",
                                       where=f"coordinator {self.coordinator}",
                                       hint="Run again to queue anew")
            where = queue_position(hold.token, hold.farm.reservations(), hold.farm.places())
            if where != last:
                _job_events.emit({"event": "stage", "stage": "queue", "time": time.time(),
                                  "source": "farm", "since": hold.since, **where})
                last = where
            if deadline is not None and time.monotonic() >= deadline:
                raise errors.DeviceBusy(
                    f"No place for {self.name} became free in {self.wait_s:g} s "
                    f"(place {where['place']} of {where['length']} in the queue)",
                    where=f"coordinator {self.coordinator}",
                    hint="Wait longer (wait_s=), or ask for more places with a wider tag filter")
            if cancel is not None:
                if cancel.wait(WAIT_POLL_S):
                    raise _cancel.cancelled_error(self.name, "waiting for a place")
            else:
                time.sleep(WAIT_POLL_S)

    def _give_back(self, hold: _Hold, *, keep_link: bool = True) -> None:
        """Cancel the reservation, then release the place; forget the board's address.

        The SSH link stays open for :data:`IDLE_LINK_S` (unused: nothing reaches the
        board without a hold), so holding the same place again soon finds its warm
        agent; ``keep_link=False`` closes it at once (a time limit ends running jobs).
        """
        with self._hold_lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self.place = None
        with self._connect_lock:
            if keep_link and hold.place is not None and self._settings["host"] is not None:
                self._last_board = ((hold.place, self._settings["host"], self._settings["port"],
                                     self._settings["user"]), self._info)
                self._idle_closer = threading.Timer(IDLE_LINK_S, self._close_idle)
                self._idle_closer.daemon = True
                self._idle_closer.start()
            else:
                self._last_board = None
                self.close()
            self._settings["host"] = self._settings["port"] = None
            self._endpoint = None
            self._info = None  # the next place may be another board
        if hold.farm.lost:
            if hold.place is not None:
                forget_hold(hold.farm.address, hold.place)
            return  # a restarted coordinator has dropped the reservation and the acquisition
        try:
            hold.farm.cancel(hold.token)  # first: a release alone leaves the place allocated
        except errors.FarmError:
            pass  # already expired or cancelled; the release below still matters
        finally:
            if hold.acquired and hold.place is not None:
                hold.farm.release(hold.place)
                forget_hold(hold.farm.address, hold.place)

    def _close_idle(self) -> None:
        with self._connect_lock:
            if self._settings["host"] is None:  # still between holds
                self._last_board = None
                self.close()

    # --- the SSH device, with the place ----------------------------------------

    def client(self) -> Any:
        """The SSH connection to the held place's board; refused between holds."""
        if self._settings["host"] is None:
            raise self._no_place()
        hold = self._hold
        lost = hold.farm.hold_lost(hold.token) if hold is not None else None
        if hold is not None and lost is not None:
            # the place may be someone else's by now: reach its board no more
            raise type(lost)(f"{lost.what}; the place {hold.place!r} may be given to "
                             "another client", where=self.name, hint=lost.hint)
        return super().client()

    def _no_place(self) -> errors.FarmError:
        return errors.FarmError(f"{self.name} holds no place now, so there is no board to "
                                "reach", where=self.name,
                                hint="Run a job on it, or hold one with "
                                "`with wb.reserve(...) as dev:`")

    @property
    def endpoint(self) -> Endpoint:
        """Where the held place's board is: its NetworkService, merged with ~/.ssh/config's
        entry for that address (a ProxyJump into the lab applies); none between holds."""
        endpoint = self._endpoint
        if endpoint is None:
            host = self._settings["host"]
            if host is None:
                raise self._no_place()
            endpoint = self._endpoint = resolve(host, **self._settings)
        return endpoint

    def probe(self, refresh: bool = False) -> DeviceInfo:
        """The board's info, with the place it came from (``place``)."""
        info = super().probe(refresh)
        info.place = {"name": self.place, "coordinator": self.coordinator, "tags": self.tags}
        return info
