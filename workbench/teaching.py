"""For workshops without boards: a practice board on this machine, reached over real SSH.

    from workbench.teaching import start_practice_board
    board = start_practice_board("class-board")     # an sshd on 127.0.0.1, as you
    dev = wb.connect("practice", **board.connection())
    dev.probe()                 # refused: the host key is unknown; the error shows its fingerprint
    board.host_fingerprint      # what the board's owner reads out to the class
    dev.trust_host_key(board.host_fingerprint)
    board.stop()

The board is OpenSSH's own sshd, started by this user with a config, host key
and client key of its own in ``folder``: nothing of the machine's SSH set-up
is read or changed, and it needs no root (only ``openssh-server`` installed).
The connection it hands out starts with an empty known_hosts, so trusting the
host key is a step the student takes, as with a real board. Its login key is
made for this board alone and never leaves ``folder``: never bring your own
keys or passwords to a shared or public notebook server.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench import errors
from workbench._atomic import write_atomic
from workbench._listening import wait_listening

__all__ = ["PracticeBoard", "start_practice_board"]

START_TIMEOUT_S = 20.0


def _find_sshd() -> str | None:
    return shutil.which("sshd") or next(
        (p for p in ("/usr/sbin/sshd", "/usr/local/sbin/sshd") if os.path.exists(p)), None)


def _new_key(path: Path) -> Path:
    for old in (path, path.with_name(path.name + ".pub")):
        old.unlink(missing_ok=True)
    done = subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                           "workbench-practice-board", "-f", str(path)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise errors.DeviceError(f"ssh-keygen failed: {done.stderr.strip()}", where=str(path),
                                 hint="Install openssh-client and check that the folder is "
                                 "writable")
    return path


def _fingerprint(public_key: Path) -> str:
    listed = subprocess.run(["ssh-keygen", "-lf", str(public_key)], capture_output=True,
                            text=True, check=True).stdout
    return listed.split()[1]


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PracticeBoard:
    """A running practice board: where it listens and what a client needs to log in."""

    folder: Path
    port: int
    user: str
    python: str
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def client_key(self) -> Path:
        """The private key that logs in to this board (made for it, kept in its folder)."""
        return self.folder / "client_ed25519"

    @property
    def host_fingerprint(self) -> str:
        """The SHA256 fingerprint of the board's host key, as ``ssh-keygen -lf`` prints it."""
        return _fingerprint(self.folder / "host_ed25519.pub")

    @property
    def known_hosts(self) -> Path:
        """The student's known_hosts for this board: empty until they trust its key."""
        return self.folder / "known_hosts"

    def connection(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for ``wb.connect(NAME, ...)``: this board, its key, and a
        known_hosts, cache and board folder of its own (not the user's)."""
        settings: dict[str, Any] = dict(
            host="127.0.0.1", port=self.port, user=self.user,
            key_filename=str(self.client_key), user_known_hosts=str(self.known_hosts),
            ssh_config=str(self.folder / "ssh_config"), allow_agent=False, look_for_keys=False,
            python=self.python, remote_cache=str(self.folder / "board-cache"),
            board_dir=str(self.folder / "board"), timeout=10)
        settings.update(overrides)
        return settings

    @property
    def running(self) -> bool:
        """Whether its sshd still runs."""
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Stop the board's sshd and the sessions it started."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, 15)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait(10)
        self.process = None

    def __enter__(self) -> PracticeBoard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _config(folder: Path, port: int) -> str:
    lines = [
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {folder / 'host_ed25519'}",
        f"AuthorizedKeysFile {folder / 'authorized_keys'}", f"PidFile {folder / 'sshd.pid'}",
        # the folder is the user's alone (0700), but may sit below a place sshd's strict
        # modes refuse (/tmp, a class share), so the check is made here, not by sshd
        "StrictModes no", "UsePAM no", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password",
        "Subsystem sftp internal-sftp", "LogLevel ERROR", "ClientAliveInterval 5",
    ]
    return "\n".join(lines) + "\n"


def start_practice_board(folder: str | Path, *, python: str | None = None,
                         sshd: str | None = None) -> PracticeBoard:
    """Start a practice board: this machine's sshd on 127.0.0.1, run by this user.

    ``python`` is the board's Python (the system's ``/usr/bin/python3`` by
    default: a bare board, which ``dev.setup()`` then equips); ``sshd`` the server binary.
    A folder reused from an earlier class gets fresh keys and an empty
    known_hosts. Stop it with ``board.stop()`` (or use it in a ``with``).
    """
    folder = Path(folder).resolve()
    server = sshd or _find_sshd()
    if server is None or not os.path.exists(server):
        raise errors.DeviceError("OpenSSH's server (sshd) is not installed", where="this machine",
                                 hint="Install openssh-server (on Binder: list it in "
                                 "binder/apt.txt)")
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)  # nobody else may swap the keys the board trusts
    _new_key(folder / "host_ed25519")
    _new_key(folder / "client_ed25519")
    write_atomic(folder / "authorized_keys", (folder / "client_ed25519.pub").read_bytes(),
                 mode=0o600)
    for empty in ("known_hosts", "ssh_config"):
        (folder / empty).write_text("")
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # root's sshd wants its privsep dir
    port = _unused_port()
    (folder / "sshd_config").write_text(_config(folder, port))
    # The system's Python, not this environment's: a bare board that dev.setup() equips.
    board_python = python or next(
        (p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if os.path.exists(p)),
        shutil.which("python3") or sys.executable)
    log = open(folder / "sshd.log", "ab")  # noqa: SIM115 (sshd writes to it while it runs)
    try:
        process = subprocess.Popen([server, "-D", "-e", "-f", str(folder / "sshd_config")],
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                   start_new_session=True)
    finally:
        log.close()
    board = PracticeBoard(folder, port, pwd.getpwuid(os.geteuid()).pw_name, board_python,
                          process)
    try:
        _wait_until_it_answers(process, folder, port)
    except BaseException:  # an interrupt too: the sshd runs in a session of its own
        board.stop()
        raise
    return board


def _wait_until_it_answers(process: subprocess.Popen[bytes], folder: Path, port: int) -> None:
    log = folder / "sshd.log"
    wait_listening(
        process, port, START_TIMEOUT_S,
        stopped=lambda: errors.DeviceError(
            "The practice board's sshd stopped at start", where=str(log),
            hint=f"Its log says why:\n{log.read_text(errors='replace')[-1500:]}"),
        late=lambda: errors.DeviceError(
            f"The practice board's sshd did not answer on port {port} in "
            f"{START_TIMEOUT_S:.0f} s", where=str(log),
            hint="Start it again when the machine is less busy"))
