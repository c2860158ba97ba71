"""Content-addressed, resumable uploads to a board over SFTP.

A file lands at ``<cache>/artifacts/<sha256>/<name>``. If it is there and
whole (its hash checked on the board once per connection, then trusted for
the rest of the connection while one stat shows it unchanged: same size, time
and mark) nothing moves; its folder is touched for the cache's LRU eviction at
most once an hour. Otherwise it is written to
``<name>.partial`` beside it — the same file for every sender of that content,
so any later run continues after a dropped link or a Ctrl-C — then hashed on
the board and renamed atomically. One sender writes at a time; the others wait
and then use the finished file (see :mod:`upload_claim`). A partial file whose
hash fails is sent once more from its start, never in a loop. A file that is
not whole is never used as if it were.

Partial files nobody touched for :data:`ABANDONED_S` are removed when an upload
measures the board's free space (the first of a connection, then once a minute
at most: see :class:`Room`); when the board is short of room, so are those
nobody is writing.
Free space is measured in the artifacts folder itself, which may be another
file system than the cache folder.

Round trips cost more than bytes on a board (each command starts a shell and
a Python), so a batch of files is checked with one hashing command.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from workbench import errors
from workbench.devices._cancel import raise_if_cancelled
from workbench.devices.base import ProgressCallback
from workbench.devices.upload_claim import STALE_S, Claim, claim, partial_of

if TYPE_CHECKING:
    import paramiko

    from workbench.devices.checked_files import CheckedFiles

CHUNK = 1 << 20
#: A partial file untouched this long (seconds) is abandoned: the next upload removes it.
ABANDONED_S = 2 * 3600.0
#: Uploaded files and their folders are private to the account (models can be private property).
FILE_MODE, FOLDER_MODE = 0o600, 0o700
# Runs on the board with nothing but Python (the agent may not be there yet):
#   hash FILE...            sha256 of each file (null when missing)
#   space FOLDER [AGE KEEP...]  free bytes in FOLDER (made if missing), after removing the
#                           partial files in its artifact folders idle for AGE seconds, but
#                           not those of the artifacts named KEEP
BOARD_FILES = """\
import hashlib, json, os, shutil, sys, time
def h(p):
    d = hashlib.sha256()
    with open(p, 'rb') as f:
        for b in iter(lambda: f.read(1 << 20), b''):
            d.update(b)
    return d.hexdigest()
def idle(paths, now):
    times = [os.stat(p).st_mtime for p in paths if os.path.exists(p)]
    return now - max(times) if times else 0.0
def sweep(root, age, keep):
    removed, now = [], time.time()
    for sha in os.listdir(root):
        folder = os.path.join(root, sha)
        if sha in keep or not os.path.isdir(folder):
            continue
        old = now - os.stat(folder).st_mtime > age
        for name in os.listdir(folder):
            if name.endswith('.partial'):
                pair = [os.path.join(folder, name), os.path.join(folder, name[:-8] + '.writer')]
                if idle(pair, now) > age:
                    for p in pair:
                        if os.path.exists(p):
                            os.remove(p)
                    removed.append(pair[0])
        if old:
            try:
                os.rmdir(folder)
            except OSError:
                pass
    return removed
if sys.argv[1] == 'hash':
    print(json.dumps({p: h(p) if os.path.isfile(p) else None for p in sys.argv[2:]}))
else:
    root = sys.argv[2]
    os.makedirs(root, exist_ok=True)
    gone = sweep(root, float(sys.argv[3]), set(sys.argv[4:])) if len(sys.argv) > 3 else []
    print(json.dumps({'free': shutil.disk_usage(root).free, 'removed': gone}))
"""

_local_hashes: dict[tuple[str, int, int], str] = {}

#: remote path -> (size, mtime) of files whose sha256 was checked on the board
Verified = dict[str, tuple[int, int]]


#: how long a free-space figure of the board stays fresh enough to skip asking again (seconds)
ROOM_FRESH_S = 60.0
#: a trusted file's folder is touched for the cache's LRU eviction at most this often (seconds)
TOUCH_EVERY_S = 3600.0


class Room:
    """The free space last measured in a board's artifacts folder, less what was sent since.

    A batch that needs at most half of what is known to be left, within
    :data:`ROOM_FRESH_S` of the measurement, is sent without asking the board
    again: a first deploy asks once for the agent and its job's files together.
    (A disk that fills meanwhile still fails the upload with DiskFull.)
    """

    def __init__(self) -> None:
        self.folder = ""
        self.free = 0
        self.at = 0.0

    def covers(self, folder: str, needed: int) -> bool:
        """Whether ``needed`` bytes surely fit in ``folder`` without measuring again."""
        fresh = time.monotonic() - self.at < ROOM_FRESH_S
        return fresh and folder == self.folder and needed <= self.free // 2

    def record(self, folder: str, free: int) -> None:
        """``free`` bytes are left in ``folder`` now."""
        self.folder, self.free, self.at = folder, free, time.monotonic()

    def spend(self, needed: int) -> None:
        self.free -= needed

    def forget(self) -> None:
        self.at = 0.0


class UploadBoard(Protocol):
    """What an upload needs of the board it goes to (an SSHDevice is one)."""

    name: str
    #: the board's Python, which hashes the files there
    python: str

    @property
    def cache(self) -> str:
        """The board's cache folder; files land in its ``artifacts`` folder."""

    def sftp(self) -> paramiko.SFTPClient:
        """The board's SFTP session."""

    def exec(self, argv: list[str], *, timeout: float = ...) -> tuple[int, str, str]:
        """Run a command on the board: exit code, stdout, stderr."""

    def close(self) -> None:
        """Drop the connection; the next use connects again."""


def local_sha256(path: Path) -> str:
    """sha256 of a host file, remembered by path, size and mtime."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _local_hashes:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(CHUNK), b""):
                digest.update(block)
        _local_hashes[key] = digest.hexdigest()
    return _local_hashes[key]


@dataclass
class _Item:
    local: Path
    sha: str
    size: int
    folder: str
    final: str
    state: str = "missing"  # missing | trusted | check | uploaded | redo
    to_check: str = ""  # the remote file whose hash must be checked
    claim: Claim | None = None  # held while this sender writes the partial file
    sent_sha: str | None = None  # sha256 of every byte this sender wrote, from the first


def _link_alive(sftp: Any) -> bool:
    channel = sftp.get_channel()
    transport = channel.get_transport() if channel is not None else None
    return bool(transport is not None and transport.is_active() and not channel.closed)


class Uploader:
    """Moves files into a board's cache folder (see the module's docstring).

    ``verified`` holds the files whose hash was checked on the board, for the
    uploads of one connection, and ``room`` its free space as last measured;
    ``link`` names the connection in its errors.
    """

    def __init__(self, device: UploadBoard, verified: Verified, *, link: str,
                 room: Room | None = None, checked: CheckedFiles | None = None,
                 touched: dict[str, float] | None = None) -> None:
        self.device = device
        #: folder -> when (monotonic) this device last touched it for the LRU eviction
        self.touched = touched if touched is not None else {}
        self.verified = verified
        #: the files checked by earlier processes, kept on the host (see :mod:`checked_files`)
        self.checked = checked
        self.room = room or Room()
        self.link = link
        self._restarted: set[str] = set()  # files whose upload failed its hash once

    @property
    def artifacts(self) -> str:
        """The board's artifacts folder."""
        return f"{self.device.cache}/artifacts"

    def ensure_many(self, files: list[Path], progress: ProgressCallback | None) -> list[str]:
        """Each file's path on the board, uploading what is missing or damaged."""
        items = []
        for local in files:
            if not local.is_file():
                raise errors.DeviceError("The file to deploy does not exist", where=str(local),
                                         hint="Check that nothing removed it on this machine, "
                                         "and run again")
            sha = local_sha256(local)
            folder = f"{self.artifacts}/{sha}"
            items.append(_Item(local, sha, local.stat().st_size, folder, f"{folder}/{local.name}"))
        sftp = self.device.sftp()
        try:
            self._ensure(sftp, items, progress)
        except errors.LinkDropped:
            # The transport may not know yet that the link is gone: the next step must
            # connect anew, never reuse what is left of this one.
            self.device.close()
            raise
        except errors.WorkbenchError:
            raise
        except Exception as exc:  # an SFTP step between the uploads: a drop, or a refusal
            if type(exc) is OSError and _link_alive(sftp):
                raise errors.DeviceError(
                    f"The board refused a file step of the upload: {exc}",
                    where=f"{self.device.name}:{self.artifacts}",
                    hint="Check that this account owns and may write the board's cache folder, "
                    "and run again") from None
            self.device.close()
            raise errors.LinkDropped(f"The connection dropped while moving files to the board "
                                     f"({type(exc).__name__} {exc})".replace(" )", ")"),
                                     where=self.link) from None
        finally:
            for item in items:
                if item.claim is not None:
                    item.claim.release()
        if any(i.state == "redo" for i in items):  # a damaged copy is gone: send it again
            return self.ensure_many(files, progress)
        return [i.final for i in items]

    def _ensure(self, sftp: Any, items: list[_Item], progress: ProgressCallback | None) -> None:
        for item in items:
            self._check_cached(sftp, item)
        pending = [i for i in items if i.state == "missing"]
        if pending:
            self._make_room(sftp, pending)
        total = sum(i.size for i in pending)
        sent = 0
        for item in pending:
            sent = self._upload(sftp, item, sent, total, progress)
        for item in pending:  # sent whole from its first byte: the bytes sent are the check
            if item.state == "uploaded" and item.sent_sha is not None:
                self._settle(sftp, item, item.sent_sha)
        checks = [i for i in items if i.state in ("check", "uploaded")]
        if checks:
            for item in checks:
                if item.claim is not None:
                    item.claim.touch()  # hashing takes a while: the waiters must not give up
            hashes = self._remote_hashes([i.to_check for i in checks])
            for item in checks:
                self._settle(sftp, item, hashes.get(item.to_check))
        if progress and not pending:
            size = sum(i.size for i in items)
            progress(size, size, 0.0)

    # --- steps ---------------------------------------------------------------

    def _check_cached(self, sftp: Any, item: _Item) -> None:
        # One stat, whether or not this connection checked the file before: a file cut or
        # rewritten in place has another size or time (or lost its mark), and is checked again.
        try:
            stat = sftp.stat(item.final)
        except FileNotFoundError:  # evicted or cleaned meanwhile, or never sent
            self.verified.pop(item.final, None)
            return
        if stat.st_size != item.size:
            self.verified.pop(item.final, None)
            sftp.remove(item.final)
            return
        if self._checked_here(item, stat) or self._checked_before(item, stat):
            self.verified[item.final] = (stat.st_size, stat.st_mtime)
            item.state = "trusted"
            self._touch(sftp, item.folder)
            return
        self.verified.pop(item.final, None)
        item.state, item.to_check = "check", item.final

    def _touch(self, sftp: Any, folder: str) -> None:
        """Mark ``folder`` recently used for the cache's LRU eviction, at most once per
        :data:`TOUCH_EVERY_S` for this device (a round trip each time)."""
        now = time.monotonic()
        if now - self.touched.get(folder, -TOUCH_EVERY_S) < TOUCH_EVERY_S:
            return
        with contextlib.suppress(OSError):  # a folder this account may not touch (a shared cache)
            sftp.utime(folder, None)
            self.touched[folder] = now

    def _checked_here(self, item: _Item, stat: Any) -> bool:
        """Whether this connection checked the file and it is unchanged since: its size and
        time, and its mark when it was given one."""
        from workbench.devices.checked_files import mark_time, marked

        kept = self.verified.get(item.final)
        if kept != (stat.st_size, stat.st_mtime):
            return False
        return kept[1] != mark_time(item.sha) or marked(stat, item.sha, item.size)

    def _space(self, folder: str, *sweep: str) -> int:
        """Free bytes where ``folder`` is, after the sweep ``sweep`` asks for (AGE KEEP...)."""
        code, out, err = self.device.exec([self.device.python, "-c", BOARD_FILES, "space",
                                           folder, *sweep])
        if code != 0:
            raise errors.DeviceError(f"Reading the board's free space failed: "
                                     f"{err.strip()[-300:]}", where=f"{self.device.name}:{folder}",
                                     hint="Check that the board's cache folder is writable by "
                                     "this account, and run again")
        return int(json.loads(out)["free"])

    def _make_room(self, sftp: Any, pending: list[_Item]) -> None:
        """Check the whole batch fits, before a byte is sent, on fresh figures."""
        needed = 0
        for item in pending:
            try:
                kept = int(sftp.stat(partial_of(item.final)).st_size or 0)
            except OSError:
                kept = 0
            needed += max(item.size - kept, 0)
        if self.room.covers(self.artifacts, needed):
            self.room.spend(needed)
            return
        keep = [item.sha for item in pending]
        free = self._space(self.artifacts, str(ABANDONED_S), *keep)
        if free < needed:  # partial files nobody is writing go, before giving up
            free = self._space(self.artifacts, str(STALE_S), *keep)
        if free < needed:
            raise errors.DiskFull(
                f"The board has {free / 1e6:.1f} MB free; the upload needs {needed / 1e6:.1f} MB",
                where=f"{self.device.name}:{self.artifacts}",
                hint=f"Free space on the board, or run `workbench device clean "
                f"{self.device.name}` to remove what earlier runs left")
        self.room.record(self.artifacts, free - needed)

    def _upload(self, sftp: Any, item: _Item, sent: int, total: int,
                progress: ProgressCallback | None) -> int:
        for folder in (self.artifacts, item.folder):
            with contextlib.suppress(OSError):
                sftp.mkdir(folder, FOLDER_MODE)

        def waiting(done: int) -> None:
            if progress:
                progress(sent + min(done, item.size), total, 0.0)

        item.claim = claim(sftp, item.final, where=self.device.name,
                           doing=f"waiting for another upload of {item.local.name}",
                           waiting=waiting)
        if item.claim is None:  # another sender put the whole file there meanwhile
            item.state, item.to_check = "check", item.final
            return sent + item.size
        partial = partial_of(item.final)
        try:
            offset = int(sftp.stat(partial).st_size or 0)
        except FileNotFoundError:
            offset = 0
        if offset > item.size:
            sftp.remove(partial)
            offset = 0
        done = offset
        # written from the first byte over SSH (each packet authenticated, each write
        # acknowledged): the hash of what was sent is the hash of what arrived
        digest = hashlib.sha256() if not offset else None
        started = time.monotonic()
        try:
            with open(item.local, "rb") as source, \
                    sftp.open(partial, "ab" if offset else "wb") as sink:
                if not offset:
                    sink.chmod(FILE_MODE)
                sink.set_pipelined(True)
                source.seek(offset)
                for block in iter(lambda: source.read(CHUNK), b""):
                    # the partial stays: a later upload of the same file continues it
                    raise_if_cancelled(self.device.name, f"uploading {item.local.name}")
                    sink.write(block)
                    if digest is not None:
                        digest.update(block)
                    done += len(block)
                    if progress:
                        elapsed = max(time.monotonic() - started, 1e-6)
                        progress(sent + done, total, (done - offset) / elapsed)
        except errors.JobCancelled:
            raise
        except Exception as exc:  # socket, SFTP and paramiko errors alike
            self._upload_failed(sftp, item, partial, done, exc)
        item.state, item.to_check = "uploaded", partial
        item.sent_sha = digest.hexdigest() if digest is not None else None
        return sent + item.size

    def _upload_failed(self, sftp: Any, item: _Item, partial: str, done: int,
                       exc: Exception) -> None:
        # The SFTP server's refusals come as a plain OSError (IOError) over a live link; a drop as
        # EOFError, a socket error or SSHException, and the transport may not know it yet.
        if type(exc) is not OSError or not _link_alive(sftp):  # the bytes sent stay
            raise errors.LinkDropped(
                f"The connection dropped while uploading {item.local.name} after {done} of "
                f"{item.size} bytes ({type(exc).__name__} {exc})".replace(" )", ")"),
                where=self.link) from None
        # The link is up: a full disk shows as a plain SFTP "Failure". Measure where the file
        # is written, which may be another file system than the cache folder.
        free = self._space(item.folder)
        if free < item.size - done:
            with contextlib.suppress(Exception):
                sftp.remove(partial)
            raise errors.DiskFull(
                f"The board's disk filled up while uploading {item.local.name} "
                f"({free / 1e6:.1f} MB free)", where=f"{self.device.name}:{item.folder}") from None
        raise errors.DeviceError(
            f"Writing {item.local.name} on the board failed after {done} of {item.size} bytes: "
            f"{type(exc).__name__} {exc}".rstrip(), where=f"{self.device.name}:{partial}",
            hint="Check that this account may write the board's cache folder, and run again")

    def _checked_before(self, item: _Item, stat: Any) -> bool:
        """Whether an earlier process checked this file and it still bears that check's mark."""
        from workbench.devices.checked_files import marked

        kept = self.checked.get(item.final) if self.checked is not None else None
        return kept == (stat.st_size, stat.st_mtime) and marked(stat, item.sha, item.size)

    def _mark(self, sftp: Any, item: _Item) -> int:
        """Mark a file whose hash was just checked (read-only, its mark time) and keep it on the
        host; its modification time on the board. A file this account may not change is
        trusted for this connection only."""
        from workbench.devices.checked_files import MARK_MODE, mark_time

        if self.checked is not None:
            when = mark_time(item.sha)
            try:
                sftp.chmod(item.final, MARK_MODE)
                sftp.utime(item.final, (when, when))
            except OSError:
                pass
            else:
                self.checked.add(item.final, item.size, when)
                return when
        return int(sftp.stat(item.final).st_mtime)

    def _remote_hashes(self, paths: list[str]) -> dict[str, str | None]:
        code, out, err = self.device.exec([self.device.python, "-c", BOARD_FILES, "hash", *paths])
        if code != 0:
            raise errors.DeviceError(f"Hashing uploaded files on the board failed: "
                                     f"{err.strip()[-300:]}", where=self.device.name,
                                     hint=f"Check the board's Python with `workbench device "
                                     f"probe {self.device.name}`, and that its cache folder "
                                     "is readable")
        hashes: dict[str, str | None] = json.loads(out)
        return hashes

    def _settle(self, sftp: Any, item: _Item, remote_sha: str | None) -> None:
        if remote_sha == item.sha:
            if item.state == "uploaded":
                sftp.posix_rename(item.to_check, item.final)
            self.verified[item.final] = (item.size, self._mark(sftp, item))
            item.state = "trusted"
            return
        with contextlib.suppress(FileNotFoundError):
            sftp.remove(item.to_check)
        if item.state == "uploaded":
            if str(item.local) in self._restarted:
                raise errors.ArtifactCorrupt(
                    f"{item.local.name} arrived damaged twice (its sha256 differs)",
                    where=f"{self.device.name}:{item.to_check}",
                    hint="Check the board's storage (a failing SD card?) and free space, "
                    "then run again")
            # Bytes of an earlier run may be wrong (a changed file, a torn write): start over once.
            self._restarted.add(str(item.local))
        item.state = "redo"  # the damaged copy is gone now
