"""A device's status without a job: the board lock's holder and queue, and the job folders."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from workbench_agent.record import JobRecord, list_jobs, prune

from tests.conftest import PYTHON, agent_env, sleepy_job, until, waited_for
from tests.test_cli import workbench
from workbench import errors
from workbench.devices import LocalDevice

DAY = 86400.0


def age(folder: Path, days: float) -> None:
    """Move a job record's last status back by ``days``."""
    status = folder / "status.json"
    document = json.loads(status.read_text())
    document["time"] = time.time() - days * DAY
    status.write_text(json.dumps(document))


def test_prune_removes_a_week_old_finished_record_and_keeps_a_running_one(
        tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    JobRecord(str(jobs / "old-done"), "old-done").outcome({"event": "result", "result": {}})
    age(jobs / "old-done", 8)
    JobRecord(str(jobs / "old-running"), "old-running").status("running")  # this process
    age(jobs / "old-running", 8)
    exited = subprocess.Popen(["true"])  # an agent that is gone without a word
    exited.wait()
    JobRecord(str(jobs / "old-stopped"), "old-stopped").status("running")
    document = json.loads((jobs / "old-stopped" / "status.json").read_text())
    document.update(pid=exited.pid, time=time.time() - 9 * DAY)
    (jobs / "old-stopped" / "status.json").write_text(json.dumps(document))
    JobRecord(str(jobs / "recent-done"), "recent-done").outcome({"event": "result", "result": {}})

    assert sorted(prune(str(jobs))) == ["old-done", "old-stopped"]
    assert sorted(p.name for p in jobs.iterdir()) == ["old-running", "recent-done"]
    listed = {job["id"]: job for job in list_jobs(str(jobs))}
    assert listed["old-running"]["state"] == "running"
    assert listed["old-running"]["uncollected"] is False
    assert listed["recent-done"]["state"] == "done" and listed["recent-done"]["uncollected"]
    assert time.time() - listed["recent-done"]["time"] < 60

    # The agent's status tool prunes too, and lists what is left.
    JobRecord(str(jobs / "old-failed"), "old-failed").outcome({"event": "error", "error": {}})
    age(jobs / "old-failed", 7.5)
    done = subprocess.run([PYTHON, "-m", "workbench_agent", "tool", "status",
                           str(tmp_path / "board" / "board.lock"), str(jobs)],
                          capture_output=True, text=True, env=agent_env(), check=True)
    answer = json.loads(done.stdout)
    assert answer["pruned"] == ["old-failed"]
    assert [job["id"] for job in answer["jobs"]] == ["old-running", "recent-done"]
    assert answer["lock"]["held"] is False and answer["lock"]["waiters"] == []


def test_status_shows_the_holder_the_waiter_and_an_uncollected_job(tmp_path: Path) -> None:
    device = LocalDevice()
    finished = sleepy_job(tmp_path, seconds=0, device=device)
    assert device.run(finished)["latency_ms"] == [1.0]  # its folder stays: nobody collected it

    cancel = threading.Event()
    failures: list[BaseException] = []

    def run(job: dict[str, Any]) -> None:
        try:
            device.run(job, cancel=cancel)
        except errors.JobCancelled:
            pass
        except BaseException as exc:
            failures.append(exc)

    holding, waiting = (sleepy_job(tmp_path, seconds=120, device=device) for _ in range(2))
    holding["lock"] = {"path": device.lock_path(), "holder": "holder in the status test"}
    waiting["lock"] = {"path": device.lock_path(), "holder": "waiter in the status test"}
    threads = [threading.Thread(target=run, args=(job,)) for job in (holding, waiting)]
    try:
        threads[0].start()
        until(lambda: (Path(holding["workdir"]) / "child.pid").exists())  # its runner runs
        threads[1].start()
        state = until(lambda: waited_for(device.status()))
        lock = state["lock"]
        assert lock["held"] and lock["lock"] == device.lock_path()
        assert lock["holder"]["job"] == holding["id"]
        assert lock["holder"]["holder"] == "holder in the status test"
        assert lock["since"] == lock["holder"]["since"] <= time.time()
        assert [(w["job"], w["holder"]) for w in lock["waiters"]] == [
            (waiting["id"], "waiter in the status test")]
        jobs = {job["id"]: job for job in state["jobs"]}
        folder = Path(finished["workdir"]).name
        assert jobs[folder]["state"] == "done" and jobs[folder]["uncollected"] is True
        assert jobs[Path(holding["workdir"]).name]["state"] == "running"
        assert jobs[Path(holding["workdir"]).name]["uncollected"] is False

        printed = workbench("device", "status", "local", "--json")
        assert printed.returncode == 0, printed.stderr
        shown = json.loads(printed.stdout)
        assert shown["lock"]["holder"]["job"] == holding["id"]
        assert [w["job"] for w in shown["lock"]["waiters"]] == [waiting["id"]]
        assert any(job["id"] == folder and job["uncollected"] for job in shown["jobs"])

        text = workbench("device", "status", "local")
        assert text.returncode == 0, text.stderr
        assert "held by holder in the status test" in text.stdout
        assert "waiting 1: waiter in the status test" in text.stdout
        assert "not collected" in text.stdout and folder in text.stdout
    finally:
        cancel.set()
        for thread in threads:
            thread.join(60)
    assert not failures, failures
    assert device.status()["lock"]["held"] is False
    device.remove_workdir(finished["workdir"])
    assert folder not in {job["id"] for job in device.status()["jobs"]}
