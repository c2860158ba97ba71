"""A connection kept between command-line invocations (`--persist`), against a real sshd."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import workbench as wb
from tests.conftest import until, wait_gone
from tests.ssh.conftest import agents_serving, register_board
from tests.ssh.sshd import Sshd, keygen
from tests.test_cli import workbench
from workbench import errors
from workbench.devices import kept, registry
from workbench.devices._wire import Lines, send

if TYPE_CHECKING:
    from workbench.devices.keeper import Keeper


@pytest.fixture
def runtime() -> Iterator[Path]:
    """A runtime folder of the test's own (short: a socket path has ~100 bytes at most);
    any keeper left in it is stopped at the end."""
    folder = Path(tempfile.mkdtemp(prefix="wbrun"))
    folder.chmod(0o700)
    os.environ["WORKBENCH_RUNTIME_DIR"] = str(folder)
    try:
        yield folder
    finally:
        for name in ("kept-board", "bad-key-board", "stuck-board"):
            kept.disconnect(name)
        del os.environ["WORKBENCH_RUNTIME_DIR"]
        shutil.rmtree(folder, ignore_errors=True)


# the small convolution takes about 0.1 ms a run here: 10,000 runs leave the job running for
# half a second or more after its first progress events
RUNS_OVER_A_SECOND = 10_000


def early_in_timed_runs(event: dict[str, Any]) -> bool:
    """A progress event of the first half of the timed runs: the job still runs well after
    it (a stage's last event may come with the result already on its way)."""
    return (event.get("stage") == "timed"
            and 0 < event.get("done", 0) <= event.get("total", 0) // 2)


def _keeper_pid(name: str, start: bool = False) -> int:
    device = kept.keep(name, start=start)
    assert device is not None, "no keeper runs"
    return device.keeper_pid


def test_two_commands_with_persist_share_one_ssh_connection_until_disconnect(
        sshd: Sshd, tmp_path: Path, conv_model: Path, runtime: Path) -> None:
    register_board("kept-board", sshd, tmp_path)
    before = set(sshd.sessions())
    profile = ["profile", str(conv_model), "--device", "kept-board", "--persist", "--runs", "2",
               "--warmup", "0", "--profile-runs", "0", "-q", "--out", str(tmp_path / "r.html")]
    first = workbench(*profile, "--json", str(tmp_path / "first.json"))
    assert first.returncode == 0, first.stderr
    opened = set(sshd.sessions()) - before
    keeper = _keeper_pid("kept-board")
    assert opened, "the keeper holds its connection after the command ended"
    document = json.loads((tmp_path / "first.json").read_text())
    assert document["device"]["name"] == "kept-board" and document["device"]["kind"] == "ssh"
    # without --persist, a command takes the kept connection that runs
    second = workbench("device", "status", "kept-board", "--json")
    assert second.returncode == 0, second.stderr
    # no new sshd connection process: the second command went over the kept connection
    assert set(sshd.sessions()) - before == opened
    assert _keeper_pid("kept-board") == keeper
    assert oct(runtime.stat().st_mode & 0o777) == "0o700"

    stopped = workbench("device", "disconnect", "kept-board")
    assert stopped.returncode == 0 and "kept connection stopped" in stopped.stdout
    assert wait_gone(keeper) and not list(runtime.glob("*.sock"))
    again = workbench("device", "disconnect", "kept-board")
    assert "no kept connection was running" in again.stdout


def test_a_socket_whose_keeper_died_is_replaced_by_a_new_keeper(
        sshd: Sshd, tmp_path: Path, runtime: Path) -> None:
    register_board("kept-board", sshd, tmp_path)
    dead = _keeper_pid("kept-board", start=True)
    os.kill(dead, signal.SIGKILL)
    assert wait_gone(dead)
    assert list(runtime.glob("*.sock")), "the killed keeper left its socket behind"
    device = kept.keep("kept-board")
    assert device is not None and device.keeper_pid != dead
    assert "lock" in device.status()


def test_a_changed_host_key_refuses_to_start_a_kept_connection(
        sshd: Sshd, tmp_path: Path, runtime: Path) -> None:
    other = keygen(tmp_path / "other_host_key").with_suffix(".pub").read_text().split()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{sshd.port} {other[0]} {other[1]}\n")
    register_board("bad-key-board", sshd, tmp_path, known_hosts)
    refused = workbench("device", "connect", "bad-key-board")
    assert refused.returncode == 2
    assert "host key changed" in refused.stderr.lower()
    assert kept.keep("bad-key-board", start=False) is None
    assert not list(runtime.glob("*.sock"))


def test_a_keeper_that_dies_during_a_job_is_a_dropped_link_that_says_what_to_do(
        sshd: Sshd, tmp_path: Path, conv_model: Path, runtime: Path) -> None:
    register_board("kept-board", sshd, tmp_path)
    device = kept.keep("kept-board")
    assert device is not None

    def kill_the_keeper(event: dict[str, Any]) -> None:
        if early_in_timed_runs(event):
            os.kill(device.keeper_pid, signal.SIGKILL)

    with pytest.raises(errors.LinkDropped, match="kept connection to kept-board ended") as lost:
        wb.profile(conv_model, device=device, warmup=0, runs=RUNS_OVER_A_SECOND,
                   profile_runs=0, on_event=kill_the_keeper)
    assert "Run the command again" in str(lost.value)
    assert wait_gone(device.keeper_pid)


def test_a_short_call_reads_every_line_of_an_answer_that_came_in_one_block(
        runtime: Path) -> None:
    path = runtime / "peer.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def answer() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(1 << 16)
            conn.sendall(b'{"progress": [1, 2, 0.0]}\n{"return": {"pid": 7}}\n')

    peer = threading.Thread(target=answer)
    peer.start()
    try:
        assert kept._ask(path, "hello") == {"pid": 7}
    finally:
        peer.join(10)
        listener.close()


def test_a_call_whose_socket_is_reset_before_any_answer_goes_to_a_new_keeper(
        sshd: Sshd, tmp_path: Path, runtime: Path) -> None:
    register_board("kept-board", sshd, tmp_path)
    path = kept.socket_path("kept-board")
    # a keeper that goes away as the call comes: it takes the call, reads nothing, closes
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def go_away() -> None:
        conn, _ = listener.accept()
        conn.recv(1, socket.MSG_PEEK)  # the request is there, unread
        listener.close()
        conn.close()

    leaving = threading.Thread(target=go_away)
    leaving.start()
    device = kept.KeptDevice("kept-board", path, {"pid": 0})
    try:
        assert "lock" in device.status()
    finally:
        leaving.join(10)
    assert device.keeper_pid not in (0, os.getpid())


def test_disconnect_lets_a_running_job_finish_and_a_changed_entry_does_not_replace_it(
        sshd: Sshd, tmp_path: Path, conv_model: Path, runtime: Path) -> None:
    register_board("kept-board", sshd, tmp_path)
    device = kept.keep("kept-board")
    assert device is not None
    first = device.keeper_pid
    seen: dict[str, Any] = {}

    def meanwhile(event: dict[str, Any]) -> None:
        if early_in_timed_runs(event) and not seen:
            entry = registry.load()["kept-board"]
            registry.add("kept-board", replace=True, **{**entry, "timeout": 6})
            with pytest.raises(errors.DeviceBusy) as busy:
                kept.keep("kept-board")
            seen["busy"] = str(busy.value)
            seen["stopped"] = kept.disconnect("kept-board")

    result = wb.profile(conv_model, device=device, warmup=0, runs=RUNS_OVER_A_SECOND,
                        profile_runs=0, on_event=meanwhile)
    assert seen["stopped"] and "other registry settings" in seen["busy"]
    assert len(result.latency_samples) == RUNS_OVER_A_SECOND
    # the stopped keeper ended after its call; the calls after it went to a new one
    assert wait_gone(first)


def test_a_new_keeper_probes_the_board_and_starts_its_warm_agent_before_the_first_command(
        sshd: Sshd, tmp_path: Path, conv_model: Path, runtime: Path) -> None:
    register_board("kept-board", sshd, tmp_path)
    device = kept.keep("kept-board")
    assert device is not None
    # before any command: the probe answered and the warm agent it started stays
    assert until(lambda: agents_serving(tmp_path / "board-cache"))
    serving = agents_serving(tmp_path / "board-cache")
    job = wb.submit(conv_model, device=device, warmup=0, runs=2, profile_runs=0)
    assert len(job.result().latency_samples) == 2
    # the first command's job ran on that agent: no other was started for it
    assert agents_serving(tmp_path / "board-cache") == serving


def test_a_keeper_that_cannot_log_in_in_time_is_stopped_with_a_clear_error(
        sshd: Sshd, tmp_path: Path, runtime: Path) -> None:
    silent = socket.socket()  # takes connections and never says a word
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    try:
        register_board("stuck-board", sshd, tmp_path)
        entry = registry.load()["stuck-board"]
        registry.add("stuck-board", replace=True,
                     **{**entry, "port": silent.getsockname()[1], "timeout": 60})
        with pytest.raises(errors.ConnectionFailed, match="did not log in within 1 s"):
            kept.keep("stuck-board", start_s=1.0)
        assert not list(runtime.glob("*.sock"))
        assert kept.keep("stuck-board", start=False) is None
    finally:
        silent.close()


def _keeper_at(path: Path, idle_s: float) -> tuple[socket.socket, Keeper]:
    """A keeper of this machine's device in this process, and its listening socket at
    ``path`` (to be served by the test)."""
    from workbench.devices import connect
    from workbench.devices.keeper import Keeper

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(4)
    return listener, Keeper(connect("local"), {"pid": os.getpid(), "name": "local"}, idle_s,
                            path, path.stat().st_ino)


def test_calls_queued_on_a_keeper_as_it_stops_are_answered_and_its_socket_is_gone(
        runtime: Path) -> None:
    path = runtime / "queued.sock"
    listener, keeper = _keeper_at(path, 600.0)
    keeper.stopping.set()  # it stops with a caller already queued
    caller = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    caller.connect(str(path))
    with caller, listener:
        send(caller, {"call": "hello"})
        keeper.serve(listener)
        assert not path.exists()
        assert Lines(caller).next() == {"return": {"pid": os.getpid(), "name": "local",
                                                   "active": 0}}


def test_a_caller_that_found_an_idle_keepers_socket_as_it_went_is_refused_not_left_waiting(
        runtime: Path) -> None:
    path = runtime / "idle.sock"
    listener, keeper = _keeper_at(path, 0.0)
    # a second name of the same socket: a caller that looked the path up just before the
    # keeper removed it still reaches the listener through it
    found = runtime / "found.sock"
    os.link(path, found)
    with listener:
        keeper.serve(listener)  # idles out at once: no call came
        assert not path.exists()
        caller = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with caller, pytest.raises(ConnectionRefusedError):
            caller.connect(str(found))
    # the client's own reach: refused, so no keeper runs there and a new one is started
    assert kept._reach(found) is None
    assert not found.exists()


def test_a_stray_line_on_a_new_keepers_output_is_an_error_with_its_log(
        sshd: Sshd, tmp_path: Path, runtime: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    register_board("kept-board", sshd, tmp_path)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("print('a greeting nobody asked for')\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(site), *filter(None, [os.environ.get("PYTHONPATH")])]))
    with pytest.raises(errors.DeviceError, match="a greeting nobody asked for"):
        kept.keep("kept-board")
    assert kept.keep("kept-board", start=False) is None


#: runs the command in this interpreter, then says on stderr which heavy modules it loaded
COUNTING = ("import sys; from workbench.cli import main; code = main(sys.argv[1:]); "
            "heavy = ('numpy', 'onnx', 'onnxruntime', 'paramiko', 'rich', 'pandas', "
            "'workbench.devices', 'workbench.jobs', 'workbench.models'); "
            "print('loaded:', ','.join(m for m in heavy if m in sys.modules), file=sys.stderr); "
            "sys.exit(code)")


def _command(cwd: Path, *args: str, **env: str) -> tuple[str, list[str]]:
    """``workbench ARGS`` in a new interpreter in ``cwd``: its output and the heavy modules
    it loaded."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    done = subprocess.run([sys.executable, "-c", COUNTING, *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300, env={
                              **os.environ, **env, "PYTHONPATH": os.pathsep.join(
                                  [str(ROOT), str(ROOT / "remote")])})
    assert done.returncode == 0, done.stderr
    loaded = done.stderr.strip().splitlines()[-1].removeprefix("loaded:").strip()
    return done.stdout, [name for name in loaded.split(",") if name]


def test_a_profile_through_a_running_keeper_prints_what_the_full_command_prints_and_imports_no_runtime(  # noqa: E501
        sshd: Sshd, tmp_path: Path, conv_model: Path, runtime: Path) -> None:
    import re

    register_board("kept-board", sshd, tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    profile = ["profile", str(conv_model), "--device", "kept-board", "--runs", "2", "--warmup",
               "0", "--profile-runs", "0", "--out", "r.html", "--json", "r.json"]
    # no keeper runs: this command runs the profile itself and leaves a keeper up
    full, loaded = _command(work, *profile, "--persist")
    assert "workbench.jobs" in loaded and "onnx" in loaded
    first = json.loads((work / "r.json").read_text())
    (work / "r.html").unlink()

    thin, loaded = _command(work, *profile)
    assert loaded == [], "the command through the keeper only asks and prints"
    # the same lines, numbers aside; the files written in the command's folder, not the keeper's
    def masked(text: str) -> list[str]:
        # the time breakdown, and warnings about what else ran on the machine at that
        # moment, belong to the run, not to the path it took
        return [re.sub(r"\d+(\.\d+)?", "N", line) for line in text.splitlines()
                if not line.startswith(("where the time went", "- other processes took"))]

    assert masked(thin) == masked(full) and "report: r.html" in thin
    assert (work / "r.html").is_file()
    second = json.loads((work / "r.json").read_text())
    assert second["model"] == first["model"] and second["device"] == first["device"]
    assert second != first, "a new profile was written"
    steps = next(line for line in thin.splitlines() if line.startswith("where the time went"))
    assert "model load" in steps and "timed" in steps

    # a keeper started with other folders than the command's leaves the profile to the command
    other, loaded = _command(work, *profile, "-q", WORKBENCH_DATA_DIR=str(tmp_path / "other"))
    assert "workbench.jobs" in loaded and masked(other) == masked(full)


def test_ctrl_c_on_a_profile_through_a_keeper_cancels_the_job_and_frees_the_board(
        sshd: Sshd, tmp_path: Path, conv_model: Path, runtime: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    register_board("kept-board", sshd, tmp_path)
    assert kept.keep("kept-board") is not None
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "remote")])}
    command = [sys.executable, "-m", "workbench.cli", "profile", str(conv_model), "--device",
               "kept-board", "--warmup", "0", "--profile-runs", "0", "--out",
               str(tmp_path / "r.html")]
    running = subprocess.Popen([*command, "--runs", "1000000"], stderr=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env=env)
    assert running.stderr is not None
    for line in running.stderr:  # the agent's log line: the timed runs begin
        if "running on cores" in line:
            break
    running.send_signal(signal.SIGINT)
    assert running.wait(120) == 130
    # the job stopped on the board and its lock is free: the next job runs at once
    after = subprocess.run([*command, "--runs", "1", "-q"], capture_output=True, text=True,
                           env=env, timeout=120)
    assert after.returncode == 0, after.stderr
    assert "waiting for the board" not in after.stderr


def test_a_keeper_of_an_older_workbench_leaves_the_profile_to_the_command(
        runtime: Path) -> None:
    from workbench._kept_link import NO_SUCH_CALL, profile_kept, socket_path

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(socket_path("old-board")))
    listener.listen(1)

    def answer() -> None:  # as a keeper that knows no "profile" call answers it
        conn, _ = listener.accept()
        with conn:
            conn.recv(1 << 16)
            refusal = errors.DeviceError(f"{NO_SUCH_CALL} 'profile'", where="keeper")
            send(conn, {"error": refusal.to_dict()})

    peer = threading.Thread(target=answer)
    peer.start()
    try:
        assert profile_kept("old-board", {"model": "m.onnx"}, lambda event: None) is None
    finally:
        peer.join(10)
        listener.close()
