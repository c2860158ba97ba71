"""A real OpenSSH server for the tests: its own config, host key and authorized key, on 127.0.0.1.

Started as a non-daemon (``sshd -D``) by the test session; nothing of the
machine's own SSH set-up is used or changed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _descendants(pid: int) -> list[int]:
    result, todo = [], _children(pid)
    while todo:
        child = todo.pop()
        result.append(child)
        todo += _children(child)
    return result


def _command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def keygen(path: Path, kind: str = "ed25519", passphrase: str = "") -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-f", str(path)],
                   check=True, capture_output=True)
    return path


def fingerprint_of(public_key: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-lf", str(public_key)], check=True,
                         capture_output=True, text=True).stdout
    return out.split()[1]


@dataclass
class Sshd:
    """One running sshd and what a client needs to log in to it."""

    folder: Path
    port: int
    client_key: Path
    host_key: Path
    extra_config: str = ""
    #: whether the server offers SFTP (dropbear on Yocto images does not)
    sftp: bool = True
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def known_hosts(self) -> Path:
        """A known_hosts file that trusts this server's host key."""
        path = self.folder / "known_hosts"
        public = (self.host_key.with_suffix(".pub")).read_text().split()
        path.write_text(f"[127.0.0.1]:{self.port} {public[0]} {public[1]}\n")
        return path

    @property
    def host_fingerprint(self) -> str:
        return fingerprint_of(self.host_key.with_suffix(".pub"))

    def start(self) -> Sshd:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        config = self.folder / "sshd_config"
        config.write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {self.host_key}",
            f"AuthorizedKeysFile {self.folder / 'authorized_keys'}",
            f"PidFile {self.folder / 'sshd.pid'}", "StrictModes no", "UsePAM no",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "Subsystem sftp internal-sftp" if self.sftp else "",
            "LogLevel ERROR", "ClientAliveInterval 5", self.extra_config, ""]))
        with open(self.folder / "sshd.log", "ab") as log:  # sshd keeps its own copy
            self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError((self.folder / "sshd.log").read_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not start")

    def sessions(self) -> list[int]:
        """The per-connection sshd processes (one or two for each open connection)."""
        assert self.process is not None
        return [pid for pid in _descendants(self.process.pid) if _command_name(pid) == "sshd"]

    def signal_sessions(self, number: signal.Signals) -> None:
        """Send a signal to every per-connection sshd process."""
        for pid in self.sessions():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, number)

    def drop_connections(self) -> None:
        """Kill every per-connection sshd process: each open link drops at once.

        Only sshd's own processes die; what the sessions started (the agent) lives on and must
        notice by itself, as on a board whose network went away.
        """
        self.signal_sessions(signal.SIGKILL)

    def stop(self) -> None:
        if self.process is not None:
            self.drop_connections()
            self.process.terminate()
            self.process.wait(10)
            self.process = None


def start_sshd(folder: Path, client_key: Path, extra_config: str = "",
               sftp: bool = True) -> Sshd:
    folder.mkdir(parents=True, exist_ok=True)
    host_key = keygen(folder / "host_ed25519")
    (folder / "authorized_keys").write_text(client_key.with_suffix(".pub").read_text())
    return Sshd(folder, free_port(), client_key, host_key, extra_config, sftp=sftp).start()


def stall(server: Sshd, resume: bool = False) -> None:
    """Freeze (or thaw) the per-connection sshd processes: a link that goes silent, not down."""
    server.signal_sessions(signal.SIGCONT if resume else signal.SIGSTOP)
