"""The warm agent: one agent per device object that runs job after job, each in a process of
its own, with the board's lock, cancel, heartbeats and no process left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from tests.conftest import sleepy_job, until, wait_gone
from tests.ssh.conftest import agents_serving, make_board
from tests.ssh.sshd import Sshd
from workbench import errors
from workbench.devices.ssh import SSHDevice

ROOT = Path(__file__).resolve().parents[2]


def _hello(events: list[dict[str, Any]]) -> dict[str, Any]:
    return next(e for e in events if e.get("event") == "hello")


def _sleepy_with_lock(tmp_path: Path, device: SSHDevice, seconds: float = 600,
                      wait_s: float | None = None) -> dict[str, Any]:
    job = sleepy_job(tmp_path, seconds=seconds, device=device)
    job["lock"] = {"path": device.lock_path(), "holder": "test host", "wait_s": wait_s}
    return job


def _record(job: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads((Path(job["workdir"]) / "status.json").read_text()))


def test_jobs_after_the_first_run_in_the_same_warm_agent_each_in_a_process_of_its_own(
        board: SSHDevice, conv_model: Path) -> None:
    jobs = []
    for _ in range(2):
        jobs.append(wb.submit(conv_model, device=board, warmup=0, runs=3, profile_runs=1))
        profile = jobs[-1].result(timeout=300)
    hellos = [_hello(job.events) for job in jobs]
    assert hellos[0]["warm_agent"] is not None
    assert hellos[0]["warm_agent"] == hellos[1]["warm_agent"], "a second agent was started"
    assert hellos[0]["pid"] != hellos[1]["pid"], "two jobs shared one process"
    assert len(profile.latency_samples) == 3


def test_cancel_stops_the_job_frees_the_board_and_keeps_the_warm_agent(
        board: SSHDevice, tmp_path: Path) -> None:
    cancel = threading.Event()
    events: list[dict[str, Any]] = []

    def on_event(event: dict[str, Any]) -> None:
        events.append(event)
        if event.get("message") == "sleeping":
            cancel.set()

    (tmp_path / "first").mkdir()
    job = _sleepy_with_lock(tmp_path / "first", board)
    with pytest.raises(errors.JobCancelled):
        board.run(job, on_event, cancel=cancel)
    assert wait_gone(int((Path(job["workdir"]) / "child.pid").read_text()))
    assert wait_gone(_hello(events)["pid"])
    # the board is free at once: a job that would give up after 5 s of waiting gets it
    (tmp_path / "second").mkdir()
    after: list[dict[str, Any]] = []
    board.run(_sleepy_with_lock(tmp_path / "second", board, seconds=0, wait_s=5), after.append)
    assert not [e for e in after if e.get("stage") == "queue"]
    assert _hello(after)["warm_agent"] == _hello(events)["warm_agent"]


def test_a_timeout_stops_the_job_on_the_warm_agent(board: SSHDevice, tmp_path: Path) -> None:
    job = sleepy_job(tmp_path, device=board)
    with pytest.raises(errors.JobTimeout):
        board.run(job, timeout=2)
    assert wait_gone(int((Path(job["workdir"]) / "child.pid").read_text()))


HOST = """
import json, sys
sys.path[:0] = [sys.argv[1]]
from pathlib import Path
from tests.conftest import sleepy_job
from workbench.devices.ssh import SSHDevice
settings = json.loads(sys.argv[2])
folder = Path(settings.pop("folder"))
device = SSHDevice("testboard", **settings)
job = sleepy_job(folder, device=device)
hello = []

def on_event(event):
    if event.get("event") == "hello":
        hello.append(event)
    if event.get("message") == "sleeping":
        print(json.dumps({"workdir": job["workdir"], "hello": hello[0]}), flush=True)

device.run(job, on_event)
"""


def _host_running_a_job(sshd: Sshd, tmp_path: Path,
                        heartbeat_s: float) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """Another host process that runs a sleepy job on the board; what it saw of the job."""
    settings = {"host": "127.0.0.1", "port": sshd.port, "user": "root",
                "key_filename": str(sshd.client_key), "known_hosts": [str(sshd.known_hosts)],
                "user_known_hosts": str(tmp_path / "user_known_hosts"),
                "ssh_config": str(tmp_path / "no_ssh_config"), "allow_agent": False,
                "look_for_keys": False, "python": sys.executable,
                "remote_cache": str(tmp_path / "board-cache"),
                "board_dir": str(tmp_path / "board"), "timeout": 5,
                "heartbeat_s": heartbeat_s, "folder": str(tmp_path)}
    host = subprocess.Popen([sys.executable, "-c", HOST, str(ROOT), json.dumps(settings)],
                            stdout=subprocess.PIPE, text=True)
    assert host.stdout is not None
    line = host.stdout.readline()
    assert line, "the host process ended before its job started"
    return host, json.loads(line)


def _nothing_left(seen: dict[str, Any]) -> None:
    hello = seen["hello"]
    assert wait_gone(int((Path(seen["workdir"]) / "child.pid").read_text()), seconds=30)
    assert wait_gone(hello["pid"], seconds=30)
    assert wait_gone(hello["warm_agent"], seconds=30)


def test_a_host_killed_mid_job_leaves_no_process_on_the_board(sshd: Sshd,
                                                               tmp_path: Path) -> None:
    host, seen = _host_running_a_job(sshd, tmp_path, heartbeat_s=5.0)
    host.kill()
    host.wait()
    _nothing_left(seen)
    status = json.loads((Path(seen["workdir"]) / "status.json").read_text())
    assert status["state"] == "stopped" and "the host is gone" in status["reason"]


def test_a_frozen_host_is_noticed_by_its_missing_heartbeats(sshd: Sshd,
                                                            tmp_path: Path) -> None:
    host, seen = _host_running_a_job(sshd, tmp_path, heartbeat_s=0.5)
    os.kill(host.pid, signal.SIGSTOP)  # the connection stays open; nothing comes through it
    try:
        _nothing_left(seen)
    finally:
        host.kill()
        host.wait()
    status = json.loads((Path(seen["workdir"]) / "status.json").read_text())
    assert "no heartbeat" in status["reason"]


def test_a_killed_warm_agent_takes_its_job_along_and_the_next_job_gets_a_new_one(
        board: SSHDevice, tmp_path: Path) -> None:
    events: list[dict[str, Any]] = []

    def on_event(event: dict[str, Any]) -> None:
        events.append(event)
        if event.get("message") == "sleeping":
            os.kill(_hello(events)["warm_agent"], signal.SIGKILL)

    (tmp_path / "first").mkdir()
    job = sleepy_job(tmp_path / "first", device=board)
    with pytest.raises(errors.WorkbenchError):
        board.run(job, on_event)
    assert wait_gone(_hello(events)["pid"], seconds=30)
    assert wait_gone(int((Path(job["workdir"]) / "child.pid").read_text()), seconds=30)
    (tmp_path / "second").mkdir()
    after: list[dict[str, Any]] = []
    board.run(sleepy_job(tmp_path / "second", seconds=0, device=board), after.append)
    assert _hello(after)["warm_agent"] not in (None, _hello(events)["warm_agent"])


def test_the_warm_agent_stops_when_idle_and_the_next_job_starts_a_new_one(
        sshd: Sshd, tmp_path: Path) -> None:
    device = make_board(sshd, tmp_path, warm_idle_s=1.0)
    first: list[dict[str, Any]] = []
    (tmp_path / "first").mkdir()
    device.run(sleepy_job(tmp_path / "first", seconds=0, device=device), first.append)
    assert wait_gone(_hello(first)["warm_agent"], seconds=30)
    (tmp_path / "second").mkdir()
    second: list[dict[str, Any]] = []
    device.run(sleepy_job(tmp_path / "second", seconds=0, device=device), second.append)
    assert _hello(second)["warm_agent"] not in (None, _hello(first)["warm_agent"])
    device.close()


def test_a_new_runtime_on_the_board_gets_a_fresh_warm_agent(board: SSHDevice,
                                                            tmp_path: Path) -> None:
    first: list[dict[str, Any]] = []
    (tmp_path / "first").mkdir()
    board.run(sleepy_job(tmp_path / "first", seconds=0, device=board), first.append)
    runtime = Path(board.cache, "runtime")
    (runtime / "bundle-2").mkdir(parents=True)
    (runtime / "current").symlink_to(runtime / "bundle-2")  # what `workbench device setup` does
    second: list[dict[str, Any]] = []
    (tmp_path / "second").mkdir()
    board.run(sleepy_job(tmp_path / "second", seconds=0, device=board), second.append)
    assert _hello(second)["warm_agent"] not in (None, _hello(first)["warm_agent"])
    assert wait_gone(_hello(first)["warm_agent"])


def test_closing_the_device_stops_its_warm_agent_and_removes_what_it_kept(
        sshd: Sshd, tmp_path: Path) -> None:
    import glob

    device = make_board(sshd, tmp_path)
    events: list[dict[str, Any]] = []
    device.run(sleepy_job(tmp_path, seconds=0, device=device), events.append)
    agent = _hello(events)["warm_agent"]
    # the board's temporary folder: an SSH session gets no TMPDIR
    kept = glob.glob(f"/tmp/workbench-warm-{agent}-*")
    assert len(kept) == 1, "the warm agent keeps no folder of its own"
    device.close()
    assert wait_gone(agent)
    assert not os.path.exists(kept[0]), "the warm agent left its folder behind"


def test_a_device_without_warm_agent_starts_an_agent_per_job(sshd: Sshd,
                                                              tmp_path: Path) -> None:
    device = make_board(sshd, tmp_path, warm=False)
    events: list[dict[str, Any]] = []
    device.run(sleepy_job(tmp_path, seconds=0, device=device), events.append)
    assert _hello(events)["warm_agent"] is None
    assert until(lambda: wait_gone(_hello(events)["pid"]))
    device.close()


COUNTING_RUNNER = """
RUNNER_API = 1
CALLS = []
def run(job, ctx):
    CALLS.append(job["id"])
    return {"runtime": {"name": "counting", "version": "0"}, "latency_ms": [float(len(CALLS))]}
"""


def test_a_plug_in_runner_starts_afresh_in_every_job_on_the_warm_agent(
        board: SSHDevice, tmp_path: Path) -> None:
    runner = tmp_path / "counting.py"
    runner.write_text(COUNTING_RUNNER)
    seen: list[float] = []
    hellos: list[dict[str, Any]] = []
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        job = sleepy_job(tmp_path / name, device=board)
        job["backend"]["runner"] = board.ensure(runner)
        events: list[dict[str, Any]] = []
        seen += board.run(job, events.append)["latency_ms"]
        hellos.append(_hello(events))
    assert hellos[0]["warm_agent"] == hellos[1]["warm_agent"]
    assert seen == [1.0, 1.0], "the runner module kept state from the job before"


def test_a_job_of_another_backend_gets_a_warm_agent_with_only_that_backends_runtime(
        board: SSHDevice, conv_model: Path) -> None:
    first = wb.submit(conv_model, device=board, backend="onnxruntime", warmup=0, runs=1,
                      profile_runs=0)
    first.result(timeout=300)
    second = wb.submit(conv_model, device=board, backend="reference", warmup=0, runs=1,
                       profile_runs=0)
    second.result(timeout=300)
    agents = [_hello(job.events)["warm_agent"] for job in (first, second)]
    assert None not in agents and agents[0] != agents[1], "one agent ran both backends"
    assert wait_gone(agents[0]), "the first backend's agent was left running"


RUNTIME_SEEN = """
import sys
RUNNER_API = 1
def run(job, ctx):
    imported = "onnxruntime" in sys.modules
    return {"runtime": {"name": "seen", "version": "0"}, "latency_ms": [float(imported)]}
"""


def test_the_runtime_is_imported_once_per_warm_agent_not_once_per_job(
        board: SSHDevice, tmp_path: Path) -> None:
    runner = tmp_path / "seen.py"
    runner.write_text(RUNTIME_SEEN)
    board.probe()  # probed by the warm agent, which imported onnxruntime there
    seen: list[float] = []
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        job = sleepy_job(tmp_path / name, device=board)
        job["backend"].update(name="onnxruntime", runner=board.ensure(runner))
        seen += board.run(job)["latency_ms"]
    assert seen == [1.0, 1.0], "a job on the warm agent imported the runtime itself"


def test_a_warm_agent_started_for_a_job_imports_its_runtime_once_for_every_job(
        sshd: Sshd, tmp_path: Path) -> None:
    device = make_board(sshd, tmp_path, warm=True)
    runner = tmp_path / "seen.py"
    runner.write_text(RUNTIME_SEEN)
    seen: list[float] = []
    hellos: list[dict[str, Any]] = []
    try:
        for name in ("first", "second"):
            (tmp_path / name).mkdir()
            job = sleepy_job(tmp_path / name, device=device)
            job["backend"].update(name="onnxruntime", runner=device.ensure(runner))
            events: list[dict[str, Any]] = []
            seen += device.run(job, events.append)["latency_ms"]
            hellos.append(_hello(events))
    finally:
        device.close()
    assert hellos[0]["warm_agent"] == hellos[1]["warm_agent"]
    # imported by the agent as it starts: the job processes it forks have it
    assert seen == [1.0, 1.0]


LINGERING = """
import os, time
RUNNER_API = 1
def run(job, ctx):
    release = job["backend"]["options"]["release"]
    end = os._exit
    def lingering(code):  # its process ends only once released (a runtime's slow teardown)
        for _ in range(1200):
            if os.path.exists(release):
                break
            time.sleep(0.05)
        end(code)
    os._exit = lingering
    return {"runtime": {"name": "lingering", "version": "0"}, "latency_ms": [1.0],
            "warnings": [str(os.getpid())]}
"""


def _lingering_jobs(board: SSHDevice, tmp_path: Path, release: Path,
                    count: int) -> list[dict[str, Any]]:
    """Jobs whose process outlives their result until ``release`` exists."""
    runner = tmp_path / "lingering.py"
    runner.write_text(LINGERING)
    jobs = []
    for index in range(count):
        (tmp_path / str(index)).mkdir()
        jobs.append(sleepy_job(tmp_path / str(index), device=board))
        jobs[-1]["backend"].update(runner=board.ensure(runner), options={"release": str(release)})
    return jobs


def test_a_warm_job_is_done_at_its_result_and_the_next_job_waits_for_its_process_to_end(
        board: SSHDevice, tmp_path: Path) -> None:
    release = tmp_path / "release"
    jobs = _lingering_jobs(board, tmp_path, release, 2)
    first: list[dict[str, Any]] = []
    lingering = int(board.run(jobs[0], first.append)["warnings"][0])
    # the job's process has not ended: the agent has not told its exit
    os.kill(lingering, 0)
    # released while the second job is on its way: whenever that happens, it starts after
    timer = threading.Timer(0.5, release.touch)
    timer.start()
    events: list[dict[str, Any]] = []
    try:
        board.run(jobs[1], events.append)
    finally:
        timer.join()
    assert wait_gone(lingering)
    assert _hello(events)["received"] >= release.stat().st_mtime
    assert _hello(events)["warm_agent"] == _hello(first)["warm_agent"], "it found the agent busy"


def test_a_job_waiting_for_the_process_before_stops_at_its_timeout_or_cancel(
        board: SSHDevice, tmp_path: Path) -> None:
    release = tmp_path / "release"
    jobs = _lingering_jobs(board, tmp_path, release, 3)
    lingering = int(board.run(jobs[0])["warnings"][0])
    try:
        with pytest.raises(errors.JobTimeout, match="job before to end"):
            board.run(jobs[1], timeout=0.2)
        cancel = threading.Event()
        cancel.set()
        with pytest.raises(errors.JobCancelled, match="job before to end"):
            board.run(jobs[2], cancel=cancel)
        os.kill(lingering, 0)  # neither waited for it
    finally:
        release.touch()
    assert wait_gone(lingering)


def test_with_the_probe_kept_the_agent_starts_beside_the_upload(
        sshd: Sshd, tmp_path: Path, conv_model: Path) -> None:
    from workbench.jobs.build import execute, prepare

    cache = tmp_path / "board-cache"
    first = make_board(sshd, tmp_path)
    first.probe()  # kept on the host: the next device object does not probe the board
    first.close()
    assert until(lambda: not agents_serving(cache))
    device = make_board(sshd, tmp_path)
    try:
        prepared = prepare(conv_model, device, warmup=0, runs=1, profile_runs=0)
        assert agents_serving(cache), "no agent runs on the board before the job is sent"
        assert len(execute(prepared).latency_samples) == 1
    finally:
        device.close()


def test_a_runtime_slower_to_import_than_the_heartbeat_limit_does_not_fail_the_first_job(
        sshd: Sshd, tmp_path: Path) -> None:
    # a warm agent imports its runtime right after `ready` and reads no job meanwhile; the
    # board's onnxruntime here takes 5 s to import, beyond 4 heartbeats of 1 s (a slow SD
    # card, a cold page cache, an emulated board)
    device = make_board(sshd, tmp_path, warm=True, heartbeat_s=1.0)
    slow = tmp_path / "board-cache" / "runtime" / "onnxruntime" / "onnxruntime"
    slow.mkdir(parents=True)
    (slow / "__init__.py").write_text("import time\ntime.sleep(5)\n")
    try:
        first, second = (sleepy_job(tmp_path, seconds=0.1, device=device) for _ in range(2))
        for job in (first, second):
            job["backend"]["name"] = "onnxruntime"  # its runner (sleepy) never imports it
        with pytest.raises(errors.JobTimeout, match="import its runtime"):
            device.run(first, timeout=1.0)  # the wait counts in the job's time
        assert device.run(second)["latency_ms"]
    finally:
        device.close()


def test_only_a_backend_whose_runtime_runs_forked_takes_over_the_agent_that_probed_the_board(
        board: SSHDevice, tmp_path: Path) -> None:
    from workbench.devices._warm import WARM_IMPORTS

    runner = tmp_path / "seen.py"
    runner.write_text(RUNTIME_SEEN)
    agents: dict[str, Any] = {}
    for backend in ("armnn", "onnxruntime"):
        board.probe(refresh=True)  # a fresh warm agent probes the board and stays
        assert board._warm is not None and board._warm.runtime_dirs is not None
        agents[backend + " probed"] = board._warm.ready["pid"]
        (tmp_path / backend).mkdir()
        job = sleepy_job(tmp_path / backend, device=board)
        job["backend"].update(name=backend, runner=board.ensure(runner))
        events: list[dict[str, Any]] = []
        board.run(job, events.append)
        agents[backend] = _hello(events)["warm_agent"]
    assert "armnn" not in WARM_IMPORTS and "onnxruntime" in WARM_IMPORTS
    assert agents["armnn"] != agents["armnn probed"], "an Arm NN job ran in a forked probe agent"
    assert agents["onnxruntime"] == agents["onnxruntime probed"]


def _relu_model(path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="only_relu")], "relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 32, 32])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_the_executed_graph_kept_by_a_warm_agent_follows_a_changed_model_and_options(
        board: SSHDevice, tmp_path: Path) -> None:
    from tests.conftest import conv_relu_model
    from workbench import backends

    model = conv_relu_model(tmp_path / "model.onnx")
    runner = board.ensure(backends.get("onnxruntime").runner_path())

    def executed(level: str) -> list[str]:
        job = {"schema": "workbench.job/1", "id": f"graph-{len(agents)}",
               "model": {"path": str(model), "sha256": "-"},
               "backend": {"name": "onnxruntime", "runner": runner,
                           "options": {"graph_optimization_level": level}},
               "inputs": [{"name": "x", "dtype": "float32", "shape": [1, 3, 32, 32],
                           "kind": "random"}],
               "run": {"warmup": 0, "runs": 1, "profile_runs": 1}, "workdir": board.workdir()}
        events: list[dict[str, Any]] = []
        result = board.run(job, events.append)
        agents.append(_hello(events)["warm_agent"])
        return [node["op_type"] for node in result["executed_graph"]["nodes"]]

    agents: list[int] = []
    fused, again = executed("all"), executed("all")
    unfused = executed("disable")
    _relu_model(model)  # another model at the same path
    changed = executed("all")
    assert len(set(agents)) == 1 and None not in agents, "the jobs ran on different agents"
    assert fused == again and "Relu" not in fused, "the runtime did not fuse Conv and Relu"
    assert unfused == ["Conv", "Relu", "Conv", "Relu", "GlobalAveragePool"], \
        "another option was served the graph kept for the first"
    assert changed == ["Relu"], "a changed model was served the graph of the model before"
