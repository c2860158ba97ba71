"""Measurement conditions: pinning, sampled sysfs readings, governor restore, warnings."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from tests.conftest import sleepy_job
from workbench import errors
from workbench.devices import LocalDevice

SPY_RUNNER = """
import os, time
RUNNER_API = 1
def run(job, ctx):
    root = job["run"]["sysfs_root"]
    policy = os.path.join(root, "sys/devices/system/cpu/cpufreq/policy0")
    seen = open(os.path.join(policy, "scaling_governor")).read().strip()
    ctx.log("info", "governor during the run: " + seen)
    if job["backend"]["options"].get("change_frequency"):
        time.sleep(0.6)
        open(os.path.join(policy, "scaling_cur_freq"), "w").write("600000")
        time.sleep(0.6)
    if job["backend"]["options"].get("fail"):
        raise RuntimeError("the runtime crashed")
    return {"runtime": {"name": "spy", "version": "0"}, "latency_ms": [1.0]}
"""


def fake_sysfs(root: Path) -> Path:
    policy = root / "sys/devices/system/cpu/cpufreq/policy0"
    policy.mkdir(parents=True)
    for name, value in {"related_cpus": "0 1", "scaling_governor": "schedutil",
                        "scaling_cur_freq": "1800000", "scaling_min_freq": "600000",
                        "scaling_max_freq": "2400000"}.items():
        (policy / name).write_text(value + "\n")
    zone = root / "sys/class/thermal/thermal_zone0"
    zone.mkdir(parents=True)
    (zone / "temp").write_text("45500\n")
    (zone / "type").write_text("cpu-thermal\n")
    return root


def spy_job(tmp_path: Path, **options: Any) -> dict[str, Any]:
    job = sleepy_job(tmp_path)
    runner = tmp_path / "spy.py"
    runner.write_text(SPY_RUNNER)
    job["backend"] = {"name": "spy", "runner": str(runner), "options": options}
    job["run"].update({"sysfs_root": str(fake_sysfs(tmp_path / "sysfs")), "cores": [0],
                       "governor": "performance"})
    return job


def test_pinning_to_a_core_is_visible_in_the_profile(conv_model: Path) -> None:
    p = wb.profile(conv_model, warmup=0, runs=3, profile_runs=0, cores=[0])
    assert p.to_dict()["environment"]["cores_used"] == [0]
    assert p.to_dict()["run"]["cores"] == [0]


def test_asking_for_a_core_the_device_lacks_is_a_clear_error(conv_model: Path) -> None:
    with pytest.raises(errors.InvalidOptionValue, match="cores"):
        wb.profile(conv_model, runs=1, profile_runs=0, cores=[4096])


def test_sampled_conditions_are_recorded_or_marked_unavailable(tmp_path: Path) -> None:
    result = LocalDevice().run(spy_job(tmp_path))
    conditions = result["environment"]["conditions"]
    assert conditions["frequency"]["policy0"]["governor"] == "performance"  # as run
    assert conditions["governor_set"] == "performance"
    assert conditions["frequency"]["policy0"]["max_khz"] == 2400000
    assert conditions["temperature_c"]["max"] == 45.5
    assert conditions["throttle_count"] == {"before": None, "after": None}  # unavailable here


def test_the_governor_is_set_for_the_run_and_restored_after_a_failing_run(
        tmp_path: Path) -> None:
    job = spy_job(tmp_path, fail=True)
    messages: list[str] = []
    with pytest.raises(errors.AgentError, match="the runtime crashed"):
        LocalDevice().run(job, lambda e: messages.append(e.get("message", "")))
    assert "governor during the run: performance" in messages
    governor = Path(job["run"]["sysfs_root"]) / "sys/devices/system/cpu/cpufreq/policy0"
    assert (governor / "scaling_governor").read_text().strip() == "schedutil"


def test_a_frequency_change_during_the_run_is_warned_about(tmp_path: Path) -> None:
    result = LocalDevice().run(spy_job(tmp_path, change_frequency=True))
    assert any("frequency changed" in w for w in result["warnings"])


def test_another_busy_process_on_the_same_core_is_warned_about(conv_model: Path) -> None:
    core = min(os.sched_getaffinity(0))  # a core this process may use, whichever it is
    hog = subprocess.Popen([sys.executable, "-c", f"import os; os.sched_setaffinity(0, [{core}])\n"
                            "while True: pass"])
    try:
        p = wb.profile(conv_model, warmup=0, runs=4000, profile_runs=0, cores=[core])
    finally:
        hog.kill()
    conditions = p.to_dict()["environment"]["conditions"]
    share = conditions["other_processes_cpu_share"]
    assert share > 0.2
    assert any("other processes took" in w for w in p.to_dict()["warnings"])
    # the busy loop is a child of the process that started the agent, not that process
    assert conditions["parent_process_share_of_cores_used"] < share


IDLE_RUNNER = """
import time
RUNNER_API = 1
def run(job, ctx):
    time.sleep(1.0)
    return {"runtime": {"name": "idle", "version": "0"}, "latency_ms": [1.0]}
"""


def test_the_host_processs_own_threads_beside_a_job_are_counted_apart_from_others(
        tmp_path: Path) -> None:
    # on this machine's device the agent's parent is this process: a thread of it that
    # keeps the job's core busy is the host's time, not other processes'
    core = min(os.sched_getaffinity(0))
    job = sleepy_job(tmp_path)
    runner = tmp_path / "idle.py"
    runner.write_text(IDLE_RUNNER)
    job["backend"] = {"name": "idle", "runner": str(runner), "options": {}}
    job["run"]["cores"] = [core]
    busy, stop = threading.Event(), threading.Event()

    def burn() -> None:
        os.sched_setaffinity(0, {core})  # this thread only
        busy.set()
        while not stop.is_set():
            pass

    burner = threading.Thread(target=burn, daemon=True)
    burner.start()
    try:
        assert busy.wait(10)
        result = LocalDevice().run(job)
    finally:
        stop.set()
        burner.join()
    conditions = result["environment"]["conditions"]
    host = conditions["parent_process_share_of_cores_used"]
    assert host is not None and host > 0.1
    others = conditions["other_processes_share_of_cores_used"]
    # counted in others too, the two would pass the whole core (the loop keeps it busy);
    # the kernel's per-core and per-process tallies differ by a tick or two
    assert others is not None and others + host <= 1.05


def test_peak_memory_grows_with_a_larger_model() -> None:
    small = wb.profile("zoo:small-cnn", warmup=0, runs=1, profile_runs=0)
    large = wb.profile("zoo:resnet18", warmup=0, runs=1, profile_runs=0)
    key = "peak_rss_after_runs_bytes"
    assert large.to_dict()["memory"][key] > small.to_dict()["memory"][key] + 40 * 2**20


TIMED_RUNNER = """
import time
from workbench_agent.timing import latencies
RUNNER_API = 1
def run(job, ctx):
    time.sleep(float(job["backend"]["options"]["before_s"]))  # imports, session creation
    runs = latencies(lambda: time.sleep(0.05), job["run"], ctx)
    return {"runtime": {"name": "timed", "version": "0"}, "latency_ms": runs}
"""


@pytest.mark.parametrize(("runs", "over"), [(12, "timed runs"), (1, "whole job")])
def test_cpu_shares_are_taken_over_the_timed_runs_when_they_last_long_enough(
        tmp_path: Path, runs: int, over: str) -> None:
    # a cold start (imports read from disk, the kernel's work on them) is not the runs'
    job = sleepy_job(tmp_path)
    runner = tmp_path / "timed.py"
    runner.write_text(TIMED_RUNNER)
    job["backend"] = {"name": "timed", "runner": str(runner), "options": {"before_s": 0.3}}
    job["run"].update({"runs": runs, "cores": [min(os.sched_getaffinity(0))]})
    result = LocalDevice().run(job)
    conditions = result["environment"]["conditions"]
    assert len(result["latency_ms"]) == runs
    assert conditions["cpu_shares_over"] == over
    assert conditions["other_processes_share_of_cores_used"] is not None
    assert conditions["other_processes_share_of_cores_used_whole_job"] is not None
