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
    assert registry.add("pi5", host=host)["host"] == host
