"""A real labgrid farm for the tests: a coordinator and an exporter on 127.0.0.1.

The exporter publishes one ``NetworkService`` per board, each pointing at the
test sshd; the places are made and tagged with ``labgrid-client``, as a farm's
keeper would. No hardware is needed.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.ssh.sshd import Sshd, free_port

BIN = Path(sys.executable).parent


def labgrid_installed() -> bool:
    return (BIN / "labgrid-coordinator").exists()


def _wait_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}: {log.read_text()}")


@dataclass
class LabFarm:
    """A running coordinator (and exporter) and the places made on it."""

    folder: Path
    port: int
    coordinator: subprocess.Popen[bytes] | None = None
    exporter: subprocess.Popen[bytes] | None = None
    places: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self, *args: str, check: bool = True) -> str:
        done = subprocess.run([str(BIN / "labgrid-client"), "-x", self.address, *args],
                              capture_output=True, text=True, timeout=60)
        if check and done.returncode != 0:
            raise RuntimeError(f"labgrid-client {' '.join(args)}: {done.stderr}")
        return done.stdout

    def start_coordinator(self) -> None:
        log = self.folder / "coordinator.log"
        with open(log, "ab") as out:
            self.coordinator = subprocess.Popen(
                [str(BIN / "labgrid-coordinator"), "-l", self.address], cwd=self.folder,
                stdout=out, stderr=subprocess.STDOUT)
        _wait_port(self.port, self.coordinator, log)

    def export(self, sshd: Sshd, boards: list[str]) -> None:
        """Publish a NetworkService per board (all at the test sshd; a password there is
        a decoy the workbench must ignore)."""
        lines = []
        for board in boards:
            lines += [f"{board}:", "  NetworkService:", "    address: 127.0.0.1",
                      "    username: root", f"    port: {sshd.port}",
                      "    password: not-a-secret-anyone-should-use"]
        exports = self.folder / "exports.yaml"
        exports.write_text("\n".join(lines) + "\n")
        log = self.folder / "exporter.log"
        with open(log, "ab") as out:
            self.exporter = subprocess.Popen(
                [str(BIN / "labgrid-exporter"), "-c", self.address, "-n", "rack",
                 "--hostname", "127.0.0.1", str(exports)], cwd=self.folder, stdout=out,
                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the exporter has registered every group
            time.sleep(0.5)
            if all(f"rack/{board}/NetworkService" in self.client("resources")
                   for board in boards):
                return
        raise RuntimeError((self.folder / "exporter.log").read_text())

    def stop(self) -> None:
        for process in (self.exporter, self.coordinator):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def write_places(folder: Path, places: dict[str, tuple[str | None, dict[str, str]]]) -> None:
    """The coordinator's places.yaml, as ``labgrid-client create``, ``set-tags`` and
    ``add-match`` leave it: each place's tags and the exporter's board it matches."""
    lines = []
    for name, (board, tags) in places.items():
        lines += [f"{name}:", "  aliases: []", "  comment: ''", "  tags:",
                  *(f"    {key}: {value}" for key, value in tags.items())]
        lines += ["  matches:", "  - {cls: NetworkService, exporter: rack, group: " + board
                  + ", name: null, rename: null}"] if board else ["  matches: []"]
    (folder / "places.yaml").write_text("\n".join(lines) + "\n")


def start_farm(folder: Path, places: dict[str, tuple[str | None, dict[str, str]]]) -> LabFarm:
    """A coordinator on a free port, with these places: name -> (board or None, tags)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_places(folder, places)
    farm = LabFarm(folder, free_port(), places=list(places))
    farm.start_coordinator()
    return farm


class SlowAnswers:
    """A TCP relay on 127.0.0.1 in front of the coordinator whose answers it can hold back,
    as a slow or congested network does: calls reach the coordinator and are carried out,
    while their answers wait in the relay until :meth:`hold` ends."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.flowing = threading.Event()
        self.flowing.set()
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client = self.listener.accept()[0]
            except OSError:
                return  # closed
            server = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, self.flowing),
                             daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, gate: threading.Event | None) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if gate is not None:
                    gate.wait()
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Hold the coordinator's answers back for the block."""
        self.flowing.clear()
        try:
            yield
        finally:
            self.flowing.set()

    def close(self) -> None:
        self.flowing.set()
        for each in [self.listener, *self.sockets]:
            with contextlib.suppress(OSError):
                each.close()
