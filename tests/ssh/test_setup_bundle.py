"""Device.setup on a board over SSH: a user's own runtime bundle, uploaded and made current."""

from __future__ import annotations

from pathlib import Path

from workbench.devices.ssh import SSHDevice


def test_a_board_takes_a_bundle_folder_and_points_runtime_current_at_it(
        board: SSHDevice, tmp_path: Path) -> None:
    sdk = tmp_path / "vendor-sdk"
    (sdk / "lib").mkdir(parents=True)
    (sdk / "lib" / "libdelegate.so").write_bytes(b"not really a library")
    uploads: list[tuple[int, int]] = []
    report = board.setup(bundle=[sdk], progress=lambda done, total, rate: uploads.append(
        (done, total)))
    assert report["device"] == board.name and report["parts"][0].startswith("vendor-sdk-")
    current = tmp_path / "board-cache" / "runtime" / "current"
    assert current.resolve().name == report["bundle"]
    assert (current / "lib" / "libdelegate.so").read_bytes() == b"not really a library"
    assert uploads and uploads[-1][0] == uploads[-1][1]
