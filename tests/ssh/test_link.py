"""The SSH link itself: commands with a loud stderr, ~/.ssh/config read once per connection,
close() leaving no session open, and ProxyJump through several hops."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, until
from tests.ssh.conftest import make_board
from tests.ssh.sshd import Sshd, start_sshd
from workbench import errors
from workbench.devices.ssh import SSHDevice


def test_a_command_that_fills_stderr_returns_with_all_of_it(board: SSHDevice) -> None:
    # Far more than the channel's window: the command blocks until its stderr is read.
    script = "import sys; sys.stdout.write('done'); sys.stderr.write('x' * 2**23)"
    code, out, err = board.exec([sys.executable, "-c", script], timeout=20)
    assert (code, out) == (0, "done")
    assert err == "x" * 2**23


def test_a_command_that_outlives_its_timeout_is_given_up(board: SSHDevice) -> None:
    with pytest.raises(errors.DeviceError, match="did not finish in time"):
        board.exec(["sleep", "5"], timeout=1)


def test_the_ssh_config_is_read_once_per_connection(sshd: Sshd, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import paramiko

    config = tmp_path / "ssh_config"
    config.write_text(f"Host testboard\n  Port {sshd.port}\n")
    reads: list[str] = []
    read = paramiko.SSHConfig.from_path

    def counted(path: str) -> paramiko.SSHConfig:
        reads.append(path)
        return read(path)

    monkeypatch.setattr(paramiko.SSHConfig, "from_path", staticmethod(counted))
    device = make_board(sshd, tmp_path, ssh_config=config, port=None)
    with device:
        for _ in range(3):  # a channel each
            assert device.exec(["true"])[0] == 0
        device.ensure(config)  # and the SFTP session
        assert reads == [str(config)]
        config.write_text("Host testboard\n  Port 1\n")
        assert device.endpoint.port == sshd.port, "an edit counts from the next connection"
    assert device.endpoint.port == 1
    assert len(reads) == 2


def test_proxy_jump_hops_are_read_as_ssh_config_writes_them() -> None:
    from workbench.devices.ssh_connect import jump_hops, parse_hop

    assert jump_hops("bastion, pi@gate:2200") == ["bastion", "pi@gate:2200"]
    assert parse_hop("bastion") == (None, "bastion", None)
    assert parse_hop("pi@gate:2200") == ("pi", "gate", 2200)
    assert parse_hop("ssh://pi@[fd00::7]:2200") == ("pi", "fd00::7", 2200)
    with pytest.raises(errors.DeviceError, match="no valid port"):
        parse_hop("gate:ssh")


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory,
          client_key: Path) -> Iterator[tuple[Sshd, Sshd, Sshd]]:
    """Two jump hosts and a board of their own; each hop may forward only to the next one."""
    folder = tmp_path_factory.mktemp("chain")
    board = start_sshd(folder / "board", client_key)
    second = start_sshd(folder / "second", client_key,
                        f"AllowTcpForwarding yes\nPermitOpen 127.0.0.1:{board.port}")
    first = start_sshd(folder / "first", client_key,
                       f"AllowTcpForwarding yes\nPermitOpen 127.0.0.1:{second.port}")
    yield first, second, board
    for server in (first, second, board):
        server.stop()


def _hop(server: Sshd) -> str:
    return f"root@127.0.0.1:{server.port}"


def _behind(chain: tuple[Sshd, Sshd, Sshd], tmp_path: Path, proxy_jump: str,
            trusted: tuple[Sshd, ...] = ()) -> SSHDevice:
    """A device for the chain's board through ``proxy_jump``, trusting ``trusted`` (all)."""
    known = tmp_path / "chain_known_hosts"
    known.write_text("".join(server.known_hosts.read_text() for server in trusted or chain))
    return make_board(chain[2], tmp_path, known_hosts=[known], proxy_jump=proxy_jump)


def test_proxy_jump_crosses_each_hop_in_order(chain: tuple[Sshd, Sshd, Sshd],
                                             tmp_path: Path) -> None:
    first, second, _ = chain
    with _behind(chain, tmp_path, f"{_hop(first)},{_hop(second)}") as device:
        assert device.exec(["echo", "on the board"])[1] == "on the board\n"
        assert all(server.sessions() for server in chain)
    # The other way round, the second hop would have to reach the first: it may not.
    with _behind(chain, tmp_path, f"{_hop(second)},{_hop(first)}") as device, \
            pytest.raises(errors.UnreachableHost, match="jump host"):
        device.exec(["true"])


def test_a_proxy_jump_chain_in_the_ssh_config_names_its_hops_by_alias(
        chain: tuple[Sshd, Sshd, Sshd], tmp_path: Path) -> None:
    first, second, board = chain
    config = tmp_path / "ssh_config"
    config.write_text(f"Host first\n  HostName 127.0.0.1\n  Port {first.port}\n  User root\n"
                      f"Host second\n  HostName 127.0.0.1\n  Port {second.port}\n  User root\n"
                      f"Host testboard\n  HostName 127.0.0.1\n  Port {board.port}\n"
                      "  ProxyJump first,second\n")
    known = tmp_path / "chain_known_hosts"
    known.write_text("".join(server.known_hosts.read_text() for server in chain))
    with make_board(board, tmp_path, ssh_config=config, host=None, port=None, proxy_jump=None,
                    known_hosts=[known]) as device:
        assert device.exec(["true"])[0] == 0


@pytest.mark.parametrize("untrusted", [0, 1], ids=["first hop", "second hop"])
def test_the_host_key_of_every_hop_is_checked(chain: tuple[Sshd, Sshd, Sshd], tmp_path: Path,
                                              untrusted: int) -> None:
    first, second, _ = chain
    trusted = tuple(server for server in chain if server is not chain[untrusted])
    with _behind(chain, tmp_path, f"{_hop(first)},{_hop(second)}", trusted) as device, \
            pytest.raises(errors.UnknownHostKey) as caught:
        device.exec(["true"])
    assert caught.value.fingerprint == chain[untrusted].host_fingerprint


@pytest.mark.parametrize("hops", [1, 2])
def test_close_leaves_no_session_on_the_board_nor_its_jump_hosts(
        chain: tuple[Sshd, Sshd, Sshd], tmp_path: Path, hops: int) -> None:
    servers = chain[-1 - hops:]
    device = _behind(chain, tmp_path, ",".join(map(_hop, servers[:-1])))
    device.ensure(tmp_path / "chain_known_hosts")  # a command channel and the SFTP session
    assert all(server.sessions() for server in servers)
    device.close()
    until(lambda: not any(server.sessions() for server in servers))
    device.close()  # closing again is harmless
    assert device.exec(["true"])[0] == 0, "the next use connects again"
    device.close()


def test_close_leaves_no_session_on_a_board_reached_directly(
        chain: tuple[Sshd, Sshd, Sshd], tmp_path: Path) -> None:
    board = chain[2]
    device = make_board(board, tmp_path)
    device.ensure(board.known_hosts)
    device.close()
    until(lambda: not board.sessions())


def test_the_upload_and_run_helpers_never_import_the_ssh_device() -> None:
    # One way: ssh.py hands them what they need; they do not reach back, not even for types.
    devices = ROOT / "workbench" / "devices"
    for helper in ("transfer.py", "_run.py", "_watch.py", "_stream.py", "ssh_connect.py"):
        tree = ast.parse((devices / helper).read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                     for alias in node.names}
        assert "workbench.devices.ssh" not in imported, helper
