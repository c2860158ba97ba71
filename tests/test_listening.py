"""Waiting for a server this process started: it answers, it stops, or it is late."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from workbench import errors
from workbench._listening import wait_listening


def _stopped() -> errors.WorkbenchError:
    return errors.DeviceError("it stopped", where="test")


def _late() -> errors.WorkbenchError:
    return errors.DeviceError("it is late", where="test")


def test_the_wait_ends_once_the_started_server_listens() -> None:
    server = subprocess.Popen(
        [sys.executable, "-c", "import socket, sys\ns = socket.socket()\n"
         "s.bind(('127.0.0.1', 0))\ns.listen(1)\nprint(s.getsockname()[1], flush=True)\n"
         "sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        wait_listening(server, port, 30, stopped=_stopped, late=_late)
    finally:
        server.kill()
        server.wait()


def test_a_server_that_ends_before_it_listens_raises_the_stopped_error() -> None:
    server = subprocess.Popen([sys.executable, "-c", "pass"])
    server.wait()
    with pytest.raises(errors.DeviceError, match="it stopped"):
        wait_listening(server, 9, 30, stopped=_stopped, late=_late)


def test_a_server_that_never_listens_raises_the_late_error_after_the_time_limit() -> None:
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        server = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                                  stdin=subprocess.PIPE)
        try:
            with pytest.raises(errors.DeviceError, match="it is late"):
                wait_listening(server, port, 0.2, stopped=_stopped, late=_late)
        finally:
            server.kill()
            server.wait()
