"""Arm NN on a board: what Debian bookworm's arm64 packages need, checked before anything moves.

Arm NN 22 comes from Debian bookworm (``python3-pyarmnn``, ``libarmnn22``,
``libarmnn-cpuacc-backend22`` with the Arm Compute Library,
``libarmnn-cpuref-backend22``, ``libarmnntfliteparser22``). Those binaries need an
aarch64 board with glibc 2.36 or newer, and pyarmnn is built for Python 3.11:
Debian or Raspberry Pi OS bookworm. Ubuntu 22.04 (glibc 2.35) and 24.04 (Python
3.12) cannot take them. A board that does not fit is refused with what it has and
what is needed, before a byte is uploaded.

A board that fits takes Arm NN in one of two ways:

* without root, a bundle of the unpacked packages
  (:mod:`workbench.devices.armnn_bundle`), with a numpy wheel where the board's
  Python has no numpy (pyarmnn needs one), uploaded through
  the content-addressed cache into ``runtime/armnn``; a job of the ``armnn``
  backend runs with only that on its path;
* with ``apt``, where the login is root or may use sudo without a password, the
  board's own apt-get installs the packages for every account.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import errors

if TYPE_CHECKING:
    from workbench.devices.ssh import SSHDevice

#: the Debian bookworm packages that carry Arm NN 22 with its CpuAcc, CpuRef and TfLite parts
DEBIAN_PACKAGES = ("python3-pyarmnn", "libarmnn-cpuacc-backend22", "libarmnn-cpuref-backend22",
                   "libarmnntfliteparser22")
NEEDS_MACHINE = "aarch64"
NEEDS_GLIBC = (2, 36)
NEEDS_PYTHON = (3, 11)


def board_problems(board: dict[str, Any]) -> list[str]:
    """What keeps bookworm's Arm NN from running on a board (its ``board()`` facts), each
    naming what the board has and what is needed; empty when it fits."""
    problems = []
    machine = str(board.get("machine"))
    if machine != NEEDS_MACHINE:
        problems.append(f"the board is {machine}, the packages are built for {NEEDS_MACHINE}")
    libc = [str(part) for part in board.get("libc") or []]
    try:
        glibc = tuple(int(x) for x in libc[1].split(".")[:2]) if libc[0] == "glibc" else None
    except (IndexError, ValueError):
        glibc = None
    if glibc is None or glibc < NEEDS_GLIBC:
        problems.append(f"its C library is {' '.join(libc) or 'unknown'}, they need glibc "
                        f"{'.'.join(map(str, NEEDS_GLIBC))} or newer")
    python = tuple(int(x) for x in list(board.get("version") or [])[:2])
    if python != NEEDS_PYTHON:
        problems.append(f"its Python is {'.'.join(map(str, python))}, pyarmnn is built for "
                        f"Python {'.'.join(map(str, NEEDS_PYTHON))}")
    return problems


def check_board(board: dict[str, Any], where: str) -> None:
    """Raise UnsupportedPlatform when bookworm's Arm NN cannot run on the board."""
    problems = board_problems(board)
    if problems:
        raise errors.UnsupportedPlatform(
            "Debian bookworm's Arm NN 22 cannot run here: " + "; ".join(problems), where=where,
            hint="It needs an aarch64 board with glibc 2.36+ and Python 3.11 (Debian or "
            "Raspberry Pi OS bookworm; Ubuntu 22.04 has glibc 2.35, 24.04 Python 3.12). "
            "Elsewhere, build Arm NN for the board and give it with --bundle")


def bundle_parts(device: SSHDevice, board: dict[str, Any]) -> tuple[list[Path], list[str],
                                                                  dict[str, str | None]]:
    """What a board that fits gets without root: the Arm NN bundle (made once on the host)
    and, where the board's Python has no numpy, a numpy wheel; notes; the Arm NN version
    the bundle carries."""
    from workbench.devices.armnn_bundle import build_bundle
    from workbench.devices.setup import fetch_wheels

    check_board(board, where=f"{device.name} (workbench device setup --backend armnn)")
    archive, manifest = build_bundle()
    wheels: list[Path] = []
    notes: list[str] = []
    if device.exec([device.python, "-c", "import numpy"], timeout=300.0)[0] != 0:
        wheels, notes = fetch_wheels(["numpy"], board)
    return [archive, *wheels], notes, {"armnn": manifest.get("armnn")}


def apt_command(uid: int, sudo: bool) -> list[str] | None:
    """The command that installs Arm NN's packages for a login with this uid, which may (or
    may not) use sudo without a password; None when it may not install packages."""
    install = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y",
               "--no-install-recommends", *DEBIAN_PACKAGES]
    if uid == 0:
        return install
    return ["sudo", "-n", *install] if sudo else None


def install_with_apt(device: SSHDevice, board: dict[str, Any]) -> list[str]:
    """Install Arm NN with the board's apt-get; the packages. Refused, before anything runs,
    where the board does not fit or the login has no rights to install packages."""
    where = f"{device.name} (workbench device setup --backend armnn --apt)"
    check_board(board, where=where)
    code, out, _ = device.exec(["id"])
    login = re.match(r"uid=(\d+)(?:\(([^)]*)\))?", out.strip()) if code == 0 else None
    uid = int(login.group(1)) if login else -1
    sudo = uid != 0 and device.exec(["sudo", "-n", "true"])[0] == 0
    command = apt_command(uid, sudo)
    if command is None:
        name = (login.group(2) or login.group(1)) if login else "?"
        raise errors.BoardEnvironmentError(
            f"apt-get needs root, and the login {name} is not root and cannot use sudo "
            "without a password", where=where,
            hint="Leave out --apt: without root, setup uploads Arm NN as a bundle for this "
            "login. Or an administrator runs on the board: sudo apt-get install "
            "--no-install-recommends " + " ".join(DEBIAN_PACKAGES))
    code, out, err = device.exec(command, timeout=1800.0)
    if code != 0:
        tail = "\n".join((err or out).strip().splitlines()[-8:])
        raise errors.BoardEnvironmentError(
            f"apt-get could not install Arm NN (exit code {code})", where=where,
            hint="Check the board's apt sources (Debian or Raspberry Pi OS bookworm) and run "
            f"`sudo apt-get update` there; apt-get said:\n{tail}")
    return list(DEBIAN_PACKAGES)
