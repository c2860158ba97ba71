"""Content-addressed, resumable uploads to a board over SFTP.

A file lands at ``<cache>/artifacts/<sha256>/<name>``. If it is there and
whole (its hash checked on the board once per connection, then trusted while
its size and mtime stay the same) nothing moves. Otherwise it is written to a
``.partial`` file of this sender — continuing from the bytes already there
after a dropped link — then hashed on the board and renamed atomically. A file
that is not whole is never used as if it were.

Round trips cost more than bytes on a board (each command starts a shell and
a Python), so a batch of files is checked with one hashing command.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from workbench import errors
from workbench.devices._cancel import raise_if_cancelled
from workbench.devices.base import ProgressCallback

if TYPE_CHECKING:
    import paramiko

CHUNK = 1 << 20
# sha256 of files on the board with nothing but Python (the agent may not be there yet).
HASH = ("import hashlib, json, os, sys\ndef h(p):\n    d = hashlib.sha256()\n"
        "    with open(p, 'rb') as f:\n        for b in iter(lambda: f.read(1 << 20), b''):\n"
        "            d.update(b)\n    return d.hexdigest()\n"
        "print(json.dumps({p: h(p) if os.path.isfile(p) else None for p in sys.argv[1:]}))")

_local_hashes: dict[tuple[str, int, int], str] = {}

#: remote path -> (size, mtime) of files whose sha256 was checked on the board
Verified = dict[str, tuple[int, int]]


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

    def free_bytes(self, refresh: bool = False) -> int | None:
        """Free bytes in the board's cache folder; ``refresh`` reads them again."""


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


class Uploader:
    """Moves files into a board's cache folder (see the module's docstring).

    ``verified`` holds the files whose hash was checked on the board, for the
    uploads of one connection; ``link`` names the connection in its errors.
    """

    def __init__(self, device: UploadBoard, verified: Verified, *, link: str) -> None:
        self.device = device
        self.verified = verified
        self.link = link

    def _sender(self) -> str:
        # One partial file per sender (host, process, thread): two senders never share one,
        # and a sender that retries after a drop finds its own bytes again.
        return f"{socket.gethostname()}-{os.getpid()}-{threading.get_ident()}"

    def ensure_many(self, files: list[Path], progress: ProgressCallback | None) -> list[str]:
        """Each file's path on the board, uploading what is missing or damaged."""
        items = []
        for local in files:
            if not local.is_file():
                raise errors.DeviceError("The file to deploy does not exist", where=str(local),
                                         hint="Check that nothing removed it on this machine, "
                                         "and run again")
            sha = local_sha256(local)
            folder = f"{self.device.cache}/artifacts/{sha}"
            items.append(_Item(local, sha, local.stat().st_size, folder, f"{folder}/{local.name}"))
        sftp = self.device.sftp()
        for item in items:
            self._check_cached(sftp, item)
        pending = [i for i in items if i.state == "missing"]
        self._check_free(pending)
        total = sum(i.size for i in pending)
        sent = 0
        for item in pending:
            sent = self._upload(sftp, item, sent, total, progress)
        checks = [i for i in items if i.state in ("check", "uploaded")]
        if checks:
            hashes = self._remote_hashes([i.to_check for i in checks])
            for item in checks:
                self._settle(sftp, item, hashes.get(item.to_check))
        if any(i.state == "redo" for i in items):  # a cached copy was damaged: send it again
            return self.ensure_many(files, progress)
        if progress and not pending:
            size = sum(i.size for i in items)
            progress(size, size, 0.0)
        return [i.final for i in items]

    # --- steps ---------------------------------------------------------------

    def _check_cached(self, sftp: Any, item: _Item) -> None:
        try:
            stat = sftp.stat(item.final)
        except FileNotFoundError:
            return
        if stat.st_size != item.size:
            sftp.remove(item.final)
            return
        if self.verified.get(item.final) == (stat.st_size, stat.st_mtime):
            item.state = "trusted"
            with contextlib.suppress(OSError):
                sftp.utime(item.folder, None)  # recently used, for the cache's LRU eviction
            return
        item.state, item.to_check = "check", item.final

    def _check_free(self, pending: list[_Item]) -> None:
        needed = sum(i.size for i in pending)
        free = self.device.free_bytes()
        if pending and free is not None and free < needed:
            raise errors.DiskFull(
                f"The board has {free / 1e6:.1f} MB free; the upload needs {needed / 1e6:.1f} MB",
                where=f"{self.device.name}:{self.device.cache}")

    def _upload(self, sftp: Any, item: _Item, sent: int, total: int,
                progress: ProgressCallback | None) -> int:
        partial = f"{item.final}.{self._sender()}.partial"
        with contextlib.suppress(OSError):
            sftp.mkdir(f"{self.device.cache}/artifacts")
        with contextlib.suppress(OSError):
            sftp.mkdir(item.folder)
        try:
            offset = sftp.stat(partial).st_size
        except FileNotFoundError:
            offset = 0
        if offset > item.size:
            sftp.remove(partial)
            offset = 0
        done = offset
        started = time.monotonic()
        try:
            with open(item.local, "rb") as source, \
                    sftp.open(partial, "ab" if offset else "wb") as sink:
                sink.set_pipelined(True)
                source.seek(offset)
                for block in iter(lambda: source.read(CHUNK), b""):
                    # the partial stays: a later upload of the same file continues it
                    raise_if_cancelled(self.device.name, f"uploading {item.local.name}")
                    sink.write(block)
                    done += len(block)
                    if progress:
                        elapsed = max(time.monotonic() - started, 1e-6)
                        progress(sent + done, total, (done - offset) / elapsed)
        except errors.JobCancelled:
            raise
        except Exception as exc:  # socket, SFTP and paramiko errors alike
            self._upload_failed(item, partial, done, exc)
        item.state, item.to_check = "uploaded", partial
        return sent + item.size

    def _upload_failed(self, item: _Item, partial: str, done: int, exc: Exception) -> None:
        # A full disk shows as a plain SFTP "Failure"; anything else mid-write is the link.
        free = self.device.free_bytes(refresh=True)
        if free is not None and free < item.size - done:
            with contextlib.suppress(Exception):
                self.device.sftp().remove(partial)
            raise errors.DiskFull(
                f"The board's disk filled up while uploading {item.local.name} "
                f"({free / 1e6:.1f} MB free)", where=f"{self.device.name}:{item.folder}") from None
        raise errors.LinkDropped(
            f"The connection dropped while uploading {item.local.name} after {done} of "
            f"{item.size} bytes ({type(exc).__name__} {exc})".replace(" )", ")"),
            where=self.link) from None

    def _remote_hashes(self, paths: list[str]) -> dict[str, str | None]:
        code, out, err = self.device.exec([self.device.python, "-c", HASH, *paths])
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
            self.verified[item.final] = (item.size, sftp.stat(item.final).st_mtime)
            item.state = "trusted"
            return
        sftp.remove(item.to_check)
        if item.state == "uploaded":
            raise errors.ArtifactCorrupt(f"{item.local.name} arrived damaged (its sha256 differs)",
                                         where=f"{self.device.name}:{item.to_check}")
        item.state = "redo"  # the cached copy was damaged and is gone now
