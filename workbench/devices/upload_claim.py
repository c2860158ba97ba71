"""Who writes an artifact's partial file on a board: one sender at a time, the others wait.

Every sender of the same content (any run, any host) writes the same file,
``<cache>/artifacts/<sha256>/<name>.partial``, so a run after a dropped link
continues where the last one stopped. Two senders must never append to it at
once: the one that creates ``<name>.writer`` (an exclusive SFTP open) writes,
and the others wait until the whole file is in place, then use it.

A writer that is gone leaves its marker behind (a dead link cannot remove
it). A waiter takes the marker over when

* the writer ran on this machine and its process, or its claim in this
  process, has ended (a later run after Ctrl-C or a drop resumes at once), or
* neither the marker nor the partial file changed for :data:`STALE_S`
  seconds, measured on this machine's clock (the board's may differ).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workbench.devices._cancel import raise_if_cancelled

#: A writer whose marker and partial file stay unchanged this long is taken to be gone.
STALE_S = 30.0
#: How often a waiting sender looks again (seconds).
POLL_S = 0.25

# Claims held by this process: a marker naming this process but none of these is left over.
_held: set[str] = set()
_held_lock = threading.Lock()


def partial_of(final: str) -> str:
    """The partial file every sender of ``final`` writes."""
    return f"{final}.partial"


def marker_of(final: str) -> str:
    """The marker of the sender that writes ``final``'s partial file."""
    return f"{final}.writer"


@dataclass
class Claim:
    """The right to write one artifact's partial file; :meth:`release` gives it up."""

    sftp: Any
    marker: str
    token: str

    def touch(self) -> None:
        """Show waiters that the writer is alive (before a long step such as hashing)."""
        with contextlib.suppress(OSError):
            self.sftp.utime(self.marker, None)

    def release(self) -> None:
        """Remove the marker; on a dead link it stays, and the next sender takes it over."""
        with _held_lock:
            _held.discard(self.token)
        with contextlib.suppress(Exception):  # the link may be gone: see the module's docstring
            if _read_marker(self.sftp, self.marker).get("token") == self.token:
                self.sftp.remove(self.marker)


def _read_marker(sftp: Any, marker: str) -> dict[str, Any]:
    try:
        with sftp.open(marker, "rb") as handle:
            record = json.loads(handle.read(4096) or b"{}")
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _process_alive(pid: object) -> bool:
    # the board's lock tells live processes apart the same way (any user's, by pid)
    from workbench_agent.lock import _alive

    return isinstance(pid, int) and _alive(pid)


def _writer_ended(record: dict[str, Any]) -> bool:
    """Whether the marker's writer ran on this machine and is known to have ended."""
    if record.get("host") != socket.gethostname():
        return False
    if record.get("pid") == os.getpid():
        with _held_lock:
            return record.get("token") not in _held
    return not _process_alive(record.get("pid"))


def _try_create(sftp: Any, marker: str) -> Claim | None:
    token = uuid.uuid4().hex
    record = {"host": socket.gethostname(), "pid": os.getpid(), "token": token,
              "started": time.time()}
    try:
        with sftp.open(marker, "wx") as handle:  # O_EXCL: one sender wins
            handle.write(json.dumps(record).encode())
    except OSError:
        try:
            sftp.stat(marker)
        except FileNotFoundError:
            raise  # not a marker already there: a real failure (full disk, permissions)
        return None
    with _held_lock:
        _held.add(token)
    return Claim(sftp, marker, token)


def _stat(sftp: Any, path: str) -> tuple[int, int] | None:
    try:
        info = sftp.stat(path)
    except OSError:
        return None
    return int(info.st_size or 0), int(info.st_mtime or 0)


def claim(sftp: Any, final: str, *, where: str, doing: str,
          waiting: Callable[[int], None] | None = None) -> Claim | None:
    """Become the writer of ``final``'s partial file, waiting while another sender writes it.

    Returns None when ``final`` is in place (written by another sender), else
    the claim. ``waiting(bytes)`` is told the other writer's progress; a
    cancelled job stops waiting (``where`` and ``doing`` name it).
    """
    marker, partial = marker_of(final), partial_of(final)
    seen: object = None
    changed = time.monotonic()
    while True:
        if _stat(sftp, final) is not None:
            return None
        won = _try_create(sftp, marker)
        if won is not None:
            if _stat(sftp, final) is not None:  # finished just before the marker went
                won.release()
                return None
            return won
        record = _read_marker(sftp, marker)
        now_seen = (_stat(sftp, marker), _stat(sftp, partial), record.get("token"))
        if now_seen != seen:
            seen, changed = now_seen, time.monotonic()
        if _writer_ended(record) or time.monotonic() - changed > STALE_S:
            # Take the marker over, unless another waiter did so meanwhile.
            if _read_marker(sftp, marker).get("token") == record.get("token"):
                with contextlib.suppress(OSError):
                    sftp.remove(marker)
            continue
        if waiting is not None:
            waiting((now_seen[1] or (0, 0))[0])
        raise_if_cancelled(where, doing)
        time.sleep(POLL_S)
