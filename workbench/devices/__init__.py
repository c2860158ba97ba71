"""Devices: machines that run jobs. ``connect(name)`` gives one.

Kinds: ``local`` (this machine, the agent in a subprocess) and ``ssh`` (a board
over paramiko, named in the registry or in ~/.ssh/config). The emulated Arm
board and board farms plug in behind the same :class:`Device` seam.
"""

from __future__ import annotations

from typing import Any

from workbench import errors
from workbench.devices.base import Device, DeviceInfo
from workbench.devices.local import LocalDevice

__all__ = ["Device", "DeviceInfo", "LocalDevice", "connect", "known_devices"]

_connected: dict[str, Device] = {}


def known_devices(include_ssh_config: bool = False) -> list[dict[str, Any]]:
    """The devices a name can refer to: name, kind, notes and connection."""
    from workbench.devices import registry

    found = [{"name": "local", "kind": "local", "notes": "this machine"}]
    entries = registry.load()
    found += [{"name": name, **entry} for name, entry in sorted(entries.items())]
    if include_ssh_config:
        found += [{"name": host, "kind": "ssh", "notes": "from ~/.ssh/config"}
                  for host in registry.ssh_config_hosts() if host not in entries]
    return found


def connect(name: str | Device = "local", **connection: Any) -> Device:
    """The device called ``name``: ``local``, a registry entry, or an ~/.ssh/config alias.

    ``qemu:BOARD`` (e.g. ``qemu:raspberry-pi-5``) is the emulated board without
    root: the agent under qemu-user from the emulator's root file system.

    Keyword arguments (host, user, port, key_filename, proxy_jump, known_hosts,
    python, remote_cache, password, ...) override what the registry and the ssh
    config say. Without them, the same name gives the same object in a process,
    so its connection is reused.
    """
    from workbench.devices import registry

    if isinstance(name, Device):
        return name
    if not connection and name in _connected:
        return _connected[name]
    if name == "local":
        device: Device = LocalDevice()
    elif name.startswith("qemu:"):
        from workbench.emulator.user_mode import QemuUserDevice

        device = QemuUserDevice(name.split(":", 1)[1], **connection)
    else:
        from workbench.devices.ssh import SSHDevice

        entry = dict(registry.load().get(name, {}))
        kind = entry.pop("kind", None)
        entry.pop("notes", None)
        if kind is None and not connection and name not in registry.ssh_config_hosts():
            known = ", ".join(d["name"] for d in known_devices(include_ssh_config=True))
            raise errors.DeviceNotFound(
                f"No device called {name!r}", where="device registry and ~/.ssh/config",
                hint=f"Known devices: {known}; add one with `workbench devices add`")
        entry.update(connection)
        device = SSHDevice(name, emulated=kind == "emulated", **entry)
    if not connection:
        _connected[name] = device
    return device
