"""The caller's side of a kept connection, light enough for a command that only asks and prints.

A keeper (:mod:`workbench.devices.keeper`) listens on a Unix socket in this
user's runtime folder. Callers and keeper exchange JSON, one message a line:
a caller sends one request (``{"call": NAME, "args": {...}}``) per socket
connection, and may then send ``{"cancel": true}``; the keeper answers with
``{"event": ...}`` or ``{"progress": [done, total, rate]}`` lines, then one
``{"return": VALUE}`` or ``{"error": ERROR}`` line, where ERROR is a
WorkbenchError's ``to_dict()``, rebuilt on the caller's side as the same class.

This module imports nothing of the device layer, so that ``workbench profile``
through a running keeper (:func:`profile_kept`) starts in a few milliseconds;
:mod:`workbench.devices.kept` builds the full device on it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench import errors
from workbench._paths import config_dir, runtime_dir

#: how often a caller waiting for an answer looks at its cancel event (seconds)
POLL_S = 0.1
#: how long a command stopped with Ctrl-C waits for the keeper to cancel its job (seconds)
STOP_WAIT_S = 30.0
#: how a keeper's error begins when it does not know a call (a keeper of an older workbench)
NO_SUCH_CALL = "The kept connection has no call"
#: the environment variables whose folders a keeper must share with a command that hands it
#: a whole profile (the history, the models built, the config)
SHARED_DIRS = ("WORKBENCH_DATA_DIR", "WORKBENCH_CACHE_DIR", "WORKBENCH_CONFIG_DIR")


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    """Write one message as a line."""
    sock.sendall((json.dumps(message) + "\n").encode())


class Lines:
    """Reads a socket's messages line by line; None at the end of the stream."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = b""

    def next(self) -> dict[str, Any] | None:
        """The next message (a socket timeout propagates, with nothing lost)."""
        while b"\n" not in self._buffer:
            block = self.sock.recv(1 << 16)
            if not block:
                return None
            self._buffer += block
        line, _, self._buffer = self._buffer.partition(b"\n")
        message = json.loads(line)
        return message if isinstance(message, dict) else None


def error_from_dict(error: dict[str, Any]) -> errors.WorkbenchError:
    """The WorkbenchError a ``to_dict()`` came from, of the same class when the tree has it."""
    name = str(error.get("type", "DeviceError"))
    cls = getattr(errors, name) if name in errors.__all__ else errors.DeviceError
    if not (isinstance(cls, type) and issubclass(cls, errors.WorkbenchError)):
        cls = errors.DeviceError
    extra = {field: error[field] for field in cls.fields if field in error}
    built: errors.WorkbenchError = cls(str(error.get("what", "The kept connection failed")),
                                       where=error.get("where"), hint=error.get("hint"),
                                       **extra)
    return built


def kept_folder() -> Path:
    """The runtime folder, made if missing; DeviceError when others could enter it."""
    folder = runtime_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(folder)
    if (not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid()
            or info.st_mode & 0o077):
        raise errors.DeviceError(
            f"The folder for kept connections is not this user's alone (owner uid "
            f"{info.st_uid}, mode {stat.filemode(info.st_mode)})", where=str(folder),
            hint="Remove it, or point WORKBENCH_RUNTIME_DIR at a folder of yours with mode 0700")
    return folder


def socket_path(name: str) -> Path:
    """The keeper's socket for device ``name`` under this user's config (short: a hash)."""
    key = hashlib.sha256(f"{name}\0{config_dir()}\0{Path.home()}".encode()).hexdigest()[:16]
    return kept_folder() / f"{key}.sock"


def reach(path: Path) -> socket.socket | None:
    """A socket connected to the keeper at ``path``; None when none runs (a stale socket
    file is removed)."""
    try:
        tried = path.stat().st_ino
    except FileNotFoundError:
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except FileNotFoundError:
        sock.close()
        return None
    except ConnectionRefusedError:  # its keeper died without removing it, or is stopping
        sock.close()
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_ino == tried:  # not a new keeper's socket, made meanwhile
                path.unlink()
        return None
    except OSError as exc:
        sock.close()
        raise errors.DeviceError(f"The kept connection's socket cannot be reached: {exc}",
                                 where=str(path),
                                 hint="Remove the socket file and run the command again") from exc
    return sock


class Unanswered(Exception):
    """The keeper reset a call's socket before it answered anything."""


class Lost(Exception):
    """The keeper went away after it began to answer."""


def answer(sock: socket.socket, on_message: Callable[[dict[str, Any]], None],
           cancel: threading.Event | None) -> Any:
    """The call's returned value, its other messages to ``on_message``; the keeper's error
    raised as its WorkbenchError. A set ``cancel`` is sent to the keeper once. Unanswered
    when the keeper reset the socket before any message, Lost when it went away later."""
    lines = Lines(sock)
    sock.settimeout(POLL_S)
    asked = answered = False
    while True:
        try:
            message = lines.next()
        except TimeoutError:
            if cancel is not None and cancel.is_set() and not asked:
                with contextlib.suppress(OSError):  # it is gone: the next read tells
                    send(sock, {"cancel": True})
                asked = True
            continue
        except ConnectionResetError:
            if not answered:
                raise Unanswered from None
            message = None
        except (OSError, ValueError):  # a broken line is a keeper gone mid-message
            message = None
        if message is None:
            raise Lost
        answered = True
        if "return" in message:
            return message["return"]
        if "error" in message:
            raise error_from_dict(message["error"])
        on_message(message)


def shared_dirs() -> dict[str, str | None]:
    """This process's settings of :data:`SHARED_DIRS`."""
    return {name: os.environ.get(name) for name in SHARED_DIRS}


def profile_kept(name: str, request: dict[str, Any],
                 on_event: Callable[[dict[str, Any]], None]) -> list[str] | None:
    """Hand a whole ``workbench profile`` request to the keeper of ``name`` (see
    :mod:`workbench.jobs.request`); the lines to print, or None when no keeper runs or it
    cannot take the request (other registry settings or folders than this command's,
    an older keeper): the command then runs the profile itself.

    Ctrl-C cancels the job on the board and waits for the keeper to say it stopped
    (:data:`STOP_WAIT_S` at most) before the KeyboardInterrupt goes on.
    """
    path = socket_path(name)
    sock = reach(path)
    if sock is None:
        return None
    cancel = threading.Event()
    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            with sock:
                send(sock, {"call": "profile", "args": {"request": request,
                                                         "dirs": shared_dirs()}})
                outcome["return"] = answer(
                    sock, lambda message: on_event(message["event"]) if "event" in message
                    else None, cancel)
        except BaseException as exc:  # handed to the command's thread
            outcome["error"] = exc

    worker = threading.Thread(target=call, name="kept-profile", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        cancel.set()
        worker.join(STOP_WAIT_S)
        raise
    error = outcome.get("error")
    if isinstance(error, (Unanswered, ConnectionResetError, BrokenPipeError)):
        return None  # it went away as the call came: nothing ran
    if isinstance(error, Lost):
        raise errors.LinkDropped(
            f"The kept connection to {name} ended during the profile", where=str(path),
            hint="Run the command again: a new kept connection starts. A job that was "
            f"running is listed by `workbench jobs`; `workbench device disconnect {name}` "
            "stops a kept connection that misbehaves")
    if isinstance(error, errors.DeviceError) and str(error).startswith(NO_SUCH_CALL):
        return None  # a keeper of an older workbench: the command runs the profile itself
    if error is not None:
        raise error
    answered = outcome.get("return")
    if not isinstance(answered, dict) or "lines" not in answered:
        return None  # declined: the command runs it itself
    return [str(line) for line in answered["lines"]]
