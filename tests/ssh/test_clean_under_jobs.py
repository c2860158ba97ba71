"""`device clean` holds the board's lock: it waits for a running job or names it, and never
removes what a running or queued job uses."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import until
from tests.ssh.conftest import make_board
from tests.ssh.sshd import Sshd
from tests.ssh.test_board_accounts import SPAN_RUNNER, span_job
from tests.ssh.test_deploy import payload
from workbench import errors
from workbench.devices.ssh import SSHDevice


class Running:
    """A job on the board that runs until the test lets it end; its result once it did."""

    def __init__(self, device: SSHDevice, runner: Path, go: Path, holder: str) -> None:
        self.go = go
        self.job = span_job(device, runner, go, holder)
        self.result: dict[str, Any] | BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(device,))
        self.thread.start()

    def _run(self, device: SSHDevice) -> None:
        try:
            self.result = device.run(self.job, timeout=90)
        except BaseException as exc:  # checked in the test's own thread
            self.result = exc

    @property
    def started(self) -> bool:
        return (Path(self.job["workdir"]) / "started").exists()

    def finish(self) -> dict[str, Any] | BaseException | None:
        self.go.touch()
        self.thread.join(90)
        return self.result


@pytest.fixture
def runner(tmp_path: Path) -> Path:
    path = tmp_path / "span.py"
    path.write_text(SPAN_RUNNER)
    return path


@pytest.fixture
def jobs(sshd: Sshd, tmp_path: Path) -> Iterator[list[SSHDevice]]:
    devices: list[SSHDevice] = []
    yield devices
    (tmp_path / "go-a").touch()
    (tmp_path / "go-b").touch()
    for device in devices:
        device.close()


def test_clean_while_a_job_runs_names_the_job_and_removes_nothing(
        sshd: Sshd, tmp_path: Path, runner: Path, jobs: list[SSHDevice]) -> None:
    jobs.append(make_board(sshd, tmp_path))
    running = Running(jobs[0], runner, tmp_path / "go-a", "student 7")
    until(lambda: running.started)
    other = make_board(sshd, tmp_path)  # another run of the workbench
    jobs.append(other)
    with pytest.raises(errors.DeviceBusy, match=r"student 7.*nothing was removed") as busy:
        other.clean_cache(wait_s=0.5)
    assert "--wait" in (busy.value.hint or "")
    assert Path(running.job["backend"]["runner"]).exists()
    assert Path(jobs[0].agent_path()).exists()
    result = running.finish()
    assert isinstance(result, dict) and result["latency_ms"] == [1.0], result


def test_clean_waits_for_the_running_job_and_keeps_what_a_queued_job_uses(
        sshd: Sshd, tmp_path: Path, runner: Path, jobs: list[SSHDevice]) -> None:
    jobs += [make_board(sshd, tmp_path) for _ in range(3)]
    first, cleaner, second = jobs
    unused = first.ensure(payload(tmp_path / "old.bin", 1))
    running = Running(first, runner, tmp_path / "go-a", "student 1")
    until(lambda: running.started)
    cleaned: dict[str, Any] = {}
    cleaning = threading.Thread(target=lambda: cleaned.update(cleaner.clean_cache(wait_s=60)))
    cleaning.start()
    until(lambda: len(cleaner.status()["lock"]["waiters"]) == 1)
    queued_runner = tmp_path / "span2.py"  # its own artifact, uploaded by the queued job
    queued_runner.write_text(SPAN_RUNNER + "\n# the second job\n")
    (tmp_path / "go-b").touch()
    queued = Running(second, queued_runner, tmp_path / "go-b", "student 2")
    until(lambda: len(cleaner.status()["lock"]["waiters"]) == 2)
    assert running.finish() is not None
    cleaning.join(60)
    assert not Path(unused).exists(), "clean ran once the board was free"
    assert Path(queued.job["backend"]["runner"]).exists(), cleaned
    result = queued.finish()
    assert isinstance(result, dict) and result["latency_ms"] == [1.0], result
    assert isinstance(running.result, dict), running.result


def test_evicting_the_cache_for_an_upload_keeps_what_a_running_job_uses(
        sshd: Sshd, tmp_path: Path, runner: Path, jobs: list[SSHDevice]) -> None:
    jobs.append(make_board(sshd, tmp_path))
    running = Running(jobs[0], runner, tmp_path / "go-a", "student 3")
    until(lambda: running.started)
    used = Path(running.job["backend"]["runner"]), Path(jobs[0].agent_path())
    now = time.time() - 3600  # the running job's files are the least recently used
    for path in used:
        os.utime(path.parent, (now, now))
    tight = make_board(sshd, tmp_path, cache_limit_bytes=1 << 20)  # room for one new file only
    jobs.append(tight)
    tight.ensure(payload(tmp_path / "new.bin", 1))
    assert all(path.exists() for path in used), "eviction removed a running job's files"
    result = running.finish()
    assert isinstance(result, dict) and result["latency_ms"] == [1.0], result
