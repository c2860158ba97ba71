"""A port that does not speak SSH gives one clear error, and paramiko prints nothing of its own.

The check runs in a separate Python: pytest's log capture would hide what
logging's last-resort handler prints to a user's terminal.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ssh.conftest import listener

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
    with listener(request.param) as port:
        yield port


def test_a_port_that_is_not_ssh_gives_one_clear_error_without_tracebacks(
        not_ssh: int, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", CONNECT, str(not_ssh), str(tmp_path / "cfg")],
                          capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).parents[2])
    assert done.stdout.startswith("UnreachableHost"), (done.stdout, done.stderr)
    assert "no SSH server answered on port" in done.stdout, done.stdout
    assert "No existing session" not in done.stdout and "Errno 9" not in done.stdout
    assert "Traceback" not in done.stderr and "Exception (client)" not in done.stderr, done.stderr
