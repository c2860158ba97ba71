"""Cancel reaches a job over SSH in every stage, and one device object runs two jobs safely."""

from __future__ import annotations

import itertools
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from tests.ssh.conftest import make_board
from tests.ssh.sshd import Sshd
from workbench import errors
from workbench.devices.ssh import SSHDevice

#: how long a cancelled job may take to end; every blocking call here would take minutes
STOP_S = 10


def _cancel_at(stage: str, job_events: list[dict[str, Any]],
               reached: threading.Event) -> Any:
    def on_event(event: dict[str, Any]) -> None:
        job_events.append(event)
        if event.get("stage") == stage:
            reached.set()

    return on_event


def _submit_and_cancel_at(stage: str, model: Path | str, device: SSHDevice,
                          **run: Any) -> tuple[wb.Job, list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    reached = threading.Event()
    job = wb.submit(model, device=device, on_event=_cancel_at(stage, events, reached), **run)
    assert reached.wait(120), f"the job never reached {stage}: {events}"
    job.cancel()
    assert job.wait(STOP_S), f"the job went on after cancel in {stage} (state {job.state})"
    with pytest.raises(errors.JobCancelled):
        job.result(0)
    assert job.state == "cancelled"
    return job, events


def test_cancel_while_connecting_to_a_host_that_never_answers(
        silent_server: int, conv_model: Path, tmp_path: Path) -> None:
    device = SSHDevice("hung", host="127.0.0.1", port=silent_server, user="root",
                       timeout=120, ssh_config=tmp_path / "none", allow_agent=False,
                       look_for_keys=False, user_known_hosts=tmp_path / "known_hosts")
    _, events = _submit_and_cancel_at("connect", conv_model, device, runs=1)
    assert [e["stage"] for e in events if e["event"] == "stage"] == ["connect", "cancelled"]


def test_cancel_while_probing_a_board_whose_python_hangs(
        sshd: Sshd, conv_model: Path, tmp_path: Path) -> None:
    slow = tmp_path / "slow-python"
    slow.write_text(f"#!/bin/sh\nsleep 120\nexec {sys.executable} \"$@\"\n")
    slow.chmod(0o755)
    device = make_board(sshd, tmp_path, python=str(slow))
    _submit_and_cancel_at("probe", conv_model, device, runs=1)
    device.close()


def _large_model(path: Path, megabytes: int = 48) -> Path:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    columns = megabytes * 2**20 // (4 * 1024)
    weight = numpy_helper.from_array(
        np.random.default_rng(1).standard_normal((1024, columns)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")], "large",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1024])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, columns])], [weight])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_cancel_during_a_large_upload_keeps_the_partial_for_the_next_run(
        board: SSHDevice, tmp_path: Path) -> None:
    model = _large_model(tmp_path / "large.onnx")
    events: list[dict[str, Any]] = []
    reached = threading.Event()

    def on_event(event: dict[str, Any]) -> None:
        events.append(event)
        if event.get("stage") == "upload" and 0 < event.get("done", 0) < event.get("total", 0):
            reached.set()

    job = wb.submit(model, device=board, runs=1, warmup=0, profile_runs=0, on_event=on_event)
    assert reached.wait(120), events
    job.cancel()
    assert job.wait(STOP_S)
    with pytest.raises(errors.JobCancelled, match="upload"):
        job.result(0)
    partials = list(Path(board.cache, "artifacts").glob("*/*.partial"))
    assert partials and 0 < partials[0].stat().st_size < model.stat().st_size


def test_upload_progress_is_merged_to_ten_events_a_second(board: SSHDevice,
                                                           tmp_path: Path) -> None:
    model = _large_model(tmp_path / "large.onnx", megabytes=24)
    events: list[dict[str, Any]] = []
    wb.profile(model, device=board, runs=1, warmup=0, profile_runs=0, on_event=events.append)
    uploads = [e for e in events if e.get("stage") == "upload"]
    middle = [e["time"] for e in uploads if 0 < e["done"] < e["total"]]
    gaps = [b - a for a, b in itertools.pairwise(middle)]
    assert all(gap >= 0.099 for gap in gaps), gaps
    assert uploads[-1]["done"] == uploads[-1]["total"] > 0
    chunks = model.stat().st_size // 2**20
    assert len(uploads) < chunks, "every chunk reached the callback: nothing was merged"


def test_two_jobs_submitted_to_one_device_object_both_finish(board: SSHDevice,
                                                              conv_model: Path,
                                                              tmp_path: Path) -> None:
    other = _large_model(tmp_path / "other.onnx", megabytes=8)
    jobs = [wb.submit(conv_model, device=board, runs=2, warmup=0, profile_runs=0),
            wb.submit(other, device=board, runs=2, warmup=0, profile_runs=0)]
    profiles = [job.result(timeout=300) for job in jobs]
    assert [len(p.latency_samples) for p in profiles] == [2, 2]
    assert {p.to_dict()["model"]["name"] for p in profiles} == {"conv_relu", "other"}
