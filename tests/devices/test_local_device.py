"""LocalDevice: the real agent in a subprocess; timeouts, cancel, crashes and the lock."""

from __future__ import annotations

import platform
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ran_one_after_the_other, sleepy_job, wait_gone
from workbench import errors
from workbench.devices import LocalDevice, connect


def test_connect_local_gives_one_device_object_per_name() -> None:
    assert connect("local") is connect("local")
    assert isinstance(connect("local"), LocalDevice)


def test_connect_to_an_unknown_name_lists_the_known_devices() -> None:
    with pytest.raises(errors.DeviceNotFound, match="local"):
        connect("no-such-board")


def test_probe_describes_this_machine() -> None:
    info = LocalDevice().probe()
    assert info.arch == platform.machine()
    assert info.kind == "local" and not info.emulated
    assert info.runtime_version("onnxruntime")
    assert "CPUExecutionProvider" in info.providers("onnxruntime")
    assert info.python == platform.python_version()
    assert info.name in info.summary()


def test_a_shown_probe_gives_sizes_in_units_and_the_cpu_by_its_clusters() -> None:
    info = LocalDevice().probe()
    shown = info._repr_html_()
    facts = dict(info.facts())
    assert facts["memory"] == f"{info.memory_bytes / 2**30:.1f} GiB"
    assert str(info.memory_bytes) not in shown  # no raw byte count a reader must divide
    assert facts["CPU"].startswith(f"{info.cores} × ") and "{" not in shown  # no raw JSON
    assert info.runtime_version("onnxruntime") in facts["runtimes"]
    assert "CPUExecutionProvider" in facts["runtimes"]


def test_a_shown_probe_says_a_runtime_cannot_be_used_and_survives_odd_fields() -> None:
    from workbench.devices.base import DeviceInfo

    # an agent that found onnxruntime but could not import it; fields of an older agent
    probe = {"arch": "aarch64", "cores": 4, "memory_bytes": "8 GB",
             "cpu": {"clusters": [{"model": "Cortex-A76", "cores": 4, "max_mhz": "2400"}]},
             "runtimes": {"onnxruntime": {"error": "ImportError: libgomp.so.1"},
                          "tflite": {"version": "2.14", "providers": ["XNNPACK"]}}}
    info = DeviceInfo.from_probe("old-pi", "ssh", probe)
    facts = dict(info.facts())
    assert facts["runtimes"] == ("onnxruntime (unusable: ImportError: libgomp.so.1); "
                                 "tflite 2.14 (XNNPACK)")
    assert facts["CPU"] == "4 × Cortex-A76" and facts["memory"] == "8 GB"
    assert "unusable" in info._repr_html_()


def test_timeout_kills_the_agents_whole_process_group(tmp_path: Path) -> None:
    job = sleepy_job(tmp_path)
    with pytest.raises(errors.JobTimeout, match="longer than 1 s"):
        LocalDevice().run(job, timeout=1.0)
    child = int((Path(job["workdir"]) / "child.pid").read_text())
    assert wait_gone(child), "the runner's own child process must die with the agent"


def test_cancel_stops_the_agent_and_raises_job_cancelled(tmp_path: Path) -> None:
    cancel = threading.Event()
    started = threading.Event()

    def on_event(event: dict[str, Any]) -> None:
        if event.get("message") == "sleeping":
            started.set()
            cancel.set()

    with pytest.raises(errors.JobCancelled):
        LocalDevice().run(sleepy_job(tmp_path), on_event, cancel=cancel)
    assert started.is_set()


def test_an_agent_killed_mid_run_reports_the_signal_and_its_stderr_tail(tmp_path: Path) -> None:
    runner = tmp_path / "dies.py"
    runner.write_text("import os, signal, sys\nRUNNER_API = 1\ndef run(job, ctx):\n"
                      "    sys.stderr.write('loading weights\\n'); sys.stderr.flush()\n"
                      "    os.kill(os.getpid(), signal.SIGKILL)\n")
    job = sleepy_job(tmp_path)
    job["backend"]["runner"] = str(runner)
    with pytest.raises(errors.AgentCrashed) as caught:
        LocalDevice().run(job)
    assert "signal 9" in str(caught.value)
    assert "loading weights" in caught.value.stderr_tail
    assert caught.value.hint


def test_two_jobs_on_one_device_run_one_after_the_other(tmp_path: Path) -> None:
    device = LocalDevice("lock-test")
    jobs = [sleepy_job(tmp_path, seconds=1.0) for _ in range(2)]
    results: list[dict[str, Any]] = []
    queued: list[dict[str, Any]] = []
    for index, job in enumerate(jobs):
        job["id"] = f"job-{index}"
        job["lock"] = {"path": device.lock_path(), "holder": f"test thread {index}"}

    def one_job(job: dict[str, Any]) -> None:
        results.append(device.run(job, lambda e: queued.append(e)
                                  if e.get("stage") == "queue" else None))

    threads = [threading.Thread(target=one_job, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [r["latency_ms"] for r in results] == [[1.0], [1.0]]
    assert ran_one_after_the_other(jobs), "the second job ran while the first held the device"
    assert queued, "the waiting job reported no queue stage"
    assert queued[0]["place"] == 1 and queued[0]["source"] == "board"
    assert str(queued[0]["holder"]).startswith("test thread")


def test_the_agent_stops_when_the_host_goes_away(tmp_path: Path) -> None:
    import json
    import subprocess

    from tests.conftest import PYTHON, agent_env

    job = sleepy_job(tmp_path)
    agent = subprocess.Popen([PYTHON, "-m", "workbench_agent", "run", "-", "--watch-stdin"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=agent_env(), start_new_session=True)
    assert agent.stdin is not None and agent.stdout is not None
    agent.stdin.write(json.dumps(job) + "\n")
    agent.stdin.flush()
    for line in agent.stdout:
        if '"sleeping"' in line:
            break
    agent.stdin.close()  # the host is gone
    assert agent.wait(timeout=30) != 0
    child = int((Path(job["workdir"]) / "child.pid").read_text())
    assert wait_gone(child)
