"""A connection that stays up between command-line invocations, as OpenSSH's ControlMaster.

``workbench profile --persist`` (or ``WORKBENCH_PERSIST=1``, or ``workbench
device connect NAME``) starts a keeper: a background process of this user
that holds the board's SSH connection, its warm agent and its probe
(:mod:`workbench.devices.keeper`). Later commands reach it over a Unix socket
in the runtime folder (:func:`workbench._paths.runtime_dir`, mode 0700, this
user's alone) and pay neither a login nor an agent start. The keeper logs in
with the same settings and host-key rules as a direct connection (a changed
key refuses), asks for a key's passphrase through the command that starts it
(kept in memory only), and stops after ``idle_s`` seconds without a call or
on ``workbench device disconnect NAME``. A socket whose keeper died is
removed and a new keeper started; a keeper that dies during a call is
reported as a dropped link.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from workbench import errors
from workbench._kept_link import (
    Lines,
    Lost,
    Unanswered,
    answer,
    error_from_dict,
    send,
    socket_path,
)
from workbench._kept_link import reach as _reach
from workbench.devices.base import Device, DeviceInfo, EventCallback, ProgressCallback

#: seconds a keeper waits for the next call before it stops (as a warm agent idles)
IDLE_S = 600.0
#: seconds a new keeper may take to log in before it is stopped
START_S = 60.0
#: the environment variable that makes every command keep its connection
PERSIST_ENV = "WORKBENCH_PERSIST"


def _entry(name: str) -> dict[str, Any] | None:
    from workbench.devices import registry

    return registry.load().get(name)


def _ask(path: Path, call: str, args: dict[str, Any] | None = None) -> Any:
    """One short call (hello, stop) to the keeper at ``path``; None when none runs."""
    sock = _reach(path)
    if sock is None:
        return None
    with sock:
        lines = Lines(sock)
        try:
            send(sock, {"call": call, "args": args or {}})
            while (message := lines.next()) is not None:
                if "return" in message:
                    return message["return"]
                if "error" in message:
                    raise error_from_dict(message["error"])
        except (OSError, ValueError):  # it went away as we asked (it idled out or died)
            return None
    return None


@contextlib.contextmanager
def _starting(path: Path) -> Iterator[None]:
    """Hold the lock that lets one command at a time start the keeper for this socket."""
    import fcntl

    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _lines(stream: IO[bytes], deadline: list[float]) -> Iterator[bytes]:
    """The lines of ``stream`` until it ends; TimeoutError once ``deadline[0]`` (monotonic,
    read anew before each wait: the caller may move it) passes."""
    import select

    fd, buffer = stream.fileno(), b""
    while True:
        while b"\n" in buffer:
            line, _, buffer = buffer.partition(b"\n")
            yield line
        left = deadline[0] - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError
        block = os.read(fd, 1 << 16)
        if not block:
            if buffer:
                yield buffer
            return
        buffer += block


def _start(name: str, path: Path, idle_s: float, start_s: float = START_S) -> dict[str, Any]:
    """Start the keeper for ``name`` and wait until it logged in (``start_s`` seconds at
    most, the time a passphrase prompt waits not counted); its hello."""
    from workbench.devices.ssh import _ask_secret

    log = path.with_suffix(".log")

    def tail() -> str:
        return log.read_text(errors="replace")[-1500:].strip() if log.is_file() else ""

    with open(log, "ab") as stderr:
        keeper = subprocess.Popen(
            [sys.executable, "-m", "workbench.devices.keeper", name, "--socket", str(path),
             "--idle", repr(float(idle_s))], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=stderr, cwd="/", start_new_session=True)
    assert keeper.stdin is not None and keeper.stdout is not None

    def discard() -> None:
        """Stop a keeper that never became one, and its socket if it made one."""
        keeper.kill()
        keeper.wait(30)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    deadline = [time.monotonic() + start_s]
    with keeper.stdin, keeper.stdout:
        try:
            for line in _lines(keeper.stdout, deadline):
                try:
                    message = json.loads(line)
                except ValueError:
                    message = None
                if not isinstance(message, dict):
                    discard()
                    raise errors.DeviceError(
                        f"The kept connection for {name} said what it should not as it started:"
                        f" {line[:200].decode(errors='replace')!r}; its log: {tail()}",
                        where=str(log), hint="Run the command without --persist, or stop "
                        "what prints on the keeper's output (a sitecustomize, PYTHONSTARTUP)")
                if "ask" in message:  # a key's passphrase: through the pipe, never to a file
                    asked = time.monotonic()
                    secret = _ask_secret(message["ask"])
                    deadline[0] += time.monotonic() - asked  # the user's typing is not counted
                    keeper.stdin.write((json.dumps({"secret": secret}) + "\n").encode())
                    keeper.stdin.flush()
                elif "ready" in message:
                    return dict(message["ready"])
                elif "error" in message:
                    keeper.wait(30)
                    raise error_from_dict(message["error"])
        except TimeoutError:
            discard()
            raise errors.ConnectionFailed(
                f"The kept connection for {name} did not log in within {start_s:g} s; it was "
                f"stopped. Its log: {tail()}", where=str(log),
                hint="Check that the board answers: `workbench device probe NAME` without "
                "--persist shows where the login waits") from None
    keeper.wait(30)
    raise errors.DeviceError(f"The kept connection for {name} stopped as it started "
                             f"(exit code {keeper.returncode}): {tail()}",
                             where=str(log),
                             hint="Run the command without --persist to see the failure")


def keep(name: str, *, start: bool = True, idle_s: float = IDLE_S,
         start_s: float = START_S) -> KeptDevice | None:
    """The device ``name`` through its keeper: the running one, else a new one when
    ``start`` (else None). A keeper started with another registry entry is replaced when
    no call runs on it; DeviceBusy while one does."""
    path = socket_path(name)
    entry = _entry(name)
    with _starting(path):
        hello = _ask(path, "hello")
        if hello is not None and hello.get("entry") != entry:
            if hello.get("active"):
                raise errors.DeviceBusy(
                    f"The kept connection to {name} was started with other registry settings "
                    f"and {hello['active']} call(s) run on it (keeper process "
                    f"{hello.get('pid')})", where=str(path),
                    hint="Run the command again when the running one ends (the kept connection "
                    f"is then replaced), or run it without --persist; `workbench device "
                    f"disconnect {name}` stops the kept connection once its calls end")
            _stop(path)
            hello = None
        if hello is None:
            if not start:
                return None
            hello = _start(name, path, idle_s, start_s)
    return KeptDevice(name, path, hello)


def _stop(path: Path, wait_s: float = 10.0) -> bool:
    """Ask the keeper at ``path`` to stop and wait until its socket is gone; False if none
    ran."""
    if _ask(path, "stop") is None:
        return False
    deadline = time.monotonic() + wait_s
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def disconnect(name: str) -> bool:
    """Stop the kept connection to ``name`` (its warm agent stops with it); False if there
    was none."""
    path = socket_path(name)
    with _starting(path):
        return _stop(path)


def persist_default() -> bool:
    """Whether commands keep their connection when not told: ``WORKBENCH_PERSIST=1``."""
    return os.environ.get(PERSIST_ENV, "").strip().lower() in ("1", "yes", "true", "on")


def connect_kept(name: str, persist: bool | None = None) -> Device:
    """The device ``name`` for one command: through its keeper when one runs or ``persist``
    (or :func:`persist_default`) asks for one, else connected directly.

    Only boards reached over SSH keep a connection; ``persist=False`` never uses one.
    """
    from workbench.devices import connect
    from workbench.devices.ssh import SSHDevice

    device = connect(name)
    if persist is False or type(device) is not SSHDevice:
        return device
    kept = keep(name, start=persist or persist_default())
    return device if kept is None else kept


class KeptDevice(Device):
    """A board reached through its keeper: every call goes over the keeper's socket."""

    def __init__(self, name: str, path: Path, hello: dict[str, Any]) -> None:
        super().__init__(name)
        self.kind = str(hello.get("kind", "ssh"))
        #: the keeper's process id and socket
        self.keeper_pid = int(hello.get("pid", 0))
        self.socket_path = path

    def _call(self, call: str, args: dict[str, Any] | None = None, *,
              on_event: EventCallback | None = None, progress: ProgressCallback | None = None,
              cancel: threading.Event | None = None) -> Any:
        from workbench.devices._cancel import current

        cancel = cancel or current()
        for attempt in (1, 2):
            sock = _reach(self.socket_path)
            if sock is None:  # it idled out or died between calls: nothing was sent yet
                kept = keep(self.name)
                assert kept is not None
                self.keeper_pid = kept.keeper_pid
                sock = _reach(self.socket_path)
            if sock is None:
                raise self._lost(call)
            # a keeper that goes away as the call comes (it idled out, or died) before it
            # answers anything did not run it: the call goes to a new keeper, once
            with sock:
                try:
                    send(sock, {"call": call, "args": args or {}})
                except (ConnectionResetError, BrokenPipeError):
                    if attempt == 2:
                        raise self._lost(call) from None
                    continue
                try:
                    return self._answer(sock, call, on_event, progress, cancel)
                except Unanswered:
                    if attempt == 2:
                        raise self._lost(call) from None
        raise self._lost(call)

    def _answer(self, sock: socket.socket, call: str, on_event: EventCallback | None,
                progress: ProgressCallback | None, cancel: threading.Event | None) -> Any:
        """The call's result; Unanswered when the keeper reset the socket before any
        message, LinkDropped when it went away later."""

        def heard(message: dict[str, Any]) -> None:
            if "event" in message and on_event is not None:
                on_event(message["event"])
            if "progress" in message and progress is not None:
                progress(*message["progress"])

        try:
            return answer(sock, heard, cancel)
        except Lost:
            raise self._lost(call) from None

    def _lost(self, call: str) -> errors.LinkDropped:
        return errors.LinkDropped(
            f"The kept connection to {self.name} ended during {call} (keeper process "
            f"{self.keeper_pid})", where=str(self.socket_path),
            hint="Run the command again: a new kept connection starts. A job that was "
            f"running is listed by `workbench jobs`; `workbench device disconnect {self.name}` "
            "stops a kept connection that misbehaves")

    def open(self) -> None:
        self._call("open")

    def probe(self, refresh: bool = False) -> DeviceInfo:
        """The board's info, as its keeper probed it (once per keeper unless ``refresh``)."""
        if self._info is None or refresh:
            self._info = DeviceInfo(**self._call("probe", {"refresh": refresh}))
        return self._info

    def _probe(self) -> DeviceInfo:
        return self.probe(refresh=True)

    def ensure(self, artifact: Path, progress: ProgressCallback | None = None) -> str:
        return self.ensure_many([artifact], progress)[0]

    def _files(self, call: str, files: list[Path],
               progress: ProgressCallback | None) -> list[str]:
        # the keeper runs in another folder: paths go whole
        paths = [str(Path(f).resolve()) for f in files]
        return [str(p) for p in self._call(call, {"files": paths}, progress=progress)]

    def ensure_many(self, files: list[Path],
                    progress: ProgressCallback | None = None) -> list[str]:
        return self._files("ensure_many", files, progress)

    def ensure_together(self, files: list[Path],
                        progress: ProgressCallback | None = None) -> list[str]:
        return self._files("ensure_together", files, progress)

    def run(self, job: dict[str, Any], on_event: EventCallback | None = None, *,
            timeout: float | None = None, cancel: threading.Event | None = None) -> dict[str, Any]:
        return dict(self._call("run", {"job": job, "timeout": timeout}, on_event=on_event,
                               cancel=cancel))

    def workdir(self) -> str:
        return str(self._call("workdir"))

    def lock_path(self) -> str:
        return str(self._call("lock_path"))

    def remove_workdir(self, workdir: str) -> None:
        self._call("remove_workdir", {"workdir": workdir})

    def collect(self, workdir: str) -> dict[str, Any]:
        return dict(self._call("collect", {"workdir": workdir}))

    def status(self) -> dict[str, Any]:
        return dict(self._call("status"))

    def clean_cache(self, wait_s: float = 60.0) -> dict[str, Any]:
        return dict(self._call("clean_cache", {"wait_s": wait_s}))

