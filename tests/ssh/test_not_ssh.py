"""A port that does not speak SSH gives one clear error, and paramiko prints nothing of its own.

The check runs in a separate Python: pytest's log capture would hide what
logging's last-resort handler prints to a user's terminal.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

CONNECT = textwrap.dedent("""
    import sys
    from workbench import errors
    from workbench.devices.ssh import SSHDevice
    device = SSHDevice("board", host="127.0.0.1", port=int(sys.argv[1]), user="u",
                       ssh_config=sys.argv[2], user_known_hosts=sys.argv[2] + ".known",
                       allow_agent=False, look_for_keys=False, timeout=3)
    try:
        device.probe()
    except errors.ConnectionFailed as exc:
        print(type(exc).__name__, exc)
""")


@pytest.fixture(params=["http", "closes-at-once", "silent"])
def not_ssh(request: pytest.FixtureRequest) -> Iterator[int]:
    """A listener that answers like a web server, closes each connection at once, or holds it
    and never says a word."""
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
            if request.param == "silent":
                held.append(connection)
                continue
            if request.param == "http":
                connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


def test_a_port_that_is_not_ssh_gives_one_clear_error_without_tracebacks(
        not_ssh: int, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", CONNECT, str(not_ssh), str(tmp_path / "cfg")],
                          capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).parents[2])
    assert done.stdout.startswith("UnreachableHost"), (done.stdout, done.stderr)
    assert "no SSH server answered on port" in done.stdout, done.stdout
    assert "No existing session" not in done.stdout and "Errno 9" not in done.stdout
    assert "Traceback" not in done.stderr and "Exception (client)" not in done.stderr, done.stderr
