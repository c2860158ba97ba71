"""A board's probe kept on the host between processes, so a command need not probe again.

A probe is kept under the data folder (``probes/<key>.json``), where the key
is a hash of everything that could make the board answer otherwise: the
device's name and address, its host key, the agent's sha256, the board's
Python, and the modification times of the folders its runtimes are imported
from (a runtime bundle installed, a wheel pip-installed there, changes them).
Any of these changed means another key, hence a fresh probe; ``probe(refresh=True)``
(``workbench device probe NAME``) always probes and replaces the kept one. The
file holds what the probe said about the board (no secret: no login, no key).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from workbench import errors
from workbench._paths import data_dir
from workbench.devices.base import DeviceInfo


def probe_key(**parts: Any) -> str:
    """The key of a probe made under ``parts`` (JSON-able values)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _path(key: str, folder: str = "probes") -> Path:
    return data_dir() / folder / f"{key}.json"


def load(key: str) -> DeviceInfo | None:
    """The probe kept under ``key``; None when there is none (or it cannot be read)."""
    try:
        return DeviceInfo(**json.loads(_path(key).read_text()))
    except (OSError, ValueError, TypeError):  # none yet, or a file from another version
        return None


def save(key: str, info: DeviceInfo) -> None:
    """Keep ``info`` under ``key``; a folder that cannot be written only costs a probe."""
    keep_json(_path(key), info.to_dict(with_cpuinfo=True))


def keep_json(path: Path, value: Any) -> None:
    """Write ``value`` to ``path`` whole, readable by this user alone; a folder that cannot be
    written only costs the work the file would have saved."""
    from workbench._atomic import write_atomic

    try:
        write_atomic(path, json.dumps(value), error=errors.DeviceError, make_parents=True,
                     mode=0o600)
    except errors.WorkbenchError:
        pass
