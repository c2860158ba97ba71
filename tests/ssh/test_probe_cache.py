"""A board's probe kept on the host: a new process (a new device object) need not probe again."""

from __future__ import annotations

from pathlib import Path

from tests.ssh.conftest import make_board
from tests.ssh.sshd import Sshd
from workbench.devices.base import DeviceInfo
from workbench.devices.ssh import SSHDevice


class CountingProbes(SSHDevice):
    """An SSH device that counts the probes it runs on the board."""

    probes = 0

    def _probe(self) -> DeviceInfo:
        type(self).probes += 1
        return super()._probe()


def _probe_anew(sshd: Sshd, tmp_path: Path, refresh: bool = False) -> DeviceInfo:
    """A probe from a device object of its own, as a new process makes it."""
    device = make_board(sshd, tmp_path, cls=CountingProbes)
    try:
        return device.probe(refresh=refresh)
    finally:
        device.close()


def test_a_new_process_takes_the_kept_probe_until_a_refresh_or_an_install_on_the_board(
        sshd: Sshd, tmp_path: Path) -> None:
    CountingProbes.probes = 0
    first = _probe_anew(sshd, tmp_path)
    again = _probe_anew(sshd, tmp_path)
    assert CountingProbes.probes == 1
    assert again.to_dict(with_cpuinfo=True) == first.to_dict(with_cpuinfo=True)
    assert _probe_anew(sshd, tmp_path, refresh=True).arch == first.arch
    assert CountingProbes.probes == 2
    # what `workbench device setup` does on the board: a runtime bundle in the cache's folder
    (tmp_path / "board-cache" / "runtime" / "onnxruntime").mkdir(parents=True)
    _probe_anew(sshd, tmp_path)
    assert CountingProbes.probes == 3
