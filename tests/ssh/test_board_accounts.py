"""Two Unix accounts on one board over a real sshd: one board lock, so the second job waits.

The board is this machine, with Debian's link protections switched on where
the kernel lets the test (``fs.protected_regular=2``, ``fs.protected_symlinks=1``):
a file that another account made in a shared sticky folder must be opened,
never re-created.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import until, waited_for
from tests.ssh.conftest import make_board
from tests.ssh.sshd import Sshd, start_sshd
from tests.unprivileged import sysctl
from workbench.devices.ssh import SSHDevice

if os.geteuid() != 0:
    pytest.skip("making two throwaway accounts needs root", allow_module_level=True)
if not (shutil.which("useradd") and shutil.which("userdel")):
    pytest.skip("useradd/userdel are not installed", allow_module_level=True)

# Says when it started and ended; ends once the test creates the job's "go" file (or after 60 s).
SPAN_RUNNER = """
import os, time
RUNNER_API = 1
def run(job, ctx):
    def mark(name):
        with open(os.path.join(job["workdir"], name), "w") as handle:
            handle.write(repr(time.time()))
    mark("started")
    go = job["backend"]["options"]["go"]
    deadline = time.time() + 60
    while not os.path.exists(go) and time.time() < deadline:
        time.sleep(0.05)
    mark("ended")
    return {"runtime": {"name": "span", "version": "0"}, "latency_ms": [1.0]}
"""


def _processes_of(uid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            uids = next(line for line in status.read_text().splitlines()
                        if line.startswith("Uid:"))
            if int(uids.split()[1]) == uid:
                found.append(int(status.parent.name))
    return found


@pytest.fixture
def accounts(client_key: Path) -> Iterator[list[pwd.struct_passwd]]:
    """Two new accounts that log in with the test key from their own authorized_keys."""
    names = [f"wbq{uuid.uuid4().hex[:8]}{tag}" for tag in "ab"]
    made: list[pwd.struct_passwd] = []
    try:
        for name in names:
            # '*': no password, but not locked (sshd refuses locked accounts without PAM)
            subprocess.run(["useradd", "-m", "-p", "*", "-s", "/bin/sh", name], check=True,
                           capture_output=True)
            account = pwd.getpwnam(name)
            made.append(account)
            ssh = Path(account.pw_dir) / ".ssh"
            ssh.mkdir(mode=0o700)
            (ssh / "authorized_keys").write_text(client_key.with_suffix(".pub").read_text())
            for path in (ssh, ssh / "authorized_keys"):
                os.chown(path, account.pw_uid, account.pw_gid)
        yield made
    finally:
        for account in made:
            for pid in _processes_of(account.pw_uid):  # what this test started as the account
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            subprocess.run(["userdel", "-r", "-f", account.pw_name], capture_output=True,
                           check=False)


@pytest.fixture
def account_sshd(tmp_path_factory: pytest.TempPathFactory, client_key: Path,
                 accounts: list[pwd.struct_passwd]) -> Iterator[Sshd]:
    """An sshd that reads each test account's own ~/.ssh/authorized_keys."""
    users = ",".join(account.pw_name for account in accounts)
    server = start_sshd(tmp_path_factory.mktemp("sshd-accounts"), client_key,
                        extra_config=f"Match User {users}\n    AuthorizedKeysFile "
                        ".ssh/authorized_keys")
    yield server
    server.stop()


def python_for(account: pwd.struct_passwd) -> str:
    """A Python 3.8+ the account may run: this one, or the system's (the jobs need no numpy)."""
    def become() -> None:
        os.setgroups([])
        os.setgid(account.pw_gid)
        os.setuid(account.pw_uid)

    for python in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        try:
            probe = subprocess.run([python, "-c", "import sys; assert sys.version_info >= (3, 8)"],
                                   capture_output=True, check=False, preexec_fn=become)
        except OSError:
            continue
        if probe.returncode == 0:
            return python
    pytest.skip(f"no Python that another account may run: {sys.executable} sits in a private "
                "folder and there is no system python3")


@pytest.fixture
def board_dir() -> Iterator[Path]:
    """A fresh board folder under /var/tmp, made by root with mode 1777 like an admin would."""
    top = Path(tempfile.mkdtemp(prefix="workbench-accounts-", dir="/var/tmp"))
    try:
        top.chmod(0o755)
        board = top / "board"
        board.mkdir()
        board.chmod(0o1777)
        yield board
    finally:
        shutil.rmtree(top, ignore_errors=True)


def span_job(device: SSHDevice, runner: Path, go: Path, holder: str) -> dict[str, Any]:
    return {"schema": "workbench.job/1", "id": f"span-{uuid.uuid4().hex[:8]}",
            "model": {"path": "-", "sha256": "-"},
            "backend": {"name": "span", "runner": device.ensure(runner),
                        "options": {"go": str(go)}},
            "inputs": [], "run": {"warmup": 0, "runs": 1}, "workdir": device.workdir(),
            "lock": {"path": device.lock_path(), "holder": holder}}


def test_a_job_of_another_account_waits_for_the_board_and_runs_after(
        account_sshd: Sshd, accounts: list[pwd.struct_passwd], board_dir: Path,
        tmp_path: Path) -> None:
    a, b = accounts
    python = python_for(a)
    runner = tmp_path / "span.py"
    runner.write_text(SPAN_RUNNER)
    first, second = (make_board(account_sshd, tmp_path, user=account.pw_name, python=python,
                                remote_cache=None, board_dir=str(board_dir))
                     for account in accounts)
    assert first.lock_path() == second.lock_path() == f"{board_dir}/board.lock"
    go_a, go_b = board_dir.parent / "go-a", board_dir.parent / "go-b"
    go_b.touch()  # the second job ends as soon as it runs
    job_a = span_job(first, runner, go_a, "account A")
    job_b = span_job(second, runner, go_b, "account B")
    results: dict[str, Any] = {}

    def run(device: SSHDevice, job: dict[str, Any], label: str) -> None:
        try:
            results[label] = device.run(job, timeout=90)
        except Exception as exc:
            results[label] = exc

    threads = {"a": threading.Thread(target=run, args=(first, job_a, "a")),
               "b": threading.Thread(target=run, args=(second, job_b, "b"))}
    try:
        with sysctl("fs/protected_regular", "2"), sysctl("fs/protected_symlinks", "1"):
            threads["a"].start()
            until(lambda: (Path(job_a["workdir"]) / "started").exists())
            threads["b"].start()
            state = until(lambda: waited_for(second.status()))
            lock = state["lock"]
            assert lock["held"] and lock["holder"]["holder"] == "account A"
            assert lock["holder"]["job"] == job_a["id"]
            assert [(w["holder"], w["job"]) for w in lock["waiters"]] == [
                ("account B", job_b["id"])]  # place 1, behind account A
            assert not (Path(job_b["workdir"]) / "started").exists()
            go_a.touch()
            for thread in threads.values():
                thread.join(90)
    finally:
        go_a.touch()
        for device in (first, second):
            device.close()
    assert results["a"]["latency_ms"] == [1.0], results["a"]
    assert results["b"]["latency_ms"] == [1.0], results["b"]
    ended_a = float((Path(job_a["workdir"]) / "ended").read_text())
    started_b = float((Path(job_b["workdir"]) / "started").read_text())
    assert started_b >= ended_a, "account B's job ran while account A's held the board"
    lock_file = board_dir / "board.lock"
    assert lock_file.stat().st_uid == a.pw_uid  # made by A, opened (never re-made) by B
    assert Path(job_b["workdir"]).stat().st_uid == b.pw_uid
