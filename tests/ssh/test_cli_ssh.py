"""`workbench profile --device NAME` against a registered board behind a real sshd."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.ssh.sshd import Sshd
from tests.test_cli import workbench


def test_profile_on_a_registered_board_works_exactly_as_locally(
        sshd: Sshd, tmp_path: Path, conv_model: Path) -> None:
    added = workbench("devices", "add", "bench-board", "--host", "127.0.0.1", "--port",
                      str(sshd.port), "--user", "root", "--key", str(sshd.client_key),
                      "--known-hosts", str(sshd.known_hosts), "--python", sys.executable,
                      "--remote-cache", str(tmp_path / "board-cache"))
    assert added.returncode == 0, added.stderr
    done = workbench("profile", str(conv_model), "--device", "bench-board", "--runs", "3",
                     "--profile-runs", "1", "-q", "--json", str(tmp_path / "p.json"),
                     "--out", str(tmp_path / "r.html"))
    assert done.returncode == 0, done.stderr
    document = json.loads((tmp_path / "p.json").read_text())
    assert document["device"]["name"] == "bench-board" and document["device"]["kind"] == "ssh"
    probe = workbench("device", "probe", "bench-board")
    assert "bench-board (ssh)" in probe.stdout
    assert "target: " in probe.stdout  # what detection makes of the board's /proc/cpuinfo
    workbench("devices", "remove", "bench-board")


def test_an_unknown_host_key_on_the_command_line_shows_the_fingerprint_and_the_trust_command(
        sshd: Sshd, tmp_path: Path, conv_model: Path) -> None:
    workbench("devices", "add", "new-board", "--host", "127.0.0.1", "--port", str(sshd.port),
              "--user", "root", "--key", str(sshd.client_key),
              "--remote-cache", str(tmp_path / "board-cache"))
    done = workbench("device", "probe", "new-board")
    assert done.returncode == 2
    assert sshd.host_fingerprint in done.stderr and "trust_host_key" in done.stderr
    workbench("devices", "remove", "new-board")
