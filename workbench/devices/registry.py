"""The device registry: named devices in ``<config dir>/devices.json``.

Each entry has a name, a kind, how to connect (host, user, port, key file,
ProxyJump, Python on the board, cache folder, known_hosts files) and notes.
Hosts of the user's ``~/.ssh/config`` are devices too, on request. No secret
is ever written here: passwords and passphrases are asked for when needed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from workbench import errors
from workbench._atomic import write_atomic
from workbench._paths import config_dir

KINDS = ("ssh", "emulated")
FIELDS = ("host", "user", "port", "key_filename", "proxy_jump", "python", "remote_cache",
          "known_hosts", "user_known_hosts", "ssh_config", "cache_limit_bytes", "timeout",
          "board_dir")
SECRETS = ("password", "passphrase", "token")


def registry_path() -> Path:
    return config_dir() / "devices.json"


def load() -> dict[str, dict[str, Any]]:
    """Every registered device by name."""
    path = registry_path()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise errors.DeviceError(f"The device registry is not valid JSON: {exc}", where=str(path),
                                 hint="Fix or delete the file; `workbench devices add` rewrites it"
                                 ) from None
    return dict(data.get("devices", {}))


def _save(devices: dict[str, dict[str, Any]]) -> None:
    write_atomic(registry_path(), json.dumps({"version": 1, "devices": devices}, indent=2,
                                             sort_keys=True), error=errors.DeviceError,
                 make_parents=True)


#: a device name: it becomes part of file names (reports, history), so no path separators
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
#: a host name or address as ssh takes it: no user, password or port inside
_HOST = re.compile(r"[A-Za-z0-9_.%-]+|\[[0-9A-Fa-f:.%A-Za-z]+\]|[0-9A-Fa-f:]+")


def _validate(name: str, connection: dict[str, Any]) -> None:
    """Refuse a name that is no plain name, a port out of range, a host holding a secret."""
    if not _NAME.fullmatch(name) or ".." in name:
        raise errors.InvalidOptionValue(
            f"{name!r} is not a device name", where="device registry",
            hint="Use letters, digits, '.', '-', '_' or '@' (no '/' or '..'), e.g. pi5-lab2")
    port = connection.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int)
                             or not 1 <= port <= 65535):
        raise errors.InvalidOptionValue(f"port {port!r} is not a TCP port",
                                        where=f"device {name!r}", hint="Give 1-65535, e.g. 22")
    host = connection.get("host")
    if host is not None:
        if ":" in str(host).split("@", 1)[0] and "@" in str(host):  # user:password@host
            raise errors.InvalidOptionValue(
                "The host holds what looks like a password (user:secret@host); nothing was "
                "stored", where=f"device {name!r}",
                hint="Give --host HOST and --user USER; the password is asked for when needed "
                "and kept in memory only")
        if not _HOST.fullmatch(str(host)):
            raise errors.InvalidOptionValue(
                f"{host!r} is not a host name or address", where=f"device {name!r}",
                hint="Give the host alone (--host board7.lab), the user with --user and the "
                "port with --port")


def describe(entry: dict[str, Any]) -> str:
    """Where a registry entry points, in one phrase: ``ssh pi@192.0.2.10:22, key ~/.ssh/id``."""
    host = str(entry.get("host") or "?")
    if entry.get("user"):
        host = f"{entry['user']}@{host}"
    if entry.get("port"):
        host += f":{entry['port']}"
    parts = [f"{entry.get('kind', 'ssh')} {host}"]
    if entry.get("key_filename"):
        parts.append(f"key {entry['key_filename']}")
    if entry.get("proxy_jump"):
        parts.append(f"via {entry['proxy_jump']}")
    return ", ".join(parts)


def add(name: str, kind: str = "ssh", notes: str = "", *, replace: bool = False,
        **connection: Any) -> dict[str, Any]:
    """Register a device; returns its entry.

    A name already registered is refused (DeviceExists) and the registry is left
    as it was, unless ``replace`` is true or the entry would not change (a notebook
    cell or a set-up script run again). The name, port and host are checked,
    and nothing that looks like a secret is stored (InvalidOptionValue)."""
    _validate(name, connection)
    if name == "local":
        raise errors.InvalidOptionValue("'local' is this machine and cannot be redefined",
                                        where="device registry", hint="Choose another name")
    if kind not in KINDS:
        raise errors.InvalidOptionValue(f"Unknown device kind {kind!r}", where=f"device {name!r}",
                                        hint=f"Kinds: {', '.join(KINDS)}")
    secret = sorted(set(connection) & set(SECRETS))
    if secret:
        raise errors.UnknownOption(f"{', '.join(secret)} cannot be stored in the registry",
                                   where=f"device {name!r}",
                                   hint="Secrets are asked for when needed and kept in memory")
    unknown = sorted(set(connection) - set(FIELDS))
    if unknown:
        raise errors.UnknownOption(f"Unknown device field {', '.join(unknown)}",
                                   where=f"device {name!r}",
                                   hint=f"Fields: {', '.join(FIELDS)}")
    entry = {"kind": kind, "notes": notes,
             **{k: v for k, v in connection.items() if v not in (None, "", [], ())}}
    devices = load()
    if devices.get(name) == entry:  # registered as asked already (a cell run twice)
        return entry
    if name in devices and not replace:
        raise errors.DeviceExists(
            f"A device called {name!r} is already registered and points at "
            f"{describe(devices[name])}; it was left as it is", where=str(registry_path()))
    devices[name] = entry
    _save(devices)
    return entry


def remove(name: str) -> None:
    devices = load()
    if name not in devices:
        raise errors.DeviceNotFound(f"No registered device called {name!r}",
                                    where=str(registry_path()))
    del devices[name]
    _save(devices)


def ssh_config_hosts(path: Path | None = None) -> list[str]:
    """Concrete host aliases of an ssh config file (patterns with * or ? left out)."""
    import paramiko

    config = path or Path.home() / ".ssh" / "config"
    if not config.is_file():
        return []
    hosts = paramiko.SSHConfig.from_path(str(config)).get_hostnames()
    return sorted(h for h in hosts if not any(c in h for c in "*?!"))
