"""Content-addressed, resumable uploads to a board over SFTP.

A file lands at ``<cache>/artifacts/<sha256>/<name>``. If it is there and
whole (its hash checked on the board once per connection and size/mtime)
nothing moves. Otherwise it is written to ``<name>.partial`` — continuing from
the bytes already there after a dropped link — then hashed on the board and
renamed atomically. A file that is not whole is never used as if it were.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import errors
from workbench.devices.base import ProgressCallback

if TYPE_CHECKING:
    from workbench.devices.ssh import SSHDevice

CHUNK = 1 << 20
# sha256 on the board with nothing but Python (used before the agent itself is there).
HASH = ("import hashlib, sys\nh = hashlib.sha256()\nwith open(sys.argv[1], 'rb') as f:\n"
        "    for b in iter(lambda: f.read(1 << 20), b''):\n        h.update(b)\nprint(h.hexdigest())")
FREE = ("import os, shutil, sys\nos.makedirs(sys.argv[1], exist_ok=True)\n"
        "print(shutil.disk_usage(sys.argv[1]).free)")

_local_hashes: dict[tuple[str, int, int], str] = {}


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


class Uploader:
    """Moves one file onto a board's cache (see the module's docstring)."""

    #: remote path -> (size, mtime) of files whose hash was checked on this connection
    verified: dict[tuple[int, str], tuple[int, int]] = {}

    def __init__(self, device: SSHDevice) -> None:
        self.device = device

    def _remote_sha(self, path: str) -> str | None:
        code, out, _ = self.device.exec([self.device.python, "-c", HASH, path])
        return out.strip() if code == 0 else None

    def _free_bytes(self, folder: str) -> int | None:
        code, out, _ = self.device.exec([self.device.python, "-c", FREE, folder])
        return int(out) if code == 0 and out.strip().isdigit() else None

    def _key(self, path: str) -> tuple[int, str]:
        return (id(self.device.client()), path)

    def ensure(self, local: Path, progress: ProgressCallback | None) -> str:
        if not local.is_file():
            raise errors.DeviceError("The file to deploy does not exist", where=str(local))
        sha = local_sha256(local)
        size = local.stat().st_size
        folder = f"{self.device.cache}/artifacts/{sha}"
        final = f"{folder}/{local.name}"
        sftp = self.device.open_sftp()
        try:
            try:
                stat = sftp.stat(final)
            except FileNotFoundError:
                stat = None
            if stat is not None and self._whole(final, stat, size, sha):
                sftp.utime(folder, None)  # marks it recently used for the cache's LRU eviction
                if progress:
                    progress(size, size, 0.0)
                return final
            if stat is not None:
                sftp.remove(final)  # corrupt: its hash does not match; upload anew
            self._upload(sftp, local, folder, final, size, sha, progress)
        finally:
            sftp.close()
        if self.device.cache_limit_bytes and local.suffix != ".pyz":
            # The agent itself (a .pyz) is never evicted: the eviction runs through it.
            agent_sha = self.device.agent_path().rsplit("/", 2)[-2]
            self.device.tool("evict", self.device.cache, str(self.device.cache_limit_bytes),
                             sha, agent_sha)
        return final

    def _whole(self, final: str, stat: Any, size: int, sha: str) -> bool:
        if stat.st_size != size:
            return False
        key = self._key(final)
        if self.verified.get(key) == (stat.st_size, stat.st_mtime):
            return True
        if self._remote_sha(final) != sha:
            return False
        self.verified[key] = (stat.st_size, stat.st_mtime)
        return True

    def _upload(self, sftp: Any, local: Path, folder: str, final: str, size: int, sha: str,
                progress: ProgressCallback | None) -> None:
        # One partial file per sender (host, process, thread): two senders never share one,
        # and a sender that retries after a drop finds its own bytes again.
        sender = f"{socket.gethostname()}-{os.getpid()}-{threading.get_ident()}"
        partial = f"{final}.{sender}.partial"
        free = self._free_bytes(folder)
        try:
            offset = sftp.stat(partial).st_size
        except FileNotFoundError:
            offset = 0
        if offset > size:
            sftp.remove(partial)
            offset = 0
        if free is not None and free < size - offset:
            raise errors.DiskFull(
                f"The board has {free / 1e6:.1f} MB free; {local.name} needs "
                f"{(size - offset) / 1e6:.1f} MB more", where=f"{self.device.name}:{folder}")
        done = offset
        started = time.monotonic()
        try:
            with open(local, "rb") as source, sftp.open(partial, "ab" if offset else "wb") as sink:
                sink.set_pipelined(True)
                source.seek(offset)
                for block in iter(lambda: source.read(CHUNK), b""):
                    sink.write(block)
                    done += len(block)
                    if progress:
                        elapsed = max(time.monotonic() - started, 1e-6)
                        progress(done, size, (done - offset) / elapsed)
        except Exception as exc:  # socket, SFTP and paramiko errors alike
            # A full disk shows as a plain SFTP "Failure"; anything else mid-write is the link.
            free = self._free_bytes(folder)
            if free is not None and free < size - done:
                with contextlib.suppress(Exception):
                    self.device.open_sftp().remove(partial)
                raise errors.DiskFull(
                    f"The board's disk filled up while uploading {local.name} "
                    f"({free / 1e6:.1f} MB free)", where=f"{self.device.name}:{folder}") from None
            raise errors.LinkDropped(
                f"The connection dropped while uploading {local.name} after {done} of {size} "
                f"bytes ({type(exc).__name__} {exc})".replace(" )", ")"),
                where=self.device.endpoint.where()) from None
        if self._remote_sha(partial) != sha:
            sftp.remove(partial)
            raise errors.ArtifactCorrupt(f"{local.name} arrived damaged (its sha256 differs)",
                                         where=f"{self.device.name}:{partial}")
        sftp.posix_rename(partial, final)
        self.verified[self._key(final)] = (size, sftp.stat(final).st_mtime)
