"""Devices: machines that run jobs. ``connect(name)`` gives one.

Device kinds: ``local`` (this machine, the agent in a subprocess). Boards over
SSH, the emulated Arm board and board farms plug in behind the same
:class:`Device` seam.
"""

from __future__ import annotations

from workbench import errors
from workbench.devices.base import Device, DeviceInfo
from workbench.devices.local import LocalDevice

__all__ = ["Device", "DeviceInfo", "LocalDevice", "connect", "known_devices"]

_connected: dict[str, Device] = {}


def known_devices() -> list[dict[str, str]]:
    """The devices a name can refer to: name, kind and a note."""
    return [{"name": "local", "kind": "local", "note": "this machine (the agent in a subprocess)"}]


def connect(name: str | Device = "local") -> Device:
    """The device called ``name``; the same object for the same name within a process."""
    if isinstance(name, Device):
        return name
    if name in _connected:
        return _connected[name]
    if name == "local":
        device: Device = LocalDevice()
    else:
        known = ", ".join(d["name"] for d in known_devices())
        raise errors.DeviceNotFound(f"No device called {name!r}", where="device registry",
                                    hint=f"Known devices: {known}")
    _connected[name] = device
    return device
