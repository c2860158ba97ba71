"""The server extension's REST endpoints, in a real jupyter_server (pytest-jupyter's fixtures).

Run in a pytest process without the browser tests (tests/browser): pytest-jupyter's
event loop and Playwright's sync API do not share a process.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from tests.ssh.sshd import Sshd, keygen, start_sshd
from workbench.devices import registry
from workbench.server.status import StatusCache

# pytest-jupyter has no entry point: its server fixtures are loaded here only.
pytest_plugins = ("pytest_jupyter.jupyter_server",)

Fetch = Callable[..., Any]


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"workbench.server": True}}}


@pytest.fixture
def silent_board() -> Iterator[tuple[str, socket.socket]]:
    """A registered ssh board whose port accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    registry.add("silent-board", host="127.0.0.1", port=listener.getsockname()[1], user="nobody",
                 timeout=60)
    try:
        yield "silent-board", listener
    finally:
        listener.close()
        registry.remove("silent-board")


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """The test suite's real sshd on 127.0.0.1 (see tests/ssh)."""
    folder = tmp_path_factory.mktemp("sshd")
    server = start_sshd(folder, keygen(folder / "authorized_client"))
    yield server
    server.stop()


@pytest.fixture
def locked_board(sshd: Sshd, tmp_path: Path) -> Iterator[str]:
    """A registered board whose known key is trusted but whose login needs what the
    server does not hold (the key given is not authorised there)."""
    registry.add("locked-board", host="127.0.0.1", port=sshd.port, user="root",
                 key_filename=str(keygen(tmp_path / "not_authorised")),
                 known_hosts=[str(sshd.known_hosts)],
                 user_known_hosts=str(tmp_path / "user_known_hosts"),
                 ssh_config=str(tmp_path / "no_ssh_config"))
    try:
        yield "locked-board"
    finally:
        registry.remove("locked-board")


async def _refused(fetch: Fetch, *parts: str, **kwargs: Any) -> int:
    with pytest.raises(HTTPClientError) as caught:
        await fetch(*parts, **kwargs)
    code: int = caught.value.code
    return code


async def test_the_device_list_names_every_known_device_with_its_kind(jp_fetch: Fetch) -> None:
    response = await jp_fetch("workbench", "api", "devices")
    devices = {d["name"]: d for d in json.loads(response.body)["devices"]}
    assert devices["local"]["kind"] == "local"
    assert all("status" in entry for entry in devices.values())


async def test_the_local_device_is_ready_with_its_runtimes(jp_fetch: Fetch) -> None:
    response = await jp_fetch("workbench", "api", "devices", "local")
    status = json.loads(response.body)["status"]
    assert status["state"] == "ready" and status["reachable"] is True
    assert "onnxruntime" in status["runtimes"]


async def test_a_device_s_probe_reports_what_it_is(jp_fetch: Fetch) -> None:
    response = await jp_fetch("workbench", "api", "devices", "local", "probe")
    probe = json.loads(response.body)
    assert probe["name"] == "local"
    assert "onnxruntime" in probe["runtimes"]


async def test_a_device_s_status_reports_its_lock_and_queue(jp_fetch: Fetch) -> None:
    response = await jp_fetch("workbench", "api", "devices", "local", "status")
    status = json.loads(response.body)
    assert status["busy"] is False and status["queue"] == 0 and status["jobs"] == []


async def test_no_token_is_refused(jp_fetch: Fetch) -> None:
    code = await _refused(jp_fetch, "workbench", "api", "devices", headers={"Authorization": ""})
    assert code == 403


async def test_a_wrong_token_is_refused(jp_fetch: Fetch) -> None:
    code = await _refused(jp_fetch, "workbench", "api", "devices",
                          headers={"Authorization": "token not-the-token"})
    assert code == 403


async def test_a_cookie_post_without_xsrf_is_refused_and_with_it_accepted(
        jp_fetch: Fetch, jp_serverapp: Any) -> None:
    response = await jp_fetch("api", "status", headers={"Authorization": ""},
                              params={"token": jp_serverapp.identity_provider.token})
    cookie = "; ".join(c.split(";")[0] for c in response.headers.get_list("Set-Cookie"))
    assert cookie.startswith("username-")
    code = await _refused(jp_fetch, "workbench", "api", "devices", "refresh", method="POST",
                          body=b"", headers={"Authorization": "", "Cookie": cookie})
    assert code == 403
    # tornado's version-2 token: a 4-byte mask (zeros here), the masked token, a time
    xsrf = "2|00000000|" + "5e" * 16 + "|1700000000"
    accepted = await jp_fetch("workbench", "api", "devices", "refresh", method="POST", body=b"",
                              headers={"Authorization": "", "Cookie": f"{cookie}; _xsrf={xsrf}",
                                       "X-XSRFToken": xsrf})
    assert accepted.code == 200


async def test_an_unknown_device_name_is_refused_before_any_connection(jp_fetch: Fetch) -> None:
    for path in (("10.0.0.1",), ("evil.example.com", "probe"), ("10.0.0.1:22", "status")):
        code = await _refused(jp_fetch, "workbench", "api", "devices", *path)
        assert code == 404


async def test_trusting_needs_a_fingerprint(jp_fetch: Fetch) -> None:
    code = await _refused(jp_fetch, "workbench", "api", "devices", "local", "trust",
                          method="POST", body=b"{}")
    assert code == 400


async def test_a_board_that_needs_a_password_shows_needs_credentials(
        jp_fetch: Fetch, locked_board: str) -> None:
    response = await jp_fetch("workbench", "api", "devices", locked_board, "status")
    status = json.loads(response.body)
    assert status["state"] == "needs credentials"
    assert status["error"]["type"] == "AuthenticationFailed"


async def test_trusting_a_device_without_a_host_key_is_refused_with_the_reason(
        jp_fetch: Fetch) -> None:
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("workbench", "api", "devices", "local", "trust", method="POST",
                       body=json.dumps({"fingerprint": "SHA256:abc"}))
    assert caught.value.code == 409
    assert caught.value.response is not None
    error = json.loads(caught.value.response.body)
    assert error["type"] == "DeviceError" and "no host key" in error["what"]


async def test_other_requests_are_answered_while_a_probe_hangs(
        jp_fetch: Fetch, silent_board: tuple[str, socket.socket]) -> None:
    name, listener = silent_board
    hanging = asyncio.ensure_future(jp_fetch("workbench", "api", "devices", name, "probe"))
    answered = await jp_fetch("workbench", "api", "devices", "local", "status")
    assert answered.code == 200
    assert not hanging.done()
    listener.close()  # the board goes away: the probe fails instead of waiting for its timeout
    assert await _refused_future(hanging) == 502


async def _refused_future(future: Any) -> int:
    with pytest.raises(HTTPClientError) as caught:
        await future
    code: int = caught.value.code
    return code


class TestUnderABaseUrl:
    @pytest.fixture
    def jp_base_url(self) -> str:
        return "/user/someone/"

    async def test_the_endpoints_answer_under_the_base_url(self, jp_fetch: Fetch,
                                                           jp_base_url: str) -> None:
        response = await jp_fetch("workbench", "api", "devices")
        assert response.effective_url.split("?")[0].endswith("/user/someone/workbench/api/devices")
        assert "local" in {d["name"] for d in json.loads(response.body)["devices"]}


# --- the status cache -----------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _counting_cache(clock: Clock) -> tuple[StatusCache, list[str]]:
    calls: list[str] = []

    def checker(name: str) -> dict[str, Any]:
        calls.append(name)
        return {"state": "ready", "seen": len(calls)}

    return StatusCache(max_age=30, checker=checker, clock=clock), calls


def test_clients_asking_at_once_share_one_check() -> None:
    cache, calls = _counting_cache(Clock())

    async def two_clients() -> list[dict[str, Any]]:
        return list(await asyncio.gather(cache.status("pi"), cache.status("pi")))

    try:
        first, second = asyncio.run(two_clients())
    finally:
        cache.close()
    assert calls == ["pi"] and first == second


def test_a_status_is_checked_again_only_when_older_than_30_s() -> None:
    clock = Clock()
    cache, calls = _counting_cache(clock)
    try:
        asyncio.run(cache.status("pi"))
        clock.now = 29
        asyncio.run(cache.status("pi"))
        assert calls == ["pi"]
        clock.now = 31
        asyncio.run(cache.status("pi"))
        assert calls == ["pi", "pi"]
    finally:
        cache.close()


def test_a_refresh_checks_again_however_fresh_the_status() -> None:
    cache, calls = _counting_cache(Clock())
    try:
        asyncio.run(cache.statuses(["pi", "local"]))
        asyncio.run(cache.statuses(["pi", "local"], force=True))
    finally:
        cache.close()
    assert sorted(calls) == ["local", "local", "pi", "pi"]
