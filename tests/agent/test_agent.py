"""The agent's command line and event stream, run as a real subprocess with onnxruntime."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PYTHON, agent_env
from workbench import formats


def run_agent(job: dict[str, Any] | str, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    text = job if isinstance(job, str) else json.dumps(job)
    done = subprocess.run([PYTHON, "-m", "workbench_agent", "run", "-", *args], input=text,
                          capture_output=True, text=True, env=agent_env(), timeout=120)
    events = [json.loads(line) for line in done.stdout.splitlines()]
    return done.returncode, events, done.stderr


def make_job(model: Path, workdir: Path, runner: str = "builtin:onnxruntime",
             **options: Any) -> dict[str, Any]:
    return {
        "schema": "workbench.job/1", "id": "test",
        "model": {"name": "conv", "path": str(model), "sha256": "0" * 64},
        "backend": {"name": "onnxruntime", "runner": runner, "options": options},
        "inputs": [{"name": "x", "dtype": "float32", "shape": [1, 3, 32, 32], "kind": "random"}],
        "run": {"warmup": 2, "runs": 5, "profile_runs": 3},
        "workdir": str(workdir),
    }


def test_probe_reports_this_machine_and_its_onnxruntime_providers() -> None:
    import platform

    done = subprocess.run([PYTHON, "-m", "workbench_agent", "probe"], capture_output=True,
                          text=True, env=agent_env(), timeout=60, check=True)
    info = json.loads(done.stdout)
    assert info["arch"] == platform.machine()
    assert info["cores"] >= 1 and info["memory_bytes"] > 0
    assert "CPUExecutionProvider" in info["runtimes"]["onnxruntime"]["providers"]
    assert info["cpu"]["clusters"], "every core belongs to a cluster"


def test_run_streams_hello_first_result_last_and_every_line_is_a_valid_event(
        conv_model: Path, tmp_path: Path) -> None:
    code, events, _ = run_agent(make_job(conv_model, tmp_path))
    assert code == 0
    assert events[0]["event"] == "hello" and events[-1]["event"] == "result"
    for event in events:
        formats.validate(event, formats.EVENTS)
    result = events[-1]["result"]
    formats.validate(result, formats.RUNNER)
    assert len(result["latency_ms"]) == 5
    assert result["profile_runs"] == 3
    assert all(len(row["durations_us"]) == 3 for row in result["layers"])


def test_the_job_folder_keeps_the_status_and_outcome_but_no_trace_or_saved_graph(
        conv_model: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    code, events, _ = run_agent(make_job(conv_model, workdir))
    assert code == 0
    assert sorted(p.name for p in workdir.iterdir()) == ["outcome.json", "status.json"]
    assert json.loads((workdir / "status.json").read_text())["state"] == "done"
    assert json.loads((workdir / "outcome.json").read_text()) == events[-1]


def test_without_heartbeats_the_agent_stops_and_records_why(conv_model: Path,
                                                            tmp_path: Path) -> None:
    job = make_job(conv_model, tmp_path / "work")
    job["run"]["runs"] = 10_000_000
    agent = subprocess.Popen([PYTHON, "-m", "workbench_agent", "run", "-", "--watch-stdin",
                              "--heartbeat", "0.25"], stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             env=agent_env())
    assert agent.stdin is not None
    agent.stdin.write(json.dumps(job) + "\n")
    agent.stdin.flush()  # and then silence, with stdin still open
    assert agent.wait(timeout=60) in (4, -9)  # exits, or goes down with its process group
    status = json.loads((tmp_path / "work" / "status.json").read_text())
    assert status["state"] == "stopped" and "no heartbeat" in status["reason"]
    agent.stdin.close()


def test_unknown_execution_provider_is_an_error_event_naming_the_available_ones(
        conv_model: Path, tmp_path: Path) -> None:
    code, events, _ = run_agent(make_job(conv_model, tmp_path, providers=["NoSuchProvider"]))
    assert code == 2
    error = events[-1]["error"]
    assert error["type"] == "BackendUnavailable"
    assert "NoSuchProvider" in error["what"] and "CPUExecutionProvider" in error["hint"]


def test_a_model_missing_on_the_device_is_model_not_found_for_each_builtin_runner(
        tmp_path: Path) -> None:
    for runner in ("builtin:onnxruntime", "builtin:litert"):
        code, events, _ = run_agent(make_job(tmp_path / "gone.onnx", tmp_path, runner=runner))
        if events[-1].get("error", {}).get("type") == "BackendUnavailable":
            continue  # LiteRT is not installed here: nothing to find the model for
        assert code == 2, runner
        error = events[-1]["error"]
        assert error["type"] == "ModelNotFound" and error["where"].endswith("gone.onnx")


def test_a_job_that_is_not_json_is_an_error_event_not_a_traceback() -> None:
    code, events, _ = run_agent("{not json")
    assert code == 2
    assert events[-1]["error"]["type"] == "FormatError"


def test_npy_input_of_the_wrong_shape_is_an_input_spec_error(conv_model: Path,
                                                             tmp_path: Path) -> None:
    import numpy as np

    array_path = tmp_path / "x.npy"
    np.save(array_path, np.zeros((1, 3, 8, 8), np.float32))
    job = make_job(conv_model, tmp_path / "work")
    job["inputs"] = [{"name": "x", "dtype": "float32", "shape": [1, 3, 32, 32], "kind": "npy",
                      "path": str(array_path)}]
    code, events, _ = run_agent(job)
    assert code == 2
    assert events[-1]["error"]["type"] == "InputSpecError"
    assert "[1, 3, 8, 8]" in events[-1]["error"]["what"]


def test_native_writes_to_stdout_cannot_corrupt_the_event_stream(conv_model: Path,
                                                                 tmp_path: Path) -> None:
    runner = tmp_path / "noisy.py"
    runner.write_text(
        "import os\nRUNNER_API = 1\nNAME = 'noisy'\n"
        "def run(job, ctx):\n"
        "    os.write(1, b'chatter from native code\\n')\n"
        "    print('chatter from python')\n"
        "    return {'runtime': {'name': 'noisy', 'version': '0'}, 'latency_ms': [1.0]}\n")
    code, events, stderr = run_agent(make_job(conv_model, tmp_path, runner=str(runner)))
    assert code == 0
    assert events[-1]["result"]["latency_ms"] == [1.0]
    assert "chatter from native code" in stderr and "chatter from python" in stderr


def test_a_runner_of_another_api_version_is_refused(conv_model: Path, tmp_path: Path) -> None:
    runner = tmp_path / "future.py"
    runner.write_text("RUNNER_API = 3\ndef run(job, ctx):\n    return {}\n")
    code, events, _ = run_agent(make_job(conv_model, tmp_path, runner=str(runner)))
    assert code == 2
    assert events[-1]["error"]["type"] == "BackendUnavailable"
    assert "runner API 3" in events[-1]["error"]["what"]


@pytest.mark.parametrize("raised", [
    "AgentFailure('AgentError', 'the runtime hides its tensors')",
    "MemoryError('the runtime hides its tensors')",  # a runtime's own failure, not the agent's
])
def test_a_runner_that_cannot_expose_intermediates_keeps_its_timed_results(
        conv_model: Path, tmp_path: Path, raised: str) -> None:
    runner = tmp_path / "no_tensors.py"
    runner.write_text(
        "RUNNER_API = 2\nNAME = 'shy'\n"
        "def run(job, ctx):\n"
        "    return {'runtime': {'name': 'shy', 'version': '1'}, 'latency_ms': [1.0]}\n"
        "def intermediates(job, ctx):\n"
        "    from workbench_agent.runner_api import AgentFailure\n"
        f"    raise {raised}\n")
    job = make_job(conv_model, tmp_path, runner=str(runner))
    job["run"]["diff"] = True
    code, events, _ = run_agent(job)
    assert code == 0
    result = events[-1]["result"]
    assert result["latency_ms"] == [1.0]
    assert result["intermediates"]["available"] is False
    assert "the runtime hides its tensors" in result["intermediates"]["reason"]


def test_a_crashing_runner_reports_its_exception_and_keeps_the_traceback_on_stderr(
        conv_model: Path, tmp_path: Path) -> None:
    runner = tmp_path / "broken.py"
    runner.write_text("RUNNER_API = 1\ndef run(job, ctx):\n"
                      "    raise RuntimeError('kernel fault')\n")
    code, events, stderr = run_agent(make_job(conv_model, tmp_path, runner=str(runner)))
    assert code == 3
    assert "kernel fault" in events[-1]["error"]["what"]
    assert "Traceback" in stderr


def test_a_runner_changed_at_the_same_path_is_compiled_again(tmp_path: Path) -> None:
    from workbench_agent.agent import load_runner

    runner = tmp_path / "runner.py"
    runner.write_text("RUNNER_API = 2\nNAME = 'first'\n")
    first = load_runner(str(runner))
    runner.write_text("RUNNER_API = 2\nNAME = 'second'\n")
    stat = runner.stat()  # the same size: only the modification time tells them apart
    os.utime(runner, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    second = load_runner(str(runner))
    assert (first.NAME, second.NAME) == ("first", "second")


def test_a_new_warm_agent_removes_the_kept_folders_of_agents_that_are_gone(
        tmp_path: Path) -> None:
    from workbench_agent.serve import KEPT_PREFIX, sweep_kept

    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = tmp_path / f"{KEPT_PREFIX}{gone.pid}-abc"
    alive = tmp_path / f"{KEPT_PREFIX}{os.getpid()}-def"
    other = tmp_path / "workbench-warm-notapid-x"
    for folder in (dead, alive, other):
        (folder / "graph").mkdir(parents=True)
    sweep_kept(str(tmp_path))
    assert not dead.exists()
    assert alive.exists() and other.exists()
