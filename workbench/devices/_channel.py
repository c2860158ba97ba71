"""Reading an SSH channel's streams: a command's output to its end, the agent's stderr.

A channel has one flow-control window for stdout and stderr together: both
streams are read at once, or a command that writes much to the one nobody
reads stalls. Closing the channel ends every reader.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import paramiko

BLOCK = 1 << 16


class _Drain:
    """Reads one stream to its end on a thread of its own; ``recv`` reads one block."""

    def __init__(self, recv: Callable[[int], bytes]) -> None:
        self._recv = recv
        self._blocks: list[bytes] = []
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._read, name="ssh-drain", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for block in iter(lambda: self._recv(BLOCK), b""):
                self._blocks.append(block)
        except Exception as exc:  # the link failed
            self._failure = exc

    def text(self, deadline: float) -> str:
        """Everything the stream held, once it ended before ``deadline`` (time.monotonic)."""
        self._thread.join(max(deadline - time.monotonic(), 0.0))
        if self._failure is not None:
            raise self._failure
        if self._thread.is_alive():
            raise TimeoutError("the command did not finish in time")
        return b"".join(self._blocks).decode("utf-8", "replace")


def run_command(channel: paramiko.Channel, command: str, timeout: float,
                stdin: bytes | None) -> tuple[int, str, str]:
    """Run ``command`` on ``channel`` (a new session), then close it: exit code, stdout, stderr.

    The command has ``timeout`` seconds to finish, else TimeoutError; link
    failures are raised as they come (OSError, EOFError, paramiko.SSHException).
    """
    deadline = time.monotonic() + timeout
    try:
        channel.settimeout(timeout)
        channel.exec_command(command)
        if stdin is not None:
            channel.sendall(stdin)
        channel.shutdown_write()
        # The deadline bounds the wait from here on; closing the channel ends the readers.
        channel.settimeout(None)
        # Both streams are read at once: a command that fills the channel's window with
        # one of them would otherwise wait for a reader busy with the other.
        out, err = _Drain(channel.recv), _Drain(channel.recv_stderr)
        texts = out.text(deadline), err.text(deadline)
        # The exit status comes after the output.
        if not channel.status_event.wait(max(deadline - time.monotonic(), 0.0)):
            raise TimeoutError("the command did not finish in time")
        return channel.recv_exit_status(), *texts
    finally:
        channel.close()


def stderr_lines(channel: paramiko.Channel) -> Iterator[str]:
    """The channel's stderr line by line, until it ends or the channel is closed."""
    stderr = channel.makefile_stderr("r")
    # The agent's channel times reads out to notice a dead link; a quiet stderr is normal.
    while not channel.closed:
        try:
            line = stderr.readline()
        except TimeoutError:
            continue
        if not line:
            return
        yield line
