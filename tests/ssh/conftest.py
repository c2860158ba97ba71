"""Fixtures for the SSH tests: real sshd servers on 127.0.0.1 and devices logged in to them."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ssh.sshd import Sshd, keygen, start_sshd
from workbench.devices.ssh import SSHDevice

if not Path("/usr/sbin/sshd").exists() and not shutil.which("sshd"):
    pytest.skip("openssh-server is not installed: run `bash tests/setup.sh`",
                allow_module_level=True)


@pytest.fixture(scope="session")
def client_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return keygen(tmp_path_factory.mktemp("client") / "id_ed25519")


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory, client_key: Path) -> Iterator[Sshd]:
    server = start_sshd(tmp_path_factory.mktemp("sshd"), client_key)
    yield server
    server.stop()


def make_board(server: Sshd, tmp_path: Path, **overrides: object) -> SSHDevice:
    """A device logged in as root with the test key; the board's cache and board folder
    (its job lock) in ``tmp_path``."""
    settings: dict[str, object] = dict(
        host="127.0.0.1", port=server.port, user="root", key_filename=str(server.client_key),
        known_hosts=[server.known_hosts], user_known_hosts=tmp_path / "user_known_hosts",
        ssh_config=tmp_path / "no_ssh_config", allow_agent=False, look_for_keys=False,
        python=sys.executable, remote_cache=str(tmp_path / "board-cache"),
        board_dir=str(tmp_path / "board"), timeout=5)
    settings.update(overrides)
    return SSHDevice("testboard", **settings)  # type: ignore[arg-type]


@pytest.fixture
def board(sshd: Sshd, tmp_path: Path) -> Iterator[SSHDevice]:
    device = make_board(sshd, tmp_path)
    yield device
    device.close()
