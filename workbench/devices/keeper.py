"""The keeper: a background process that holds one board's SSH connection between commands.

Started by :func:`workbench.devices.kept.keep` as ``python -m
workbench.devices.keeper NAME --socket PATH --idle SECONDS``. It connects the
device as ``connect(NAME)`` would (the registry, ~/.ssh/config, known_hosts:
an unknown or changed host key refuses), says ``{"ready": HELLO}`` or
``{"error": ...}`` on stdout to the command that started it, then answers
calls on its Unix socket (:mod:`workbench.devices._wire`), each on a thread of
its own, with the device's own methods: its connection, warm agent and probe
serve every later command. As it starts it probes the board and starts the
warm agent for onnxruntime jobs (the commands' default backend) on a thread;
calls wait for that, so the first command finds both ready. A caller that closes its socket or sends
``{"cancel": true}`` cancels its call. It stops after ``--idle`` seconds
without a call, on a ``stop`` call or on SIGTERM: it removes its socket first
(the next command starts a new keeper), answers the calls already queued and
lets the running ones finish (``DRAIN_S`` at most), then closes the device
(its warm agent stops with the channel).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from workbench import errors
from workbench._kept_link import NO_SUCH_CALL
from workbench.devices._cancel import cancel_scope
from workbench.devices._wire import Lines, send
from workbench.devices.base import Device

Emit = Callable[[dict[str, Any]], None]

#: seconds a stopping keeper lets its running calls go on before it closes the device
DRAIN_S = 3600.0

#: the backend whose warm agent a new keeper starts (the commands' default)
WARM_BACKEND = "onnxruntime"


def _files(args: dict[str, Any]) -> list[Path]:
    return [Path(p) for p in args["files"]]


def _progress(emit: Emit) -> Callable[[int, int, float], None]:
    return lambda done, total, rate: emit({"progress": [done, total, rate]})


#: the calls a keeper answers: (device, arguments, cancel event, emit) -> JSON-able value
CALLS: dict[str, Callable[[Device, dict[str, Any], threading.Event, Emit], Any]] = {
    "open": lambda device, args, cancel, emit: device.open(),
    "probe": lambda device, args, cancel, emit: device.probe(
        refresh=bool(args.get("refresh"))).to_dict(with_cpuinfo=True),
    "ensure_many": lambda device, args, cancel, emit: device.ensure_many(
        _files(args), _progress(emit)),
    "ensure_together": lambda device, args, cancel, emit: device.ensure_together(
        _files(args), _progress(emit)),
    "workdir": lambda device, args, cancel, emit: device.workdir(),
    "lock_path": lambda device, args, cancel, emit: device.lock_path(),
    "remove_workdir": lambda device, args, cancel, emit: device.remove_workdir(args["workdir"]),
    "collect": lambda device, args, cancel, emit: device.collect(args["workdir"]),
    "status": lambda device, args, cancel, emit: device.status(),
    "clean_cache": lambda device, args, cancel, emit: device.clean_cache(float(args["wait_s"])),
    "run": lambda device, args, cancel, emit: device.run(
        args["job"], lambda event: emit({"event": event}), timeout=args.get("timeout"),
        cancel=cancel),
}


class Keeper:
    """Answers calls for ``device`` until it idles out or is stopped.

    ``path`` is its socket (with ``inode``, to tell it from a newer keeper's): it is
    removed before the keeper stops taking calls, the calls already queued on the
    listener are answered, and then the listener closes, so no caller meets a keeper
    that goes away unanswered: a caller that still reaches it is refused and starts a
    new keeper. On a stop, the calls running are let finish (``drain_s`` seconds at
    most) before the device closes.
    """

    def __init__(self, device: Device, hello: dict[str, Any], idle_s: float,
                 path: Path | None = None, inode: int | None = None,
                 drain_s: float = DRAIN_S) -> None:
        self.device = device
        self.hello = hello
        self.idle_s = idle_s
        self.path = path
        self.inode = inode
        self.drain_s = drain_s
        self.stopping = threading.Event()
        self._active = 0
        self._last = time.monotonic()
        self._count = threading.Condition()
        #: set once the warm-up (:meth:`warm_up`) ended; calls other than hello wait for it
        self.warmed = threading.Event()
        self.warmed.set()

    def warm_up(self, backend: str = WARM_BACKEND) -> threading.Thread:
        """Probe the board and start its warm agent for ``backend`` on a thread, so the
        first command finds both ready; calls wait for it (it stops short of nothing a
        call needs). A failure is left for the first call to meet and report."""
        self.warmed.clear()

        def work() -> None:
            try:
                self.device.probe()
                self.device.start_agent(backend)
            except Exception:  # the first call probes or starts it again and says why
                pass
            finally:
                self.warmed.set()

        thread = threading.Thread(target=work, name="keeper-warm-up", daemon=True)
        thread.start()
        return thread

    def active(self) -> int:
        """The calls running now."""
        with self._count:
            return self._active

    def serve(self, listener: socket.socket) -> None:
        """Answer calls until idle or stopped; then let the running calls end."""
        listener.settimeout(0.5)
        while not self.stopping.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                with self._count:
                    idle = not self._active and time.monotonic() - self._last > self.idle_s
                if idle:
                    break
                continue
            self._begin(conn)
        # no new caller reaches this socket; the ones already queued are answered
        self.unlink()
        listener.setblocking(False)
        while True:
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                break
            conn.setblocking(True)
            self._begin(conn)
        # A caller that found the path just before it went, and connects after the queue was
        # answered, is refused at once (and starts a new keeper) rather than waiting
        # unanswered in the queue until the calls running here end.
        listener.close()
        with self._count:
            self._count.wait_for(lambda: not self._active, timeout=self.drain_s)

    def unlink(self) -> None:
        """Remove the socket when it is still this keeper's (a newer one may own the path)."""
        if self.path is None:
            return
        with contextlib.suppress(OSError):
            if self.inode is None or self.path.stat().st_ino == self.inode:
                self.path.unlink()

    def _begin(self, conn: socket.socket) -> None:
        with self._count:
            self._active += 1
        threading.Thread(target=self._handle, args=(conn,), name="keeper-call",
                         daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        lines = Lines(conn)
        cancel = threading.Event()
        sending = threading.Lock()

        def emit(message: dict[str, Any]) -> None:
            with sending, contextlib.suppress(OSError):  # the caller went away
                send(conn, message)

        def watch() -> None:  # a cancel line, or the caller gone, cancels the call
            with contextlib.suppress(OSError, ValueError):
                while (message := lines.next()) is not None and not message.get("cancel"):
                    pass
            cancel.set()

        try:
            request = lines.next() or {}
            threading.Thread(target=watch, name="keeper-cancel", daemon=True).start()
            emit({"return": self._answer(request, cancel, emit)})
        except errors.WorkbenchError as exc:
            emit({"error": exc.to_dict()})
        except Exception as exc:  # a bug must not end the keeper, and the caller hears of it
            emit({"error": errors.DeviceError(
                f"The kept connection failed in {type(exc).__name__}: {exc}",
                where=f"keeper of {self.device.name} (pid {os.getpid()})",
                hint=f"Stop it with `workbench device disconnect {self.device.name}` and run "
                "the command again").to_dict()})
        finally:
            conn.close()
            with self._count:
                self._active -= 1
                self._last = time.monotonic()
                self._count.notify_all()

    def _answer(self, request: dict[str, Any], cancel: threading.Event, emit: Emit) -> Any:
        call, args = str(request.get("call")), dict(request.get("args") or {})
        if call == "hello":  # with the calls running besides this one
            return {**self.hello, "active": self.active() - 1}
        if call == "stop":
            self.stopping.set()
            return True
        if not self.warmed.is_set():  # one probe and one agent start, not two at once
            from workbench.devices._cancel import cancelled_error, wait_any

            if wait_any(cancel, self.warmed, None):
                raise cancelled_error(f"keeper of {self.device.name}",
                                      "waiting for the board's probe")
        if call == "profile":
            return self._profile(args, cancel, emit)
        if call not in CALLS:
            raise errors.DeviceError(f"{NO_SUCH_CALL} {call!r}",
                                     where=f"keeper of {self.device.name}",
                                     hint="Stop it with `workbench device disconnect "
                                     f"{self.device.name}`: a newer workbench starts its own")
        with cancel_scope(cancel):
            return CALLS[call](self.device, args, cancel, emit)


    def _profile(self, args: dict[str, Any], cancel: threading.Event, emit: Emit) -> Any:
        """A whole ``workbench profile`` request run here (see :mod:`workbench.jobs.request`):
        ``{"lines": [...]}`` to print; ``{"declined": why}`` when this keeper was started with
        other registry settings or folders than the command's (the command then runs it)."""
        from workbench._kept_link import shared_dirs
        from workbench.devices import registry
        from workbench.jobs.request import run_request

        if args.get("dirs") != shared_dirs():
            return {"declined": "other folders"}
        if registry.load().get(self.device.name) != self.hello.get("entry"):
            return {"declined": "other registry settings"}
        with cancel_scope(cancel):
            return {"lines": run_request(args["request"], self.device,
                                         lambda event: emit({"event": event}), cancel,
                                         keep=True)}


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _asker() -> Callable[[str], str | None]:
    """Ask the starting command for a secret over the pipes while they are open; the answer
    stays in this closure (memory only) for reconnections."""
    known: list[str] = []

    def ask(prompt: str) -> str | None:
        if known:
            return known[0]
        try:
            _say({"ask": prompt})
            answer = json.loads(sys.stdin.readline() or "{}").get("secret")
        except (OSError, ValueError):  # the starting command is gone: nobody can answer
            return None
        if answer:
            known.append(str(answer))
        return str(answer) if answer else None

    return ask


def _connect(name: str) -> Device:
    from workbench.devices import connect
    from workbench.devices.ssh import SSHDevice

    # the registry's settings and ~/.ssh/config's, as for a direct connection
    device = connect(name, ask_secret=_asker())
    if not isinstance(device, SSHDevice):
        raise errors.DeviceError(f"{name} is a {device.kind} device: only boards reached over "
                                 "SSH keep a connection", where=name,
                                 hint="Run the command without --persist")
    device.open()
    return device


def main(argv: Sequence[str] | None = None) -> int:
    """Run a keeper (see the module's docstring); the exit code."""
    from workbench.devices import registry

    parser = argparse.ArgumentParser(prog="python -m workbench.devices.keeper")
    parser.add_argument("name")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--idle", type=float, default=600.0)
    args = parser.parse_args(argv)
    path = Path(args.socket)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # the starting command holds the start lock and found no keeper there
    listener.bind(str(path))
    os.chmod(path, 0o600)
    inode = path.stat().st_ino
    listener.listen(16)
    device: Device | None = None
    try:
        try:
            device = _connect(args.name)
        except errors.WorkbenchError as exc:
            _say({"error": exc.to_dict()})
            return 2
        keeper = Keeper(device, {"pid": os.getpid(), "name": args.name, "kind": device.kind,
                                 "entry": registry.load().get(args.name),
                                 "since": time.time()}, args.idle, path, inode)
        signal.signal(signal.SIGTERM, lambda *_: keeper.stopping.set())
        keeper.warm_up()
        _say({"ready": keeper.hello})
        with open(os.devnull, "rb") as null_in, open(os.devnull, "w") as null_out:
            os.dup2(null_in.fileno(), 0)
            os.dup2(null_out.fileno(), 1)
        keeper.serve(listener)
        return 0
    finally:
        with contextlib.suppress(OSError):
            if path.stat().st_ino == inode:  # still ours: a new keeper may have replaced it
                path.unlink()
        listener.close()
        if device is not None:
            device.close()


if __name__ == "__main__":
    sys.exit(main())
