"""Files whose hash the host checked on a board, kept on the host between processes.

A new connection (a CLI command, a new device object) would otherwise hash a
cached model on the board again before trusting it. When the host has checked
a file's sha256 on the board, it marks the file there: write bits off and its
modification time set to a value derived from its hash (:func:`mark_time`),
and keeps ``path -> [size, mtime]`` under the data folder
(``checked/<key>.json``, the key a hash of the board's name, address, host
key and cache folder). A later process trusts such a file without hashing it
when one SFTP stat shows the same size, the mark's time and no write bit.
Writing into the file sets its time to the moment of writing, and a file put
in its place has the creator's mode: either is hashed again (and sent again
when it differs). What this does not see is a file replaced on purpose with
the same size, mode and time; ``workbench device clean`` removes what the
board's cache holds when in doubt.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

#: the mode a checked file gets on the board: read-only, and private to the account as before
MARK_MODE = 0o400
#: the earliest modification time a mark sets (2000-01-01 UTC); the hash adds up to ~12 days
MARK_BASE_S = 946_684_800


def mark_time(sha: str) -> int:
    """The modification time a checked file with content ``sha`` gets on the board."""
    return MARK_BASE_S + int(sha[:5], 16)


def marked(stat: Any, sha: str, size: int) -> bool:
    """Whether an SFTP stat shows a file of ``size`` bytes marked as checked with ``sha``."""
    mode = stat.st_mode
    return (stat.st_size == size and stat.st_mtime == mark_time(sha)
            and mode is not None and not mode & 0o222)


class CheckedFiles:
    """The checked files of one board (``path -> (size, mark time)``), read at first use
    and written whole after each batch that added to them."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._files: dict[str, tuple[int, int]] | None = None
        self._lock = threading.Lock()

    def _path(self) -> Path:
        from workbench.devices.probe_cache import _path

        return _path(self.key, "checked")

    def _loaded(self) -> dict[str, tuple[int, int]]:
        if self._files is None:
            try:
                kept = json.loads(self._path().read_text())
                self._files = {str(p): (int(s), int(t)) for p, (s, t) in kept.items()}
            except (OSError, ValueError, TypeError, AttributeError):  # none yet, or unreadable
                self._files = {}
        return self._files

    def get(self, path: str) -> tuple[int, int] | None:
        """The size and mark time kept for ``path``; None when the host never checked it."""
        with self._lock:
            return self._loaded().get(path)

    def add(self, path: str, size: int, mtime: int) -> None:
        """Keep ``path`` as checked with ``size`` bytes and the mark time ``mtime``."""
        from workbench.devices.probe_cache import keep_json

        with self._lock:
            if self._loaded().get(path) == (size, mtime):
                return
            self._files = None  # another process may have kept files meanwhile: add to those
            files = self._loaded()
            files[path] = (size, mtime)
            keep_json(self._path(), {p: list(v) for p, v in files.items()})
