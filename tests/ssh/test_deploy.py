"""Content-addressed uploads over SFTP: skip, resume after a drop, corruption, full disk, LRU."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import until
from tests.ssh.conftest import make_board
from tests.ssh.sshd import Sshd, start_sshd
from workbench import errors
from workbench.devices.ssh import SSHDevice


def payload(path: Path, megabytes: int, seed: int = 0) -> Path:
    import numpy as np

    path.write_bytes(np.random.default_rng(seed).bytes(megabytes << 20))
    return path


def sha(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()



def test_a_file_sent_whole_is_not_hashed_again_on_the_board(
        board: SSHDevice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = payload(tmp_path / "weights.bin", 1, seed=3)
    board.board()  # the board's basics, asked once per connection
    commands: list[list[str]] = []
    real = board.exec

    def counted(argv: list[str], **kwargs: Any) -> tuple[int, str, str]:
        commands.append(argv)
        return real(argv, **kwargs)

    monkeypatch.setattr(board, "exec", counted)
    remote = board.ensure(local)
    assert sha(remote) == sha(local)
    # one command on the board: the free space before sending; the bytes sent are the check
    assert [argv[3] for argv in commands] == ["space"], commands


def _kind(argv: list[str]) -> str:
    """What a command sent to the board does: its board-side tool's verb, else its own."""
    if argv[3:4] in (["space"], ["hash"]):
        return argv[3]
    return "probe" if "probe" in argv else "basics" if argv[1:2] == ["-c"] else argv[-1]


def _counting(device: SSHDevice, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[Any]]:
    """The commands ``device`` runs on the board (by kind) and the channels it opens (one per
    command, one per agent started), as they happen."""
    commands: list[str] = []
    channels: list[Any] = []
    real_exec, real_session = device.exec, device.open_session

    def counted(argv: list[str], **kwargs: Any) -> tuple[int, str, str]:
        commands.append(_kind(argv))
        return real_exec(argv, **kwargs)

    def session() -> Any:
        channels.append(real_session())
        return channels[-1]

    monkeypatch.setattr(device, "exec", counted)
    monkeypatch.setattr(device, "open_session", session)
    return commands, channels


def test_a_first_deploy_starts_one_agent_on_the_board_that_probes_it_and_runs_the_job(
        sshd: Sshd, tmp_path: Path, conv_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import workbench as wb

    device = make_board(sshd, tmp_path)
    commands, channels = _counting(device, monkeypatch)
    try:
        profile = wb.profile(conv_model, device=device, warmup=0, runs=1, profile_runs=0)
        probed = device.probe()
    finally:
        device.close()
    # the board's basics and its free space (once for the agent and the job's files); no
    # probe command, no hash check of what was just sent whole
    assert commands == ["basics", "space"], commands
    # one channel more than the commands: the agent that answered the probe ran the job
    assert len(channels) == len(commands) + 1
    assert probed.runtime_version("onnxruntime") and probed.python and probed.arch
    assert len(profile.latency_samples) == 1


def test_the_agent_that_probed_a_board_with_another_backends_runtime_does_not_run_the_job(
        sshd: Sshd, tmp_path: Path, conv_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import workbench as wb

    # what `workbench device setup litert` leaves: that backend's runtime folder
    (tmp_path / "board-cache" / "runtime" / "litert").mkdir(parents=True)
    device = make_board(sshd, tmp_path)
    commands, channels = _counting(device, monkeypatch)
    try:
        wb.profile(conv_model, device=device, warmup=0, runs=1, profile_runs=0)
    finally:
        device.close()
    # the probing agent saw the litert runtime on its path: the onnxruntime job gets an
    # agent whose path holds only onnxruntime's
    assert len(channels) == len(commands) + 2, commands


def test_ensure_puts_the_file_under_its_hash_and_skips_it_the_second_time(
        board: SSHDevice, tmp_path: Path) -> None:
    local = payload(tmp_path / "weights.bin", 2)
    calls: list[tuple[int, int, float]] = []
    remote = board.ensure(local, lambda *a: calls.append(a))
    assert remote.endswith(f"/artifacts/{sha(local)}/weights.bin")
    assert sha(remote) == sha(local)  # the board is this machine: read it back directly
    assert calls[-1][:2] == (2 << 20, 2 << 20) and len(calls) > 1
    mtime = os.stat(remote).st_mtime_ns
    calls.clear()
    assert board.ensure(local, lambda *a: calls.append(a)) == remote
    assert calls == [(2 << 20, 2 << 20, 0.0)], "nothing was sent the second time"
    assert os.stat(remote).st_mtime_ns == mtime


def test_a_file_checked_over_this_connection_costs_one_round_trip_the_next_time(
        board: SSHDevice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = payload(tmp_path / "model.onnx", 1)
    remote = board.ensure(local)
    sftp = board.sftp()
    asked: list[str] = []
    for name in ("stat", "lstat", "utime", "open", "listdir"):
        real = getattr(sftp, name)
        monkeypatch.setattr(sftp, name, lambda *a, _n=name, _r=real, **k: (asked.append(_n),
                                                                              _r(*a, **k))[1])
    assert board.ensure(local) == remote
    # the file is looked at, and its folder touched once for the cache's LRU
    assert asked == ["stat", "utime"]
    asked.clear()
    assert board.ensure(local) == remote
    assert asked == ["stat"]


def test_a_checked_file_cut_on_the_board_is_sent_again_over_the_same_connection(
        board: SSHDevice, tmp_path: Path) -> None:
    local = payload(tmp_path / "model.onnx", 1)
    remote = board.ensure(local)
    board.ensure(local)  # trusted now, and its folder touched
    with open(remote, "r+b") as damaged:  # a full disk, or someone editing the cache
        damaged.truncate(1000)
    assert board.ensure(local) == remote
    assert sha(remote) == sha(local)


def test_a_checked_file_whose_folder_went_meanwhile_is_sent_again(
        board: SSHDevice, tmp_path: Path) -> None:
    import shutil

    local = payload(tmp_path / "model.onnx", 1)
    remote = board.ensure(local)
    shutil.rmtree(Path(remote).parent)  # evicted by another host's upload, say
    assert board.ensure(local) == remote
    assert sha(remote) == sha(local)


MODEL_READER = """
RUNNER_API = 1
def run(job, ctx):
    ctx.model_path(job)
    return {"runtime": {"name": "reader", "version": "0"}, "latency_ms": [1.0]}
"""


def test_a_job_whose_trusted_model_went_missing_has_the_device_check_its_files_again(
        board: SSHDevice, tmp_path: Path) -> None:
    from tests.conftest import sleepy_job

    runner, model = tmp_path / "reader.py", payload(tmp_path / "model.onnx", 1)
    runner.write_text(MODEL_READER)
    job = sleepy_job(tmp_path, device=board)
    job["backend"]["runner"], job["model"]["path"] = board.ensure_many([runner, model])
    Path(job["model"]["path"]).unlink()  # removed by hand on the board; its folder stays
    with pytest.raises(errors.ModelNotFound):
        board.run(job)
    assert board.ensure(model) == job["model"]["path"]  # checked, so sent again
    assert board.run(job)["latency_ms"] == [1.0]


def test_a_corrupted_cached_artifact_is_detected_and_uploaded_again(
        sshd: Sshd, tmp_path: Path) -> None:
    local = payload(tmp_path / "model.onnx", 1)
    remote = make_board(sshd, tmp_path).ensure(local)
    with open(remote, "r+b") as damaged:
        damaged.write(b"\0" * 16)
    fresh = make_board(sshd, tmp_path)  # another session on the board
    assert fresh.ensure(local) == remote
    assert sha(remote) == sha(local)


def test_after_a_reconnect_a_cached_artifact_is_checked_again(
        board: SSHDevice, sshd: Sshd, tmp_path: Path) -> None:
    local = payload(tmp_path / "model.onnx", 1)
    remote = board.ensure(local)
    before = os.stat(remote)
    transport = board.client().get_transport()
    assert transport is not None
    sshd.drop_connections()  # the board rebooted, say
    until(lambda: not transport.is_active())
    # Meanwhile the cached copy was replaced by a damaged one of the same size and time.
    os.unlink(remote)
    Path(remote).write_bytes(b"\0" * before.st_size)
    os.utime(remote, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert board.ensure(local) == remote
    assert sha(remote) == sha(local)


def test_an_upload_cut_by_a_dropped_link_resumes_from_the_bytes_already_there(
        sshd: Sshd, tmp_path: Path) -> None:
    local = payload(tmp_path / "big.bin", 8)
    device = make_board(sshd, tmp_path)
    device.probe()

    def cut(done: int, total: int, rate: float) -> None:
        if done >= 3 << 20:
            sshd.drop_connections()

    with pytest.raises(errors.LinkDropped, match=r"uploading big\.bin"):
        device.ensure(local, cut)
    partial = next((tmp_path / "board-cache" / "artifacts").rglob("big.bin.partial"))
    kept = partial.stat().st_size
    assert kept > 0
    starts: list[int] = []
    remote = device.ensure(local, lambda done, total, rate: starts.append(done))
    assert starts[0] > kept, "the second upload started where the first stopped"
    assert sha(remote) == sha(local)
    assert not partial.exists()


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "board-cache"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_board_disk_is_a_clear_error_and_leaves_no_partial_file(
        sshd: Sshd, tmp_path: Path, small_disk: Path) -> None:
    device = make_board(sshd, tmp_path, remote_cache=str(small_disk))
    with pytest.raises(errors.DiskFull, match="MB free"):
        device.ensure(payload(tmp_path / "big.bin", 4))
    assert not list(small_disk.rglob("*.partial"))


def test_the_cache_keeps_under_its_size_limit_by_evicting_the_least_recently_used(
        sshd: Sshd, tmp_path: Path) -> None:
    device = make_board(sshd, tmp_path, cache_limit_bytes=int(2.5 * (1 << 20)))
    first = device.ensure(payload(tmp_path / "a.bin", 1, seed=1))
    second = device.ensure(payload(tmp_path / "b.bin", 1, seed=2))
    now = time.time()  # SFTP times have whole seconds: age both uses clearly apart
    os.utime(Path(first).parent, (now - 100, now - 100))
    os.utime(Path(second).parent, (now - 50, now - 50))
    device.ensure(tmp_path / "a.bin")  # a is used again: b is now the least recently used
    third = device.ensure(payload(tmp_path / "c.bin", 1, seed=3))
    assert Path(first).exists() and Path(third).exists()
    assert not Path(second).exists()


def test_clean_cache_removes_artifacts_and_jobs(board: SSHDevice, tmp_path: Path) -> None:
    remote = board.ensure(payload(tmp_path / "x.bin", 1))
    board.clean_cache()
    assert not Path(remote).exists()


def test_the_device_works_on_after_its_cache_was_cleaned(board: SSHDevice,
                                                          tmp_path: Path) -> None:
    local = payload(tmp_path / "x.bin", 1)
    board.ensure(local)
    board.clean_cache()  # the agent's zip goes with the artifacts
    assert board.probe(refresh=True).arch
    assert sha(board.ensure(local)) == sha(local)


def test_a_missing_python_on_the_board_is_named(sshd: Sshd, tmp_path: Path) -> None:
    device = make_board(sshd, tmp_path, python="/opt/no-such-python/bin/python3")
    with pytest.raises(errors.BoardPythonMissing, match="No Python"):
        device.probe()


def test_a_board_without_an_sftp_subsystem_is_named_as_such(client_key: Path,
                                                             tmp_path: Path) -> None:
    server = start_sshd(tmp_path / "no-sftp", client_key, sftp=False)
    device = make_board(server, tmp_path)
    try:
        with pytest.raises(errors.BoardEnvironmentError, match="no SFTP subsystem") as missing:
            device.ensure(payload(tmp_path / "model.onnx", 1))
        assert "Subsystem sftp" in (missing.value.hint or "")
    finally:
        device.close()
        server.stop()
