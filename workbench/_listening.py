"""Waiting for a server this process started (an sshd, a board's launcher) to answer on a
port of this machine."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any

from workbench.errors import WorkbenchError

#: how often the port is tried again (seconds)
POLL_S = 0.1


def wait_listening(process: subprocess.Popen[Any], port: int, timeout_s: float, *,
                   stopped: Callable[[], WorkbenchError],
                   late: Callable[[], WorkbenchError]) -> None:
    """Return once something accepts connections on 127.0.0.1:``port``. Raise ``stopped()``
    when ``process`` ends first, and ``late()`` after ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise stopped()
        try:
            socket.create_connection(("127.0.0.1", port), 1.0).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise late() from None
            time.sleep(POLL_S)
