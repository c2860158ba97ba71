"""Collecting a job whose link dropped, from another process's view: ``workbench jobs``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import workbench as wb
from tests.conftest import conv_relu_model, until
from tests.ssh.conftest import drop_mid_run, make_board, register_board
from tests.ssh.sshd import Sshd
from workbench import errors, history
from workbench.cli import EXIT_ERROR, main
from workbench.devices import registry
from workbench.devices.ssh import SSHDevice
from workbench.jobs import pending
from workbench.jobs.build import prepare


@pytest.fixture
def registered(sshd: Sshd, tmp_path: Path) -> Iterator[SSHDevice]:
    """The board under its name in the registry, as a new process finds it, and a device
    object of the same board that notices a silent link after 8 s."""
    register_board("collectboard", sshd, tmp_path)
    device = make_board(sshd, tmp_path, heartbeat_s=2.0)
    device.name = "collectboard"
    yield device
    device.close()
    registry.remove("collectboard")


def test_a_job_whose_link_dropped_is_collected_by_the_cli_with_the_boards_numbers(
        sshd: Sshd, registered: SSHDevice, conv_model: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    job, message = drop_mid_run(sshd, lambda on_event: wb.submit(
        conv_model, device=registered, warmup=0, runs=150, profile_runs=1, label="dropped",
        on_event=on_event))
    assert "workbench jobs collect ID" in message
    assert job.prepared is not None
    job_id, workdir = job.prepared.job["id"], Path(job.prepared.job["workdir"])
    assert until(lambda: (workdir / "outcome.json").is_file(), seconds=120)
    on_board = json.loads((workdir / "outcome.json").read_text())["result"]

    assert main(["jobs"]) == 0
    listed = capsys.readouterr().out
    assert "collectboard" in listed and job_id in listed and "dropped" in listed

    # a model that changed since the run is refused, and the job stays collectable
    original = conv_model.read_bytes()
    conv_relu_model(conv_model, channels=8)
    with pytest.raises(errors.JobModelChanged, match="changed since the job ran"):
        pending.collect(job_id)
    conv_model.unlink()
    with pytest.raises(errors.JobModelChanged, match="cannot be loaded again"):
        pending.collect(job_id)
    conv_model.write_bytes(original)

    report, saved = tmp_path / "collected.html", tmp_path / "collected.json"
    assert main(["jobs", "collect", job_id, "--out", str(report), "--json", str(saved)]) == 0
    assert f"report: {report}" in capsys.readouterr().out
    profile = wb.Profile.load(saved)
    document = profile.to_dict()
    assert document["latency"]["samples_ms"] == [float(x) for x in on_board["latency_ms"]]
    assert document["label"] == "dropped" and document["device"]["name"] == "collectboard"
    assert document["model"]["sha256"] == job.prepared.model.sha256
    assert report.is_file()
    history.wait_saved()
    assert history.entries(device="collectboard"), "the collected profile is not in the history"
    assert not workdir.exists(), "the collected job's folder stayed on the board"

    assert main(["jobs", "collect", job_id]) == EXIT_ERROR  # collected once: gone from the list
    assert "No job" in capsys.readouterr().err


def test_an_unknown_job_id_is_refused_with_the_way_to_list_them() -> None:
    with pytest.raises(errors.JobNotFound, match="No job 'abc123' waits") as caught:
        pending.collect("abc123")
    assert "workbench jobs" in str(caught.value.hint)


def test_a_job_still_running_is_refused_unless_waited_for_and_a_job_gone_is_forgotten(
        registered: SSHDevice, conv_model: Path) -> None:
    from workbench_agent.record import JobRecord

    prepared = prepare(conv_model, registered, runs=2, warmup=0)
    job_id, workdir = prepared.job["id"], prepared.job["workdir"]
    pending.keep(prepared)
    record = pending.folder() / f"{job_id}.json"
    assert record.stat().st_mode & 0o777 == 0o600, "a job record is readable by others"
    assert json.loads(record.read_text())["device"] == "collectboard"
    # the job never started: its board has no folder for it
    with pytest.raises(errors.JobGone, match="no longer has job"):
        pending.collect(job_id)
    assert job_id not in [p.id for p in pending.pending()]

    pending.keep(prepared)
    JobRecord(workdir, job_id).status("running")  # this process plays the running agent
    with pytest.raises(errors.JobStillRunning, match="still running") as caught:
        pending.collect(job_id)
    assert "--wait" in str(caught.value.hint)
    with pytest.raises(errors.JobStillRunning):
        pending.collect(job_id, wait=True, timeout=1.5)
    assert job_id in [p.id for p in pending.pending()], "a running job stays collectable"
    pending.forget(job_id)
