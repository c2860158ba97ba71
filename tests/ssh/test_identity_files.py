"""IdentityFile and IdentitiesOnly from ~/.ssh/config behave as OpenSSH's client does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.ssh.sshd import Sshd, keygen
from workbench import errors
from workbench.devices.ssh import SSHDevice


@pytest.fixture
def home_with_the_board_key(sshd: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home whose default key (~/.ssh/id_ed25519) the board accepts."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    shutil.copy(sshd.client_key, home / ".ssh" / "id_ed25519")
    shutil.copy(sshd.client_key.with_suffix(".pub"), home / ".ssh" / "id_ed25519.pub")
    monkeypatch.setenv("HOME", str(home))
    return home


def _device(sshd: Sshd, tmp_path: Path, lines: str) -> SSHDevice:
    config = tmp_path / "ssh_config"
    config.write_text(f"Host pi5\n  HostName 127.0.0.1\n  Port {sshd.port}\n  User root\n{lines}")
    return SSHDevice("pi5", ssh_config=config, known_hosts=[sshd.known_hosts],
                     user_known_hosts=tmp_path / "kh", allow_agent=False,
                     remote_cache=str(tmp_path / "cache"), timeout=5)


def test_identities_only_tries_the_named_key_and_not_the_default_ones(
        sshd: Sshd, tmp_path: Path, home_with_the_board_key: Path) -> None:
    wrong = keygen(tmp_path / "wrong_key")
    device = _device(sshd, tmp_path, f"  IdentityFile {wrong}\n  IdentitiesOnly yes\n")
    with pytest.raises(errors.AuthenticationFailed, match="refused the login"):
        device.probe()
    without = _device(sshd, tmp_path, f"  IdentityFile {wrong}\n")  # OpenSSH goes on to defaults
    assert without.probe().arch
    without.close()


def test_a_missing_identity_file_is_skipped_and_the_default_key_logs_in(
        sshd: Sshd, tmp_path: Path, home_with_the_board_key: Path) -> None:
    device = _device(sshd, tmp_path, f"  IdentityFile {tmp_path / 'no_such_key'}\n")
    assert device.probe().arch
    device.close()


def test_a_missing_identity_file_is_named_when_nothing_else_logs_in(
        sshd: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no default keys
    missing = tmp_path / "no_such_key"
    device = _device(sshd, tmp_path, f"  IdentityFile {missing}\n")
    with pytest.raises(errors.AuthenticationFailed, match="missing or unreadable") as failed:
        device.probe()
    assert str(missing) in str(failed.value)
    assert "ping" not in str(failed.value)
