"""The emulated board's root built without root: for ``qemu:BOARD`` on Binder and JupyterHub.

    workbench emulator build --user [--mirror URL]

``mmdebstrap --mode=chrootless --variant=extract`` unpacks an arm64 bookworm
Python (and its libraries) into a folder as an ordinary user: no namespaces,
no chroot, no maintainer scripts. The aarch64 wheels of onnxruntime, LiteRT
and numpy go into its dist-packages as for the full root. The result runs
the agent under ``qemu-aarch64-static -L ROOT`` (:mod:`workbench.emulator.user_mode`);
it has no sshd, so ``workbench emulator start`` still needs the full build.

The Debian mirror is given, never read from this machine's apt sources: on an
Ubuntu machine (Binder builds on Ubuntu) those name a mirror without bookworm.
Since no maintainer script runs, the alternatives links that Debian's BLAS and
LAPACK packages would make are made here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from workbench import errors
from workbench.errors import EmulatorUnavailable

#: bumped when the user root's contents change, so an older cached one is rebuilt
USER_ROOT_VERSION = 1
#: Debian's own mirror: bookworm is there whatever the machine's distribution is
DEBIAN_MIRROR = "http://deb.debian.org/debian"
#: what the agent needs in the root besides the runtimes' wheels
USER_PACKAGES = ("python3-minimal", "libpython3.11-stdlib", "libstdc++6", "libgcc-s1")
BUILD_TIMEOUT_S = 900.0


def _report_path(folder: Path) -> Path:
    return folder / "user-build.json"


def read_report(folder: Path) -> dict[str, Any]:
    """The build report in ``folder`` ({} when there is none or it is unreadable)."""
    try:
        report = json.loads(_report_path(folder).read_text())
    except (OSError, ValueError):
        return {}
    return report if isinstance(report, dict) else {}


def is_user_built(folder: Path) -> bool:
    """Whether ``folder`` holds a user root of the current version."""
    report = read_report(folder)
    return (report.get("mode") == "user" and report.get("version") == USER_ROOT_VERSION
            and (folder / "rootfs" / "usr/bin/python3").exists())


def check_user_supported() -> None:
    """Raise EmulatorUnavailable naming the tool this machine lacks for a user build."""
    from workbench.emulator.user_mode import QEMU_USER

    for tool in ("mmdebstrap", QEMU_USER):
        if shutil.which(tool) is None:
            raise EmulatorUnavailable(
                f"{tool} is not installed", where="this machine",
                hint="Install Debian's mmdebstrap, qemu-user-static and debian-archive-keyring "
                "(on Binder: list them in binder/apt.txt)")


def link_blas(root: Path) -> list[str]:
    """Make the libblas.so.3 and liblapack.so.3 links that update-alternatives would make."""
    made = []
    libdir = root / "usr/lib/aarch64-linux-gnu"
    for kind in ("blas", "lapack"):
        for library in sorted((libdir / kind).glob(f"lib{kind}.so.3")):
            link = libdir / library.name
            if not link.exists() and not link.is_symlink():
                link.symlink_to(Path(kind) / library.name)
                made.append(link.name)
    return made


def mmdebstrap_extract(partial: Path, mirror: str, log: Path,
                       packages: tuple[str, ...] = USER_PACKAGES, *, options: tuple[str, ...] = (),
                       doing: str = "Unpacking the aarch64 Debian root") -> None:
    """Unpack bookworm's arm64 ``packages`` and their dependencies into ``partial`` as an
    ordinary user (``mmdebstrap --variant=extract``); DeviceError with the log's end."""
    command = ["mmdebstrap", "--mode=chrootless", "--variant=extract", "--arch=arm64",
               f"--include={','.join(packages)}", *options, "bookworm", str(partial), mirror]
    with open(log, "w") as output:
        try:
            done = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT,
                                  timeout=BUILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise errors.DeviceError(
                f"mmdebstrap did not finish in {BUILD_TIMEOUT_S:.0f} s", where=mirror,
                hint="Check that the mirror answers, or pass a nearer one with --mirror") from None
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise errors.DeviceError(
            f"{doing} failed", where=str(log),
            hint=f"Check the mirror ({mirror}) and debian-archive-keyring. The end of the "
            f"log:\n{tail}")


def _swap_in(partial: Path, rootfs: Path) -> None:
    """Make the whole ``partial`` root the root: the old one is moved aside first and
    removed only once the new one is in place, so a failure never leaves half a root."""
    old = rootfs.with_name("rootfs.old")
    shutil.rmtree(old, ignore_errors=True)
    try:
        if rootfs.exists():
            rootfs.rename(old)
        partial.rename(rootfs)
    except OSError as exc:
        if old.exists() and not rootfs.exists():
            old.rename(rootfs)  # the old root stays the root
        raise errors.EmulatorUnavailable(
            f"Cannot put the new root in place: {exc.strerror}", where=str(rootfs),
            hint=f"Remove {rootfs} (or make it yours) and build again; the new root is kept "
            f"at {partial}") from None
    shutil.rmtree(old, ignore_errors=True)


def build_user(folder: Path, mirror: str = DEBIAN_MIRROR, *,
               force: bool = False) -> dict[str, Any]:
    """Build the user root at ``folder/rootfs`` (replacing an older user root); its report.

    A full root already there (``workbench emulator build``) serves ``qemu:``
    boards as well, and is kept, as is a user root of this version unless
    ``force``: their report is returned (``kept``) with nothing built.
    """
    if is_user_built(folder) and not force:
        return dict(read_report(folder), kept=True)
    from workbench.emulator import PYTHON_IN_ROOT, ROOT_VERSION, _install_runtime

    try:
        full = json.loads((folder / "build.json").read_text())
    except (OSError, ValueError):
        full = {}
    if isinstance(full, dict) and full.get("version") == ROOT_VERSION and (
            folder / "rootfs").is_dir():
        return dict(full, mode="full", kept=True)
    check_user_supported()
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / "rootfs.partial"
    shutil.rmtree(partial, ignore_errors=True)
    started = time.monotonic()
    try:
        mmdebstrap_extract(partial, mirror, folder / "user-build.log")
        links = link_blas(partial)
        wheels = _install_runtime(partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)  # hundreds of MB nobody can use
        raise
    _swap_in(partial, folder / "rootfs")
    report = {"mode": "user", "version": USER_ROOT_VERSION, "built": time.time(),
              "seconds": round(time.monotonic() - started, 1), "mirror": mirror,
              "wheels": wheels, "links": links, "python": ".".join(map(str, PYTHON_IN_ROOT))}
    _report_path(folder).write_text(json.dumps(report))
    return report
