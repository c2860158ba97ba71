"""One job at a time per board, whoever runs it: a lock file in the board folder.

The board folder (``/var/tmp/workbench`` unless the host says otherwise) is
shared by every account on the board::

    <board folder>/board.lock       the lock; its first block says who holds it
    <board folder>/waiting/<marker> one file per waiting job, to count places

Both folders are world-writable with the sticky bit (mode 1777), like /tmp.
Boards with ``fs.protected_regular=2`` refuse an ``open(O_CREAT)`` of a file
that another user owns in such a folder, so an existing lock is opened
without ``O_CREAT`` and a missing one is created with ``O_EXCL``. Nobody
truncates a file they may not own: the holder's record is written with
``pwrite`` into a fixed block of ``RECORD_BYTES`` bytes, padded with spaces,
and blanked again on release.

``fcntl.flock`` is released by the kernel when the holding process dies, so a
crashed or killed agent never leaves the board locked. Waiters take turns in
the order of their markers; markers of processes that are gone are ignored
(and removed where the sticky bit allows).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import stat
import time
import uuid
from typing import Any, Callable, Dict, List, Optional

#: How often a waiter looks at the lock and the queue again (seconds).
POLL_S = 0.2
#: Size of the holder's record at the start of the lock file.
RECORD_BYTES = 1024
#: Mode of the board folder and its waiting folder: everyone may add, only owners remove.
SHARED_DIR_MODE = 0o1777
#: A waiter touches its marker every poll; one silent this long (stopped) loses its turn.
STALE_S = 10.0
#: A holder's record blank this long is no hand-over: the wait is reported, holder unknown.
BLANK_S = 1.0
LOCK_MODE = 0o666
WAITING = "waiting"

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)

Report = Callable[[Dict[str, Any]], None]


class LockWaitTimeout(TimeoutError):
    """The board stayed locked longer than the job was willing to wait.

    ``holder`` is the holder's record (job, holder, pid, host, since; empty
    when unknown) and ``waited_s`` how long this job waited.
    """

    def __init__(self, holder: Dict[str, Any], waited_s: float) -> None:
        self.holder = dict(holder)
        self.waited_s = waited_s
        super().__init__("gave up after waiting %.1f s for the board: job %s from %s holds it"
                         % (waited_s, self.holder.get("job", "?"),
                            self.holder.get("holder", "?")))


class LockUnavailable(OSError):
    """The board's lock or folder exists but this account cannot use it."""


def _start_ticks(pid: int) -> Optional[int]:
    """When ``pid`` started (ticks since boot), to tell a reused pid apart; None if unknown.

    Read from its main thread's stat: qemu-user answers a process's own
    ``/proc/PID/stat`` itself, with a start a tick or so off the kernel's, so an
    emulated holder recorded a start that every other process read differently
    and its board showed as held by nobody known. The thread's file is the kernel's
    for everyone, and the same start for the thread that leads the process.
    """
    for path in ("/proc/%d/task/%d/stat" % (pid, pid), "/proc/%d/stat" % pid):
        try:
            with open(path, "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            return int(fields[19])
        except (OSError, IndexError, ValueError):
            continue
    return None


def _alive(pid: int, start: Optional[int] = None) -> bool:
    """Whether ``pid`` runs (any user's), and is the same process when its start is known."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if start is not None:
        now = _start_ticks(pid)
        if now is not None and now != start:
            return False
    return True


def _shared_dir(path: str) -> None:
    """Make ``path`` with mode 1777 unless it exists (then it is left as it is, whoever owns
    it); missing parents are made as usual."""
    parent = os.path.dirname(path.rstrip("/"))
    if parent and not os.path.isdir(parent):
        os.makedirs(parent, exist_ok=True)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        if not os.path.isdir(path):
            raise LockUnavailable(errno.ENOTDIR, "the board folder is not a folder", path) from None
        return
    os.chmod(path, SHARED_DIR_MODE)  # after mkdir: the umask would have masked it


def _unusable(path: str, exc: OSError) -> LockUnavailable:
    """Why this account cannot use ``path`` (the lock or a board folder), and the fix."""
    try:
        info = os.lstat(path)
        owner = "owned by uid %d, mode %o" % (info.st_uid, stat.S_IMODE(info.st_mode))
    except OSError:
        owner = "missing"
    fix = "chmod 666" if os.path.basename(path) == "board.lock" else "chmod 1777"
    return LockUnavailable(exc.errno or errno.EACCES,
                           "cannot use the board's job lock (%s, %s): every account that runs "
                           "jobs needs the board folder and its waiting folder at mode 1777 "
                           "and the lock at mode 666 (%s %s)"
                           % (exc.strerror, owner, fix, path), path)


def _open_lock(path: str) -> int:
    """Open the lock read-write (never O_CREAT on someone else's file); create it if missing."""
    flags = os.O_RDWR | _NOFOLLOW | _CLOEXEC
    for _ in range(10):
        try:
            return os.open(path, flags)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise _unusable(path, exc) from None
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, LOCK_MODE)
        except FileExistsError:
            continue  # another job made it in between: open theirs
        except OSError as exc:
            raise _unusable(path, exc) from None
        try:
            os.fchmod(fd, LOCK_MODE)
            os.pwrite(fd, b" " * RECORD_BYTES, 0)  # full size from the start
        except OSError:
            os.close(fd)
            raise
        return fd
    raise LockUnavailable(errno.EAGAIN, "the board lock keeps appearing and vanishing", path)


def _encode(record: Dict[str, Any]) -> bytes:
    """The record as JSON padded with spaces to RECORD_BYTES (long texts are shortened)."""
    record = dict(record)
    data = json.dumps(record).encode("utf-8")
    for limit in (100, 20):
        if len(data) <= RECORD_BYTES:
            break
        for key in ("holder", "job", "host"):
            record[key] = str(record.get(key, ""))[:limit]
        data = json.dumps(record).encode("utf-8")
    data = data[:RECORD_BYTES]  # never past the block, whatever the record holds
    return data + b" " * (RECORD_BYTES - len(data))


def _decode(data: bytes) -> Dict[str, Any]:
    text = data.decode("utf-8", "replace").strip().strip("\0")
    if not text:
        return {}
    try:
        record = json.loads(text)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def _read_record(fd: int) -> Dict[str, Any]:
    """The holder's record; empty when blank, or left by a holder that is gone (a hand-over)."""
    try:
        record = _decode(os.pread(fd, RECORD_BYTES, 0))
    except OSError:
        return {}
    pid = record.get("pid")
    if isinstance(pid, int) and record.get("host") == socket.gethostname() \
            and not _alive(pid, record.get("start")):
        return {}
    return record


def _marker_name(since: float) -> str:
    # Sorts by time first; pid and a random tail keep names unique.
    return "%017.6f-%d-%s.json" % (since, os.getpid(), uuid.uuid4().hex[:8])


def _read_marker(path: str) -> Dict[str, Any]:
    """A marker's record; what its name says when its content is not there (yet)."""
    name = os.path.basename(path)
    parts = name[:-len(".json")].split("-") if name.endswith(".json") else []
    record: Dict[str, Any] = {}
    try:  # a plain file only: nothing in a shared folder may make a waiter block or follow
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | _NOFOLLOW | _CLOEXEC)
    except OSError:
        handle = -1
    if handle >= 0:
        try:
            if stat.S_ISREG(os.fstat(handle).st_mode):
                record = _decode(os.read(handle, RECORD_BYTES))
        except OSError:
            pass
        finally:
            os.close(handle)
    if len(parts) == 3:
        try:
            record.setdefault("since", float(parts[0]))
            record.setdefault("pid", int(parts[1]))
        except ValueError:
            pass
    return record


def _live_waiters(waiting_dir: str, me: Optional[str] = None) -> List[Dict[str, Any]]:
    """Waiters whose process runs, first come first; dead ones' markers removed if allowed."""
    try:
        names = sorted(n for n in os.listdir(waiting_dir) if n.endswith(".json"))
    except OSError:
        return []
    now = time.time()
    live = []
    for name in names:
        path = os.path.join(waiting_dir, name)
        record = _read_marker(path)
        if name != me and not _alive(int(record.get("pid") or 0), record.get("start")):
            try:
                os.remove(path)
            except OSError:
                pass  # another user's marker in the sticky folder (EPERM), or gone already
            continue
        try:
            if name != me and now - os.stat(path).st_mtime > STALE_S:
                continue  # its process is stopped: it gets its turn back when it goes on
        except OSError:
            continue
        record["marker"] = name
        live.append(record)
    return live


class DeviceLock:
    """The board's exclusive job lock at ``path`` (``<board folder>/board.lock``).

    ``acquire`` waits its turn and reports its place; ``release`` lets the
    next job in. The folder of ``path`` is the board folder; waiters leave
    their markers in its ``waiting`` folder.
    """

    def __init__(self, path: str, job_id: str, holder: str) -> None:
        self.path = os.path.expanduser(path)
        self.board_dir = os.path.dirname(self.path) or "."
        self.waiting_dir = os.path.join(self.board_dir, WAITING)
        self.me: Dict[str, Any] = {"pid": os.getpid(), "start": _start_ticks(os.getpid()),
                                   "job": job_id, "holder": holder,
                                   "host": socket.gethostname(), "since": None}
        self._fd: Optional[int] = None

    def acquire(self, report: Optional[Report] = None, timeout: Optional[float] = None) -> None:
        """Take the board, waiting in line; ``report(queue)`` whenever place or holder changes.

        ``queue`` is ``{"place", "length", "holder", "job", "since", "source": "board"}``:
        this job's place (1 = next), the number of jobs waiting, the holder's
        name, job id and since when it holds the board (epoch seconds). With
        ``timeout`` (seconds), raises :class:`LockWaitTimeout` when the wait
        is longer. Nothing is reported when the board is free at once.
        """
        if self._fd is not None:
            raise RuntimeError("the board lock is already held by this job")
        for folder in (self.board_dir, self.waiting_dir):
            try:
                _shared_dir(folder)
            except LockUnavailable:
                raise
            except OSError as exc:
                raise _unusable(folder, exc) from None
        fd = _open_lock(self.path)
        try:
            self._wait(fd, report, timeout)
            self.me["since"] = time.time()
            os.pwrite(fd, _encode(self.me), 0)
        except BaseException:
            os.close(fd)  # closing drops the flock too, if we had it
            raise
        self._fd = fd

    def _wait(self, fd: int, report: Optional[Report], timeout: Optional[float]) -> None:
        started = time.monotonic()
        since = time.time()
        name = _marker_name(since)
        marker = os.path.join(self.waiting_dir, name)
        record = {"job": self.me["job"], "holder": self.me["holder"], "pid": self.me["pid"],
                  "start": self.me["start"], "since": since}
        try:
            handle = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC,
                             0o644)
        except OSError as exc:
            raise _unusable(self.waiting_dir, exc) from None
        try:
            os.write(handle, json.dumps(record).encode("utf-8"))
        finally:
            os.close(handle)
        last = None
        blank_since: Optional[float] = None
        try:
            while True:
                try:
                    os.utime(marker, None)  # still here
                except OSError:
                    pass
                waiters = _live_waiters(self.waiting_dir, me=name)
                place = 1 + next((i for i, w in enumerate(waiters) if w["marker"] == name),
                                 len(waiters))
                if place == 1:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        return
                    except OSError as exc:
                        if exc.errno not in (errno.EAGAIN, errno.EACCES):
                            raise
                holder = _read_record(fd)
                waited = time.monotonic() - started
                if timeout is not None and waited >= timeout:
                    raise LockWaitTimeout(holder, waited)
                queue = {"place": place, "length": len(waiters),
                         "holder": str(holder.get("holder", "")),
                         "job": str(holder.get("job", "")),
                         "since": holder.get("since"), "source": "board"}
                key = (place, len(waiters), queue["holder"], queue["job"], queue["since"])
                # A blank record is mostly a hand-over in progress: the next holder writes its
                # record at once. Only one that stays blank is reported (holder unknown).
                blank_since = (None if holder else
                               blank_since if blank_since is not None else time.monotonic())
                settled = blank_since is None or time.monotonic() - blank_since >= BLANK_S
                if key != last and settled and report is not None:
                    report(queue)
                    last = key
                time.sleep(POLL_S if timeout is None
                           else max(0.0, min(POLL_S, timeout - waited)))
        finally:
            try:
                os.remove(marker)
            except OSError:
                pass

    @property
    def held(self) -> bool:
        """Whether this object holds the board now."""
        return self._fd is not None

    def release(self) -> None:
        """Blank the holder's record (the file keeps its size and inode) and let the next job in."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.pwrite(fd, b" " * RECORD_BYTES, 0)
        except OSError:
            pass
        finally:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)


def board_state(path: str) -> Dict[str, Any]:
    """Who holds the board's lock at ``path`` and who waits, for a status display.

    ``held`` comes from trying a shared lock on a separate open file (released
    at once), not from the record, which a crashed holder leaves behind.
    Returns ``{"lock", "held", "holder", "since", "waiters": [{job, holder,
    pid, since}, ...]}``, waiters first come first.
    """
    path = os.path.expanduser(path)
    state: Dict[str, Any] = {"lock": path, "held": False, "holder": None, "since": None,
                             "waiters": []}
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
    except FileNotFoundError:
        fd = None
    if fd is not None:
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                state["held"] = True
            else:
                fcntl.flock(fd, fcntl.LOCK_UN)
            if state["held"]:
                holder = _read_record(fd)
                holder.pop("start", None)
                state["holder"] = holder or None
                state["since"] = holder.get("since")
        finally:
            os.close(fd)
    waiting = os.path.join(os.path.dirname(path) or ".", WAITING)
    state["waiters"] = [{"job": w.get("job"), "holder": w.get("holder"), "pid": w.get("pid"),
                         "since": w.get("since")} for w in _live_waiters(waiting)]
    return state
