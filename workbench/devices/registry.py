"""The device registry: named devices in ``<config dir>/devices.json``.

Each entry has a name, a kind, how to connect (host, user, port, key file,
ProxyJump, Python on the board, cache folder, known_hosts files) and notes.
Hosts of the user's ``~/.ssh/config`` are devices too, on request. No secret
is ever written here: passwords and passphrases are asked for when needed.
"""

from __future__ import annotations

import json
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


def add(name: str, kind: str = "ssh", notes: str = "", **connection: Any) -> dict[str, Any]:
    """Register (or replace) a device; returns its entry."""
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
