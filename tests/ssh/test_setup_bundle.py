"""Device.setup on a board over SSH: a user's own runtime bundle, uploaded and made current."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ssh.conftest import make_board
from tests.ssh.sshd import Sshd
from tests.ssh.test_deploy import payload
from workbench import errors
from workbench.devices.ssh import SSHDevice


def test_a_board_takes_a_bundle_folder_and_points_its_backends_runtime_at_it(
        board: SSHDevice, tmp_path: Path) -> None:
    sdk = tmp_path / "vendor-sdk"
    (sdk / "lib").mkdir(parents=True)
    (sdk / "lib" / "libdelegate.so").write_bytes(b"not really a library")
    uploads: list[tuple[int, int]] = []
    report = board.setup(bundle=[sdk], progress=lambda done, total, rate: uploads.append(
        (done, total)))
    assert report["device"] == board.name and report["parts"][0].startswith("vendor-sdk-")
    current = tmp_path / "board-cache" / "runtime" / "onnxruntime"
    assert current.resolve().name == report["bundle"]
    assert (current / "lib" / "libdelegate.so").read_bytes() == b"not really a library"
    assert uploads and uploads[-1][0] == uploads[-1][1]


def test_a_bundle_that_does_not_fit_is_refused_before_any_part_is_sent(
        sshd: Sshd, tmp_path: Path, tmpfs) -> None:  # type: ignore[no-untyped-def]
    cache = tmpfs(tmp_path / "board-cache", "5m")
    device = make_board(sshd, tmp_path)
    parts = [payload(tmp_path / f"part{n}.whl", 3, seed=n) for n in (1, 2)]  # each one fits
    try:
        with pytest.raises(errors.DiskFull, match=r"needs 6\.3 MB"):
            device.setup(bundle=list(parts))
    finally:
        device.close()
    sent = {p.name for p in (cache / "artifacts").rglob("*") if p.is_file()}
    assert not sent & {"part1.whl", "part2.whl", "part1.whl.partial", "part2.whl.partial"}


def test_a_disk_that_fills_while_the_runtime_unpacks_is_a_full_disk_and_leaves_no_half_runtime(
        sshd: Sshd, tmp_path: Path, tmpfs) -> None:  # type: ignore[no-untyped-def]
    import zipfile

    runtime = tmpfs(tmp_path / "board-cache" / "runtime", "1m")  # the artifacts fit elsewhere
    wheel = tmp_path / "big_runtime-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big_runtime/weights.bin", b"\0" * (3 << 20))  # unpacks to 3 MB
    device = make_board(sshd, tmp_path)
    try:
        with pytest.raises(errors.DiskFull, match="disk is full"):
            device.setup(bundle=[wheel])
    finally:
        device.close()
    assert not list(runtime.glob("*.partial"))


def _bundle(folder: Path, module: str) -> Path:
    folder.mkdir()
    (folder / f"{module}.py").write_text(f"NAME = {module!r}\n")
    return folder


def _imports(device: SSHDevice, module: str, backend: str | None) -> bool:
    code, _, _ = device.exec(device._python_argv("-c", f"import {module}", backend=backend))
    return code == 0


def test_runtimes_of_two_backends_stay_side_by_side_and_a_job_sees_only_its_own(
        board: SSHDevice, tmp_path: Path) -> None:
    board.setup("onnxruntime", bundle=[_bundle(tmp_path / "ort-sdk", "ort_only")])
    board.setup("litert", bundle=[_bundle(tmp_path / "litert-sdk", "litert_only")])
    runtime = tmp_path / "board-cache" / "runtime"
    assert (runtime / "onnxruntime" / "ort_only.py").exists(), "the second setup kept the first"
    assert (runtime / "litert" / "litert_only.py").exists()
    assert _imports(board, "ort_only", "onnxruntime")
    assert not _imports(board, "litert_only", "onnxruntime")
    assert _imports(board, "litert_only", "litert")
    assert not _imports(board, "ort_only", "litert")
    assert _imports(board, "ort_only", None) and _imports(board, "litert_only", None)  # probe


def test_a_backend_name_that_is_not_a_plain_name_is_refused(board: SSHDevice,
                                                            tmp_path: Path) -> None:
    with pytest.raises(errors.InvalidOptionValue, match="not a backend name"):
        board.setup("../x", bundle=[_bundle(tmp_path / "sdk", "anything")])


def test_a_shared_runtime_is_installed_once_read_only_and_every_account_uses_it(
        sshd: Sshd, board: SSHDevice, tmp_path: Path) -> None:
    report = board.setup("onnxruntime", bundle=[_bundle(tmp_path / "ort-sdk", "ort_only")],
                         shared=True)
    assert report["shared"]
    shared = Path(board.board_dir) / "runtime"
    bundle = shared / report["bundle"]
    assert (shared / "onnxruntime").resolve() == bundle
    assert not (tmp_path / "board-cache" / "runtime" / "onnxruntime").exists(), "no own copy"
    for path in [bundle, *bundle.rglob("*")]:
        assert path.stat().st_mode & 0o022 == 0, f"{path} is writable by others"
        assert path.stat().st_mode & 0o004, f"{path} is not readable by others"
    other = make_board(sshd, tmp_path, remote_cache=str(tmp_path / "other-account-cache"))
    try:  # another account: its own cache, the same board folder
        assert _imports(other, "ort_only", "onnxruntime")
        assert not _imports(other, "ort_only", "litert")
    finally:
        other.close()
