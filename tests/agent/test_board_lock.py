"""The board lock (workbench_agent.lock): holders and waiters in separate processes.

Every job here is a real process holding or waiting for a real flock; the
tests read what each process says on stdout (JSON lines).
"""

from __future__ import annotations

import json
import os
import pwd
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from workbench_agent.lock import RECORD_BYTES, DeviceLock, board_state

from tests.conftest import ROOT, agent_env
from tests.unprivileged import sysctl

# One job: takes the board (reporting each queue change), says so, releases on a line of stdin.
JOB = """
import json, sys
from workbench_agent.lock import DeviceLock, LockWaitTimeout
path, job, holder, timeout = sys.argv[1:5]
def say(**what):
    print(json.dumps(what), flush=True)
lock = DeviceLock(path, job, holder)
try:
    lock.acquire(lambda queue: say(report=queue),
                 timeout=None if timeout == "-" else float(timeout))
except LockWaitTimeout as exc:
    say(timeout={"holder": exc.holder, "waited_s": exc.waited_s, "text": str(exc)})
    sys.exit(3)
say(acquired=lock.me["since"])
sys.stdin.readline()
lock.release()
say(released=True)
"""


class Job:
    """A process that takes the board lock at ``path``; its JSON lines arrive in ``lines``."""

    def __init__(self, path: Path, job: str, holder: str, timeout: float | None = None,
                 python: str = sys.executable, user: pwd.struct_passwd | None = None,
                 agent_root: Path | None = None) -> None:
        self.job, self.holder = job, holder
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        env = agent_env()
        env.pop("PYTHONHOME", None)
        if agent_root is not None:  # a copy of the agent another account can read
            env["PYTHONPATH"] = str(agent_root)

        def become() -> None:  # runs in the child, before exec
            if user is not None:
                os.setgroups([])
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)

        self.process = subprocess.Popen(
            [python, "-c", JOB, str(path), job, holder, "-" if timeout is None else str(timeout)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
            preexec_fn=become if user is not None else None)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def next(self, key: str, seconds: float = 15) -> Any:
        """The next line that has ``key`` (earlier lines without it are dropped)."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"{self.job} said no {key!r} within {seconds} s") from None
            if key in line:
                return line[key]

    def report_where(self, seconds: float = 15, **expected: Any) -> dict[str, Any]:
        """The first queue report that has all of ``expected``."""
        deadline = time.monotonic() + seconds
        while True:
            report: dict[str, Any] = self.next("report", max(0.01, deadline - time.monotonic()))
            if all(report.get(k) == v for k, v in expected.items()):
                return report

    def release(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        self.next("released")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


@pytest.fixture
def jobs() -> Iterator[list[Job]]:
    started: list[Job] = []
    yield started
    for job in started:
        job.stop()


@pytest.fixture
def lock_path(tmp_path: Path) -> Path:
    return tmp_path / "board" / "board.lock"


def start(jobs: list[Job], path: Path, job: str, holder: str, **settings: Any) -> Job:
    started = Job(path, job, holder, **settings)
    jobs.append(started)
    return started


def test_a_waiter_reports_its_place_the_holder_and_since_and_takes_its_turn(
        jobs: list[Job], lock_path: Path) -> None:
    holder = start(jobs, lock_path, "job-a", "alice@board pid 1")
    since = holder.next("acquired")
    first = start(jobs, lock_path, "job-b", "bob@board pid 2")
    report = first.report_where(place=1)
    assert report == {"place": 1, "length": 1, "holder": "alice@board pid 1", "job": "job-a",
                      "since": since, "source": "board"}
    second = start(jobs, lock_path, "job-c", "carol@board pid 3")
    assert second.report_where(place=2)["length"] == 2
    assert first.report_where(length=2)["place"] == 1  # the queue grew behind it

    state = board_state(str(lock_path))
    assert state["held"] and state["holder"]["job"] == "job-a" and state["since"] == since
    assert [w["job"] for w in state["waiters"]] == ["job-b", "job-c"]
    assert all(w["pid"] and w["since"] for w in state["waiters"])

    holder.release()
    first.next("acquired")  # first come, first served
    report = second.report_where(place=1, job="job-b")
    assert report["holder"] == "bob@board pid 2" and report["length"] == 1
    first.release()
    second.next("acquired")
    second.release()
    assert board_state(str(lock_path)) == {"lock": str(lock_path), "held": False,
                                           "holder": None, "since": None, "waiters": []}


def test_a_timeout_raises_lock_wait_timeout_naming_the_holder_and_leaves_no_marker(
        jobs: list[Job], lock_path: Path) -> None:
    holder = start(jobs, lock_path, "job-a", "alice@board pid 1")
    holder.next("acquired")
    impatient = start(jobs, lock_path, "job-b", "bob@board pid 2", timeout=0.6)
    gave_up = impatient.next("timeout")
    assert impatient.process.wait(10) == 3
    assert gave_up["holder"]["job"] == "job-a"
    assert gave_up["holder"]["holder"] == "alice@board pid 1"
    assert 0.6 <= gave_up["waited_s"] < 5
    assert "alice@board pid 1" in gave_up["text"]
    assert list((lock_path.parent / "waiting").iterdir()) == []
    assert board_state(str(lock_path))["waiters"] == []


def test_a_sigkilled_holder_frees_the_board_at_once(jobs: list[Job], lock_path: Path) -> None:
    holder = start(jobs, lock_path, "job-a", "alice@board pid 1")
    holder.next("acquired")
    waiter = start(jobs, lock_path, "job-b", "bob@board pid 2")
    waiter.report_where(place=1, job="job-a")
    holder.process.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    waiter.next("acquired", seconds=5)
    assert time.monotonic() - killed < 2
    assert board_state(str(lock_path))["holder"]["job"] == "job-b"
    waiter.release()


def test_a_record_left_by_a_crashed_holder_does_not_count_as_held(
        jobs: list[Job], lock_path: Path) -> None:
    holder = start(jobs, lock_path, "job-a", "alice@board pid 1")
    holder.next("acquired")
    holder.process.send_signal(signal.SIGKILL)
    holder.process.wait(10)
    assert b"job-a" in lock_path.read_bytes()  # its record is still there
    state = board_state(str(lock_path))
    assert state["held"] is False and state["holder"] is None


def test_a_sigkilled_waiter_is_not_counted_by_the_others(jobs: list[Job],
                                                         lock_path: Path) -> None:
    holder = start(jobs, lock_path, "job-a", "alice@board pid 1")
    holder.next("acquired")
    doomed = start(jobs, lock_path, "job-b", "bob@board pid 2")
    doomed.report_where(place=1)
    behind = start(jobs, lock_path, "job-c", "carol@board pid 3")
    behind.report_where(place=2, length=2)
    doomed.process.send_signal(signal.SIGKILL)
    doomed.process.wait(10)
    assert behind.report_where(place=1, length=1)["job"] == "job-a"
    assert [w["job"] for w in board_state(str(lock_path))["waiters"]] == ["job-c"]
    later = start(jobs, lock_path, "job-d", "dave@board pid 4")
    assert later.report_where(length=2)["place"] == 2
    holder.release()
    behind.next("acquired")
    behind.release()
    later.next("acquired")
    later.release()


def test_the_lock_is_never_truncated_and_keeps_its_inode(jobs: list[Job],
                                                        lock_path: Path) -> None:
    mine = DeviceLock(str(lock_path), "job-0", "me")
    mine.acquire()
    mine.release()
    before = os.stat(lock_path)
    assert before.st_size == RECORD_BYTES
    # Bytes past the record block survive only if nobody ever truncates the file.
    with open(lock_path, "r+b") as handle:
        handle.seek(RECORD_BYTES)
        handle.write(b"tail")
    other = start(jobs, lock_path, "job-1", "someone with a long name " * 80)
    other.next("acquired")
    record = lock_path.read_bytes()[:RECORD_BYTES]
    assert b"job-1" in record and len(lock_path.read_bytes()) == RECORD_BYTES + 4
    other.release()
    after = os.stat(lock_path)
    assert (after.st_ino, after.st_size) == (before.st_ino, RECORD_BYTES + 4)
    assert lock_path.read_bytes() == b" " * RECORD_BYTES + b"tail"
    assert oct(os.stat(lock_path).st_mode & 0o7777) == oct(0o666)
    for folder in (lock_path.parent, lock_path.parent / "waiting"):
        assert oct(os.stat(folder).st_mode & 0o7777) == oct(0o1777)


# --- two accounts --------------------------------------------------------------------------

def python_for(uid: int) -> str | None:
    """A Python that account ``uid`` can run (the venv's base may sit in a private home)."""
    for python in (sys.executable, "/usr/bin/python3"):
        try:
            probe = subprocess.run([python, "-c", "pass"], capture_output=True, check=False,
                                   preexec_fn=lambda: os.setuid(uid))
        except OSError:
            continue
        if probe.returncode == 0:
            return python
    return None


def test_a_lock_made_by_one_account_is_opened_by_another_under_protected_regular(
        jobs: list[Job]) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to run a job as another account")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' account on this machine")
    python = python_for(nobody.pw_uid)
    if python is None:
        pytest.skip("no Python that the 'nobody' account may run")
    top = Path(tempfile.mkdtemp(prefix="workbench-lock-test-", dir="/var/tmp"))
    try:
        top.chmod(0o755)
        path = top / "board" / "board.lock"
        path.parent.mkdir()
        path.parent.chmod(0o1777)  # root's board folder, like /var/tmp/workbench made by root
        # The checkout may sit in a folder only root can read: nobody gets its own copy.
        shutil.copytree(ROOT / "remote" / "workbench_agent", top / "agent" / "workbench_agent",
                        ignore=shutil.ignore_patterns("__pycache__"))
        for folder in (top / "agent", top / "agent" / "workbench_agent"):
            folder.chmod(0o755)
        theirs = start(jobs, path, "job-nobody", "nobody", python=python, user=nobody,
                       agent_root=top / "agent")
        theirs.next("acquired")
        assert os.stat(path).st_uid == nobody.pw_uid  # another account's file in root's folder
        with sysctl("fs/protected_regular", "2") as protected, \
                sysctl("fs/protected_symlinks", "1"):
            if protected:  # the kernel now refuses what a naive open would do
                with pytest.raises(PermissionError):
                    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o666))
            mine = start(jobs, path, "job-root", "root")
            assert mine.report_where(place=1)["holder"] == "nobody"
            theirs.release()
            mine.next("acquired")
            record = json.loads(path.read_bytes()[:RECORD_BYTES])
            assert record["job"] == "job-root"
            mine.release()
        assert os.stat(path).st_uid == nobody.pw_uid  # still theirs: opened, never re-made
    finally:
        shutil.rmtree(top, ignore_errors=True)
