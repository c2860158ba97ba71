"""Devices: machines that run jobs. ``connect(name)`` gives one.

Which name means which device is a table of device kinds
(:mod:`workbench.devices.kinds`): ``local`` (this machine, the agent in a
subprocess), ``emulated`` (``qemu:BOARD`` and the boards the emulator starts),
kinds added later or by plug-ins (entry-point group ``workbench.devices``), and
``ssh`` (a board over paramiko, named in the registry or in ~/.ssh/config).
They all sit behind the same :class:`Device` seam.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from workbench import errors
from workbench.devices import kinds
from workbench.devices.base import Device, DeviceInfo
from workbench.devices.kinds import DeviceKind, kind_of
from workbench.devices.kinds import register as register_kind
from workbench.devices.kinds import unregister as unregister_kind
from workbench.devices.local import LocalDevice

__all__ = ["Device", "DeviceInfo", "DeviceKind", "LocalDevice", "connect", "kind_of",
           "known_devices", "register_kind", "reserve", "unregister_kind"]

#: how long ``reserve()`` holds a place unless told (seconds)
RESERVE_MAX_S = 3600.0

#: name -> (the kind that connected it, the device, its registry entry then), for
#: connect() without keywords
_connected: dict[str, tuple[DeviceKind, Device, dict[str, Any] | None]] = {}


def known_devices(include_ssh_config: bool = False) -> list[dict[str, Any]]:
    """The devices a name can refer to, every kind's in table order: name, kind, notes, ...

    ``qemu:BOARD`` boards are listed when the emulator's root file system is
    built. Hosts of ~/.ssh/config are listed only with ``include_ssh_config``,
    as not every host there is a board.
    """
    return kinds.listing(on_request=include_ssh_config)


def connect(name: str | Device = "local", **connection: Any) -> Device:
    """The device called ``name``: ``local``, a registry entry, or an ~/.ssh/config alias.

    ``qemu:BOARD`` (e.g. ``qemu:raspberry-pi-5``) is the emulated board without
    root: the agent under qemu-user from the emulator's root file system. The
    kind that claims the name (see :func:`workbench.devices.kinds.kind_for`)
    connects it; a Device passed in is returned as it is.

    Keyword arguments (host, user, port, key_filename, proxy_jump, known_hosts,
    python, remote_cache, password, passphrase, ...) override what the registry and the ssh
    config say. Without them, the same name gives the same object in a process,
    so its connection is reused, until the name's registry entry changes (a
    long-lived process, such as the Jupyter server, sees a board added again
    with other settings).
    """
    from workbench.devices import registry

    if isinstance(name, Device):
        return name
    entry = registry.load().get(name) if not connection else None
    if not connection and name in _connected:
        kind, device, was = _connected.pop(name)
        # a kind replaced or removed since then no longer answers for its names
        if kinds.is_registered(kind) and was == entry:
            _connected[name] = (kind, device, was)
            return device
        # the old object is left open: a job may still be using it
    kind = kinds.kind_for(name, with_settings=bool(connection))
    device = kind.connect(name, **connection)
    if not isinstance(device, Device):
        raise errors.DeviceError(f"The device kind {kind.name!r} gave no Device for {name!r}",
                                 where=f"device kind {kind.name!r}",
                                 hint="Fix or reinstall the package that adds this kind")
    if not connection:
        _connected[name] = (kind, device, entry)
    return device


@contextlib.contextmanager
def reserve(name: str | Device, *, max_s: float | None = RESERVE_MAX_S,
            **connection: Any) -> Iterator[Device]:
    """Hold one farm place across several jobs: ``with wb.reserve("labgrid:soc=bcm2712") as dev:``.

    The place is reserved (waiting in the farm's queue) on entering and given
    back on leaving, also on an error or Ctrl-C; jobs on ``dev`` inside the
    block all run on that one board, and their profiles name the place. After
    ``max_s`` seconds (one hour unless told; None for no limit) the place is
    given back even if the block still runs: later jobs raise HoldEnded.
    Keywords are :func:`connect`'s (coordinator=, key_filename=, ...).
    """
    from workbench.devices.labgrid_device import LabgridDevice

    device = connect(name, **connection)
    if not isinstance(device, LabgridDevice):
        raise errors.InvalidOptionValue(
            f"{device.name} is a {device.kind} device, which is not reserved from a farm",
            where="reserve", hint="Give a farm device, e.g. labgrid:soc=bcm2712 or "
            "labgrid:PLACE; other devices need no reservation")
    device.hold(max_s)
    try:
        yield device
    finally:
        device.leave()
