"""Shared fixtures: private cache/config/data folders and small hand-built models."""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def private_dirs(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the user's cache, config and data folders, and the board folder, out of the tests.

    An already set WORKBENCH_CACHE_DIR is kept, so repeated local runs reuse built zoo models.
    """
    base = tmp_path_factory.mktemp("workbench-home")
    os.environ.setdefault("WORKBENCH_CACHE_DIR", str(base / "cache"))
    os.environ["WORKBENCH_CONFIG_DIR"] = str(base / "config")
    os.environ["WORKBENCH_DATA_DIR"] = str(base / "data")
    # This machine's board lock: never the real /var/tmp/workbench of the machine's own jobs.
    os.environ["WORKBENCH_BOARD_DIR"] = str(base / "board")


def conv_relu_model(path: Path, channels: int = 16, size: int = 32) -> Path:
    """Conv-Relu-Conv-Relu-GlobalAveragePool, deterministic weights, saved at ``path``."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array(
        (rng.standard_normal((channels, 3, 3, 3)) * np.sqrt(2 / 27)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(
        (rng.standard_normal((channels, channels, 3, 3)) * np.sqrt(2 / (9 * channels)))
        .astype(np.float32), "w2")
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["y"], name="pool"),
    ]
    graph = helper.make_graph(
        nodes, "conv_relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, channels, 1, 1])], [w1, w2])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, path)
    return path


@pytest.fixture
def conv_model(tmp_path: Path) -> Path:
    return conv_relu_model(tmp_path / "conv_relu.onnx")


def agent_env() -> dict[str, str]:
    """Environment to run ``python -m workbench_agent`` from the source tree."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "remote"), env.get("PYTHONPATH", "")])
    return env


PYTHON = sys.executable

SLEEPY_RUNNER = """
import os, subprocess, sys, time
RUNNER_API = 1
def run(job, ctx):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open(job["workdir"] + "/child.pid", "w") as f:
        f.write(str(child.pid))
    with open(job["workdir"] + "/started", "w") as f:
        f.write(repr(time.time()))
    ctx.log("info", "sleeping")
    time.sleep(float(job["backend"]["options"].get("seconds", 600)))
    with open(job["workdir"] + "/ended", "w") as f:
        f.write(repr(time.time()))
    return {"runtime": {"name": "sleepy", "version": "0"}, "latency_ms": [1.0]}
"""


def runner_span(job: dict[str, Any]) -> tuple[float, float]:
    """When a sleepy job's runner started and ended, by the board's clock (this machine's)."""
    folder = Path(job["workdir"])
    return float((folder / "started").read_text()), float((folder / "ended").read_text())


def ran_one_after_the_other(jobs: list[dict[str, Any]]) -> bool:
    """True when no two of these sleepy jobs' runners ran at the same time."""
    spans = sorted(runner_span(job) for job in jobs)
    return all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans))


def sleepy_job(tmp_path: Path, seconds: float = 600, device: Any = None) -> dict[str, Any]:
    """A job whose runner starts a child process, logs "sleeping" and sleeps.

    With a device, the runner is deployed to it and the workdir is the device's.
    """
    runner = tmp_path / "sleepy.py"
    runner.write_text(SLEEPY_RUNNER)
    if device is not None:
        runner_path, workdir = device.ensure(runner), device.workdir()
    else:
        runner_path, workdir = str(runner), str(tmp_path / f"work-{time.monotonic_ns()}")
    Path(workdir).mkdir(parents=True)  # every test device is this machine
    return {"schema": "workbench.job/1", "id": f"sleepy-{time.monotonic_ns()}",
            "model": {"path": "-", "sha256": "-"},
            "backend": {"name": "sleepy", "runner": runner_path, "options": {"seconds": seconds}},
            "inputs": [], "run": {"warmup": 0, "runs": 1}, "workdir": workdir}


def wait_gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting to be reaped is gone too
                if stat.read().split()[2] == "Z":
                    return True
        except (FileNotFoundError, ProcessLookupError):  # reaped between the two looks
            return True
        time.sleep(0.05)
    return False




def until(condition: Callable[[], Any], seconds: float = 30) -> Any:
    """The first true value of ``condition()``, polled for up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s")


def waited_for(state: dict[str, Any]) -> dict[str, Any] | None:
    """A device's or board's status, once a job waits for its lock."""
    return state if state["lock"]["waiters"] else None


def modules_loaded_by(statement: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has loaded after running ``statement``."""
    import subprocess

    code = f"import sys; {statement}; print(','.join(m for m in {modules!r} if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, check=True)
    return [m for m in result.stdout.strip().split(",") if m]
