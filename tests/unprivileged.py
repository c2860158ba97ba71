"""Running a command as a user without root, with this test environment's packages.

The tests often run as root, and the test venv's interpreter may live where
other users cannot reach it (a pyenv build under /root). So the unprivileged
user gets a venv of its own, made from a system Python of the same version,
whose ``.pth`` adds the test venv's packages after its own.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

NOBODY = 65534


def ids() -> tuple[int, int]:
    """Whom to run as: this user when not root, else ``nobody``."""
    return (os.geteuid(), os.getegid()) if os.geteuid() != 0 else (NOBODY, NOBODY)


def prefix(uid: int | None = None, gid: int | None = None) -> list[str]:
    """The command prefix that drops root (nothing when the tests are not root)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    default_uid, default_gid = ids()
    return ["setpriv", f"--reuid={uid if uid is not None else default_uid}",
            f"--regid={gid if gid is not None else default_gid}", "--clear-groups", "--"]


def closed_to_user(path: Path) -> Path | None:
    """The first folder on the way to ``path`` that the unprivileged user cannot pass
    (no search permission for it), or None when every one lets it through."""
    if os.geteuid() != 0:
        return None
    uid, gid = ids()
    for folder in [*reversed(path.resolve().parents), path.resolve()]:
        info = folder.stat()
        bit = (stat.S_IXUSR if info.st_uid == uid else
               stat.S_IXGRP if info.st_gid == gid else stat.S_IXOTH)
        if not info.st_mode & bit:
            return folder
    return None


def give(path: Path, uid: int | None = None, gid: int | None = None) -> None:
    """Hand ``path`` and everything under it to the unprivileged user."""
    if os.geteuid() != 0:
        return
    default_uid, default_gid = ids()
    for item in [path, *path.rglob("*")]:
        os.lchown(item, uid if uid is not None else default_uid,
                  gid if gid is not None else default_gid)


@contextmanager
def folder() -> Iterator[Path]:
    """A folder the unprivileged user owns and can reach (pytest's tmp_path is root's alone)."""
    made = Path(tempfile.mkdtemp(prefix="workbench-unprivileged-"))
    made.chmod(0o755)
    give(made)
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


def python_venv(folder: Path, *, with_test_packages: bool = True) -> Path:
    """A venv at ``folder`` the unprivileged user can run; its python. Skips where none can be
    made (no system Python of this version)."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    base = next((p for p in (f"/usr/bin/{version}", f"/usr/local/bin/{version}")
                 if os.path.exists(p)), None)
    if base is None:
        pytest.skip(f"no system {version} that a user without root can run")
    subprocess.run([base, "-m", "venv", "--without-pip", str(folder)], check=True)
    if with_test_packages:
        packages = sysconfig.get_paths()["purelib"]
        closed = closed_to_user(Path(packages))
        if closed is not None:
            pytest.skip(f"the test venv's packages ({packages}) are out of the unprivileged "
                        f"user's reach: {closed} is private to its owner. Clone the project "
                        "where other accounts can read it (a checkout in a folder of mode 0700, "
                        "such as mktemp -d makes, is not)")
        (folder / "lib" / version / "site-packages" / "test-environment.pth").write_text(
            f"import site; site.addsitedir({packages!r})\n")
    return folder / "bin" / "python"


@contextmanager
def sysctl(name: str, value: str) -> Iterator[bool]:
    """Set /proc/sys/<name> (the kernel's protections between accounts: protected_regular,
    ...) for the block where the kernel allows it, and restore it after; yields whether it
    is set."""
    path = Path("/proc/sys") / name
    try:
        old = path.read_text().strip()
        path.write_text(value)
    except OSError:
        yield False
        return
    try:
        yield True
    finally:
        path.write_text(old)


def user_root() -> Path:
    """The folder the tests keep the emulated board's root built without root in: beside
    WORKBENCH_EMULATOR_DIR (``<its parent>/workbench-emulator-user``), made if missing and
    owned by the unprivileged user. Built once (``workbench emulator build --user``, by
    whichever test comes first), then reused by every run. Skips where it cannot be built."""
    configured = os.environ.get("WORKBENCH_EMULATOR_DIR")
    if not configured:
        pytest.skip("WORKBENCH_EMULATOR_DIR is not set: no place to keep the user root between "
                    "runs")
    for tool in ("mmdebstrap", "qemu-aarch64-static"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed: run `bash tests/setup.sh`")
    folder = Path(configured).resolve().parent / "workbench-emulator-user"
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(folder, *ids())
    return folder


def user_env(root_folder: Path, work: Path) -> dict[str, str]:
    """The environment of a command run as the unprivileged user in ``work``, with the user
    root kept in ``root_folder``: no WORKBENCH_ setting of the tests' own leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env.update(HOME=str(work), WORKBENCH_EMULATOR_DIR=str(root_folder),
               WORKBENCH_CACHE_DIR=str(root_folder / "cache"),  # the aarch64 wheels stay with it
               WORKBENCH_CONFIG_DIR=str(work / "config"), WORKBENCH_DATA_DIR=str(work / "data"),
               WORKBENCH_BOARD_DIR=str(work / "board"))
    return env


def build_user_root(root_folder: Path, work: Path,
                    python: Path) -> subprocess.CompletedProcess[str]:
    """``workbench emulator build --user`` into ``root_folder``, run as the unprivileged user
    in ``work`` (a folder it owns) with ``python`` (from :func:`python_venv`)."""
    return subprocess.run([*prefix(), str(python), "-m", "workbench.cli", "emulator", "build",
                           "--user"], env=user_env(root_folder, work), capture_output=True,
                          text=True, timeout=900, cwd=work)


def built_user_root() -> Path:
    """:func:`user_root`, built first where it is not there yet (the first caller builds it,
    whichever test that is; later ones and later runs reuse it)."""
    from workbench.emulator import user_build

    root_folder = user_root()
    if not user_build.is_user_built(root_folder):
        with folder() as work:
            python = python_venv(work / "venv")
            give(work)
            built = build_user_root(root_folder, work, python)
        assert built.returncode == 0, built.stdout + built.stderr
    return root_folder
