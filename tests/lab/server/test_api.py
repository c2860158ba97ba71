"""The server extension's REST endpoints, in a real jupyter_server (pytest-jupyter's fixtures).

Run in a pytest process without the browser tests (tests/browser): pytest-jupyter's
event loop and Playwright's sync API do not share a process.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from tests.conftest import sleepy_job, until
from tests.lab.boards import registered_board
from tests.ssh.sshd import Sshd, keygen, start_sshd
from workbench import errors
from workbench.devices import connect, registry
from workbench.server.status import StatusCache, check_order

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


@pytest.fixture
def closed_board() -> Iterator[str]:
    """A registered ssh board on a port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    registry.add("closed-board", host="127.0.0.1", port=port, user="nobody", timeout=5)
    try:
        yield "closed-board"
    finally:
        registry.remove("closed-board")


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """The test suite's real sshd on 127.0.0.1 (see tests/ssh)."""
    folder = tmp_path_factory.mktemp("sshd")
    server = start_sshd(folder, keygen(folder / "authorized_client"))
    yield server
    server.stop()


@pytest.fixture
def locked_board(sshd: Sshd, tmp_path: Path) -> Iterator[str]:
    """A board whose known key is trusted but whose login needs what the server does not
    hold (the key given is not authorised there)."""
    with registered_board("locked-board", sshd, tmp_path, authorised=False) as name:
        yield name


@pytest.fixture
def new_board(sshd: Sshd, tmp_path: Path) -> Iterator[str]:
    """A board the server can log in to, whose host key nobody trusted yet."""
    with registered_board("new-board", sshd, tmp_path, trusted=False) as name:
        yield name


@pytest.fixture
def held_local_board(tmp_path: Path) -> Iterator[list[dict[str, Any]]]:
    """This machine's board held by a running job of "alice@lab", with one job waiting behind.

    Real agents take the real board lock (sleepy runners); both are cancelled at the end.
    """
    device = connect("local")
    cancel = threading.Event()
    failures: list[BaseException] = []
    jobs = []
    for holder in ("alice@lab", "bob@lab"):
        (tmp_path / holder).mkdir()
        job = sleepy_job(tmp_path / holder, device=device)
        job["lock"] = {"path": device.lock_path(), "holder": holder}
        jobs.append(job)

    def run(job: dict[str, Any]) -> None:
        try:
            device.run(job, cancel=cancel)
        except errors.JobCancelled:
            pass
        except BaseException as exc:  # asserted in the test's own thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    try:
        threads[0].start()
        until(lambda: (Path(jobs[0]["workdir"]) / "started").exists() or failures, seconds=60)
        threads[1].start()
        until(lambda: device.status()["lock"]["waiters"] or failures, seconds=60)
        assert not failures, failures
        yield jobs
    finally:
        cancel.set()
        for thread in threads:
            if thread.is_alive():
                thread.join(60)


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
    # emulated boards that are not running are listed without starting qemu for them
    idle = [d for d in devices.values() if d["kind"] == "emulated" and not d.get("running")]
    assert all(d["status"]["state"] == "not started" and not d["checking"] for d in idle)


async def test_hosts_of_the_user_s_ssh_config_are_listed_as_ssh_devices(
        jp_fetch: Fetch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text(
        "Host lab-pi\n  HostName 192.0.2.50\n  User pi\nHost *.internal\n  User admin\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    response = await jp_fetch("workbench", "api", "devices")
    devices = {d["name"]: d for d in json.loads(response.body)["devices"]}
    assert devices["lab-pi"]["kind"] == "ssh"
    assert not any("*" in name for name in devices)  # patterns name no device


async def test_the_read_only_endpoints_refuse_writes(jp_fetch: Fetch) -> None:
    for path in (("devices",), ("devices", "local"), ("devices", "local", "status"),
                 ("devices", "local", "probe"), ("devices", "local", "jobs")):
        code = await _refused(jp_fetch, "workbench", "api", *path, method="POST", body=b"{}")
        assert code == 405, path


async def test_without_a_coordinator_the_farm_section_says_how_to_name_one(
        jp_fetch: Fetch, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LG_COORDINATOR", raising=False)
    farm = json.loads((await jp_fetch("workbench", "api", "farm")).body)
    assert farm["configured"] is False and "LG_COORDINATOR" in farm["message"]
    refreshed = await jp_fetch("workbench", "api", "farm", "refresh", method="POST", body=b"")
    assert json.loads(refreshed.body)["configured"] is False
    assert await _refused(jp_fetch, "workbench", "api", "farm", method="POST", body=b"") == 405


async def test_the_local_device_is_ready_with_its_runtimes(jp_fetch: Fetch) -> None:
    response = await jp_fetch("workbench", "api", "devices", "local")
    status = json.loads(response.body)["status"]
    assert status["state"] == "ready" and status["reachable"] is True
    assert "onnxruntime" in status["runtimes"]


async def test_an_emulated_arm_board_shows_its_detected_target_and_runtimes(
        jp_fetch: Fetch) -> None:
    from workbench import emulator

    if not emulator.is_built():
        pytest.skip("the emulator's root file system is not built (WORKBENCH_EMULATOR_DIR)")
    response = await jp_fetch("workbench", "api", "devices", "qemu:raspberry-pi-5", "status",
                              request_timeout=600)
    status = json.loads(response.body)
    assert status["state"] == "ready", status
    assert status["target"] is not None
    assert status["target"] == "raspberry-pi-5"  # the preset's board, whatever else ran
    assert status["runtimes"]  # what its root file system brings (LiteRT here)


async def test_a_device_s_probe_reports_what_it_is(jp_fetch: Fetch) -> None:
    response = await jp_fetch("workbench", "api", "devices", "local", "probe")
    probe = json.loads(response.body)
    assert probe["name"] == "local"
    assert "onnxruntime" in probe["runtimes"]


async def test_a_device_s_status_reports_its_lock_and_queue(jp_fetch: Fetch) -> None:
    response = await jp_fetch("workbench", "api", "devices", "local", "status")
    status = json.loads(response.body)
    assert status["busy"] is False and status["queue"] == 0 and status["jobs"] == []


async def test_the_jobs_of_a_free_board_show_no_holder_and_no_queue(jp_fetch: Fetch) -> None:
    response = await jp_fetch("workbench", "api", "devices", "local", "jobs")
    jobs = json.loads(response.body)
    assert jobs["device"] == "local" and jobs["busy"] is False
    assert jobs["holder"] is None and jobs["queue"] == [] and jobs["jobs"] == []


async def test_the_jobs_of_a_held_board_name_the_holder_the_queue_and_the_running_job(
        jp_fetch: Fetch, held_local_board: list[dict[str, Any]]) -> None:
    response = await jp_fetch("workbench", "api", "devices", "local", "jobs")
    jobs = json.loads(response.body)
    assert jobs["busy"] is True
    assert jobs["holder"]["holder"] == "alice@lab"
    assert jobs["holder"]["job"] == held_local_board[0]["id"]
    assert [waiter["holder"] for waiter in jobs["queue"]] == ["bob@lab"]
    states = {job["id"]: job["state"] for job in jobs["jobs"]}
    assert states[Path(held_local_board[0]["workdir"]).name] == "running"


async def test_a_held_board_s_status_says_busy_with_holder_and_queue(
        jp_fetch: Fetch, held_local_board: list[dict[str, Any]]) -> None:
    response = await jp_fetch("workbench", "api", "devices", "local", "status")
    status = json.loads(response.body)
    assert status["state"] == "busy" and status["busy"] is True
    assert status["holder"] == "alice@lab" and status["queue"] == 1


async def test_the_jobs_of_a_board_that_cannot_be_reached_answer_502_with_the_reason(
        jp_fetch: Fetch, closed_board: str) -> None:
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("workbench", "api", "devices", closed_board, "jobs")
    assert caught.value.code == 502
    assert caught.value.response is not None
    answer = json.loads(caught.value.response.body)
    assert answer["state"] == "unreachable" and answer["hint"]


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
    for path in (("10.0.0.1",), ("evil.example.com", "probe"), ("10.0.0.1:22", "status"),
                 ("127.0.0.1", "jobs")):
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


async def test_after_trusting_its_host_key_a_board_shows_ready(
        jp_fetch: Fetch, new_board: str, sshd: Sshd) -> None:
    response = await jp_fetch("workbench", "api", "devices", new_board, "status")
    refused = json.loads(response.body)
    assert refused["state"] == "unknown host key" and refused["reachable"] is True
    assert refused["fingerprint"] == sshd.host_fingerprint
    response = await jp_fetch("workbench", "api", "devices", new_board, "trust", method="POST",
                              body=json.dumps({"fingerprint": refused["fingerprint"]}))
    trusted = json.loads(response.body)
    assert trusted["status"]["state"] == "ready", trusted["status"]
    response = await jp_fetch("workbench", "api", "devices", "refresh", method="POST", body=b"")
    listed = {d["name"]: d["status"] for d in json.loads(response.body)["devices"]}
    assert listed[new_board]["state"] == "ready"
    assert "onnxruntime" in listed[new_board]["runtimes"]


async def test_trusting_a_fingerprint_the_board_does_not_show_is_refused(
        jp_fetch: Fetch, new_board: str) -> None:
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("workbench", "api", "devices", new_board, "trust", method="POST",
                       body=json.dumps({"fingerprint": "SHA256:not-its-key"}))
    assert caught.value.code == 409
    response = await jp_fetch("workbench", "api", "devices", new_board, "status")
    assert json.loads(response.body)["state"] == "unknown host key"


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


class GatedChecks:
    """A status cache whose first check hangs until ``go_on`` is set."""

    def __init__(self) -> None:
        self.begun, self.go_on = threading.Event(), threading.Event()
        self.calls = 0
        self.cache = StatusCache(checker=self.check)

    def check(self, name: str) -> dict[str, Any]:
        self.calls += 1  # one device is checked by one thread at a time
        seen = self.calls
        if seen == 1:
            self.begun.set()
            self.go_on.wait(30)
        return {"state": "ready", "seen": seen}

    def during_the_first_check(self, refreshes: int) -> list[dict[str, Any]]:
        """The first check's answer, then those of ``refreshes`` refreshes asked while it ran."""

        async def scenario() -> list[dict[str, Any]]:
            first = asyncio.ensure_future(self.cache.status("pi"))
            await asyncio.get_running_loop().run_in_executor(None, self.begun.wait, 30)
            forced = [asyncio.ensure_future(self.cache.status("pi", force=True))
                      for _ in range(refreshes)]
            await asyncio.sleep(0)  # each refresh has asked (its first step) before going on
            self.go_on.set()
            return [await first] + [await refresh for refresh in forced]

        try:
            return asyncio.run(scenario())
        finally:
            self.go_on.set()
            self.cache.close()


def test_a_forced_refresh_answers_from_a_check_begun_after_it_was_asked() -> None:
    """A check under way may predate what the refresh is for (a key trusted just now)."""
    gated = GatedChecks()
    first, forced = gated.during_the_first_check(1)
    assert first["seen"] == 1 and forced["seen"] == 2
    assert gated.cache.cached("pi") == forced


def test_refreshes_asked_before_their_check_begins_share_it() -> None:
    gated = GatedChecks()
    answers = gated.during_the_first_check(3)
    assert [answer["seen"] for answer in answers] == [1, 2, 2, 2]
    assert gated.calls == 2


def test_emulated_boards_are_checked_after_this_machine_and_real_boards() -> None:
    entries = {"qemu:raspberry-pi-5": {"kind": "emulated"}, "local": {"kind": "local"},
               "emu-pi4": {"kind": "emulated"}, "pi5": {"kind": "ssh"}}
    assert check_order(entries) == ["local", "pi5", "qemu:raspberry-pi-5", "emu-pi4"]


LISTED = {"local": {"name": "local", "kind": "local"},
          "qemu:raspberry-pi-5": {"name": "qemu:raspberry-pi-5", "kind": "emulated"},
          "emu-pi4": {"name": "emu-pi4", "kind": "emulated", "running": True},
          "emu-pi3": {"name": "emu-pi3", "kind": "emulated", "running": False}}


def _states(listed: list[dict[str, Any]]) -> dict[str, str]:
    return {entry["name"]: entry["status"]["state"] for entry in listed}


def test_a_refresh_leaves_emulated_boards_that_are_not_running_unchecked_and_not_started(
        ) -> None:
    cache, calls = _counting_cache(Clock())
    try:
        listed = asyncio.run(cache.listing(LISTED, force=True))
    finally:
        cache.close()
    assert sorted(calls) == ["emu-pi4", "local"]
    assert _states(listed) == {"local": "ready", "qemu:raspberry-pi-5": "not started",
                               "emu-pi4": "ready", "emu-pi3": "not started"}
    assert "qemu:raspberry-pi-5/status" in listed[1]["status"]["message"]


def test_an_emulated_board_asked_for_by_name_is_listed_and_refreshed_like_the_others(
        ) -> None:
    cache, calls = _counting_cache(Clock())
    try:
        asyncio.run(cache.status("qemu:raspberry-pi-5"))
        listed = asyncio.run(cache.listing(LISTED, force=True))
    finally:
        cache.close()
    assert calls.count("qemu:raspberry-pi-5") == 2 and "emu-pi3" not in calls
    assert _states(listed)["qemu:raspberry-pi-5"] == "ready"
