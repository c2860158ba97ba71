"""Who may stop an emulated board: it runs while someone holds it, and only ``--all``
stops it from under a holder.

The board here is a stand-in (a fake, named so): a process in a session of its own that
listens on a port, recorded in the state file as :func:`emulator.start` records a board,
in an emulator folder of the test's own. What is tested is the bookkeeping, which needs
no qemu, and a real board's folder is shared by everyone who tests on this machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import wait_gone
from tests.test_cli import workbench
from workbench import emulator

STAND_IN = ("import socket, sys, time\nserver = socket.socket()\n"
            "server.bind(('127.0.0.1', 0))\nserver.listen()\n"
            "print(server.getsockname()[1], flush=True)\ntime.sleep(600)\n")


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[subprocess.Popen[str]]:
    """A stand-in board "raspberry-pi-5" held by the command line and by a holder that never
    lets go, in an emulator folder of this test's own."""
    monkeypatch.setenv("WORKBENCH_EMULATOR_DIR", str(tmp_path))
    process = subprocess.Popen([sys.executable, "-c", STAND_IN], stdout=subprocess.PIPE,
                               text=True, start_new_session=True)
    assert process.stdout is not None
    port = int(process.stdout.readline())
    (tmp_path / "state-raspberry-pi-5.json").write_text(json.dumps(
        {"board": "raspberry-pi-5", "device": "emu-pi5", "pid": process.pid, "port": port,
         "qemu_cpu": "cortex-a76", "holders": [emulator.COMMAND_LINE_HOLDER, "a notebook"]}))
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_a_stop_lets_go_of_the_callers_hold_and_the_board_runs_on_for_the_other_holder(
        stand_in: subprocess.Popen[str]) -> None:
    done = workbench("emulator", "stop")
    assert done.returncode == 0, done.stderr
    assert "stopped: nothing" in done.stdout
    assert "still running: emu-pi5, used by a notebook (--all stops it)" in done.stdout
    assert [s["holders"] for s in emulator.status()] == [["a notebook"]]
    assert stand_in.poll() is None


def test_a_holder_whose_process_ended_holds_nothing(
        stand_in: subprocess.Popen[str], tmp_path: Path) -> None:
    ended = subprocess.run([sys.executable, "-c", "from workbench import emulator\n"
                            "print(emulator.this_process())"], capture_output=True, text=True,
                           check=True).stdout.strip()
    state_path = tmp_path / "state-raspberry-pi-5.json"
    state = json.loads(state_path.read_text())
    state["holders"] = [ended, "a notebook"]
    state_path.write_text(json.dumps(state))
    assert emulator.stop(holder="a notebook") == ["raspberry-pi-5"]
    assert wait_gone(stand_in.pid) and emulator.status() == []


def test_stop_all_stops_a_board_whoever_holds_it(stand_in: subprocess.Popen[str]) -> None:
    done = workbench("emulator", "stop", "--all")
    assert done.returncode == 0, done.stderr
    assert "stopped: raspberry-pi-5" in done.stdout and "still running" not in done.stdout
    assert wait_gone(stand_in.pid) and emulator.status() == []
    assert os.listdir(Path(os.environ["WORKBENCH_EMULATOR_DIR"])) == ["state.lock"]
