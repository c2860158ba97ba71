"""qemu-user boards connected side by side each see their own core.

qemu-user's ``-L`` root gives the emulated programs their /proc/cpuinfo; when all
boards shared one file in the root, the board connected last decided what every
board saw (``qemu:raspberry-pi-5`` was detected as an AWS Graviton2 by the lab
server, which checks boards in parallel). The check runs the root's own aarch64
``cat`` under qemu-user, as the agent's Python would read the file.
"""

from __future__ import annotations

import shutil
import subprocess
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
