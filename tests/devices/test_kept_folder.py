"""The folder of kept connections' sockets, and which devices keep a connection at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench import errors
from workbench.devices.kept import connect_kept, socket_path
from workbench.devices.local import LocalDevice


def test_a_runtime_folder_others_can_enter_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared-run"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    monkeypatch.setenv("WORKBENCH_RUNTIME_DIR", str(shared))
    with pytest.raises(errors.DeviceError, match="not this user's alone") as refused:
        socket_path("pi5")
    assert "mode 0700" in str(refused.value) and str(shared) in str(refused.value)


def test_a_missing_runtime_folder_is_made_for_this_user_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_RUNTIME_DIR", str(tmp_path / "run"))
    path = socket_path("pi5")
    assert path.parent == tmp_path / "run" and path.suffix == ".sock"
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o700
    assert socket_path("pi5") == path != socket_path("pi4")


def test_this_machine_keeps_no_connection_even_when_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_RUNTIME_DIR", str(tmp_path / "run"))
    assert isinstance(connect_kept("local", persist=True), LocalDevice)
    assert not (tmp_path / "run").exists()
