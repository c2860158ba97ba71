"""Boards on the test suite's real sshd, registered by name for the server extension's tests.

The server knows devices only by name from the registry, so each board here
is a registry entry (in the tests' private config folder) pointing at an
sshd on 127.0.0.1; it is removed again when the block ends.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.ssh.sshd import Sshd, keygen
from workbench.devices import registry


@contextmanager
def registered_board(name: str, sshd: Sshd, folder: Path, *, trusted: bool = True,
                     authorised: bool = True) -> Iterator[str]:
    """A board named ``name`` on ``sshd``: its host key trusted or not, its login key
    authorised there or not (then it needs credentials the server does not hold).

    The board's cache and board folder (its job lock) are in ``folder``.
    """
    key = sshd.client_key if authorised else keygen(folder / "not_authorised")
    registry.add(name, replace=True, host="127.0.0.1", port=sshd.port, user="root",
                 key_filename=str(key),
                 known_hosts=[str(sshd.known_hosts)] if trusted else [],
                 user_known_hosts=str(folder / "user_known_hosts"),
                 ssh_config=str(folder / "no_ssh_config"), python=sys.executable,
                 remote_cache=str(folder / "board-cache"), board_dir=str(folder / "board"))
    try:
        yield name
    finally:
        registry.remove(name)


def lock_path(folder: Path) -> Path:
    """The job lock of the board registered with ``folder``."""
    return folder / "board" / "board.lock"
