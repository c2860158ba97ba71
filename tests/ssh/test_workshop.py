"""Workshop mode over the real sshd: one known_hosts, seat keys, class check and reset."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from tests.ssh.sshd import Sshd, free_port
from workbench import errors
from workbench.cli import main
from workbench.devices import registry
from workbench.devices.ssh import SSHDevice
from workbench.devices.workshop import (
    class_reset,
    install_seats,
    make_seats,
    read_fingerprints,
    revoke_seat,
    scan_known_hosts,
)


@pytest.fixture
def board(sshd: Sshd, tmp_path: Path) -> str:
    """A board in the registry, as a teacher adds it (its key not yet trusted anywhere)."""
    registry.add("class-board", host="127.0.0.1", port=sshd.port, user="root",
                 key_filename=str(sshd.client_key), known_hosts=[str(sshd.known_hosts)],
                 user_known_hosts=str(tmp_path / "teacher_known_hosts"),
                 ssh_config=str(tmp_path / "no_config"), python=sys.executable,
                 remote_cache=str(tmp_path / "cache"), board_dir=str(tmp_path / "board"))
    yield "class-board"
    registry.remove("class-board")


def student(sshd: Sshd, tmp_path: Path, key: Path, known_hosts: Path) -> SSHDevice:
    """A student's device: the class's known_hosts only, a seat key only."""
    return SSHDevice("seat", host="127.0.0.1", port=sshd.port, user="root",
                     key_filename=str(key), known_hosts=[known_hosts],
                     user_known_hosts=tmp_path / "student_known_hosts",
                     ssh_config=tmp_path / "no_config", allow_agent=False, look_for_keys=False,
                     python=sys.executable, remote_cache=str(tmp_path / "student-cache"),
                     board_dir=str(tmp_path / "board"), timeout=5)


def test_the_class_known_hosts_is_checked_against_console_fingerprints_before_it_is_written(
        sshd: Sshd, board: str, tmp_path: Path) -> None:
    console = tmp_path / "console.txt"
    console.write_text(f"# read on each board's console\n{board} 256 SHA256:AAAAnotthekey "
                       "root@board (ED25519)\n")
    out = tmp_path / "class_known_hosts"
    with pytest.raises(errors.HostKeyChanged, match="class-board presents SHA256:"):
        scan_known_hosts([board], out, read_fingerprints(console))
    assert not out.exists()
    console.write_text(f"{board} {sshd.host_fingerprint}\n")
    found = scan_known_hosts([board], out, read_fingerprints(console))
    assert found == {"known_hosts": str(out), "trust_on_first_use": False,
                     "fingerprints": {board: sshd.host_fingerprint}}
    # no question asked: the class's file knows the board
    assert student(sshd, tmp_path, sshd.client_key, out).status()["lock"]["held"] is False


def test_seat_keys_are_private_restricted_and_one_command_revokes_a_seat(
        sshd: Sshd, board: str, tmp_path: Path) -> None:
    authorized = str(sshd.folder / "authorized_keys")
    seats = make_seats(tmp_path / "seats", 2)
    assert [s.name for s in seats] == ["seat-01", "seat-02"]
    assert all(stat.S_IMODE(s.key_file.stat().st_mode) == 0o600 for s in seats)
    assert make_seats(tmp_path / "seats", 2) == seats  # handed out again: the same keys
    install_seats([board], seats, authorized_keys=authorized)
    try:
        lines = Path(authorized).read_text().splitlines()
        assert [line.split()[0] for line in lines if "workbench-seat:" in line] == [
            "restrict", "restrict"]
        # a restricted key still runs jobs: commands and SFTP, no terminal or forwarding
        first = student(sshd, tmp_path, seats[0].key_file, sshd.known_hosts)
        assert first.status()["lock"]["held"] is False
        first.close()
        # one command takes a seat off every board
        assert main(["class", "revoke", "seat-01", board, "--authorized-keys", authorized]) == 0
    finally:
        removed = revoke_seat([board], "seat-02", authorized_keys=authorized)
        revoke_seat([board], "seat-01", authorized_keys=authorized)
    assert removed == {board: 1}
    with pytest.raises(errors.AuthenticationFailed):
        student(sshd, tmp_path, seats[0].key_file, sshd.known_hosts).probe()
    assert "workbench-seat:" not in Path(authorized).read_text()


def test_class_check_reports_each_board_and_an_unreachable_one_with_its_reason(
        board: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry.add("gone-board", host="127.0.0.1", port=free_port(), user="root", timeout=3)
    try:
        assert main(["class", "check", board, "gone-board", "--json"]) == 1
    finally:
        registry.remove("gone-board")
    rows = {row["board"]: row for row in json.loads(capsys.readouterr().out)}
    ready = rows[board]
    assert ready["reachable"] is True and ready["runtimes"]["onnxruntime"]
    assert ready["disk_free_bytes"] > 0 and ready["lock_held"] is False
    assert abs(ready["clock_offset_s"]) < 60  # one machine: one clock
    assert rows["gone-board"]["reachable"] is False
    assert "gone-board" in rows["gone-board"]["error"] or "127.0.0.1" in rows["gone-board"][
        "error"]


def test_class_reset_clears_the_boards_caches_and_reports_a_board_it_cannot_reach(
        board: str) -> None:
    registry.add("gone-board", host="127.0.0.1", port=free_port(), user="root", timeout=3)
    try:
        done = class_reset([board, "gone-board"])
    finally:
        registry.remove("gone-board")
    assert "error" not in done[board]
    assert "127.0.0.1" in done["gone-board"]["error"]


def test_a_missing_fingerprints_file_is_named_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(errors.InvalidOptionValue) as caught:
        read_fingerprints(tmp_path / "consoles.txt")
    assert caught.value.where == str(tmp_path / "consoles.txt")
    assert "SHA256" in caught.value.hint


def test_a_seat_whose_public_key_file_is_lost_gets_it_back_from_its_private_key(
        tmp_path: Path) -> None:
    folder = tmp_path / "seats"
    first = make_seats(folder, 2)
    (folder / "seat-01.pub").unlink()
    (folder / "seat-02.pub").write_text("")
    assert make_seats(folder, 2) == first
    assert (folder / "seat-01.pub").read_text().split()[:2] == first[0].public_key.split()
    # a key file that is not a key is named, with what to do
    (folder / "seat-02").write_text("not a key\n")
    (folder / "seat-02.pub").unlink()
    with pytest.raises(errors.InvalidOptionValue) as caught:
        make_seats(folder, 2)
    assert caught.value.where == str(folder / "seat-02")
