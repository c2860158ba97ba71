"""Device kinds: one table that turns a device name into a :class:`Device`.

A kind says which names are its own (``claims``), how to connect one
(``connect``), which of its devices exist now (``known``, for pickers and
listings) and what to do around a job (``acquire`` and ``release``, for kinds
that reserve a board). :func:`workbench.devices.connect` asks this table and
knows no prefixes by heart.

The table asks, in this order: ``local`` (this machine), ``emulated``
(``qemu:BOARD`` and the emulator's ``emu-*`` boards), the kinds registered
later (:func:`register`, or plug-ins), and last the fallback ``ssh``
(registry entries and ~/.ssh/config aliases).

A package adds a kind without touching the workbench through the entry-point
group ``workbench.devices``; the entry names a :class:`DeviceKind`, or a
callable (a class, a factory) that returns one::

    [project.entry-points."workbench.devices"]
    labgrid = "workbench_labgrid:KIND"

Plug-ins load on first need. One that fails to load gives a
:class:`DeviceKindPluginWarning` naming it; the other kinds stay available.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from workbench import errors
from workbench.devices.base import Device

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

__all__ = ["EMULATED", "GROUP", "LABGRID", "LOCAL", "SSH", "DeviceKind", "DeviceKindPluginWarning",
           "is_registered", "kind_for", "kind_of", "kinds", "listing", "load_plugins", "register",
           "unregister"]

#: The entry-point group third-party device kinds are found in.
GROUP = "workbench.devices"
#: The name prefix of the emulated board run by qemu-user without root: ``qemu:BOARD``.
QEMU_PREFIX = "qemu:"
#: The name prefix of a place of a labgrid farm: ``labgrid:PLACE`` or ``labgrid:key=value,...``
LABGRID_PREFIX = "labgrid:"

#: Lists devices: each a dict with at least name, kind and notes.
Listing = Callable[[], list[dict[str, Any]]]
#: A step run with a device around a job.
Hook = Callable[[Device], None]


def _nothing_known() -> list[dict[str, Any]]:
    return []


def _nothing_to_do(device: Device) -> None:
    """Most kinds reserve nothing: a board they connect to is theirs while the link is up."""


class DeviceKindPluginWarning(UserWarning):
    """A device-kind plug-in could not be loaded or answered wrongly; the other kinds still work."""


@dataclass(frozen=True)
class DeviceKind:
    """One kind of device: which names it claims, how it connects them, which exist now.

    ``acquire(device)`` and ``release(device)`` run around each job on a device
    of this kind (a farm reserves its board in ``acquire`` and frees it in
    ``release``); both do nothing by default. A job runner calls them as::

        kind = kind_of(device)
        kind.acquire(device)
        try:
            ...  # run the job
        finally:
            kind.release(device)  # always, or a failed job keeps the board reserved
    """

    #: short name: "local", "ssh", "emulated", "labgrid", ...; also ``Device.kind`` of its devices
    name: str
    #: whether a device name belongs to this kind
    claims: Callable[[str], bool]
    #: ``connect(name, **connection) -> Device``; keywords override stored settings
    connect: Callable[..., Device]
    #: the devices of this kind that exist now (name, kind, notes, ...)
    known: Listing = _nothing_known
    #: devices listed only when asked for, as they may not be boards (~/.ssh/config hosts)
    known_on_request: Listing = _nothing_known
    #: run before a job on a device of this kind (reserve the board)
    acquire: Hook = _nothing_to_do
    #: run after that job, in a ``finally`` block (free the board)
    release: Hook = _nothing_to_do
    #: asked only after every other kind declined (ssh: any name the registry or ssh config has)
    fallback: bool = False
    #: one line for listings and help
    description: str = ""


_lock = threading.RLock()
_table: list[DeviceKind] = []
_plugins_tried: set[tuple[str, str]] = set()
_plugins_scanned = False


def register(kind: DeviceKind, *, replace: bool = False) -> DeviceKind:
    """Add ``kind`` to the table (asked after the kinds before it, before fallbacks); returns it.

    Registering the same object again does nothing; another kind of the same
    name raises ValueError unless ``replace``.
    """
    if not isinstance(kind, DeviceKind):
        raise TypeError(f"{kind!r} is not a DeviceKind")
    with _lock:
        for index, old in enumerate(_table):
            if old.name == kind.name:
                if old is kind:
                    return kind
                if not replace:
                    raise ValueError(f"A device kind called {kind.name!r} is registered already")
                _table[index] = kind
                return kind
        _table.append(kind)
    return kind


def unregister(name: str) -> bool:
    """Remove the kind called ``name``; whether there was one."""
    with _lock:
        for index, kind in enumerate(_table):
            if kind.name == name:
                del _table[index]
                return True
    return False


def is_registered(kind: DeviceKind) -> bool:
    """Whether this very kind object is in the table (a replaced or removed one is not)."""
    with _lock:
        return any(k is kind for k in _table)


def _load(entry: EntryPoint) -> DeviceKind:
    target = entry.load()
    kind = target if isinstance(target, DeviceKind) else target() if callable(target) else target
    if not isinstance(kind, DeviceKind):
        raise TypeError(f"{entry.value} gives {type(kind).__name__}, not a DeviceKind")
    return kind


def load_plugins() -> list[str]:
    """Register the kinds of installed plug-ins not tried yet; the names of the kinds added.

    A plug-in that fails to load, or that gives no DeviceKind, gives a
    :class:`DeviceKindPluginWarning` naming it; the others still load. The
    table calls this once, on first need; call it again after installing a
    plug-in into a running process.
    """
    from importlib.metadata import entry_points

    global _plugins_scanned
    added = []
    with _lock:
        _plugins_scanned = True
        for entry in entry_points(group=GROUP):
            key = (entry.name, entry.value)
            if key in _plugins_tried:
                continue
            _plugins_tried.add(key)
            try:
                kind = register(_load(entry))
            except Exception as exc:  # a plug-in's own bug must not hide the other kinds
                warnings.warn(f"The device kind plug-in {entry.name!r} ({entry.value}) failed to "
                              f"load: {type(exc).__name__}: {exc}. The other kinds still work; "
                              "reinstall or fix the plug-in package", DeviceKindPluginWarning,
                              stacklevel=2)
                continue
            added.append(kind.name)
    return added


def _ordered() -> list[DeviceKind]:
    with _lock:
        if not _plugins_scanned:
            load_plugins()
        return [k for k in _table if not k.fallback] + [k for k in _table if k.fallback]


def kinds() -> list[DeviceKind]:
    """Every registered kind, in the order a name is offered to them (fallbacks last)."""
    return _ordered()


def _ask(kind: DeviceKind, what: str, call: Callable[[], Any], default: Any) -> Any:
    """Call a kind's function; a kind's own bug becomes a warning, not a failure of every kind.

    WorkbenchErrors pass through: they are the user's to see (a corrupt registry file).
    """
    try:
        return call()
    except errors.WorkbenchError:
        raise
    except Exception as exc:
        warnings.warn(f"The device kind {kind.name!r} failed in {what}: "
                      f"{type(exc).__name__}: {exc}", DeviceKindPluginWarning, stacklevel=3)
        return default


def kind_for(name: str, *, with_settings: bool = False) -> DeviceKind:
    """The kind that claims the device called ``name``.

    With ``with_settings`` (connection settings such as ``host=`` were given),
    a name no kind claims goes to the fallback kind: a board over SSH at that
    host. Otherwise an unclaimed name raises DeviceNotFound listing the known
    devices.
    """
    table = _ordered()
    for kind in table:
        if _ask(kind, f"claims({name!r})", partial(kind.claims, name), False):
            return kind
    fallback = next((k for k in reversed(table) if k.fallback), None)
    if with_settings and fallback is not None:
        return fallback
    known = ", ".join(d["name"] for d in listing(on_request=True))
    raise errors.DeviceNotFound(f"No device called {name!r}",
                                where="device registry and ~/.ssh/config",
                                hint=f"Known devices: {known}; add one with "
                                "`workbench devices add`")


def _unlisted(name: str) -> DeviceKind:
    def refuse(device_name: str, **connection: Any) -> Device:
        raise errors.DeviceNotFound(f"No device kind called {name!r} is registered",
                                    where=device_name,
                                    hint="Pass the Device object itself instead of its name")

    return DeviceKind(name, claims=lambda _: False, connect=refuse,
                      description="a device made outside the table")


def kind_of(device: Device) -> DeviceKind:
    """The kind of ``device`` (by ``device.kind``), for its acquire and release steps.

    A device whose kind is not in the table (one built by hand) gets a kind
    whose steps do nothing, so jobs run on it all the same.
    """
    for kind in _ordered():
        if kind.name == device.kind:
            return kind
    return _unlisted(device.kind)


def listing(on_request: bool = False) -> list[dict[str, Any]]:
    """Every kind's known devices, in table order; with ``on_request`` also their
    ``known_on_request`` ones (~/.ssh/config hosts). The first entry of a name wins."""
    table = _ordered()
    sources = [(k, k.known) for k in table]
    if on_request:
        sources += [(k, k.known_on_request) for k in table]
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    for kind, source in sources:
        for entry in _ask(kind, "known()", source, []):
            if not isinstance(entry, dict) or "name" not in entry or entry["name"] in seen:
                continue
            seen.add(entry["name"])
            found.append({"kind": kind.name, "notes": "", **entry})
    return found


# --- the built-in kinds -------------------------------------------------------------------


def _connect_local(name: str, **connection: Any) -> Device:
    from workbench.devices.local import LocalDevice

    unknown = sorted(set(connection) - {"python"})
    if unknown:
        raise errors.UnknownOption(f"{', '.join(unknown)} cannot be set for this machine",
                                   where=f"device {name!r}",
                                   hint="The local device takes python=PATH only")
    return LocalDevice(name, **connection)


def _known_local() -> list[dict[str, Any]]:
    return [{"name": "local", "kind": "local", "notes": "this machine"}]


def _registry_entries(kind: str) -> dict[str, dict[str, Any]]:
    from workbench.devices import registry

    return {name: entry for name, entry in registry.load().items()
            if entry.get("kind", "ssh") == kind}


def _ssh_device(name: str, stored: dict[str, Any], connection: dict[str, Any],
                emulated: bool) -> Device:
    from workbench.devices.ssh import SSHDevice

    settings = {k: v for k, v in stored.items() if k not in ("kind", "notes")}
    settings.update(connection)
    return SSHDevice(name, emulated=emulated, **settings)


def _running_board(name: str) -> dict[str, Any] | None:
    """The state of the running emulated board registered as ``name``, if any."""
    from workbench.emulator.presets import PRESETS

    # status() knocks on each board's port: only ask for names a preset registers
    if name not in {p.device for p in PRESETS.values()}:
        return None
    from workbench import emulator

    return next((s for s in emulator.status() if s.get("device") == name), None)


def _claims_emulated(name: str) -> bool:
    if name.startswith(QEMU_PREFIX):
        return True
    from workbench.devices import registry

    entry = registry.load().get(name)
    if entry is not None:
        return bool(entry.get("kind") == "emulated")
    return _running_board(name) is not None


def _connect_emulated(name: str, **connection: Any) -> Device:
    if name.startswith(QEMU_PREFIX):
        from workbench.emulator.user_mode import QemuUserDevice

        return QemuUserDevice(name[len(QEMU_PREFIX):], **connection)
    stored = _registry_entries("emulated").get(name)
    if stored is None:
        # running, but its registry entry is gone (removed by hand): reach it from its state
        from workbench import emulator

        state = _running_board(name)
        if state is None:
            raise errors.DeviceNotFound(f"No emulated board called {name!r} runs",
                                        where=str(emulator.emulator_dir()),
                                        hint="Start one with `workbench emulator start`")
        stored = emulator.board_connection(state)
    device = _ssh_device(name, stored, connection, emulated=True)
    # The SSH device under it says "ssh"; the kind is what kind_of() and the probe report.
    device.kind = "emulated"
    return device


def _known_emulated() -> list[dict[str, Any]]:
    import shutil

    from workbench import emulator
    from workbench.emulator.user_build import is_user_built
    from workbench.emulator.user_mode import QEMU_USER

    found: list[dict[str, Any]] = []
    # qemu:BOARD needs a root file system (full, or built without root) and qemu-user, not
    # root or a running board.
    built = emulator.is_built() or is_user_built(emulator.emulator_dir())
    if built and shutil.which(QEMU_USER):
        found += [{"name": f"{QEMU_PREFIX}{board}", "kind": "emulated", "board": board,
                   "notes": f"emulated {board} ({preset.qemu_cpu} under qemu-user, no root): "
                   "times are not hardware times"}
                  for board, preset in emulator.PRESETS.items()]
    running = {str(s["device"]): s for s in emulator.status()}
    entries = _registry_entries("emulated")
    found += [{"name": name, **entry, "kind": "emulated", "running": name in running}
              for name, entry in sorted(entries.items())]
    found += [{"name": device, "kind": "emulated", "board": state.get("board"),
               "host": "127.0.0.1", "port": state.get("port"), "running": True,
               "notes": f"emulated {state.get('board')}, running (not in the device registry)"}
              for device, state in sorted(running.items()) if device not in entries]
    return found


def _claims_ssh(name: str) -> bool:
    from workbench.devices import registry

    # Every registry entry no earlier kind claimed is a board over SSH, as it always was.
    return name in registry.load() or name in registry.ssh_config_hosts()


def _connect_ssh(name: str, **connection: Any) -> Device:
    from workbench.devices import registry

    stored = registry.load().get(name, {})
    return _ssh_device(name, stored, connection, emulated=stored.get("kind") == "emulated")


def _known_ssh() -> list[dict[str, Any]]:
    from workbench.devices import registry

    others = {k.name for k in _ordered() if not k.fallback}
    return [{"name": name, **entry} for name, entry in sorted(registry.load().items())
            if entry.get("kind", "ssh") not in others]


def _known_ssh_config() -> list[dict[str, Any]]:
    from workbench.devices import registry

    registered = registry.load()
    return [{"name": host, "kind": "ssh", "notes": "from ~/.ssh/config"}
            for host in registry.ssh_config_hosts() if host not in registered]


#: This machine: the agent in a subprocess of this Python (or of ``python=``).
LOCAL = register(DeviceKind(
    "local", claims=lambda name: name == "local", connect=_connect_local, known=_known_local,
    description="this machine: the agent in a subprocess"))
#: ``qemu:BOARD`` (qemu-user, no root) and the SSH boards the emulator starts (``emu-*``).
EMULATED = register(DeviceKind(
    "emulated", claims=_claims_emulated, connect=_connect_emulated, known=_known_emulated,
    description="an aarch64 root under qemu-user: qemu:BOARD, or a board the emulator started"))
def _connect_labgrid(name: str, **connection: Any) -> Device:
    from workbench.devices.farm import require_labgrid

    require_labgrid()  # before the device module, which imports the SSH device
    from workbench.devices.labgrid_device import LabgridDevice

    return LabgridDevice(name, **connection)


def _hold_place(device: Device) -> None:
    from workbench.devices.labgrid_device import LabgridDevice

    if isinstance(device, LabgridDevice):
        device.hold()


def _free_place(device: Device) -> None:
    from workbench.devices.labgrid_device import LabgridDevice

    if isinstance(device, LabgridDevice):
        device.unhold()


def _known_labgrid() -> list[dict[str, Any]]:
    """The places of the farm LG_COORDINATOR names, when labgrid is installed; none when the
    coordinator does not answer (a listing never fails for a farm that is down)."""
    import os

    if not os.environ.get("LG_COORDINATOR"):
        return []
    try:
        from workbench.devices.farm import farm_for, require_labgrid

        require_labgrid()
        places = farm_for().places()
    except errors.WorkbenchError:
        return []
    return [{"name": f"{LABGRID_PREFIX}{p.name}", "kind": "labgrid", "tags": p.tags,
             "notes": ", ".join(f"{k}={v}" for k, v in sorted(p.tags.items()))
             + (f"; held by {p.acquired}" if p.acquired else "; free")} for p in places]


#: ``labgrid:PLACE`` or ``labgrid:key=value,...``: a place reserved from a labgrid farm
#: around each job (or held with ``workbench.reserve``), then a board over SSH.
LABGRID = register(DeviceKind(
    "labgrid", claims=lambda name: name.startswith(LABGRID_PREFIX), connect=_connect_labgrid,
    known=_known_labgrid, acquire=_hold_place, release=_free_place,
    description="a place of a labgrid farm: labgrid:PLACE or labgrid:key=value,... "
    "(needs the farm extra)"))
#: The fallback: registry entries and ~/.ssh/config aliases, or any name given ``host=``.
SSH = register(DeviceKind(
    "ssh", claims=_claims_ssh, connect=_connect_ssh, known=_known_ssh,
    known_on_request=_known_ssh_config, fallback=True,
    description="a board over SSH: a registry entry or an ~/.ssh/config alias"))
