"""Connecting to a real sshd: host keys, authentication, refused and silent hosts, ProxyJump."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ssh.conftest import make_board
from tests.ssh.sshd import Sshd, free_port, keygen, start_sshd
from workbench import errors
from workbench.devices.ssh import SSHDevice


def test_probe_over_ssh_reports_the_board_like_a_local_probe(board: SSHDevice) -> None:
    from workbench.devices import LocalDevice

    remote, local = board.probe(), LocalDevice().probe()
    assert remote.kind == "ssh" and remote.name == "testboard"
    assert (remote.arch, remote.python, remote.cores) == (local.arch, local.python, local.cores)
    assert remote.runtimes["onnxruntime"] == local.runtimes["onnxruntime"]


def test_the_connection_is_reused_across_calls(board: SSHDevice) -> None:
    first = board.client().get_transport()
    board.probe(refresh=True)
    assert board.client().get_transport() is first


def test_the_connection_reopens_after_a_drop(board: SSHDevice, sshd: Sshd) -> None:
    board.probe()
    sshd.drop_connections()
    info = board.probe(refresh=True)
    assert info.name == "testboard"


def test_an_unknown_host_key_is_refused_with_its_fingerprint(sshd: Sshd, tmp_path: Path) -> None:
    device = make_board(sshd, tmp_path, known_hosts=[])
    with pytest.raises(errors.UnknownHostKey) as caught:
        device.probe()
    assert caught.value.fingerprint == sshd.host_fingerprint
    assert caught.value.key_type == "ssh-ed25519"
    assert "trust_host_key" in str(caught.value)


def test_trusting_the_right_fingerprint_writes_known_hosts_and_then_connects(
        sshd: Sshd, tmp_path: Path) -> None:
    device = make_board(sshd, tmp_path, known_hosts=[])
    path = device.trust_host_key(sshd.host_fingerprint)
    assert f"[127.0.0.1]:{sshd.port} ssh-ed25519" in path.read_text()
    assert device.probe().arch


def test_trusting_a_wrong_fingerprint_trusts_nothing(sshd: Sshd, tmp_path: Path) -> None:
    device = make_board(sshd, tmp_path, known_hosts=[])
    with pytest.raises(errors.UnknownHostKey, match="not the fingerprint given"):
        device.trust_host_key("SHA256:" + "A" * 43)
    assert not (tmp_path / "user_known_hosts").exists()


def test_a_changed_host_key_is_refused_and_known_hosts_left_alone(sshd: Sshd,
                                                                    tmp_path: Path) -> None:
    other = keygen(tmp_path / "impostor").with_suffix(".pub").read_text().split()
    stale = tmp_path / "stale_known_hosts"
    stale.write_text(f"[127.0.0.1]:{sshd.port} {other[0]} {other[1]}\n")
    before = stale.read_text()
    device = make_board(sshd, tmp_path, known_hosts=[stale])
    with pytest.raises(errors.HostKeyChanged, match="host key changed"):
        device.probe()
    with pytest.raises(errors.HostKeyChanged):
        device.trust_host_key(sshd.host_fingerprint)
    assert stale.read_text() == before


def test_a_key_the_board_does_not_accept_is_an_authentication_failure(
        sshd: Sshd, tmp_path: Path) -> None:
    stranger = keygen(tmp_path / "stranger")
    device = make_board(sshd, tmp_path, key_filename=str(stranger))
    with pytest.raises(errors.AuthenticationFailed, match="refused the login"):
        device.probe()


def test_a_passphrase_is_asked_for_and_kept_in_memory_only(sshd: Sshd, tmp_path: Path) -> None:
    locked = keygen(tmp_path / "locked", passphrase="open sesame")
    authorized = sshd.folder / "authorized_keys"
    original = authorized.read_text()
    authorized.write_text(original + locked.with_suffix(".pub").read_text())
    asked: list[str] = []
    try:
        device = make_board(sshd, tmp_path, key_filename=str(locked),
                            ask_secret=lambda prompt: asked.append(prompt) or "open sesame")
        assert device.probe().arch
    finally:
        authorized.write_text(original)
    assert asked == ["Passphrase for the SSH key: "]
    assert not any("open sesame" in p.read_text(errors="ignore")
                   for p in tmp_path.rglob("*") if p.is_file())


def test_a_port_nobody_listens_on_is_connection_refused(sshd: Sshd, tmp_path: Path) -> None:
    device = make_board(sshd, tmp_path, port=free_port())
    with pytest.raises(errors.ConnectionRefused):
        device.probe()





def test_a_host_that_never_answers_times_out_as_unreachable(
        sshd: Sshd, tmp_path: Path, silent_server: int) -> None:
    device = make_board(sshd, tmp_path, port=silent_server, timeout=1)
    with pytest.raises(errors.UnreachableHost, match="handshake"):
        device.probe()


@pytest.fixture(scope="module")
def jump_hosts(tmp_path_factory: pytest.TempPathFactory,
               client_key: Path) -> Iterator[tuple[Sshd, Sshd]]:
    folder = tmp_path_factory.mktemp("jumps")
    open_jump = start_sshd(folder / "open", client_key, "AllowTcpForwarding yes")
    closed_jump = start_sshd(folder / "closed", client_key, "AllowTcpForwarding no")
    yield open_jump, closed_jump
    open_jump.stop()
    closed_jump.stop()


def test_proxy_jump_reaches_the_board_through_a_second_sshd(
        sshd: Sshd, jump_hosts: tuple[Sshd, Sshd], tmp_path: Path) -> None:
    open_jump, closed_jump = jump_hosts
    both = tmp_path / "both_known_hosts"
    both.write_text(sshd.known_hosts.read_text() + open_jump.known_hosts.read_text()
                    + closed_jump.known_hosts.read_text())
    through = make_board(sshd, tmp_path, known_hosts=[both],
                         proxy_jump=f"root@127.0.0.1:{open_jump.port}")
    assert through.probe().arch
    # The same board behind a jump host that forbids forwarding is not reachable: the traffic
    # really goes through the jump host.
    blocked = make_board(sshd, tmp_path, known_hosts=[both],
                         proxy_jump=f"root@127.0.0.1:{closed_jump.port}")
    with pytest.raises(errors.UnreachableHost, match="jump host"):
        blocked.probe()


def test_a_host_alias_resolves_through_the_users_ssh_config(sshd: Sshd, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(f"Host pi5\n  HostName 127.0.0.1\n  Port {sshd.port}\n  User root\n"
                      f"  IdentityFile {sshd.client_key}\n  ConnectTimeout 4\n")
    device = SSHDevice("pi5", ssh_config=config, known_hosts=[sshd.known_hosts],
                       user_known_hosts=tmp_path / "kh", allow_agent=False, look_for_keys=False,
                       remote_cache=str(tmp_path / "cache"))
    endpoint = device.endpoint
    assert (endpoint.hostname, endpoint.port, endpoint.user) == ("127.0.0.1", sshd.port, "root")
    assert endpoint.timeout == 4
    assert device.probe().arch
