"""The emulated board's root built without root (``workbench emulator build --user``), as
Binder and JupyterHub users must, and a zoo model profiled on ``qemu:BOARD`` from it.

The root is built by an unprivileged user (``nobody`` when the tests run as root) into
a folder beside WORKBENCH_EMULATOR_DIR (``<its parent>/workbench-emulator-user``), kept
there like the full root: later runs reuse it. The full root is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import unprivileged
from workbench import emulator, errors
from workbench.emulator import user_build


@pytest.fixture(scope="module")
def user_root() -> Path:
    return unprivileged.user_root()


@pytest.fixture
def work() -> Iterator[Path]:
    with unprivileged.folder() as made:
        yield made


def test_a_user_without_root_builds_the_root_and_profiles_a_zoo_model_on_qemu(
        user_root: Path, work: Path) -> None:
    python = unprivileged.python_venv(work / "venv")
    unprivileged.give(work)
    if not user_build.is_user_built(user_root):
        built = unprivileged.build_user_root(user_root, work, python)
        assert built.returncode == 0, built.stdout + built.stderr
        assert "without root" in built.stdout, built.stdout
    cli = [*unprivileged.prefix(), str(python), "-m", "workbench.cli"]

    def run(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli, *args], env=unprivileged.user_env(user_root, work),
                              capture_output=True, text=True, timeout=timeout, cwd=work)

    report = user_build.read_report(user_root)
    assert report["mode"] == "user" and any("onnxruntime" in w for w in report["wheels"])
    assert (user_root / "rootfs" / "usr/bin/python3").exists()
    out = work / "profile.json"
    profiled = run("profile", "zoo:mlp", "--device", "qemu:raspberry-pi-5", "--warmup", "0",
                   "--runs", "3", "--profile-runs", "1", "--json", str(out), timeout=300)
    assert profiled.returncode == 0, profiled.stdout + profiled.stderr
    document = json.loads(out.read_text())
    assert document["device"]["arch"] == "aarch64" and document["device"]["emulated"]
    assert document["kind"] == "emulated" and document["layers"]
    # nothing of the full root was used or changed
    full = os.environ.get("WORKBENCH_EMULATOR_DIR", "")
    assert Path(full).resolve() != user_root


def test_a_user_build_keeps_a_full_root_that_is_already_there(tmp_path: Path) -> None:
    (tmp_path / "rootfs").mkdir()
    (tmp_path / "build.json").write_text(json.dumps({"version": emulator.ROOT_VERSION}))
    report = user_build.build_user(tmp_path, mirror="http://127.0.0.1:9/unused")
    assert report["kept"] and report["mode"] == "full"
    assert (tmp_path / "rootfs").is_dir()


def test_an_unreachable_mirror_fails_with_the_log_and_leaves_no_root(tmp_path: Path) -> None:
    if shutil.which("mmdebstrap") is None or shutil.which("qemu-aarch64-static") is None:
        pytest.skip("mmdebstrap and qemu-user-static are not installed")
    with pytest.raises(errors.DeviceError, match="aarch64 Debian root failed") as failed:
        user_build.build_user(tmp_path, mirror="http://127.0.0.1:9/debian")
    assert "127.0.0.1:9" in (failed.value.hint or "")
    assert not (tmp_path / "rootfs").exists() and not user_build.is_user_built(tmp_path)


def test_without_mmdebstrap_the_user_build_says_what_to_install(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without mmdebstrap or qemu
    with pytest.raises(errors.EmulatorUnavailable, match="mmdebstrap") as missing:
        user_build.build_user(tmp_path / "root")
    assert "apt.txt" in (missing.value.hint or "")


def test_blas_and_lapack_get_the_links_their_maintainer_scripts_would_make(
        tmp_path: Path) -> None:
    libdir = tmp_path / "usr/lib/aarch64-linux-gnu"
    for kind in ("blas", "lapack"):
        (libdir / kind).mkdir(parents=True)
        (libdir / kind / f"lib{kind}.so.3").write_bytes(b"\x7fELF")
    assert user_build.link_blas(tmp_path) == ["libblas.so.3", "liblapack.so.3"]
    assert (libdir / "libblas.so.3").resolve() == (libdir / "blas/libblas.so.3").resolve()
    assert user_build.link_blas(tmp_path) == []  # made once


def test_a_new_user_root_replaces_the_old_one_only_when_it_is_whole(tmp_path: Path) -> None:
    rootfs, partial = tmp_path / "rootfs", tmp_path / "rootfs.partial"
    rootfs.mkdir()
    (rootfs / "old").write_text("old root")
    with pytest.raises(errors.EmulatorUnavailable, match="Cannot put the new root in place"):
        user_build._swap_in(partial, rootfs)  # the new root is not there: the old one stays whole
    assert (rootfs / "old").read_text() == "old root"
    partial.mkdir()
    (partial / "new").write_text("new root")
    user_build._swap_in(partial, rootfs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rootfs"]
    assert (rootfs / "new").exists() and not (rootfs / "old").exists()
