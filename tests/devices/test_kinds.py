"""The table of device kinds: which kind a name belongs to, what each lists, plug-in kinds.

The emulator's root file system is not built on a fresh machine, so the tests
that need it point WORKBENCH_EMULATOR_DIR at a folder laid out as a built root
(the files ``is_built()`` and the qemu-user device look at); nothing here runs
the emulator.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_cli import workbench
from workbench import emulator, errors
from workbench.devices import (
    Device,
    DeviceKind,
    LocalDevice,
    connect,
    kind_of,
    kinds,
    known_devices,
    register_kind,
    registry,
    unregister_kind,
)
from workbench.devices.ssh import SSHDevice
from workbench.emulator.user_mode import QEMU_USER, QemuUserDevice

BOARDS = [f"qemu:{board}" for board in emulator.PRESETS]


class DoubleDevice(LocalDevice):
    """Test double: this machine, under a kind of its own."""

    kind = "double"


def names(listed: list[dict[str, Any]]) -> list[str]:
    return [entry["name"] for entry in listed]


@pytest.fixture
def no_emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An emulator folder with nothing built and no board running."""
    folder = tmp_path / "emulator"
    folder.mkdir()
    monkeypatch.setenv("WORKBENCH_EMULATOR_DIR", str(folder))
    return folder


@pytest.fixture
def built_emulator(no_emulator: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An emulator folder laid out as a built root: build.json of this version, an aarch64
    Python in the root. Where qemu-user is not installed, an inert stand-in is put on PATH:
    the qemu-user device only looks it up, and nothing here runs it."""
    (no_emulator / "build.json").write_text(json.dumps({"version": emulator.ROOT_VERSION}))
    python = no_emulator / "rootfs" / "usr" / "bin" / "python3"
    python.parent.mkdir(parents=True)
    python.write_text("")
    if shutil.which(QEMU_USER) is None:
        stand_in = tmp_path / "bin" / QEMU_USER
        stand_in.parent.mkdir()
        stand_in.write_text("#!/bin/sh\nexit 1\n")
        stand_in.chmod(0o755)
        monkeypatch.setenv("PATH", f"{stand_in.parent}{os.pathsep}{os.environ['PATH']}")
    return no_emulator


@pytest.fixture
def registered() -> Iterator[list[str]]:
    """Registry entries a test adds, removed afterwards (the registry lasts the session)."""
    added: list[str] = []
    yield added
    for name in added:
        registry.remove(name)


@pytest.fixture
def double() -> Iterator[DeviceKind]:
    """A kind for ``double:NAME`` devices, registered for one test."""
    kind = register_kind(DeviceKind(
        "double", claims=lambda name: name.startswith("double:"),
        connect=lambda name, **connection: DoubleDevice(name, **connection),
        known=lambda: [{"name": "double:one", "notes": "a test double"}]))
    try:
        yield kind
    finally:
        unregister_kind("double")


# --- the table ------------------------------------------------------------------------------


def test_the_built_in_kinds_are_in_the_table_in_order_with_ssh_asked_last() -> None:
    table = [kind.name for kind in kinds.kinds()]
    assert [n for n in table if n in ("local", "emulated", "ssh")] == ["local", "emulated", "ssh"]
    assert table[0] == "local" and table[-1] == "ssh"
    assert kinds.kind_for("local") is kinds.LOCAL


def test_a_registered_kind_is_asked_before_the_ssh_fallback(double: DeviceKind) -> None:
    table = kinds.kinds()
    assert table.index(double) < table.index(kinds.SSH)
    with pytest.raises(ValueError, match="double"):
        register_kind(DeviceKind("double", claims=lambda _: False, connect=DoubleDevice))
    assert register_kind(double) is double  # the same kind again: nothing changes


# --- the emulated kind ----------------------------------------------------------------------


def test_qemu_boards_are_listed_only_when_the_emulators_root_is_built(
        no_emulator: Path) -> None:
    assert not set(BOARDS) & set(names(known_devices()))
    # an older root version is not built either: is_built() is the rule
    (no_emulator / "build.json").write_text(json.dumps({"version": emulator.ROOT_VERSION - 1}))
    (no_emulator / "rootfs").mkdir()
    assert not set(BOARDS) & set(names(known_devices()))


def test_known_devices_lists_a_qemu_board_per_preset_when_the_root_is_built(
        built_emulator: Path) -> None:
    listed = {entry["name"]: entry for entry in known_devices()}
    assert set(BOARDS) <= set(listed)
    assert {listed[board]["kind"] for board in BOARDS} == {"emulated"}
    assert "times are not hardware times" in listed["qemu:raspberry-pi-5"]["notes"]
    assert names(known_devices())[0] == "local"


def test_the_cli_devices_listing_shows_the_kind_column_and_the_qemu_boards(
        built_emulator: Path) -> None:
    done = workbench("devices")
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split()[1] for line in done.stdout.splitlines() if line.strip()}
    assert rows["local"] == "local" and rows["qemu:raspberry-pi-5"] == "emulated"


def test_qemu_names_belong_to_the_emulated_kind_even_before_the_root_is_built(
        no_emulator: Path) -> None:
    assert kinds.kind_for("qemu:raspberry-pi-5") is kinds.EMULATED
    # the qemu-user device itself says what is missing (it is never cached)
    with pytest.raises(errors.DeviceError, match="No aarch64 root file system"):
        connect("qemu:raspberry-pi-5")


def test_connect_qemu_gives_the_qemu_user_device_with_keywords_passed_to_it(
        built_emulator: Path, tmp_path: Path) -> None:
    root = built_emulator / "rootfs"
    # a keyword (root=) keeps this device out of connect()'s cache of names
    device = connect("qemu:raspberry-pi-5", root=root)
    assert isinstance(device, QemuUserDevice) and device.root == root
    assert device.kind == "emulated" and kind_of(device) is kinds.EMULATED
    # the preset's Cortex-A76, in the board's own view of the root
    assert "0xd0b" in (device.view / "proc" / "cpuinfo").read_text()
    assert (device.view / "usr").resolve() == (root / "usr").resolve()
    with pytest.raises(errors.InvalidOptionValue, match="raspberry-pi-5"):
        connect("qemu:no-such-board", root=root)


def test_registry_entries_of_kind_emulated_are_listed_and_connected_as_emulated(
        no_emulator: Path, registered: list[str]) -> None:
    registry.add("kinds-emu-board", kind="emulated", host="127.0.0.1", port=2299, user="board",
                 notes="emulated board for the kinds test")
    registry.add("kinds-ssh-board", host="192.0.2.30", user="pi")
    registered += ["kinds-emu-board", "kinds-ssh-board"]
    listed = {entry["name"]: entry for entry in known_devices()}
    assert listed["kinds-emu-board"]["kind"] == "emulated"
    assert listed["kinds-emu-board"]["running"] is False
    assert listed["kinds-ssh-board"]["kind"] == "ssh"
    order = names(known_devices())
    assert order.index("kinds-emu-board") < order.index("kinds-ssh-board")  # table order
    assert kinds.kind_for("kinds-emu-board") is kinds.EMULATED
    assert kinds.kind_for("kinds-ssh-board") is kinds.SSH
    device = connect("kinds-emu-board", timeout=1)  # keywords: kept out of the cache
    assert isinstance(device, SSHDevice) and device.emulated
    assert device.kind == "emulated" and kind_of(device) is kinds.EMULATED
    assert device.endpoint.port == 2299


def test_a_running_board_missing_from_the_registry_is_listed_and_reachable(
        no_emulator: Path) -> None:
    # What status() takes for a running board: a live pid and an answer on its port.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        state = {"board": "raspberry-pi-5", "device": "emu-pi5", "pid": os.getpid(),
                 "port": port, "qemu_cpu": "cortex-a76"}
        (no_emulator / "state-raspberry-pi-5.json").write_text(json.dumps(state))
        listed = {entry["name"]: entry for entry in known_devices()}
        assert listed["emu-pi5"]["kind"] == "emulated" and listed["emu-pi5"]["running"]
        device = connect("emu-pi5", timeout=1)
    assert isinstance(device, SSHDevice) and device.emulated and device.endpoint.port == port
    assert device.endpoint.user == "board"


# --- kinds added by others ------------------------------------------------------------------


def test_a_registered_kind_is_found_by_connect_and_listed_until_unregistered(
        double: DeviceKind) -> None:
    device = connect("double:one")
    assert isinstance(device, DoubleDevice) and device.name == "double:one"
    assert connect("double:one") is device  # no keywords: the same object
    assert kind_of(device) is double
    listed = {entry["name"]: entry for entry in known_devices()}
    assert listed["double:one"] == {"name": "double:one", "kind": "double",
                                    "notes": "a test double"}
    assert unregister_kind("double")
    assert "double:one" not in names(known_devices())
    with pytest.raises(errors.DeviceNotFound):
        connect("double:one")  # the cached device went with its kind


def test_acquire_and_release_do_nothing_by_default_and_are_found_through_kind_of(
        double: DeviceKind) -> None:
    device = connect("double:two")
    before = dict(vars(device))
    kind_of(device).acquire(device)
    kind_of(device).release(device)
    assert vars(device) == before
    calls: list[tuple[str, Device]] = []
    register_kind(DeviceKind(
        "double", claims=double.claims, connect=double.connect,
        acquire=lambda d: calls.append(("acquire", d)),
        release=lambda d: calls.append(("release", d))), replace=True)
    kind = kind_of(device)
    kind.acquire(device)
    try:
        pass  # a job would run here
    finally:
        kind.release(device)
    assert calls == [("acquire", device), ("release", device)]


def test_a_device_of_an_unregistered_kind_gets_steps_that_do_nothing() -> None:
    device = DoubleDevice("double:loose")
    kind = kind_of(device)
    assert kind.name == "double" and kind not in kinds.kinds()
    before = dict(vars(device))
    kind.acquire(device)
    kind.release(device)
    assert vars(device) == before
    assert not kind.claims("double:loose")


def test_a_kind_that_fails_gives_a_warning_naming_it_and_the_others_still_answer(
        registered: list[str]) -> None:
    def broken(name: str) -> bool:
        raise RuntimeError("claims is broken")

    register_kind(DeviceKind("kinds-broken", claims=broken, connect=DoubleDevice,
                             known=lambda: [{"oops": 1}]))
    try:
        with pytest.warns(kinds.DeviceKindPluginWarning, match="kinds-broken"):
            assert isinstance(connect("local"), LocalDevice)
            registry.add("kinds-after-broken", host="192.0.2.31")
            registered.append("kinds-after-broken")
            assert kinds.kind_for("kinds-after-broken") is kinds.SSH
        assert "local" in names(known_devices())  # an entry without a name is left out
    finally:
        unregister_kind("kinds-broken")


def test_an_entry_point_plugin_kind_loads_and_a_broken_one_warns_by_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kinds_plugin_for_tests.py").write_text(
        "from workbench.devices import DeviceKind, LocalDevice\n"
        "class PluggedDevice(LocalDevice):\n"
        "    kind = 'plugged'\n"
        "KIND = DeviceKind('plugged', claims=lambda name: name.startswith('plugged:'),\n"
        "                  connect=lambda name, **c: PluggedDevice(name, **c),\n"
        "                  known=lambda: [{'name': 'plugged:board', 'notes': 'from a plug-in'}])\n"
        "NOT_A_KIND = 42\n")
    info = tmp_path / "kinds_plugin_for_tests-0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: kinds-plugin-for-tests\nVersion: 0.0\n")
    (info / "entry_points.txt").write_text(
        f"[{kinds.GROUP}]\n"
        "plugged = kinds_plugin_for_tests:KIND\n"
        "broken-kind = no_such_module_for_kinds:KIND\n"
        "wrong-kind = kinds_plugin_for_tests:NOT_A_KIND\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "kinds_plugin_for_tests", raising=False)
    try:
        with pytest.warns(kinds.DeviceKindPluginWarning) as caught:
            added = kinds.load_plugins()
        assert added == ["plugged"]
        messages = sorted(str(warning.message) for warning in caught)
        assert len(messages) == 2 and "'broken-kind'" in messages[0]
        assert "no_such_module_for_kinds" in messages[0]
        assert "wrong-kind" in messages[1] and "not a DeviceKind" in messages[1]
        assert kinds.kind_for("plugged:board").name == "plugged"
        assert connect("plugged:board", python=None).kind == "plugged"
        assert "plugged:board" in names(known_devices())
        assert [k.name for k in kinds.kinds()][-1] == "ssh"
        assert isinstance(connect("local"), LocalDevice)  # the built-ins still work
        assert kinds.load_plugins() == []  # tried once; no second warning
    finally:
        unregister_kind("plugged")


# --- unknown names --------------------------------------------------------------------------


def test_an_unknown_name_raises_device_not_found_listing_the_known_devices(
        built_emulator: Path, registered: list[str]) -> None:
    registry.add("kinds-listed-pi", host="192.0.2.32")
    registered.append("kinds-listed-pi")
    with pytest.raises(errors.DeviceNotFound) as caught:
        connect("no-such-board")
    hint = caught.value.hint or ""
    assert "local" in hint and "kinds-listed-pi" in hint and "qemu:raspberry-pi-5" in hint
    assert "workbench devices add" in hint and "no-such-board" in caught.value.what


def test_a_name_no_kind_claims_with_a_host_given_is_a_board_over_ssh() -> None:
    first = connect("kinds-adhoc-board", host="192.0.2.33", timeout=1)
    assert isinstance(first, SSHDevice) and first.kind == "ssh"
    assert connect("kinds-adhoc-board", host="192.0.2.33", timeout=1) is not first
    with pytest.raises(errors.DeviceNotFound):
        connect("kinds-adhoc-board")


def test_local_takes_only_a_python() -> None:
    device = connect("local", python="/usr/bin/python3")
    assert isinstance(device, LocalDevice) and device.python == "/usr/bin/python3"
    with pytest.raises(errors.UnknownOption, match="host"):
        connect("local", host="192.0.2.34")


def test_a_board_registered_again_with_other_settings_is_connected_anew(
        registered: list[str]) -> None:
    registry.add("kinds-moved-board", host="192.0.2.40", user="pi")
    registered.append("kinds-moved-board")
    first = connect("kinds-moved-board")
    assert connect("kinds-moved-board") is first  # unchanged: the same object
    registry.add("kinds-moved-board", host="192.0.2.41", user="pi", replace=True)
    moved = connect("kinds-moved-board")
    assert isinstance(moved, SSHDevice) and moved is not first
    assert moved.endpoint.hostname == "192.0.2.41"
