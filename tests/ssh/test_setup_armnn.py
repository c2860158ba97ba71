"""Setting up Arm NN: the board is checked against what Debian bookworm's arm64 packages
need; a bookworm arm64 board without root takes the host's bundle of them and runs a profile
on CpuAcc; ``apt`` is refused for a login without the rights to use it."""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import workbench as wb
from tests import unprivileged
from tests.ssh.conftest import make_board, register_board
from tests.ssh.sshd import Sshd, start_sshd
from tests.test_cli import workbench
from workbench import errors
from workbench.devices.armnn_bundle import dependency_names, unmet
from workbench.devices.armnn_setup import DEBIAN_PACKAGES, apt_command, board_problems
from workbench.devices.ssh import SSHDevice


def test_the_x86_test_board_is_refused_naming_what_it_is_and_what_is_needed(
        board: SSHDevice) -> None:
    facts = board.board()
    with pytest.raises(errors.UnsupportedPlatform) as caught:
        board.setup("armnn")
    what = caught.value.what
    assert f"the board is {facts['machine']}" in what and "built for aarch64" in what
    assert "bookworm" in (caught.value.hint or "") and "--bundle" in (caught.value.hint or "")
    # Refused before anything moved: no runtime folder on the board.
    code, _, _ = board.exec(["test", "-e", f"{board.cache}/runtime/armnn"])
    assert code != 0


@pytest.mark.parametrize(("facts", "named"), [
    ({"machine": "aarch64", "libc": ["glibc", "2.35"], "version": [3, 10, 12]},
     ["glibc 2.35", "glibc 2.36 or newer", "Python is 3.10"]),  # Ubuntu 22.04
    ({"machine": "aarch64", "libc": ["glibc", "2.39"], "version": [3, 12, 3]},
     ["Python is 3.12", "Python 3.11"]),  # Ubuntu 24.04
    ({"machine": "armv7l", "libc": ["glibc", "2.36"], "version": [3, 11, 2]},
     ["armv7l", "aarch64"]),  # 32-bit Raspberry Pi OS bookworm
])
def test_a_board_outside_bookworm_arm64_is_named_with_what_it_lacks(
        facts: dict[str, object], named: list[str]) -> None:
    problems = "; ".join(board_problems(facts))
    assert all(part in problems for part in named)


def test_a_bookworm_arm64_board_fits() -> None:
    assert board_problems({"machine": "aarch64", "libc": ["glibc", "2.36"],
                           "version": [3, 11, 2]}) == []


# --- a bookworm arm64 board without Arm NN, over the test sshd --------------------------------
#
# The board's Python is the aarch64 Python 3.11 of the user root (`workbench emulator build
# --user`, which the suite builds and keeps beside WORKBENCH_EMULATOR_DIR) run by qemu-user:
# an arm64 Debian bookworm Python with glibc 2.36 and no Arm NN, reached over real SSH.
# Commands other than Python (id, sudo, apt-get) run on this machine, as on any board.


@pytest.fixture(scope="module")
def user_root() -> Path:
    # built here when no test before built it (the suite keeps it between runs)
    root = unprivileged.built_user_root() / "rootfs"
    # the board must lack Arm NN for the bundle to be what runs
    assert not list(root.glob("usr/lib/python3*/dist-packages/pyarmnn"))
    return root


def arm64_python(root: Path, folder: Path) -> str:
    """A program that runs the root's aarch64 Python under qemu-user (a board's python), as
    the qemu: Raspberry Pi 5 runs it: through its view of the root, whose /proc/cpuinfo
    onnxruntime reads as it loads (a bare root has none, and onnxruntime crashes)."""
    from workbench.emulator.user_mode import QemuUserDevice

    board = QemuUserDevice("raspberry-pi-5", root=root)
    unprivileged.give(board.view.parent)  # the views stay the unprivileged user's to update
    script = folder / "python3-aarch64"
    script.write_text("#!/bin/sh\nexec " + shlex.join(board.qemu_command(board.python))
                      + ' "$@"\n')
    script.chmod(0o755)
    return str(script)


@pytest.fixture(scope="module")
def bundle_cache(user_root: Path) -> Path:
    """The host cache the Arm NN bundle is made in once and then kept, like the user root."""
    return user_root.parent.parent / "workbench-armnn-bundle"


@pytest.mark.slow
def test_a_bookworm_arm64_board_without_arm_nn_gets_the_bundle_and_profiles_on_cpuacc(
        sshd: Sshd, tmp_path: Path, user_root: Path, bundle_cache: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(bundle_cache))
    device = make_board(sshd, tmp_path, python=arm64_python(user_root, tmp_path), warm=False,
                        timeout=30)
    try:
        report = device.setup("armnn")
        armnn = report["versions"]["armnn"]
        # the version the host's bundle carries is the one the board now reports
        assert armnn["host"] and armnn["host"] == armnn["board"] and report["skew"] == []
        assert report["machine"] == "aarch64" and report["python"].startswith("3.11")
        # the bundle alone: the board's Python has numpy, so no numpy wheel goes with it
        assert [part[:6] for part in report["parts"]] == ["armnn-"]
        assert {"CpuAcc", "CpuRef"} <= set(device.probe().providers("armnn"))
        p = wb.profile("zoo:small-cnn.tflite", device=device, backend="armnn", warmup=0,
                       runs=1, profile_runs=1)
    finally:
        device.close()
    assert p.document["delegation"]["providers"] == ["CpuAcc"]
    kernels = {k["name"] for row in p.layers for k in row["kernels"]}
    assert kernels and all(name.startswith("NE") for name in kernels)


@pytest.fixture
def plain_login(tmp_path_factory: pytest.TempPathFactory,
                client_key: Path) -> Iterator[tuple[str, Sshd]]:
    """A throwaway account without root or sudo, and an sshd where it logs in with the test
    key from its own ~/.ssh/authorized_keys."""
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("making an account needs root and useradd")
    name = f"wbapt{uuid.uuid4().hex[:8]}"
    # '*': no password, but not locked (sshd refuses locked accounts without PAM)
    subprocess.run(["useradd", "-m", "-p", "*", "-s", "/bin/sh", name], check=True,
                   capture_output=True)
    server = None
    try:
        account = pwd.getpwnam(name)
        keys = Path(account.pw_dir) / ".ssh" / "authorized_keys"
        keys.parent.mkdir(mode=0o700)
        keys.write_text(client_key.with_suffix(".pub").read_text())
        for path in (keys.parent, keys):
            os.chown(path, account.pw_uid, account.pw_gid)
        server = start_sshd(tmp_path_factory.mktemp("sshd-apt"), client_key,
                            extra_config=f"Match User {name}\n    AuthorizedKeysFile "
                            ".ssh/authorized_keys")
        yield name, server
    finally:
        if server is not None:
            server.stop()
        subprocess.run(["userdel", "-r", "-f", name], capture_output=True, check=False)


def test_apt_is_refused_for_a_login_without_root_or_sudo_naming_the_bundle_instead(
        user_root: Path, plain_login: tuple[str, Sshd]) -> None:
    name, server = plain_login
    home = Path(pwd.getpwnam(name).pw_dir)
    device = make_board(server, home, user=name, python=arm64_python(user_root, home),
                        remote_cache=None, board_dir=str(home / "board"), timeout=30)
    try:
        with pytest.raises(errors.BoardEnvironmentError) as caught:
            device.setup("armnn", apt=True)
    finally:
        device.close()
    assert f"login {name} is not root" in caught.value.what
    assert "Leave out --apt" in (caught.value.hint or "")
    assert "sudo apt-get install" in (caught.value.hint or "")


def test_apt_runs_apt_get_as_root_through_sudo_for_others_and_not_at_all_without_rights() -> None:
    as_root = apt_command(0, sudo=False)
    assert as_root is not None and as_root[:2] == ["env", "DEBIAN_FRONTEND=noninteractive"]
    assert as_root[2:6] == ["apt-get", "install", "-y", "--no-install-recommends"]
    assert set(DEBIAN_PACKAGES) <= set(as_root)
    assert apt_command(1000, sudo=True) == ["sudo", "-n", *as_root]
    assert apt_command(1000, sudo=False) is None


def test_apt_is_for_arm_nn_alone(board: SSHDevice) -> None:
    with pytest.raises(errors.InvalidOptionValue, match="--apt"):
        board.setup("onnxruntime", apt=True)


def test_a_bundled_package_that_needs_more_than_a_bookworm_board_has_stops_the_bundle() -> None:
    packages = {"libarmnn22": {"Depends": "libc6 (>= 2.34), libstdc++6 (>= 12)"},
                "python3-pyarmnn": {"Depends": "libarmnn22 (= 20.08-12), python3 (<< 3.12), "
                                    "python3-numpy, libnew1 | libold0"}}
    assert unmet(packages) == {"python3-pyarmnn": ["libnew1"]}
    assert dependency_names("python3 (>= 3.11~), python3:any") == ["python3", "python3:any"]


def test_the_command_line_takes_apt_and_refuses_the_x86_board_before_running_apt_get(
        sshd: Sshd, tmp_path: Path) -> None:
    register_board("apt-board", sshd, tmp_path)
    try:
        done = workbench("device", "setup", "apt-board", "--backend", "armnn", "--apt")
    finally:
        workbench("devices", "remove", "apt-board")
    assert done.returncode != 0
    assert "built for aarch64" in done.stderr and "--backend armnn --apt" in done.stderr
