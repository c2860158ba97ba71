"""Every call into labgrid, made on one thread with an event loop of its own.

labgrid's client session is asyncio code: ``start_session`` takes the running
loop if there is one and calls ``run_until_complete`` on it, which fails inside
a Jupyter cell (its loop already runs). So a :class:`Farm` owns a thread that
runs its own loop for its whole life; callers on any thread hand it coroutines
and wait for their answers with a time limit. The same loop keeps the
reservations of held places polled, so none expires during a long job, and
gives back a place whose acquisition timed out but was carried out all the same.

The gRPC calls (``CreateReservation``, ``PollReservation``, ``AcquirePlace``,
...) and their messages come from labgrid's internal modules: the ``farm``
extra pins labgrid's major version, and nothing else in the workbench imports
labgrid. Everything here answers in plain data (:class:`PlaceState`,
:class:`ReservationState`, :class:`Service`) and raises
:class:`~workbench.errors.FarmError` subclasses.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
import time
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from workbench import errors

__all__ = ["DEFAULT_COORDINATOR", "Farm", "PlaceState", "ReservationState", "Service",
           "coordinator_address", "farm_for", "require_labgrid"]

#: where a coordinator listens when neither ``coordinator=`` nor LG_COORDINATOR says
DEFAULT_COORDINATOR = "127.0.0.1:20408"
#: the longest one call to the coordinator may take (seconds); a lost coordinator fails then
CALL_TIMEOUT_S = 10.0
#: how often held reservations are polled (the coordinator expires one 60 s after its last poll)
KEEP_POLLED_S = 10.0
#: how long the coordinator keeps a reservation that is not polled (labgrid's own limit)
RESERVATION_EXPIRY_S = 60.0
#: how often a place whose acquisition timed out is looked at, to give it back if it lands
LATE_WATCH_S = 1.0
#: how much later than its time limit a late acquisition's stamp may be and still be ours
#: (the coordinator's clock against this host's)
LATE_MARGIN_S = 1.0
#: what to install for the labgrid device kind
INSTALL_HINT = ("Install the farm extra: pip install 'edge-workbench[farm]', or in a "
                "clone of the project: pip install '.[farm]'")

T = TypeVar("T")
#: labgrid's own keep-alive settings for its channel (see its ClientSession)
CHANNEL_OPTIONS = [("grpc.keepalive_time_ms", 7500), ("grpc.keepalive_timeout_ms", 10000),
                   ("grpc.http2.ping_timeout_ms", 10000), ("grpc.http2.max_pings_without_data", 0)]


def require_labgrid() -> None:
    """Raise FarmNotInstalled when labgrid (the ``farm`` extra) cannot be imported."""
    try:
        import labgrid.remote.client  # noqa: F401
    except ImportError as exc:
        raise errors.FarmNotInstalled(
            f"labgrid is not installed, so board farms cannot be used ({exc})",
            where="labgrid device kind", hint=INSTALL_HINT) from None


def coordinator_address(explicit: str | None = None) -> str:
    """The coordinator to ask: ``explicit``, else ``$LG_COORDINATOR``, else 127.0.0.1:20408."""
    address = explicit or os.environ.get("LG_COORDINATOR") or DEFAULT_COORDINATOR
    # labgrid's own default port when only a host is given
    return address if address.rsplit(":", 1)[-1].isdigit() else f"{address}:20408"


@dataclass(frozen=True)
class PlaceState:
    """One place of the farm as the coordinator last reported it."""

    name: str
    tags: dict[str, str]
    #: "host/user" of the holder, or None when the place is free
    acquired: str | None
    #: the token of the reservation the place is allocated to, if any
    reservation: str | None
    #: when the place last changed (acquired, released, ...), seconds since the epoch
    changed: float
    comment: str = ""

    def matches(self, tags: dict[str, str]) -> bool:
        """Whether a reservation asking for ``tags`` may get this place (``name`` is a tag)."""
        own = {**self.tags, "name": self.name}
        return all(own.get(key) == value for key, value in tags.items())


@dataclass(frozen=True)
class ReservationState:
    """One reservation: waiting, allocated (a place is set aside), acquired, expired, ..."""

    token: str
    owner: str
    state: str
    prio: float
    tags: dict[str, str]
    #: the place allocated to it, once allocated
    place: str | None
    created: float
    timeout: float


@dataclass(frozen=True)
class Service:
    """Where a place's board is reached over SSH (its NetworkService, password left out)."""

    host: str
    port: int
    user: str
    #: the resource's name on its exporter, for messages
    resource: str = field(default="NetworkService")


def _grpc_failure(exc: BaseException, address: str, doing: str) -> errors.FarmError:
    """A labgrid or gRPC failure as the error a user reads."""
    import grpc

    if isinstance(exc, grpc.aio.AioRpcError):
        code = exc.code()
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                    grpc.StatusCode.CANCELLED):
            return _lost(address, doing, exc.details() or code.name)
        return errors.FarmError(f"The coordinator refused {doing}: {exc.details()}",
                                where=f"coordinator {address}",
                                hint="Check the place and reservation with "
                                "`workbench farm status`")
    if isinstance(exc, (TimeoutError, concurrent.futures.TimeoutError, asyncio.TimeoutError)):
        return _lost(address, doing, f"no answer in {CALL_TIMEOUT_S:g} s")
    return errors.FarmError(f"labgrid failed while {doing}: {type(exc).__name__}: {exc}",
                            where=f"coordinator {address}")


def _lost(address: str, doing: str, why: str) -> errors.CoordinatorUnreachable:
    return errors.CoordinatorUnreachable(
        f"The labgrid coordinator does not answer ({why}) while {doing}",
        where=f"coordinator {address}",
        hint="Check that labgrid-coordinator runs there (and LG_COORDINATOR or coordinator= "
        "names it); a restarted coordinator has dropped every reservation, so run again")


class Farm:
    """A session with one labgrid coordinator, on a thread of its own.

    Every method may be called from any thread; each waits at most
    :data:`CALL_TIMEOUT_S` for the coordinator. Use :func:`farm_for` to share
    one farm per address in a process.
    """

    def __init__(self, address: str) -> None:
        require_labgrid()
        self.address = address
        self._loop = asyncio.new_event_loop()
        self._held: set[str] = set()
        #: per held token: when a keep-alive poll last succeeded (monotonic seconds)
        self._polled_at: dict[str, float] = {}
        #: per held token: why its hold is lost, once a keep-alive poll shows it
        self._hold_lost: dict[str, errors.FarmError] = {}
        #: per place whose acquisition timed out: the task that gives it back if it lands
        self._late: dict[str, asyncio.Task[None]] = {}
        self._session: Any = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"workbench-labgrid {address}",
                                        daemon=True)
        self._thread.start()
        self._started.wait()
        if self._start_error is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=CALL_TIMEOUT_S)
            raise _grpc_failure(self._start_error, address, "connecting") from None

    # --- the thread -------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            # labgrid's start_session without its loop lookup, and with a time limit: a
            # coordinator that does not answer fails here rather than hanging the caller.
            self._session = self._loop.run_until_complete(
                asyncio.wait_for(self._start(), CALL_TIMEOUT_S))
        except BaseException as exc:  # reported by __init__ on the caller's thread
            self._start_error = exc
            self._started.set()
            self._loop.run_forever()  # until __init__ stops it
            self._loop.close()
            return
        self._started.set()
        keeper = self._loop.create_task(self._keep_polled())
        self._loop.run_forever()
        keeper.cancel()
        self._loop.run_until_complete(asyncio.gather(keeper, return_exceptions=True))
        self._loop.close()

    async def _start(self) -> Any:
        import grpc
        from labgrid.remote.client import ClientSession, ServerError
        from labgrid.remote.generated import labgrid_coordinator_pb2_grpc

        session = ClientSession(self.address, self._loop)
        # gRPC shares one TCP connection among a process's channels to the same address, but
        # the coordinator tells clients apart by their connection: a session of its own each.
        await session.channel.close()
        session.channel = grpc.aio.insecure_channel(
            self.address, options=[*CHANNEL_OPTIONS, ("grpc.use_local_subchannel_pool", 1)])
        session.stub = labgrid_coordinator_pb2_grpc.CoordinatorStub(session.channel)
        try:
            await session.start()
        except ServerError:
            raise ConnectionError("no session could be opened") from None
        return session

    async def _keep_polled(self) -> None:
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        while True:
            await asyncio.sleep(KEEP_POLLED_S)
            for token in list(self._held):
                if token in self._hold_lost:
                    continue
                try:
                    answer = await self._session.stub.PollReservation(
                        pb2.PollReservationRequest(token=token), timeout=CALL_TIMEOUT_S)
                    state = _reservation(answer.reservation).state
                except Exception as exc:  # judged below: the hold may be gone
                    self._poll_failed(token, exc)
                    continue
                if state in ("waiting", "allocated", "acquired"):
                    self._polled_at[token] = time.monotonic()
                elif token in self._held:
                    self._lose(token, errors.HoldEnded(
                        f"The coordinator ended the reservation (it is {state})",
                        where=f"coordinator {self.address}",
                        hint="Run again to queue anew"))

    def _poll_failed(self, token: str, exc: BaseException) -> None:
        """A keep-alive poll failed: a reservation the coordinator no longer knows is
        ended; a coordinator silent past the expiry time has dropped it."""
        import grpc

        if token not in self._held:
            return  # cancelled meanwhile
        if isinstance(exc, grpc.aio.AioRpcError) and exc.code() not in (
                grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                grpc.StatusCode.CANCELLED):
            self._lose(token, errors.HoldEnded(
                "The coordinator no longer keeps the reservation (cancelled from elsewhere, "
                f"or expired): {exc.details()}", where=f"coordinator {self.address}",
                hint="Run again to queue anew"))
            return
        since = self._polled_at.setdefault(token, time.monotonic())
        if time.monotonic() - since >= RESERVATION_EXPIRY_S - KEEP_POLLED_S:
            self._lose(token, _lost(self.address, "keeping a reservation alive",
                                    f"{type(exc).__name__}; the reservation has expired"))

    def _lose(self, token: str, error: errors.FarmError) -> None:
        self._hold_lost[token] = error
        warnings.warn(f"{error} The place's jobs will fail.", RuntimeWarning, stacklevel=1)

    def hold_lost(self, token: str) -> errors.FarmError | None:
        """Why the hold of reservation ``token`` is lost (keep-alive polls showed it
        ended, or the coordinator stopped answering until it expired), else None."""
        return self._hold_lost.get(token)

    def _call(self, coroutine: Coroutine[Any, Any, T], doing: str,
              undo: Callable[[T], None] | None = None) -> T:
        """The coroutine's answer, run on the farm's thread. ``undo`` takes back a change
        (a reservation, an acquisition) the coordinator may have made when the caller is
        interrupted (Ctrl-C) while it waits: the change is let finish, then undone, and the
        interrupt goes on. A change merely abandoned could stay made, and an acquired place
        never expires."""
        if self._loop.is_closed() or not self._thread.is_alive():
            coroutine.close()
            raise _lost(self.address, doing, "the session was closed")
        future = asyncio.run_coroutine_threadsafe(
            asyncio.wait_for(coroutine, CALL_TIMEOUT_S), self._loop)
        try:
            return future.result(CALL_TIMEOUT_S + 1.0)
        except errors.WorkbenchError:
            raise
        except Exception as exc:
            future.cancel()
            raise _grpc_failure(exc, self.address, doing) from None
        except BaseException:
            # Ctrl-C, SystemExit, a cancelled task: stop the call (or undo it) and let it through
            if undo is None:
                future.cancel()
            else:
                self._undo(future, undo)
            raise

    def _undo(self, future: concurrent.futures.Future[T], undo: Callable[[T], None]) -> None:
        """Wait for an interrupted change's answer (the call's own time limit bounds it),
        then undo it; a change that failed or a coordinator gone leaves nothing to undo. A
        second interrupt stops the wait."""
        try:
            made = future.result(CALL_TIMEOUT_S + 1.0)
        except Exception:
            future.cancel()
            return
        with contextlib.suppress(errors.FarmError):
            undo(made)

    @property
    def lost(self) -> bool:
        """Whether the session's stream to the coordinator has ended (coordinator gone)."""
        session = self._session
        return session is None or bool(session.stopping.is_set())

    def _check(self, doing: str) -> None:
        if self.lost:
            raise _lost(self.address, doing, "its stream ended")

    @property
    def identity(self) -> str:
        """Who this client is to the coordinator: ``host/user`` (LG_HOSTNAME, LG_USERNAME)."""
        return f"{self._session.gethostname()}/{self._session.getuser()}"

    # --- questions --------------------------------------------------------

    def places(self) -> list[PlaceState]:
        """Every place, sorted by name, as the coordinator's stream last reported it."""
        self._check("listing places")

        async def read() -> list[PlaceState]:
            await self._session.sync_with_coordinator()
            return [PlaceState(name, dict(p.tags), p.acquired or None, p.reservation or None,
                               float(p.changed), p.comment or "")
                    for name, p in sorted(self._session.places.items())]

        return self._call(read(), "listing places")

    def reservations(self) -> list[ReservationState]:
        """Every reservation the coordinator keeps, in the order it serves them."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        async def read() -> list[ReservationState]:
            answer = await self._session.stub.GetReservations(pb2.GetReservationsRequest(),
                                                              timeout=CALL_TIMEOUT_S)
            return [_reservation(r) for r in answer.reservations]

        found = self._call(read(), "listing reservations")
        return sorted(found, key=lambda r: (-r.prio, r.created))

    def poll(self, token: str) -> ReservationState:
        """The reservation's state now; polling also keeps it from expiring."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        async def ask() -> ReservationState:
            answer = await self._session.stub.PollReservation(
                pb2.PollReservationRequest(token=token), timeout=CALL_TIMEOUT_S)
            return _reservation(answer.reservation)

        self._check("waiting for a place")
        return self._call(ask(), "waiting for a place")

    def service(self, place: str) -> Service:
        """The SSH address of an acquired place's board: its NetworkService."""

        async def read() -> Service:
            await self._session.sync_with_coordinator()
            found = self._session.places.get(place)
            if found is None:
                raise errors.FarmError(f"The place {place!r} is gone from the coordinator",
                                       where=f"coordinator {self.address}",
                                       hint="Ask the farm's keeper; run again for another place")
            resources = self._session.get_target_resources(found)
            services = [(name, entry) for (name, cls), entry in sorted(resources.items())
                        if cls == "NetworkService"]
            if not services:
                raise errors.FarmError(
                    f"The place {place!r} has no NetworkService, so its board cannot be reached "
                    "over SSH", where=f"coordinator {self.address}",
                    hint="Export a NetworkService (address, username, port) for its board "
                    "and add it to the place with `labgrid-client add-match`")
            name, entry = services[0]
            args = entry.args  # a password there is ignored: every client can read it
            return Service(str(args["address"]), int(args.get("port", 22)),
                           str(args["username"]), name)

        self._check("reading the place's NetworkService")
        return self._call(read(), "reading the place's NetworkService")

    # --- changes ----------------------------------------------------------

    def reserve(self, tags: dict[str, str], prio: float = 0.0) -> ReservationState:
        """Queue for a place whose tags include ``tags`` (``name`` is the place's name)."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        async def create() -> ReservationState:
            request = pb2.CreateReservationRequest(
                filters={"main": pb2.Reservation.Filter(filter=tags)}, prio=prio)
            answer = await self._session.stub.CreateReservation(request, timeout=CALL_TIMEOUT_S)
            return _reservation(answer.reservation)

        self._check("reserving a place")
        reservation = self._call(create(), "reserving a place",
                                 undo=lambda made: self.cancel(made.token))
        self._polled_at[reservation.token] = time.monotonic()
        self._held.add(reservation.token)
        return reservation

    def cancel(self, token: str) -> None:
        """Cancel a reservation (before releasing its place, so the next user is served at once)."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        self._held.discard(token)
        self._polled_at.pop(token, None)
        self._hold_lost.pop(token, None)

        async def cancel() -> None:
            await self._session.stub.CancelReservation(pb2.CancelReservationRequest(token=token),
                                                       timeout=CALL_TIMEOUT_S)

        self._call(cancel(), "cancelling a reservation")

    def acquire(self, place: str) -> float:
        """Take the place: nobody else may acquire it until :meth:`release`. Returns the
        place's ``changed`` time as the coordinator set it for this acquisition."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        sent = time.time()

        async def take() -> float:
            nonlocal sent
            self._stop_watching(place)
            sent = time.time()
            await self._session.stub.AcquirePlace(pb2.AcquirePlaceRequest(placename=place),
                                                  timeout=CALL_TIMEOUT_S)
            await self._session.sync_with_coordinator()
            found = self._session.places.get(place)
            return float(found.changed) if found is not None else 0.0

        self._check(f"acquiring the place {place!r}")
        try:
            return self._call(take(), f"acquiring the place {place!r}",
                              undo=lambda _: self.release(place, holder=self.identity))
        except errors.CoordinatorUnreachable as exc:
            # The coordinator may have carried the call out with its answer late or lost (a
            # slow coordinator or link), and an acquisition never expires: watch for it.
            self._watch_late_acquisition(place, sent)
            raise errors.CoordinatorUnreachable(
                f"{exc.what}; if the coordinator acquires the place for us after all, this "
                "session gives it back as soon as the coordinator answers again",
                where=exc.where, hint=exc.hint) from None

    def _watch_late_acquisition(self, place: str, sent: float) -> None:
        """Give ``place`` back if an acquisition sent at ``sent`` (epoch seconds) whose
        answer never came lands after all.

        A call's time limit travels with it (gRPC's deadline), so an acquisition the
        coordinator still carries out is stamped (the place's ``changed``) no later than
        that limit after it was sent, and lands within that limit of the coordinator's
        answering again: the watch looks until then (twice the limit, for margin), and ends
        at once when this session acquires the place anew. Every session of this user on
        this host has the same identity, so a hold stamped later, or one that began after
        the watch's first answer, is another session's and stays.
        """
        identity = self.identity
        latest = sent + CALL_TIMEOUT_S + LATE_MARGIN_S

        async def still(seen: tuple[str | None, float]) -> bool:
            # an answer to a call sent while the coordinator was silent is as old as the
            # call: ask again, so a hand-over since then is seen before giving anything back
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._session.sync_with_coordinator(), CALL_TIMEOUT_S)
                found = self._session.places.get(place)
                return found is not None and (found.acquired, float(found.changed)) == seen
            return False

        async def watch() -> None:
            answered_at: float | None = None
            first: tuple[str | None, float] | None = None
            while answered_at is None or time.monotonic() - answered_at < 2 * CALL_TIMEOUT_S:
                try:
                    await asyncio.wait_for(self._session.sync_with_coordinator(),
                                           CALL_TIMEOUT_S)
                except Exception:  # still silent: look again
                    if self.lost:
                        return  # a new session knows nothing of this place's holder
                    await asyncio.sleep(LATE_WATCH_S)
                    continue
                answered_at = answered_at or time.monotonic()
                found = self._session.places.get(place)
                if found is None:
                    return  # the place is gone: nothing to give back
                now = (found.acquired, float(found.changed))
                first = first or now
                if now != first:
                    return  # changed hands since: whoever holds it now acquired it
                if found.acquired == identity:
                    if now[1] <= latest and await still(now):
                        with contextlib.suppress(Exception):  # given back elsewhere meanwhile
                            await self._release(place, identity)
                    return  # ours, given back; or taken later, so another session's
                await asyncio.sleep(LATE_WATCH_S)

        def ended(task: asyncio.Task[None]) -> None:
            if self._late.get(place) is task:
                del self._late[place]

        async def begin() -> None:
            task = asyncio.get_running_loop().create_task(watch())
            self._late[place] = task
            task.add_done_callback(ended)

        with contextlib.suppress(Exception):  # a session closed meanwhile watches nothing
            asyncio.run_coroutine_threadsafe(begin(), self._loop).result(CALL_TIMEOUT_S)

    def _stop_watching(self, place: str) -> None:
        """On the farm's thread: this session acquires ``place`` anew, so an acquisition
        that lands late is wanted now (a watch stopped there gives nothing back)."""
        task = self._late.pop(place, None)
        if task is not None:
            task.cancel()

    def watching_late(self) -> list[str]:
        """The places whose acquisition timed out and may still land (see :meth:`acquire`),
        watched to be given back."""
        return sorted(self._late)

    def release(self, place: str, *, holder: str | None = None) -> None:
        """Give the place back. With ``holder`` ("host/user"), only if that holder has it
        (freeing a stale hold without racing its next holder)."""
        self._call(self._release(place, holder), f"releasing the place {place!r}")

    async def _release(self, place: str, holder: str | None) -> None:
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        request = (pb2.ReleasePlaceRequest(placename=place, fromuser=holder) if holder
                   else pb2.ReleasePlaceRequest(placename=place))
        await self._session.stub.ReleasePlace(request, timeout=CALL_TIMEOUT_S)
        await self._session.sync_with_coordinator()

    def close(self) -> None:
        """End the session and its thread (reservations still held expire on the coordinator)."""
        if self._loop.is_closed() or not self._thread.is_alive():
            return

        async def stop() -> None:
            for task in list(self._late.values()):  # a late acquisition now stays made
                task.cancel()
            await self._session.stop()
            await self._session.close()

        future = asyncio.run_coroutine_threadsafe(stop(), self._loop)
        try:
            future.result(CALL_TIMEOUT_S)
        except Exception:
            future.cancel()  # a coordinator gone already: the session ends all the same
        except BaseException:
            future.cancel()
            self._loop.call_soon_threadsafe(self._loop.stop)
            raise
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=CALL_TIMEOUT_S)


def _reservation(message: Any) -> ReservationState:
    from labgrid.remote.common import Reservation

    parsed = Reservation.from_pb2(message)
    allocated = parsed.allocations.get("main") or []
    return ReservationState(token=parsed.token, owner=parsed.owner, state=parsed.state.name,
                            prio=float(parsed.prio), tags=dict(parsed.filters.get("main", {})),
                            place=allocated[0] if allocated else None,
                            created=float(parsed.created), timeout=float(parsed.timeout))


_farms: dict[str, Farm] = {}
_farms_lock = threading.Lock()


def farm_for(address: str | None = None) -> Farm:
    """The process's session with the coordinator at ``address`` (see
    :func:`coordinator_address`), opened on first use and again after it was lost."""
    where = coordinator_address(address)
    with _farms_lock:
        found = _farms.get(where)
        if found is None or found.lost:
            if found is not None:
                found.close()
            found = _farms[where] = Farm(where)
        return found
