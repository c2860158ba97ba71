"""One job at a time per device: a lock file on the device itself.

``fcntl.flock`` is released by the kernel when the holding process dies, so a
crashed or killed agent never leaves a stale lock. The holder writes who it is
into the lock file; waiters leave a marker so each can report its place.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from typing import Any, Callable, Dict, Optional

POLL_S = 0.2


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DeviceLock:
    """Exclusive lock at ``path``; ``acquire`` reports waiting through ``report``."""

    def __init__(self, path: str, job_id: str, holder: str) -> None:
        self.path = path
        self.waiting_dir = path + ".waiting"
        self.me = {"pid": os.getpid(), "job": job_id, "holder": holder,
                   "host": socket.gethostname(), "since": time.time()}
        self._handle: Optional[Any] = None

    def _holder(self) -> Dict[str, Any]:
        try:
            with open(self.path, encoding="utf-8") as handle:
                return json.loads(handle.read() or "{}")
        except (OSError, ValueError):
            return {}

    def _place(self, marker: str) -> int:
        """1 + the number of live waiters that came before us."""
        ahead = 0
        for name in os.listdir(self.waiting_dir):
            path = os.path.join(self.waiting_dir, name)
            if name >= os.path.basename(marker):
                continue
            pid = int(name.rsplit("-", 1)[-1]) if name.rsplit("-", 1)[-1].isdigit() else 0
            if pid and _alive(pid):
                ahead += 1
            else:
                try:
                    os.remove(path)  # a waiter that died without cleaning up
                except OSError:
                    pass
        return ahead + 1

    def acquire(self, report: Callable[[str], None], timeout: Optional[float] = None) -> None:
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held while locked
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            self._wait(handle, report, timeout)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(self.me))
        handle.flush()
        self._handle = handle

    def _wait(self, handle: Any, report: Callable[[str], None], timeout: Optional[float]) -> None:
        os.makedirs(self.waiting_dir, exist_ok=True)
        marker = os.path.join(self.waiting_dir, "%020.6f-%d" % (time.time(), os.getpid()))
        open(marker, "w").close()
        deadline = None if timeout is None else time.monotonic() + timeout
        last = None
        try:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except OSError:
                    pass
                holder = self._holder()
                message = "waiting for the device (place %d): job %s from %s holds it" % (
                    self._place(marker), holder.get("job", "?"), holder.get("holder", "?"))
                if message != last:
                    report(message)
                    last = message
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(message)
                time.sleep(POLL_S)
        finally:
            try:
                os.remove(marker)
            except OSError:
                pass

    def release(self) -> None:
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
