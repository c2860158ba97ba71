"""qemu-user boards connected side by side each see their own core.

qemu-user's ``-L`` root gives the emulated programs their /proc/cpuinfo; when all
boards shared one file in the root, the board connected last decided what every
board saw (``qemu:raspberry-pi-5`` was detected as an AWS Graviton2 by the lab
server, which checks boards in parallel). The check runs the root's own aarch64
``cat`` under qemu-user, as the agent's Python would read the file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from workbench import emulator
from workbench.emulator.user_mode import QEMU_USER, QemuUserDevice


@pytest.fixture(scope="module")
def root_built() -> None:
    if not emulator.is_built() or shutil.which(QEMU_USER) is None:
        pytest.skip("no built emulator root or no qemu-user: run `bash tests/setup.sh`")


def _seen_by(device: QemuUserDevice, program: str, *args: str) -> str:
    command = device.qemu_command(str(device.root / "usr" / "bin" / program), *args)
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _cpuinfo_seen_by(device: QemuUserDevice) -> str:
    return _seen_by(device, "cat", "/proc/cpuinfo")


def test_two_qemu_boards_connected_in_turn_each_see_their_own_cpu(root_built: None) -> None:
    pi5 = QemuUserDevice("raspberry-pi-5")
    graviton = QemuUserDevice("aws-graviton2")  # connected last, as the server's checks do
    seen_by_pi5 = _cpuinfo_seen_by(pi5)
    assert "CPU part\t: 0xd0b" in seen_by_pi5 and "Raspberry Pi 5" in seen_by_pi5
    seen_by_graviton = _cpuinfo_seen_by(graviton)
    assert "CPU part\t: 0xd0c" in seen_by_graviton and "AWS Graviton2" in seen_by_graviton


def test_a_qemu_board_resolves_the_hosts_folders_as_the_host_does(root_built: None,
                                                                   tmp_path: Path) -> None:
    # a job folder where this machine keeps its files (here under /tmp; a data folder
    # under /root or /home alike): the board's realpath must give the host's path, as
    # onnxruntime's check of a saved graph's external data needs
    job = tmp_path / "jobs" / "1"
    job.mkdir(parents=True)
    board = QemuUserDevice("raspberry-pi-5")
    seen = _seen_by(board, "realpath", str(job), str(Path.home()))
    assert seen.split() == [str(job.resolve()), str(Path.home().resolve())]


def test_a_holder_under_qemu_user_is_named_by_the_board_state_others_read(
        root_built: None, tmp_path: Path) -> None:
    # qemu-user answers a process's own /proc/PID/stat with a start of its own making: the
    # holder's record then looked like a dead process's, and status showed "held by ?"
    from workbench_agent.lock import board_state

    from workbench._paths import agent_root

    lock = tmp_path / "board.lock"
    holder = ("import sys, time\nfrom workbench_agent.lock import DeviceLock\n"
              f"lock = DeviceLock({str(lock)!r}, 'job-under-qemu', 'a test')\n"
              "lock.acquire()\nprint('held', flush=True)\nsys.stdin.read()\n")
    device = QemuUserDevice("raspberry-pi-5")
    command = device.qemu_command(str(device.root / "usr" / "bin" / "python3"), "-c", holder)
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True, env={"PYTHONPATH": str(agent_root())})
    try:
        assert process.stdout is not None and process.stdout.readline() == "held\n"
        state = board_state(str(lock))
        assert state["held"] and state["holder"] is not None
        assert state["holder"]["job"] == "job-under-qemu"
        assert state["holder"]["holder"] == "a test"
        # the start it recorded is the kernel's, as any other process reads it
        recorded = json.loads(lock.read_text())
        with open(f"/proc/{recorded['pid']}/stat") as stat:
            assert recorded["start"] == int(stat.read().rsplit(")", 1)[1].split()[19])
    finally:
        process.kill()
        process.wait()


_MAKE_VIEW = """
import sys
from pathlib import Path
from workbench import errors
from workbench.emulator.presets import PRESETS
from workbench.emulator.user_mode import board_view
try:
    print(board_view(Path(sys.argv[1]), PRESETS["raspberry-pi-5"]))
except errors.WorkbenchError as exc:
    print(type(exc).__name__, exc, file=sys.stderr)
    sys.exit(2)
"""


def _view_as_user(root: Path, cache: Path, work: Path) -> subprocess.CompletedProcess[str]:
    """board_view of ``root`` run by a user who does not own the root's folder (``nobody``
    when the tests run as root: as root, permissions stop no write), with ``cache`` as the
    user's cache folder."""
    from tests import unprivileged

    python = unprivileged.python_venv(work / "venv")
    env = {**unprivileged.user_env(root.parent, work), "WORKBENCH_CACHE_DIR": str(cache)}
    return subprocess.run([*unprivileged.prefix(), str(python), "-c", _MAKE_VIEW, str(root)],
                          env=env, capture_output=True, text=True, timeout=120, cwd=work)


def test_a_user_who_cannot_write_beside_a_shared_root_gets_the_view_in_their_own_cache() -> None:
    from tests import unprivileged

    with unprivileged.folder() as work, tempfile.TemporaryDirectory() as shared:
        # an emulator folder another account built and owns, readable by all
        root = Path(shared) / "rootfs"
        (root / "usr" / "bin").mkdir(parents=True)
        (root / "etc").mkdir()
        os.chmod(shared, 0o755)
        cache = work / "cache"
        done = _view_as_user(root, cache, work)
        assert done.returncode == 0, done.stderr
        view = Path(done.stdout.strip())
        assert view.is_relative_to(cache) and view.name == "raspberry-pi-5"
        assert "Raspberry Pi 5" in (view / "proc" / "cpuinfo").read_text()
        assert (view / "usr").resolve() == root / "usr"
        assert not (Path(shared) / "qemu-user").exists()  # nothing written in the shared folder


def test_a_view_that_can_be_written_nowhere_names_the_folders_and_what_to_do() -> None:
    from tests import unprivileged

    with unprivileged.folder() as work, tempfile.TemporaryDirectory() as shared:
        root = Path(shared) / "rootfs"
        (root / "usr").mkdir(parents=True)
        os.chmod(shared, 0o755)
        # the user's cache folder set to one they cannot write either
        done = _view_as_user(root, Path(shared) / "cache", work)
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr.startswith("EmulatorUnavailable")
        assert f"{shared}/qemu-user/raspberry-pi-5 is not writable" in done.stderr
        assert f"{shared}/cache/emulator-views/" in done.stderr
        assert "workbench emulator build --user" in done.stderr
        assert "WORKBENCH_EMULATOR_DIR" in done.stderr
