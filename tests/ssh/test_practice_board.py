"""The workshop's practice board (workbench.teaching): this machine's sshd, started by the
notebook's user on 127.0.0.1, with a host key that must be confirmed like a real board's."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

import workbench as wb
from tests import unprivileged
from workbench import errors
from workbench.teaching import start_practice_board

NOBODY = 65534


def test_the_host_key_is_refused_until_trusted_then_the_board_runs_a_job(
        tmp_path: Path, conv_model: Path) -> None:
    with start_practice_board(tmp_path / "board", python=sys.executable) as board:
        device = wb.connect("practice", **board.connection())
        with pytest.raises(errors.UnknownHostKey) as refused:
            device.probe()
        assert refused.value.fingerprint == board.host_fingerprint
        device.trust_host_key(refused.value.fingerprint)
        assert "ssh-ed25519" in board.known_hosts.read_text()
        profile = wb.profile(conv_model, device=device, warmup=0, runs=2, profile_runs=1)
        assert profile.document["device"]["name"] == "practice" and profile.layers
        device.close()
    assert not board.running


def test_a_folder_reused_for_a_new_class_gets_new_keys_and_an_empty_known_hosts(
        tmp_path: Path) -> None:
    with start_practice_board(tmp_path) as first:
        before = first.host_fingerprint
        first.known_hosts.write_text("[127.0.0.1]:1 ssh-ed25519 AAAA\n")
    with start_practice_board(tmp_path) as second:
        assert second.host_fingerprint != before
        assert second.known_hosts.read_text() == ""


def test_the_keys_the_board_trusts_are_the_users_alone(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)  # a class share others can write
    with start_practice_board(folder):
        assert folder.stat().st_mode & 0o777 == 0o700
        assert (folder / "authorized_keys").stat().st_mode & 0o777 == 0o600


def _login_user() -> pwd.struct_passwd | None:
    """An ordinary account with a login shell (sshd runs commands through it)."""
    for entry in pwd.getpwall():
        if entry.pw_uid >= 1000 and entry.pw_uid != NOBODY and entry.pw_shell.endswith("sh"):
            return entry
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="the tests run as a user already: shown above")
def test_a_user_without_root_starts_one_and_logs_in() -> None:
    user = _login_user()
    if user is None:
        pytest.skip("no ordinary account with a login shell on this machine")
    with unprivileged.folder() as folder:
        _start_as(user, folder)


def _own_folders(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env.update(HOME=str(folder), WORKBENCH_CACHE_DIR=str(folder / "cache"),
               WORKBENCH_CONFIG_DIR=str(folder / "config"),
               WORKBENCH_DATA_DIR=str(folder / "data"))
    return env


def _start_as(user: pwd.struct_passwd, folder: Path) -> None:
    unprivileged.give(folder, user.pw_uid, user.pw_gid)
    python = unprivileged.python_venv(folder / "venv")
    unprivileged.give(folder, user.pw_uid, user.pw_gid)
    script = (
        "import sys, workbench as wb\n"
        "from workbench.teaching import start_practice_board\n"
        f"with start_practice_board({str(folder / 'board')!r}, python=sys.executable) as b:\n"
        "    d = wb.connect('practice', **b.connection())\n"
        "    d.trust_host_key(b.host_fingerprint)\n"
        "    print(b.user, d.probe().arch)\n"
        "    d.close()\n")
    done = subprocess.run([*unprivileged.prefix(user.pw_uid, user.pw_gid), str(python), "-c",
                           script],
                          capture_output=True, text=True, timeout=120,
                          env=_own_folders(folder))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == user.pw_name


def test_without_sshd_it_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(errors.DeviceError, match="sshd") as missing:
        start_practice_board(tmp_path, sshd=str(tmp_path / "no-sshd"))
    assert "openssh-server" in (missing.value.hint or "")


def test_an_sshd_that_stops_at_start_is_reported_with_its_log(tmp_path: Path) -> None:
    server = tmp_path / "broken-sshd"
    server.write_text("#!/bin/sh\necho 'cannot bind: the port is taken' >&2\nexit 255\n")
    server.chmod(0o755)
    with pytest.raises(errors.DeviceError, match="stopped at start") as failed:
        start_practice_board(tmp_path / "board", sshd=str(server))
    assert "the port is taken" in (failed.value.hint or "")
