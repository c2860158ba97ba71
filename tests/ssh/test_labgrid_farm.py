"""labgrid: devices reserved from a real coordinator and exporter, run over the real sshd.

Two places (``pi-a``, ``pi-b``, both tagged soc=bcm2712, lab=ws) whose
NetworkServices point at the test sshd; the coordinator and exporter live for
the module. Each test leaves the farm idle (no holder, no reservation).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from tests.conftest import until
from tests.ssh.labgrid_farm import LabFarm, SlowAnswers, labgrid_installed, start_farm
from tests.ssh.sshd import Sshd
from workbench import errors
from workbench._paths import cache_dir

if not labgrid_installed():
    pytest.skip("labgrid is not installed: run `bash tests/setup.sh` (the farm extra)",
                allow_module_level=True)

from workbench.devices import farm as farm_module
from workbench.devices.farm import Farm, PlaceState
from workbench.devices.farm_status import farm_status, forget_hold, free_stale
from workbench.devices.labgrid_device import LabgridDevice, queue_position

TAGS = "labgrid:soc=bcm2712,lab=ws"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, sshd: Sshd) -> Iterator[LabFarm]:
    tags = {"soc": "bcm2712", "lab": "ws"}
    farm = start_farm(tmp_path_factory.mktemp("farm"),
                      {"pi-a": ("board-a", tags), "pi-b": ("board-b", tags)})
    try:
        farm.export(sshd, ["board-a", "board-b"])
        yield farm
    finally:
        farm.stop()


@pytest.fixture(scope="module")
def observer(lab: LabFarm) -> Iterator[Farm]:
    """A session of its own, for looking at the farm and competing in its queue."""
    session = Farm(lab.address)
    yield session
    session.close()


def ssh_settings(sshd: Sshd, folder: Path) -> dict[str, Any]:
    return dict(key_filename=str(sshd.client_key), known_hosts=[sshd.known_hosts],
                user_known_hosts=folder / "user_known_hosts", ssh_config=folder / "no_config",
                allow_agent=False, look_for_keys=False, python=sys.executable,
                remote_cache=str(folder / "board-cache"), board_dir=str(folder / "board"),
                timeout=5)


@pytest.fixture(scope="module")
def board_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The boards' cache and lock folder, shared by the module's tests (uploads made once)."""
    return tmp_path_factory.mktemp("farm-boards")


@pytest.fixture
def settings(lab: LabFarm, sshd: Sshd, board_folder: Path,
             observer: Farm) -> Iterator[dict[str, Any]]:
    yield {"coordinator": lab.address, **ssh_settings(sshd, board_folder)}
    # every test leaves the farm as it found it
    assert [p.acquired for p in observer.places()] == [None, None]
    assert observer.reservations() == []


def queue_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("stage") == "queue"]


def test_a_job_on_labgrid_tags_runs_on_a_reserved_place_and_gives_it_back(
        settings: dict[str, Any], conv_model: Path) -> None:
    device = wb.connect(TAGS, **settings)
    p = wb.profile(conv_model, device=device, warmup=0, runs=2, profile_runs=1)
    place = p.document["device"]["place"]
    assert place["name"] in ("pi-a", "pi-b")
    assert place["tags"] == {"soc": "bcm2712", "lab": "ws"}
    assert p.document["device"]["kind"] == "labgrid"
    assert len(p.document["latency"]["samples_ms"]) == 2
    # between holds the device knows no board: nothing reaches the place without a reservation
    assert device.place is None
    with pytest.raises(errors.FarmError, match="holds no place"):
        device.probe()


def test_three_clients_on_two_places_wait_in_order_and_report_their_position(
        settings: dict[str, Any], conv_model: Path, observer: Farm) -> None:
    first, second, third = (wb.connect(TAGS, **settings) for _ in range(3))
    assert isinstance(first, LabgridDevice) and isinstance(second, LabgridDevice)
    held = {first.hold(), second.hold()}
    assert held == {"pi-a", "pi-b"}
    later = None
    try:
        events: list[dict[str, Any]] = []
        job = wb.submit(conv_model, device=third, warmup=0, runs=1, on_event=events.append)
        until(lambda: queue_events(events))
        # a fourth reservation, made after the third's, queues behind it
        later = observer.reserve({"soc": "bcm2712"})
        assert queue_position(later.token, observer.reservations(), observer.places()) == {
            "place": 2, "length": 2, "holder": observer.identity}
        waiting = queue_events(events)[0]
        assert (waiting["source"], waiting["place"], waiting["length"]) == ("farm", 1, 1)
        assert waiting["holder"] == observer.identity
        given_back = first.place
        first.leave()  # the third, first in line, gets the place; the fourth waits on
        profile = job.result(timeout=120)
        assert profile.document["device"]["place"]["name"] == given_back
        assert observer.poll(later.token).place == given_back  # its turn after the third
    finally:
        if later is not None:
            observer.cancel(later.token)
        first.leave()
        second.leave()


def test_a_failed_job_cancels_its_reservation_and_releases_its_place(
        settings: dict[str, Any], conv_model: Path) -> None:
    events: list[dict[str, Any]] = []
    with pytest.raises(errors.UnknownOption):
        wb.profile(conv_model, device=wb.connect("labgrid:pi-a", **settings),
                   options={"no_such_option": 1}, on_event=events.append)
    assert events[-1]["stage"] == "failed"


def test_a_job_cancelled_while_it_waits_leaves_the_queue(
        settings: dict[str, Any], conv_model: Path, observer: Farm) -> None:
    holder = wb.connect("labgrid:pi-b", **settings)
    assert isinstance(holder, LabgridDevice)
    holder.hold()
    try:
        events: list[dict[str, Any]] = []
        job = wb.submit(conv_model, device=wb.connect("labgrid:pi-b", **settings), runs=1,
                        on_event=events.append)
        until(lambda: queue_events(events))
        job.cancel()
        with pytest.raises(errors.JobCancelled):
            job.result(timeout=30)
        assert [r.state for r in observer.reservations()] == ["acquired"]  # the holder's only
    finally:
        holder.leave()


def test_reserve_holds_one_place_across_jobs_and_a_comparison_warns_across_places(
        settings: dict[str, Any], conv_model: Path, observer: Farm) -> None:
    with wb.reserve("labgrid:pi-a", **settings) as device:
        ran = [wb.profile(conv_model, device=device, warmup=0, runs=1, profile_runs=0)
               for _ in range(2)]
        assert [p.acquired for p in observer.places()] == [observer.identity, None]
    other = wb.profile(conv_model, device=wb.connect("labgrid:pi-b", **settings), warmup=0,
                       runs=1, profile_runs=0)
    assert [p.document["device"]["place"]["name"] for p in [*ran, other]] == [
        "pi-a", "pi-a", "pi-b"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert wb.compare(ran).warnings == []
    with pytest.warns(UserWarning, match=r"different farm places.*pi-a.*pi-b"):
        wb.compare([ran[0], other])


def test_a_reserved_place_is_given_back_at_its_time_limit(
        settings: dict[str, Any], conv_model: Path, observer: Farm) -> None:
    with wb.reserve("labgrid:pi-b", max_s=0.5, **settings) as device:
        assert isinstance(device, LabgridDevice)
        until(lambda: [p.acquired for p in observer.places()] == [None, None])
        assert device.place is None
        with pytest.raises(errors.HoldEnded, match=r"0\.5 s"):
            wb.profile(conv_model, device=device, runs=1)


def plain(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings as JSON takes them (paths as text), for another process."""
    return {k: [str(p) for p in v] if isinstance(v, list) else str(v) if isinstance(v, Path)
            else v for k, v in settings.items()}


def test_in_a_notebook_a_farm_job_waits_and_an_interrupt_while_it_waits_leaves_the_queue(
        settings: dict[str, Any], conv_model: Path, observer: Farm) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cells = [
        f"import json, workbench as wb\nsettings = json.loads({json.dumps(plain(settings))!r})"
        "\nevents = []",
        # waits behind the test's hold on pi-a until the kernel is interrupted
        f"wb.profile({str(conv_model)!r}, device=wb.connect('labgrid:pi-a', **settings), "
        "runs=1, on_event=events.append)",
        "print(json.dumps([e.get('stage') for e in events]))",
    ]
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in cells])
    client = nbclient.NotebookClient(
        notebook, timeout=120, interrupt_on_timeout=True, allow_errors=True,
        kernel_name="python3", timeout_func=lambda cell: 8 if "on_event" in cell.source else 120)
    holder = wb.connect("labgrid:pi-a", **settings)
    assert isinstance(holder, LabgridDevice)
    holder.hold()
    try:
        client.execute()
        assert [r.state for r in observer.reservations()] == ["acquired"]  # the holder's only
    finally:
        holder.leave()
    interrupted = notebook.cells[1].outputs
    assert any(o.get("ename") == "KeyboardInterrupt" for o in interrupted), interrupted
    stages = json.loads(notebook.cells[2].outputs[0]["text"])
    # labgrid's asyncio ran inside a kernel whose own loop runs (on the farm's thread)
    assert "queue" in stages and stages[-1] == "cancelled", stages


@contextlib.contextmanager
def _client_holding_pi_b(settings: dict[str, Any]) -> Iterator[None]:
    """Another client process holds ``pi-b`` inside the block, and is killed at its end
    (SIGKILL: no release, no cancel), as a crashed notebook would be."""
    script = ("import sys, time, json, workbench as wb\n"
              "settings = json.loads(sys.argv[1])\n"
              "device = wb.connect('labgrid:pi-b', **settings)\n"
              "device.hold()\nprint('held', flush=True)\ntime.sleep(600)\n")
    client = subprocess.Popen([sys.executable, "-c", script, json.dumps(plain(settings))],
                              stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        assert client.stdout is not None and client.stdout.readline().strip() == "held"
        yield
    finally:
        client.send_signal(signal.SIGKILL)
        client.wait()


def test_a_killed_clients_hold_is_reported_stale_and_can_be_freed(
        settings: dict[str, Any]) -> None:
    with _client_holding_pi_b(settings):
        live = {p["name"]: p for p in farm_status(settings["coordinator"])["places"]}
        assert live["pi-b"]["holder"] and live["pi-b"]["stale"] is None
    from workbench.cli import main

    assert main(["farm", "status", "--coordinator", settings["coordinator"], "--json"]) == 0
    stale = {p["name"]: p for p in farm_status(settings["coordinator"])["places"]}["pi-b"]
    assert "is gone" in stale["stale"]
    with pytest.raises(errors.FarmError, match="not stale"):
        free_stale("pi-a", settings["coordinator"])
    # freed with its reservation: the place is free for the next user at once
    assert main(["farm", "free", "pi-b", "--coordinator", settings["coordinator"]]) == 0


def test_a_dead_clients_hold_record_does_not_make_a_later_hold_by_the_same_user_stale(
        settings: dict[str, Any], observer: Farm) -> None:
    with _client_holding_pi_b(settings):
        pass
    records = list((cache_dir() / "farm-holds").glob("*.json"))
    assert records and all(stat.S_IMODE(r.stat().st_mode) == 0o600 for r in records)
    dead = {p["name"]: p for p in farm_status(settings["coordinator"])["places"]}["pi-b"]
    assert dead["stale"]
    # the place is kicked free by hand (the record stays), and the same user takes it again
    observer.cancel(dead["reservation"])
    observer.release("pi-b", holder=dead["holder"])
    observer.acquire("pi-b")
    try:
        assert observer.identity == dead["holder"]
        again = {p["name"]: p for p in farm_status(settings["coordinator"])["places"]}["pi-b"]
        assert again["holder"] == dead["holder"] and again["stale"] is None
        with pytest.raises(errors.FarmError, match="not stale"):
            free_stale("pi-b", settings["coordinator"])
    finally:
        observer.release("pi-b")
        forget_hold(observer.address, "pi-b")


def test_a_reservation_ended_behind_a_holders_back_is_reported_lost_by_its_keep_alive(
        lab: LabFarm, observer: Farm, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(farm_module, "KEEP_POLLED_S", 0.2)
    mine = Farm(lab.address)
    try:
        token = mine.reserve({"name": "pi-a"}).token
        until(lambda: mine.poll(token).state == "allocated")
        assert mine.hold_lost(token) is None
        with pytest.warns(RuntimeWarning, match="no longer keeps the reservation"):
            observer.cancel(token)  # as an expiry or another client's cancel would
            lost = until(lambda: mine.hold_lost(token), 10)
        assert isinstance(lost, errors.HoldEnded) and lost.where == f"coordinator {lab.address}"
        with pytest.raises(errors.FarmError):  # gone on the coordinator already
            mine.cancel(token)
        assert mine.hold_lost(token) is None  # given back: the loss is forgotten
    finally:
        mine.close()


def test_the_servers_status_of_a_place_is_the_farms_word_without_holding_it(
        settings: dict[str, Any], observer: Farm, monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.server.status import check

    monkeypatch.setenv("LG_COORDINATOR", settings["coordinator"])
    assert check("labgrid:pi-a")["state"] == "ready"
    observer.acquire("pi-a")
    try:
        held = check("labgrid:pi-a")
        assert held["state"] == "busy" and held["holder"] == observer.identity
        # a tag filter is ready while one of its places is free
        assert check(TAGS)["state"] == "ready"
        assert check("labgrid:no-such-place")["state"] == "error"
    finally:
        observer.release("pi-a")
    # nothing was reserved or taken by looking
    assert observer.reservations() == []


def _to_coordinator(client_pid: int, coordinator_port: int) -> list[tuple[int, int]]:
    """The TCP connections of process ``client_pid`` to the coordinator, each as (the
    client's port, bytes the coordinator has received and not read yet)."""
    inodes = set()
    for fd in Path(f"/proc/{client_pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    rows = [line.split() for table in ("/proc/net/tcp", "/proc/net/tcp6")  # gRPC: IPv6
            for line in Path(table).read_text().splitlines()[1:]]

    def port(address: str) -> int:  # "0100007F:4FB8" (address:port in hex)
        return int(address.split(":")[1], 16)

    mine = {port(row[1]) for row in rows
            if int(row[9]) in inodes and port(row[2]) == coordinator_port}
    return [(port(row[2]), int(row[4].split(":")[1], 16)) for row in rows
            if port(row[1]) == coordinator_port and port(row[2]) in mine]


@pytest.mark.parametrize("call", ["device.hold()", "farm.acquire('pi-a')"])
def test_ctrl_c_while_a_farm_call_is_on_its_way_stays_an_interrupt_and_takes_nothing(
        call: str, lab: LabFarm, settings: dict[str, Any], observer: Farm) -> None:
    # The client sends the call to a coordinator frozen with SIGSTOP, so the call is on its
    # way (the coordinator's kernel holds its bytes) when Ctrl-C comes; the coordinator then
    # makes the change all the same, and the client must take it back.
    script = ("import json, signal, sys, workbench as wb\n"
              "from workbench.devices.farm import farm_for\n"
              "settings = json.loads(sys.argv[1])\n"
              "device = wb.connect('labgrid:pi-a', **settings)\n"
              "farm = farm_for(settings['coordinator'])\n"
              "def interrupted(*_):\n"
              "    print('SIGINT', flush=True)\n"
              "    raise KeyboardInterrupt\n"
              "signal.signal(signal.SIGINT, interrupted)\n"
              "print('session', flush=True)\n"
              "sys.stdin.readline()\n"
              "try:\n"
              f"    {call}\n"
              "except KeyboardInterrupt:\n"
              "    print('KeyboardInterrupt', flush=True)\n"
              "    sys.stdin.readline()  # the session lives on, as in a notebook\n"
              "    raise\n")
    client = subprocess.Popen([sys.executable, "-c", script, json.dumps(plain(settings))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    coordinator = lab.coordinator
    assert coordinator is not None and client.stdin and client.stdout
    try:
        assert client.stdout.readline() == "session\n"
        coordinator.send_signal(signal.SIGSTOP)
        try:
            client.stdin.write("go\n")
            client.stdin.flush()
            until(lambda: any(unread for _, unread in _to_coordinator(client.pid, lab.port)))
            client.send_signal(signal.SIGINT)
            assert client.stdout.readline() == "SIGINT\n"  # raised in the waiting call
        finally:
            coordinator.send_signal(signal.SIGCONT)
        assert client.stdout.readline() == "KeyboardInterrupt\n"
        # the client still runs: the change was undone, not left to expire
        assert observer.reservations() == []
        assert [p.acquired for p in observer.places()] == [None, None]
        client.stdin.write("\n")
        client.stdin.flush()
        assert client.wait(60) == -signal.SIGINT
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
        for left in observer.reservations():  # after a failure: the next tests find it idle
            observer.cancel(left.token)
        observer.release("pi-a", holder=observer.identity)


@pytest.fixture
def slow_session(lab: LabFarm, observer: Farm,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SlowAnswers, Farm]]:
    """A session whose calls time out after 2 s, behind a relay that can hold its answers;
    ``pi-a`` is left idle after it (even after a failure)."""
    monkeypatch.setattr(farm_module, "CALL_TIMEOUT_S", 2.0)
    relay = SlowAnswers(lab.port)
    session = Farm(relay.address)
    try:
        yield relay, session
    finally:
        session.close()
        relay.close()
        observer.release("pi-a", holder=observer.identity)


def _pi_a(observer: Farm) -> PlaceState:
    return next(p for p in observer.places() if p.name == "pi-a")


def test_an_acquisition_whose_answer_came_too_late_is_given_back(
        observer: Farm, slow_session: tuple[SlowAnswers, Farm]) -> None:
    # The coordinator acquires the place, but its answer is held back past the call's time
    # limit: the caller has an error, the coordinator's word is that the place is ours.
    relay, session = slow_session
    with relay.hold():
        with pytest.raises(errors.CoordinatorUnreachable,
                           match="gives it back as soon as the coordinator answers"):
            session.acquire("pi-a")
        assert _pi_a(observer).acquired == session.identity  # carried out all the same
        assert session.watching_late() == ["pi-a"]
    assert until(lambda: _pi_a(observer).acquired is None and not session.watching_late())


def test_a_late_acquisitions_watch_leaves_a_place_another_session_acquired_since(
        observer: Farm, slow_session: tuple[SlowAnswers, Farm],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The first session's call times out; meanwhile another session of the same user (the
    # same identity: here the observer) takes the place over, after the call's time limit.
    monkeypatch.setattr(farm_module, "LATE_MARGIN_S", 0.2)
    relay, session = slow_session
    with relay.hold():
        with pytest.raises(errors.CoordinatorUnreachable):
            session.acquire("pi-a")
        observer.release("pi-a", holder=observer.identity)
        time.sleep(1.0)  # well past the call's time limit and margin
        observer.acquire("pi-a")
    assert until(lambda: not session.watching_late())
    assert _pi_a(observer).acquired == observer.identity == session.identity


def test_the_servers_farm_view_shows_holders_the_queue_and_stale_holds_without_tokens(
        settings: dict[str, Any], observer: Farm, monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.server.status import farm_view

    monkeypatch.delenv("LG_COORDINATOR", raising=False)
    assert farm_view()["configured"] is False
    monkeypatch.setenv("LG_COORDINATOR", settings["coordinator"])
    with _client_holding_pi_b(settings):
        pass  # pi-b is left held by a killed client
    observer.acquire("pi-a")
    waiting = observer.reserve({"soc": "bcm2712"})  # both places are taken: it waits
    try:
        view = farm_view()
        assert view["configured"] and view["state"] == "ok"
        places = {place["name"]: place for place in view["places"]}
        assert places["pi-a"]["holder"] == observer.identity
        assert places["pi-a"]["waiting"] == 1
        assert "outside the queue" in places["pi-a"]["stale"]
        assert places["pi-b"]["holder"] and "is gone" in places["pi-b"]["stale"]
        assert [(entry["position"], entry["asks"]) for entry in view["queue"]] == \
            [(1, {"soc": "bcm2712"})]
        # reservation tokens stay with their owners
        assert waiting.token not in json.dumps(view)
    finally:
        observer.cancel(waiting.token)
        observer.release("pi-a")
        free_stale("pi-b", settings["coordinator"])


def test_a_coordinator_killed_while_a_job_waits_gives_a_clear_error(
        tmp_path: Path, sshd: Sshd, conv_model: Path) -> None:
    farm = start_farm(tmp_path / "farm", {"lonely": (None, {"soc": "x1"})})
    someone = Farm(farm.address)
    try:
        someone.acquire("lonely")  # someone else holds the only place
        events: list[dict[str, Any]] = []
        device = wb.connect("labgrid:soc=x1", coordinator=farm.address,
                            **ssh_settings(sshd, tmp_path))
        job = wb.submit(conv_model, device=device, runs=1, on_event=events.append)
        until(lambda: queue_events(events))
        assert farm.coordinator is not None
        farm.coordinator.kill()
        with pytest.raises(errors.CoordinatorUnreachable, match="does not answer") as lost:
            job.result(timeout=60)
        assert "labgrid-coordinator" in lost.value.hint
    finally:
        someone.close()
        farm.stop()


def test_without_labgrid_a_labgrid_device_says_what_to_install() -> None:
    script = ("import sys\nsys.modules['labgrid'] = None  # as if not installed\n"
              "import workbench as wb\n"
              "try:\n    wb.connect('labgrid:soc=bcm2712')\n"
              "except wb.errors.FarmNotInstalled as exc:\n    print(str(exc))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)
    assert "labgrid is not installed" in done.stdout
    assert "pip install 'edge-workbench[farm]'" in done.stdout
    assert "pip install '.[farm]'" in done.stdout  # the README installs from a clone


def test_queue_position_counts_only_reservations_competing_for_the_same_places() -> None:
    from workbench.devices.farm import PlaceState, ReservationState

    places = [PlaceState("pi-a", {"soc": "bcm2712"}, "h/u", None, 0.0),
              PlaceState("jetson", {"soc": "orin"}, "h/v", None, 0.0)]

    def waiting(token: str, created: float, prio: float = 0.0, **tags: str) -> ReservationState:
        return ReservationState(token, "h/w", "waiting", prio, tags, None, created, 0.0)

    queue = [waiting("old", 1.0, soc="bcm2712"), waiting("orin", 0.5, soc="orin"),
             waiting("mine", 2.0, soc="bcm2712"), waiting("urgent", 3.0, prio=1.0, name="pi-a")]
    assert queue_position("mine", queue, places) == {"place": 3, "length": 3, "holder": "h/u"}
    assert queue_position("orin", queue, places) == {"place": 1, "length": 1, "holder": "h/v"}
