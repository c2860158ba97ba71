"""Arm NN on a board: what Debian bookworm's arm64 packages need, checked before anything moves.

Arm NN 22 comes from Debian bookworm (``python3-pyarmnn``, ``libarmnn22``,
``libarmnn-cpuacc-backend22`` with the Arm Compute Library,
``libarmnn-cpuref-backend22``, ``libarmnntfliteparser22``). Those binaries need an
aarch64 board with glibc 2.36 or newer, and pyarmnn is built for Python 3.11:
Debian or Raspberry Pi OS bookworm. Ubuntu 22.04 (glibc 2.35) and 24.04 (Python
3.12) cannot take them. A board that does not fit is refused with what it has and
what is needed, before a byte is uploaded.
"""

from __future__ import annotations

from typing import Any

from workbench import errors

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


def install_hint() -> str:
    """How to install Arm NN on a board that fits, with the rights to use apt."""
    return ("On the board, with apt rights: sudo apt-get install --no-install-recommends "
            + " ".join(DEBIAN_PACKAGES) + "; or give your own build with --bundle")
