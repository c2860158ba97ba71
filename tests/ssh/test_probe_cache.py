"""A board's probe kept on the host: a new process (a new device object) need not probe again."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

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


class CountingHashes(SSHDevice):
    """An SSH device that names the files it hashes on the board."""

    hashed: ClassVar[list[str]] = []

    def exec(self, argv: list[str], **kwargs: Any) -> tuple[int, str, str]:
        if argv[3:4] == ["hash"]:
            type(self).hashed.extend(argv[4:])
        return super().exec(argv, **kwargs)


def _ensure_anew(sshd: Sshd, tmp_path: Path, local: Path) -> str:
    """Ensure ``local`` from a device object of its own, as a new process does."""
    device = make_board(sshd, tmp_path, cls=CountingHashes)
    try:
        return device.ensure(local)
    finally:
        device.close()


def test_a_new_process_does_not_hash_a_checked_file_again_until_it_changed_on_the_board(
        sshd: Sshd, tmp_path: Path) -> None:
    local = tmp_path / "model.onnx"
    local.write_bytes(bytes(range(256)) * 64)
    CountingHashes.hashed = []
    remote = _ensure_anew(sshd, tmp_path, local)  # sent whole: the bytes sent are the check
    assert _ensure_anew(sshd, tmp_path, local) == remote
    assert CountingHashes.hashed == []
    # Edited on the board behind the host's back, same size: hashed, found wrong, sent again.
    os.chmod(remote, 0o600)
    with open(remote, "r+b") as edited:
        edited.write(b"\xff" * 16)
    assert _ensure_anew(sshd, tmp_path, local) == remote
    assert CountingHashes.hashed == [remote]
    assert Path(remote).read_bytes() == local.read_bytes()
    # Another file put in its place, even with the same bytes and time: hashed again.
    stat = os.stat(remote)
    Path(remote).unlink()
    Path(remote).write_bytes(local.read_bytes())
    os.utime(remote, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert _ensure_anew(sshd, tmp_path, local) == remote
    assert CountingHashes.hashed == [remote, remote]
