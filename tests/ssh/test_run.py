"""Running jobs on a board over SSH: profiles, streaming, cancel, timeout, faults, the lock."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from tests.conftest import ran_one_after_the_other, sleepy_job, until, wait_gone
from tests.ssh.conftest import drop_mid_run, make_board
from tests.ssh.sshd import Sshd
from workbench import errors
from workbench.devices.ssh import SSHDevice


def test_profile_over_ssh_works_as_locally_and_records_the_board(
        board: SSHDevice, conv_model: Path) -> None:
    events: list[dict[str, Any]] = []
    p = wb.profile(conv_model, device=board, warmup=1, runs=5, profile_runs=2,
                   on_event=events.append)
    document = p.to_dict()
    assert document["device"]["kind"] == "ssh" and document["device"]["name"] == "testboard"
    assert len(document["latency"]["samples_ms"]) == 5
    assert sorted(n for row in p.layers for n in row["original_nodes"]) == sorted(
        ["conv1", "relu1", "conv2", "relu2", "pool"])
    stages = [e["stage"] for e in events if e["event"] == "stage"]
    for stage in ("connect", "probe", "upload", "create", "warmup", "timed", "profile",
                  "download", "done"):
        assert stage in stages, f"no {stage} stage over SSH: {stages}"
    order = [stages.index(s) for s in ("connect", "probe", "upload", "timed", "download", "done")]
    assert order == sorted(order), stages


def test_the_job_folder_on_the_board_is_removed_after_the_job(board: SSHDevice,
                                                              conv_model: Path) -> None:
    wb.profile(conv_model, device=board, warmup=0, runs=2, profile_runs=1)
    jobs = Path(board.cache) / "jobs"
    # the warm agent removes it between jobs, off the job's path
    assert until(lambda: not jobs.exists() or list(jobs.iterdir()) == [])


def test_a_timeout_kills_the_agents_process_group_on_the_board(board: SSHDevice,
                                                                tmp_path: Path) -> None:
    job = sleepy_job(tmp_path, device=board)
    with pytest.raises(errors.JobTimeout):
        board.run(job, timeout=2)
    assert wait_gone(int((Path(job["workdir"]) / "child.pid").read_text()))


def test_cancel_stops_the_job_on_the_board(board: SSHDevice, tmp_path: Path) -> None:
    cancel = threading.Event()
    job = sleepy_job(tmp_path, device=board)
    with pytest.raises(errors.JobCancelled):
        board.run(job, lambda e: cancel.set() if e.get("message") == "sleeping" else None,
                  cancel=cancel)
    assert wait_gone(int((Path(job["workdir"]) / "child.pid").read_text()))


def test_an_agent_killed_on_the_board_reports_its_stderr_tail(board: SSHDevice,
                                                              tmp_path: Path) -> None:
    runner = tmp_path / "dies.py"
    runner.write_text("import os, signal, sys\nRUNNER_API = 1\ndef run(job, ctx):\n"
                      "    sys.stderr.write('allocating tensors\\n'); sys.stderr.flush()\n"
                      "    os.kill(os.getpid(), signal.SIGKILL)\n")
    job = sleepy_job(tmp_path, device=board)
    job["backend"]["runner"] = board.ensure(runner)
    with pytest.raises(errors.AgentCrashed) as caught:
        board.run(job)
    assert "allocating tensors" in caught.value.stderr_tail


def test_a_link_dropped_mid_run_is_reported_and_the_agent_stops_on_the_board(
        sshd: Sshd, tmp_path: Path) -> None:
    device = make_board(sshd, tmp_path)
    job = sleepy_job(tmp_path, device=device)

    def on_event(event: dict[str, Any]) -> None:
        if event.get("message") == "sleeping":
            sshd.drop_connections()

    with pytest.raises(errors.LinkDropped, match="while the job ran"):
        device.run(job, on_event)
    assert wait_gone(int((Path(job["workdir"]) / "child.pid").read_text()), seconds=30)


def test_two_hosts_sharing_a_board_queue_up_and_the_second_sees_who_holds_it(
        sshd: Sshd, tmp_path: Path) -> None:
    devices = {"a": make_board(sshd, tmp_path), "b": make_board(sshd, tmp_path)}
    jobs: dict[str, dict[str, Any]] = {}
    for label, device in devices.items():
        device.probe()  # both connected first: b starts while a holds the board, even when busy
        (tmp_path / label).mkdir()
        jobs[label] = sleepy_job(tmp_path / label, seconds=5, device=device)
        jobs[label]["lock"] = {"path": device.lock_path(), "holder": f"host {label}"}
    queued: list[dict[str, Any]] = []
    a_holds_the_board = threading.Event()

    def on_event(event: dict[str, Any]) -> None:
        if event.get("stage") == "queue":
            queued.append(event)
        if event.get("message") == "sleeping" and not a_holds_the_board.is_set():
            a_holds_the_board.set()  # only a runs until it lets go of the board

    first = threading.Thread(target=devices["a"].run, args=(jobs["a"], on_event))
    first.start()
    assert a_holds_the_board.wait(60)
    devices["b"].run(jobs["b"], on_event)
    first.join(60)
    assert ran_one_after_the_other(list(jobs.values())), "the second job did not wait"
    assert any(q["place"] == 1 and q["holder"] == "host a" for q in queued), queued


def test_a_silent_link_is_noticed_and_a_finished_job_is_collected_by_reattach(
        sshd: Sshd, tmp_path: Path) -> None:
    # The host gives up after four silent beats (8 s): time enough for the runs on a busy machine.
    device = make_board(sshd, tmp_path, heartbeat_s=2.0)
    job, message = drop_mid_run(sshd, lambda on_event: wb.submit(
        "zoo:mobilenetv2", device=device, warmup=0, runs=150, profile_runs=0,
        on_event=on_event))
    assert "No word from the agent" in message
    profile = job.reattach(timeout=60)
    assert len(profile.to_dict()["latency"]["samples_ms"]) == 150
    assert profile.to_dict()["device"]["name"] == "testboard"
