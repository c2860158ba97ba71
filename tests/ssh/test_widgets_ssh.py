"""The notebook UI against a real sshd: an unknown key, trust, a passphrase, run, cancel."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import until
from tests.ssh.sshd import Sshd, keygen
from tests.ssh.test_job_cancel import _large_model
from workbench import errors

pytest.importorskip("ipywidgets")

from workbench.widgets import Workbench

WAIT_S = 180


def _connection(tmp_path: Path, **more: Any) -> dict[str, Any]:
    """What the form does not ask: this test's private known_hosts, config and board folders."""
    return {"user_known_hosts": tmp_path / "user_known_hosts", "ssh_config": tmp_path / "none",
            "allow_agent": False, "look_for_keys": False, "python": sys.executable,
            "remote_cache": str(tmp_path / "board-cache"), "board_dir": str(tmp_path / "board"),
            "timeout": 5, **more}


def _fill_form(ui: Workbench, sshd: Sshd, key: Path) -> None:
    picker = ui.device_picker
    picker.name.value = "testboard"
    picker.host.value = "127.0.0.1"
    picker.port.value = sshd.port
    picker.user.value = "root"
    picker.key_file.value = str(key)


def test_an_unknown_key_is_shown_and_trusting_it_lets_the_run_go_on(
        sshd: Sshd, conv_model: Path, tmp_path: Path) -> None:
    ui = Workbench(str(conv_model), connection=_connection(tmp_path), warmup=0, runs=2,
                   profile_runs=1)
    picker = ui.device_picker
    _fill_form(ui, sshd, sshd.client_key)
    picker.connect_button.click()
    assert picker.task is not None
    assert isinstance(picker.task.exception(60), errors.UnknownHostKey)
    until(lambda: picker.trust_button.layout.display == "")
    assert picker.shown_fingerprint == sshd.host_fingerprint
    assert sshd.host_fingerprint in picker.host_key.value
    assert isinstance(picker.errors.error, errors.UnknownHostKey)

    picker.trust_button.click()
    info = picker.task.result(60)
    assert info.arch and picker.device is not None and picker.device.name == "testboard"
    assert "[127.0.0.1]" in (tmp_path / "user_known_hosts").read_text()
    assert picker.trust_button.layout.display == "none"

    ui.run_panel.run_button.click()
    profile = ui.wait(WAIT_S)
    assert profile is not None, ui.run_panel.errors.widget.value
    assert profile.device_name == "testboard"
    assert ui.results.shown_rows


def test_trust_passes_the_fingerprint_shown_and_a_mismatch_trusts_nothing(
        sshd: Sshd, conv_model: Path, tmp_path: Path) -> None:
    ui = Workbench(str(conv_model), connection=_connection(tmp_path))
    picker = ui.device_picker
    _fill_form(ui, sshd, sshd.client_key)
    picker.connect_button.click()
    assert picker.task is not None and picker.task.exception(60) is not None
    until(lambda: picker.shown_fingerprint)
    # what the button passes is what was shown: a fingerprint the board does not present
    picker._shown_fingerprint = "SHA256:" + "A" * 43
    picker.trust_button.click()
    assert isinstance(picker.errors.error, errors.UnknownHostKey)
    assert "nothing was trusted" in picker.errors.widget.value
    assert not (tmp_path / "user_known_hosts").exists()


def test_a_passphrase_typed_into_the_form_unlocks_the_key_and_is_never_written(
        sshd: Sshd, conv_model: Path, tmp_path: Path) -> None:
    locked = keygen(tmp_path / "locked", passphrase="open sesame 42")
    authorized = sshd.folder / "authorized_keys"
    original = authorized.read_text()
    authorized.write_text(original + locked.with_suffix(".pub").read_text())
    try:
        ui = Workbench(str(conv_model),
                       connection=_connection(tmp_path, known_hosts=[sshd.known_hosts]))
        _fill_form(ui, sshd, locked)
        ui.device_picker.passphrase.value = "open sesame 42"
        assert ui.device_picker.passphrase.value == ""
        ui.device_picker.connect_button.click()
        assert ui.device_picker.task is not None
        assert ui.device_picker.task.result(60).arch
    finally:
        authorized.write_text(original)
    assert not any("open sesame 42" in p.read_text(errors="ignore")
                   for p in tmp_path.rglob("*") if p.is_file())


def test_cancel_during_the_upload_stops_the_job_and_the_ui_says_so(
        sshd: Sshd, tmp_path: Path) -> None:
    model = _large_model(tmp_path / "large.onnx")
    ui = Workbench(str(model), connection=_connection(tmp_path, known_hosts=[sshd.known_hosts]),
                   warmup=0, runs=1, profile_runs=0)
    _fill_form(ui, sshd, sshd.client_key)
    ui.device_picker.connect_button.click()
    assert ui.device_picker.task is not None and ui.device_picker.task.result(60)

    def uploading() -> bool:
        event = ui.run_panel.stages.get("upload", {})
        return bool(0 < event.get("done", 0) < event.get("total", 0))

    ui.run_panel.run_button.click()
    until(uploading, WAIT_S)
    ui.run_panel.cancel_button.click()
    assert ui.wait(30) is None
    assert ui.job is not None and ui.job.state == "cancelled"
    assert "<b>cancelled</b>" in ui.run_panel.state.value
    assert "MiB of" in ui.run_panel.stage_view.value  # the upload's bytes were shown
    assert ui.run_panel.errors.error is None


def test_a_board_added_with_save_is_in_the_registry_without_its_secrets(
        sshd: Sshd, conv_model: Path, tmp_path: Path) -> None:
    from workbench.devices import registry

    ui = Workbench(str(conv_model),
                   connection=_connection(tmp_path, known_hosts=[sshd.known_hosts]))
    _fill_form(ui, sshd, sshd.client_key)
    ui.device_picker.name.value = "saved-board"
    ui.device_picker.password.value = "never-stored-9"
    ui.device_picker.remember.value = True
    # an older entry of that name: the form's fields replace its own, the rest is kept
    registry.add("saved-board", notes="bench 3", host="192.0.2.5", cache_limit_bytes=123456789)
    ui.device_picker.connect_button.click()
    assert ui.device_picker.task is not None and ui.device_picker.task.result(60).arch
    try:
        entry = registry.load()["saved-board"]
        assert entry["host"] == "127.0.0.1" and entry["port"] == sshd.port
        assert entry["notes"] == "bench 3" and entry["cache_limit_bytes"] == 123456789
        assert "password" not in entry
        assert "never-stored-9" not in registry.registry_path().read_text()
        ui.device_picker.refresh()
        assert "saved-board" in [value for _label, value in ui.device_picker.choice.options]
    finally:
        registry.remove("saved-board")
