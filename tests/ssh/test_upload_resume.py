"""Uploads resume by content across runs; senders of the same file take turns; leftovers go."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.ssh.conftest import make_board
from tests.ssh.sshd import Sshd, start_sshd
from tests.ssh.test_deploy import payload, sha
from workbench import errors
from workbench.devices.ssh import SSHDevice
from workbench.devices.transfer import ABANDONED_S
from workbench.devices.upload_claim import STALE_S

MB = 1 << 20

# A separate run of the workbench that is killed (as by Ctrl-C or a closed laptop) once
# part of the file is on the board.
KILLED_RUN = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from tests.ssh.conftest import make_board
    from tests.ssh.sshd import Sshd
    server = Sshd(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
    device = make_board(server, Path(sys.argv[5]))

    def die(done, total, rate):
        if done >= int(sys.argv[7]):
            os._exit(9)

    device.ensure(Path(sys.argv[6]), die)
""")


def _killed_run(sshd: Sshd, tmp_path: Path, local: Path, after: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, str(sshd.folder), str(sshd.port), str(sshd.client_key),
         str(sshd.host_key), str(tmp_path), str(local), str(after)],
        cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=120)
    assert done.returncode == 9, done.stderr


def _artifacts(tmp_path: Path) -> Path:
    return tmp_path / "board-cache" / "artifacts"


def test_a_new_run_continues_the_partial_file_a_killed_run_left(sshd: Sshd,
                                                                 tmp_path: Path) -> None:
    local = payload(tmp_path / "model.onnx", 12)
    _killed_run(sshd, tmp_path, local, after=4 * MB)
    partial = _artifacts(tmp_path) / sha(local) / "model.onnx.partial"
    kept = partial.stat().st_size
    assert kept >= 3 * MB
    starts: list[int] = []
    device = make_board(sshd, tmp_path)
    remote = device.ensure(local, lambda done, total, rate: starts.append(done))
    device.close()
    assert starts[0] > kept, "the new run started where the killed one stopped"
    assert sha(remote) == sha(local)
    assert not list(_artifacts(tmp_path).rglob("*.partial"))
    assert not list(_artifacts(tmp_path).rglob("*.writer"))


def test_uploaded_files_and_their_folders_are_private_to_the_account(board: SSHDevice,
                                                                     tmp_path: Path) -> None:
    remote = Path(board.ensure(payload(tmp_path / "model.onnx", 1)))
    assert remote.stat().st_mode & 0o777 == 0o400  # private, and read-only: checked whole
    assert remote.parent.stat().st_mode & 0o777 == 0o700


def test_two_senders_of_the_same_file_one_writes_and_the_other_waits_and_uses_it(
        sshd: Sshd, tmp_path: Path) -> None:
    local = payload(tmp_path / "model.onnx", 8)
    other_waits = threading.Event()
    wrote: list[str] = []
    results: dict[str, str | BaseException] = {}

    def send(who: str) -> None:
        def progress(done: int, total: int, rate: float) -> None:
            if rate > 0:  # this sender writes: hold on until the other one waits for it
                if who not in wrote:
                    wrote.append(who)
                other_waits.wait(60)
            elif done < total:
                other_waits.set()

        device = make_board(sshd, tmp_path)
        try:
            results[who] = device.ensure(local, progress)
        except BaseException as exc:  # reported by the test's own thread below
            results[who] = exc
        finally:
            device.close()

    threads = [threading.Thread(target=send, args=(who,)) for who in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert other_waits.is_set(), "the second sender never waited"
    assert len(wrote) == 1, f"both senders wrote the file: {wrote}"
    assert results["alice"] == results["bob"], results
    assert sha(str(results["alice"])) == sha(local)


def test_a_resumed_partial_file_whose_hash_fails_is_sent_again_from_its_start(
        board: SSHDevice, tmp_path: Path) -> None:
    local = payload(tmp_path / "model.onnx", 4)
    folder = _artifacts(tmp_path) / sha(local)
    folder.mkdir(parents=True)
    (folder / "model.onnx.partial").write_bytes(b"\0" * MB)  # bytes of a run that went wrong
    sent: list[int] = []
    remote = board.ensure(local, lambda done, total, rate: sent.append(done))
    assert sha(remote) == sha(local)
    assert sent[0] > MB, "the first pass continued the partial file"
    restarts = [b for a, b in itertools.pairwise(sent) if b < a]
    assert len(restarts) == 1 and restarts[0] <= MB, sent


def test_a_file_that_arrives_damaged_twice_is_an_error_not_a_loop(board: SSHDevice,
                                                                  tmp_path: Path) -> None:
    local = payload(tmp_path / "model.onnx", 3)
    passes: list[int] = []

    def change_the_file_under_the_upload(done: int, total: int, rate: float) -> None:
        if not passes or done < passes[-1]:  # a pass begins
            with open(local, "r+b") as handle:  # what is sent no longer has the hash
                handle.seek(total - 1)
                handle.write(bytes([len(passes)]))
        passes.append(done)

    with pytest.raises(errors.ArtifactCorrupt, match="damaged twice"):
        board.ensure(local, change_the_file_under_the_upload)
    starts = [b for a, b in itertools.pairwise(passes) if b < a]
    assert len(starts) == 1, "the upload was sent exactly twice"


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_partial_files_abandoned_for_hours_are_removed_by_the_next_upload(
        board: SSHDevice, tmp_path: Path) -> None:
    board.ensure(payload(tmp_path / "first.bin", 1, seed=1))
    old, recent = _artifacts(tmp_path) / ("a" * 64), _artifacts(tmp_path) / ("b" * 64)
    for folder in (old, recent):
        folder.mkdir()
        (folder / "x.bin.partial").write_bytes(b"\1" * 1000)
    _age(old / "x.bin.partial", ABANDONED_S + 60)
    _age(old, ABANDONED_S + 60)
    board.close()  # the next connection measures the board's space anew, and sweeps
    board.ensure(payload(tmp_path / "second.bin", 1, seed=2))
    assert not old.exists()
    assert (recent / "x.bin.partial").exists(), "a partial file of this morning stays"


def test_on_a_short_disk_partial_files_nobody_writes_make_room(sshd: Sshd, tmp_path: Path,
                                                               tmpfs) -> None:  # type: ignore[no-untyped-def]
    artifacts = tmpfs(_artifacts(tmp_path), "4m")
    stale = artifacts / ("c" * 64)
    stale.mkdir()
    (stale / "old.onnx.partial").write_bytes(b"\1" * (3 * MB))
    _age(stale / "old.onnx.partial", STALE_S + 60)
    device = make_board(sshd, tmp_path)
    local = payload(tmp_path / "model.onnx", 2)
    assert sha(device.ensure(local)) == sha(local)
    assert not (stale / "old.onnx.partial").exists()
    device.close()


def test_a_disk_filling_up_where_artifacts_live_is_a_full_disk_not_a_drop(
        sshd: Sshd, tmp_path: Path, tmpfs) -> None:  # type: ignore[no-untyped-def]
    artifacts = tmpfs(_artifacts(tmp_path), "6m")  # another file system than the cache folder
    device = make_board(sshd, tmp_path)
    local = payload(tmp_path / "model.onnx", 4)

    def someone_fills_the_disk(done: int, total: int, rate: float) -> None:
        filler = artifacts / "filler"
        if done >= MB and not filler.exists():
            with open(filler, "wb") as handle, pytest.raises(OSError):
                handle.write(b"\1" * (6 * MB))

    with pytest.raises(errors.DiskFull, match=r"filled up while uploading model\.onnx"):
        device.ensure(local, someone_fills_the_disk)
    assert not list(artifacts.rglob("*.partial"))
    device.close()


def test_a_whole_sshd_killed_mid_upload_is_reported_as_a_drop(client_key: Path,
                                                             tmp_path: Path) -> None:
    server = start_sshd(tmp_path / "own-sshd", client_key)
    device = make_board(server, tmp_path)
    device.probe()

    def kill_the_server(done: int, total: int, rate: float) -> None:
        if done >= 2 * MB and server.process is not None:
            server.stop()

    try:
        with pytest.raises(errors.LinkDropped, match=r"uploading big\.bin"):
            device.ensure(payload(tmp_path / "big.bin", 8), kill_the_server)
    finally:
        device.close()
        server.stop()
