"""The lines a kept connection and its callers exchange over a Unix socket: JSON, one a line.

A caller sends one request (``{"call": NAME, "args": {...}}``) per socket
connection, and may then send ``{"cancel": true}``; the keeper answers with
``{"event": ...}`` or ``{"progress": [done, total, rate]}`` lines, then one
``{"return": VALUE}`` or ``{"error": ERROR}`` line, where ERROR is a
WorkbenchError's ``to_dict()``, rebuilt on the caller's side as the same class.
"""

from __future__ import annotations

import json
import socket
from typing import Any

from workbench import errors


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
