"""A connection kept between command-line invocations (`--persist`), against a real sshd."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from tests.conftest import wait_gone
from tests.ssh.conftest import register_board
from tests.ssh.sshd import Sshd, keygen
from tests.test_cli import workbench
from workbench import errors
from workbench.devices import kept


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
        for name in ("kept-board", "bad-key-board"):
            kept.disconnect(name)
        del os.environ["WORKBENCH_RUNTIME_DIR"]
        shutil.rmtree(folder, ignore_errors=True)


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
        if event.get("stage") == "timed":
            os.kill(device.keeper_pid, signal.SIGKILL)

    with pytest.raises(errors.LinkDropped, match="kept connection to kept-board ended") as lost:
        wb.profile(conv_model, device=device, warmup=0, runs=2000, profile_runs=0,
                   on_event=kill_the_keeper)
    assert "Run the command again" in str(lost.value)
    assert wait_gone(device.keeper_pid)
