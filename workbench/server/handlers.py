"""REST handlers under ``{base_url}workbench/api/``; they call the public API and hold no logic.

=======  ==========================================  ==========================================
method   path                                        answer
=======  ==========================================  ==========================================
GET      ``devices``                                 every known device with its cached status
POST     ``devices/refresh``                         the same, every device checked again
GET      ``devices/NAME``                            one device and its status
GET      ``devices/NAME/status``                     its status (lock holder, queue, jobs)
GET      ``devices/NAME/probe``                      its probe (``DeviceInfo.to_dict()``)
GET      ``devices/NAME/jobs``                       its lock (holder, waiters) and job records
POST     ``devices/NAME/trust``                      trust its host key: ``{"fingerprint": ...}``
GET      ``farm``                                    the labgrid farm: places, holders, queue
POST     ``farm/refresh``                            the same, asked of the coordinator again
=======  ==========================================  ==========================================

A listed device carries ``checking: true`` while a check of it is under way:
its status is then the last known one (or null), and a client asks again. An
emulated board that is not running is listed as ``not started`` and checked
only once asked for by name (``devices/NAME`` or ``devices/NAME/status``).

Every endpoint needs Jupyter's authentication (token, or cookie plus XSRF for
POST). A NAME must be a device ``known_devices()`` lists; a host or port is
never taken from a request. Errors answer ``{"type", "what", "where", "hint"}``.
"""

from __future__ import annotations

import json
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from workbench import errors
from workbench.server.status import StatusCache, farm_view, known_names

_CACHE_KEY = "workbench_status_cache"
_FARM_CACHE_KEY = "workbench_farm_cache"


class _Handler(APIHandler):
    @property
    def cache(self) -> StatusCache:
        cache: StatusCache = self.settings[_CACHE_KEY]
        return cache

    def reply(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, default=str))

    def refuse(self, exc: errors.WorkbenchError, status: int) -> None:
        self.reply(exc.to_dict(), status)

    async def known(self, name: str) -> dict[str, Any] | None:
        """The listing entry of ``name``, or None after answering 404."""
        names = await self.cache.run(known_names)
        if name not in names:
            self.refuse(errors.DeviceNotFound(
                "No known device has this name", where=f"device {name!r}",
                hint="GET workbench/api/devices lists them; add boards with "
                     "`workbench device add`"), 404)
            return None
        entry: dict[str, Any] = names[name]
        return entry


class DevicesHandler(_Handler):
    """GET ``devices``: the known devices with their statuses (checked when stale;
    emulated boards that are not running only once asked for by name)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        await self._answer(force=False)

    async def _answer(self, force: bool) -> None:
        names = await self.cache.run(known_names)
        self.reply({"devices": await self.cache.listing(names, force=force)})


class RefreshHandler(DevicesHandler):
    """POST ``devices/refresh``: check every listed device again (not the emulated
    boards that are not started and were never asked for), then list them."""

    @tornado.web.authenticated
    async def post(self) -> None:
        await self._answer(force=True)


class DeviceHandler(_Handler):
    """GET ``devices/NAME``: one device's listing entry and status."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        entry = await self.known(name)
        if entry is not None:
            self.reply({**entry, "status": await self.cache.status(name)})


class StatusHandler(_Handler):
    """GET ``devices/NAME/status``: the device's status (at most :data:`MAX_AGE_S` old)."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        if await self.known(name) is not None:
            self.reply(await self.cache.status(name))


class JobsHandler(_Handler):
    """GET ``devices/NAME/jobs``: who holds the board, who waits, and its job records.

    From the agent's status tool, through the shared status cache (at most
    :data:`MAX_AGE_S` old; ``checked`` says when). A board that cannot report
    them answers 502 with the reason.
    """

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        if await self.known(name) is None:
            return
        status = await self.cache.status(name)
        if status.get("lock") is None:
            error = status.get("error") or errors.DeviceError(
                "The device did not report its jobs", where=f"device {name!r}",
                hint="POST workbench/api/devices/refresh to check it again").to_dict()
            self.reply({**error, "state": status.get("state")}, 502)
            return
        lock = status["lock"]
        self.reply({"device": name, "checked": status.get("checked"), "busy": lock["held"],
                    "holder": lock["holder"], "since": lock["since"],
                    "queue": lock["waiters"], "jobs": status.get("jobs") or []})


def _probe(name: str) -> dict[str, Any]:
    from workbench.devices import connect

    info: dict[str, Any] = connect(name).probe().to_dict()
    return info


def _trust(name: str, fingerprint: str) -> str:
    from workbench.devices import connect

    return str(connect(name).trust_host_key(fingerprint))


class ProbeHandler(_Handler):
    """GET ``devices/NAME/probe``: what the device is (arch, CPU, runtimes, ...)."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        if await self.known(name) is None:
            return
        try:
            self.reply(await self.cache.run(_probe, name))
        except errors.WorkbenchError as exc:
            self.refuse(exc, 502)


class TrustHandler(_Handler):
    """POST ``devices/NAME/trust`` with ``{"fingerprint": "SHA256:..."}``: trust its host key."""

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        if await self.known(name) is None:
            return
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            body = None
        fingerprint = body.get("fingerprint") if isinstance(body, dict) else None
        if not isinstance(fingerprint, str) or not fingerprint:
            self.refuse(errors.InvalidOptionValue(
                "The request gives no host key fingerprint", where=f"device {name!r}",
                hint='Send {"fingerprint": "SHA256:..."} as the status reported it'), 400)
            return
        try:
            path = await self.cache.run(_trust, name, fingerprint)
        except errors.WorkbenchError as exc:
            self.refuse(exc, 409)
            return
        self.reply({"device": name, "fingerprint": fingerprint, "known_hosts": path,
                    "status": await self.cache.status(name, force=True)})


class FarmHandler(_Handler):
    """GET ``farm``: the farm's places with their holders, the queue and stale holds
    (``{"configured": false}`` without one), at most :data:`MAX_AGE_S` old."""

    @tornado.web.authenticated
    async def get(self) -> None:
        await self._answer(force=False)

    async def _answer(self, force: bool) -> None:
        cache: StatusCache = self.settings[_FARM_CACHE_KEY]
        self.reply(await cache.status("farm", force=force))


class FarmRefreshHandler(FarmHandler):
    """POST ``farm/refresh``: ask the coordinator again."""

    @tornado.web.authenticated
    async def post(self) -> None:
        await self._answer(force=True)


def _farm(_: str) -> dict[str, Any]:
    return farm_view()


def setup_handlers(web_app: Any) -> None:
    """Add the routes under the server's base URL, with one status cache for all clients."""
    web_app.settings[_CACHE_KEY] = StatusCache()
    # the farm's status is one more status, cached and shared the same way
    web_app.settings[_FARM_CACHE_KEY] = StatusCache(workers=1, checker=_farm)
    base = url_path_join(web_app.settings["base_url"], "workbench", "api")
    device = r"devices/(?P<name>[^/]+)"
    web_app.add_handlers(".*$", [
        (url_path_join(base, "devices"), DevicesHandler),
        (url_path_join(base, "devices", "refresh"), RefreshHandler),
        (url_path_join(base, device), DeviceHandler),
        (url_path_join(base, device, "status"), StatusHandler),
        (url_path_join(base, device, "probe"), ProbeHandler),
        (url_path_join(base, device, "jobs"), JobsHandler),
        (url_path_join(base, device, "trust"), TrustHandler),
        (url_path_join(base, "farm"), FarmHandler),
        (url_path_join(base, "farm", "refresh"), FarmRefreshHandler),
    ])


def close_handlers(web_app: Any) -> None:
    """Stop the status cache's thread pool (the server is shutting down)."""
    for key in (_CACHE_KEY, _FARM_CACHE_KEY):
        cache = web_app.settings.get(key)
        if isinstance(cache, StatusCache):
            cache.close()
