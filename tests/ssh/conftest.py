"""Fixtures for the SSH tests: real sshd servers on 127.0.0.1 and devices logged in to them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from workbench_agent.record import collect

from tests.conftest import until
from tests.ssh.sshd import Sshd, keygen, stall, start_sshd
from workbench import errors
from workbench.devices.ssh import SSHDevice
from workbench.jobs.handle import Job

if not Path("/usr/sbin/sshd").exists() and not shutil.which("sshd"):
    pytest.skip("openssh-server is not installed: run `bash tests/setup.sh`",
                allow_module_level=True)


@pytest.fixture(scope="session")
def client_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return keygen(tmp_path_factory.mktemp("client") / "id_ed25519")


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory, client_key: Path) -> Iterator[Sshd]:
    server = start_sshd(tmp_path_factory.mktemp("sshd"), client_key)
    yield server
    server.stop()


def make_board(server: Sshd, tmp_path: Path, cls: type[SSHDevice] = SSHDevice,
               **overrides: object) -> SSHDevice:
    """A device (an SSHDevice, or ``cls``) logged in as root with the test key; the board's
    cache and board folder (its job lock) in ``tmp_path``."""
    settings: dict[str, object] = dict(
        host="127.0.0.1", port=server.port, user="root", key_filename=str(server.client_key),
        known_hosts=[server.known_hosts], user_known_hosts=tmp_path / "user_known_hosts",
        ssh_config=tmp_path / "no_ssh_config", allow_agent=False, look_for_keys=False,
        python=sys.executable, remote_cache=str(tmp_path / "board-cache"),
        board_dir=str(tmp_path / "board"), timeout=5)
    settings.update(overrides)
    return cls("testboard", **settings)  # type: ignore[arg-type]


def register_board(name: str, server: Sshd, folder: Path,
                   known_hosts: Path | None = None) -> None:
    """Register the server's board as ``name`` (as a new process finds it): the settings of
    :func:`make_board`, the board's cache and board folder in ``folder``; ``known_hosts``
    instead of the one that trusts the server's key."""
    from workbench.devices import registry

    # a test's own board: it takes the name over from an earlier test's
    registry.add(name, replace=True, host="127.0.0.1", port=server.port, user="root",
                 key_filename=str(server.client_key),
                 known_hosts=[str(known_hosts or server.known_hosts)],
                 user_known_hosts=str(folder / "user_known_hosts"),
                 ssh_config=str(folder / "no_ssh_config"), python=sys.executable,
                 remote_cache=str(folder / "board-cache"), board_dir=str(folder / "board"),
                 timeout=5)


def warm_agent_of(workdir: Path) -> int:
    """The pid of the warm agent whose child runs the job in ``workdir`` (the child's parent)."""
    pid = json.loads((workdir / "status.json").read_text())["pid"]
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def drop_mid_run(server: Sshd,
                 submit: Callable[[Callable[[dict[str, Any]], None]], Job]) -> tuple[Job, str]:
    """Start a job with ``submit(on_event)`` and freeze the link once its timed runs start:
    the job goes on on the board while the host gives up. Returns the job and the message
    of the LinkDropped it raised, once the job's outcome is in its folder on the board, with
    the link thawed and its sessions dropped.

    The board's warm agent, which stops the job when the host falls silent, is frozen with
    the link: its child finishes the job however slow this machine is, and the agent stops
    as the host is gone only after the outcome is kept.
    """
    started: list[Job] = []
    frozen: list[int] = []

    def on_event(event: dict[str, Any]) -> None:
        if event.get("stage") == "timed" and not frozen:
            stall(server)  # nothing reaches the host any more
            job = until(lambda: started[0] if started else None)
            assert job.prepared is not None
            frozen.append(warm_agent_of(Path(job.prepared.job["workdir"])))
            os.kill(frozen[0], signal.SIGSTOP)

    job = submit(on_event)
    started.append(job)
    try:
        with pytest.raises(errors.LinkDropped) as dropped:
            job.result(timeout=120)
        assert job.prepared is not None
        until(lambda: collect(job.prepared.job["workdir"])["state"] != "running", seconds=300)
    finally:
        stall(server, resume=True)
        server.drop_connections()
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    return job, str(dropped.value)


@pytest.fixture
def board(sshd: Sshd, tmp_path: Path) -> Iterator[SSHDevice]:
    device = make_board(sshd, tmp_path)
    yield device
    device.close()


@contextmanager
def listener(answer: str = "silent") -> Iterator[int]:
    """A TCP port on 127.0.0.1 that does not speak SSH: it holds each connection and never
    says a word (``silent``, a hung host), answers like a web server (``http``), or closes
    each connection at once (``closes-at-once``)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                connection = server.accept()[0]
            except OSError:
                continue
            if answer == "silent":
                held.append(connection)
                continue
            if answer == "http":
                connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        server.close()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung host)."""
    with listener("silent") as port:
        yield port


@pytest.fixture
def tmpfs() -> Iterator[object]:
    """``tmpfs(folder, size)`` mounts a size-limited file system there (a full disk); skips
    with the reason where this machine cannot mount; unmounted after the test."""
    mounted: list[Path] = []

    def mount(folder: Path, size: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                               str(folder)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)


def agents_serving(cache: Path) -> list[int]:
    """The warm agents running on the board (this machine) from ``cache``'s agent zip."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in argv and any(a.startswith(str(cache).encode()) for a in argv):
            found.append(int(entry.name))
    return found
