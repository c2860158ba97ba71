"""The device registry refuses bad names, ports and hosts, and never stores a secret."""

from __future__ import annotations

import pytest

from tests.test_cli import workbench
from workbench import errors
from workbench.devices import registry


@pytest.mark.parametrize("name", ["../evil/x", "a/b", "..", "-rf", ""])
def test_a_device_name_that_could_become_a_path_is_refused(name: str) -> None:
    with pytest.raises(errors.InvalidOptionValue, match="not a device name"):
        registry.add(name, host="192.0.2.10")
    assert name not in registry.load()


@pytest.mark.parametrize("port", [0, 99999, -22])
def test_a_port_outside_1_to_65535_is_refused(port: int) -> None:
    with pytest.raises(errors.InvalidOptionValue, match="not a TCP port"):
        registry.add("pi5-port", host="192.0.2.10", port=port)
    assert "pi5-port" not in registry.load()


def test_a_host_that_holds_a_password_is_refused_and_nothing_is_written() -> None:
    done = workbench("devices", "add", "pi5-secret", "--host", "u:hunter2@192.0.2.10")
    assert done.returncode == 2 and "looks like a password" in done.stderr, done.stderr
    assert "hunter2" not in done.stderr
    assert not registry.registry_path().exists() or "hunter2" not in (
        registry.registry_path().read_text())
    assert "hunter2" not in workbench("devices").stdout


@pytest.mark.parametrize("host", ["board7.lab.example", "192.0.2.10", "fe80::1", "pi_5"])
def test_plain_host_names_and_addresses_are_kept(host: str) -> None:
    assert registry.add("pi5", host=host, replace=True)["host"] == host


def test_adding_a_registered_name_again_is_refused_and_the_registry_keeps_every_byte() -> None:
    registry.add("bench7-pi", host="192.0.2.70", user="pi", port=2207,
                 key_filename="/home/pi/.ssh/bench7")
    before = registry.registry_path().read_bytes()
    try:
        with pytest.raises(errors.DeviceExists) as refused:
            registry.add("bench7-pi", host="192.0.2.99", user="root")
        assert registry.registry_path().read_bytes() == before
        message = str(refused.value)
        # the device, where it is kept, what the kept entry points at, and the way out
        assert "'bench7-pi'" in message and str(registry.registry_path()) in message
        assert "pi@192.0.2.70:2207" in message and "/home/pi/.ssh/bench7" in message
        assert "--replace" in message and "another name" in message
        assert registry.add("bench7-pi", host="192.0.2.99", user="root",
                            replace=True)["host"] == "192.0.2.99"
        assert registry.load()["bench7-pi"] == {"kind": "ssh", "notes": "", "host": "192.0.2.99",
                                                "user": "root"}
    finally:
        registry.remove("bench7-pi")


def test_adding_a_device_exactly_as_registered_again_is_no_change_and_no_error() -> None:
    # a notebook cell or a set-up script run a second time
    first = registry.add("bench9-pi", host="192.0.2.90", user="pi")
    try:
        before = registry.registry_path().read_bytes()
        assert registry.add("bench9-pi", host="192.0.2.90", user="pi") == first
        assert registry.registry_path().read_bytes() == before
        again = workbench("devices", "add", "bench9-pi", "--host", "192.0.2.90", "--user", "pi")
        assert again.returncode == 0, again.stderr
    finally:
        registry.remove("bench9-pi")


def test_devices_add_refuses_a_taken_name_unless_told_to_replace_it() -> None:
    assert workbench("devices", "add", "bench8-pi", "--host", "192.0.2.80").returncode == 0
    try:
        before = registry.registry_path().read_bytes()
        refused = workbench("devices", "add", "bench8-pi", "--host", "192.0.2.81")
        assert refused.returncode == 2, refused.stderr
        assert "already registered" in refused.stderr and "192.0.2.80" in refused.stderr
        assert "--replace" in refused.stderr
        assert registry.registry_path().read_bytes() == before
        replaced = workbench("devices", "add", "bench8-pi", "--host", "192.0.2.81", "--replace")
        assert replaced.returncode == 0, replaced.stderr
        assert registry.load()["bench8-pi"]["host"] == "192.0.2.81"
    finally:
        registry.remove("bench8-pi")
