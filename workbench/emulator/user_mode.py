"""The emulated board without root or namespaces: the agent under ``qemu-aarch64-static -L``.

For places where user namespaces are not available (no root, Binder,
JupyterHub): a root file system (from ``workbench emulator build --user``,
which needs no root, or a full ``workbench emulator build``) and qemu-user
run the aarch64 Python, numpy and onnxruntime of that root directly, with
no SSH. Limits, said plainly: there is no binfmt registration, so any
subprocess a runner starts runs a *host* binary; and the board is this
machine's files seen through the root (``-L``), not a separate machine.

Every board sees the root through a view of its own (``qemu-user/BOARD`` beside
the root): links to the root's system folders (``usr``, ``etc``, ...), and a
``proc/cpuinfo`` with the preset's text. The folders where this machine's
users and jobs keep their files (``/root``, ``/home``, ``/tmp``, ``/var``, ...)
are not linked, so the board finds the host's own there. A link there also
broke every path lookup through it: the links' targets start with ``/var``,
which the view maps again, so ``realpath`` looped (onnxruntime refused the
per-layer diff's saved graph with "Too many levels of symbolic links").

qemu-user's ``-L`` reads ``/proc/cpuinfo`` from the view, so two boards
connected at once (a comparison, the server's status checks) each see
their own core; a single cpuinfo file in the root itself went to the board
connected last.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from workbench import errors
from workbench._atomic import write_atomic
from workbench._paths import agent_root
from workbench.devices.base import DeviceInfo
from workbench.devices.local import LocalDevice
from workbench.emulator.presets import PRESETS, Preset

QEMU_USER = "qemu-aarch64-static"
#: this machine's Python settings that the board's Python must not take (see ``_env``)
HOST_PYTHON_SETTINGS = frozenset({"PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE",
                                  "PYTHONSTARTUP", "PYTHONPLATLIBDIR", "VIRTUAL_ENV"})


class QemuUserDevice(LocalDevice):
    """The agent run by qemu-user from an aarch64 root: same seam as a local device."""

    kind = "emulated"

    def __init__(self, board: str = "raspberry-pi-5", root: Path | None = None) -> None:
        from workbench.emulator import emulator_dir

        if board not in PRESETS:
            raise errors.InvalidOptionValue(f"No emulated preset for {board!r}",
                                            where="qemu-user device",
                                            hint=f"Presets: {', '.join(PRESETS)}")
        self.preset: Preset = PRESETS[board]
        self.root = root or emulator_dir() / "rootfs"
        qemu = shutil.which(QEMU_USER)
        if qemu is None:
            raise errors.DeviceError(f"{QEMU_USER} is not installed", where="this machine",
                                     hint="Install Debian's qemu-user-static")
        if not (self.root / "usr/bin/python3").exists():
            raise errors.DeviceError("No aarch64 root file system", where=str(self.root),
                                     hint="Build one without root with `workbench emulator "
                                     "build --user` (about a minute), or as root with "
                                     "`workbench emulator build`")
        self.qemu = qemu
        # named as the user types it: errors and hints name a device that connect() finds
        super().__init__(f"qemu:{board}", python=str(self.root / "usr/bin/python3"))
        self.view = board_view(self.root, self.preset)

    def qemu_command(self, program: str, *args: str) -> list[str]:
        """The command that runs the root's aarch64 ``program`` as this board."""
        return [self.qemu, "-L", str(self.view), "-cpu", self.preset.qemu_cpu, program, *args]

    def _command(self, *args: str) -> list[str]:
        return self.qemu_command(self.python, "-m", "workbench_agent", *args)

    def _env(self) -> dict[str, str]:
        # The board's aarch64 Python takes none of this machine's Python settings: a
        # PYTHONPATH to a venv, or the user's site folder (/home and /root are the host's),
        # put this machine's x86 numpy and onnxruntime first, and the probe saw no runtime.
        env = {name: value for name, value in super()._env().items()
               if name not in HOST_PYTHON_SETTINGS}
        env["PYTHONPATH"] = str(agent_root())
        env["PYTHONNOUSERSITE"] = "1"
        return env

    def _probe(self) -> DeviceInfo:
        info = super()._probe()
        info.kind = self.kind
        info.emulated = True
        return info


#: the root's top folders a board does not see through its view: the host's own are
#: there (users' and jobs' files, devices, the kernel's views), or the view's own (proc)
HOST_FOLDERS = frozenset({"proc", "sys", "dev", "run", "tmp", "var", "root", "home", "mnt",
                          "media", "srv", "boot"})


def board_view(root: Path, preset: Preset) -> Path:
    """The folder qemu-user takes as ``-L`` for ``preset``: the root's system folders as
    links, and its own ``proc/cpuinfo``. Made (or brought up to date) in place; every
    file is written whole, so boards started at once by other processes share it.

    The view lives beside the root (``qemu-user/BOARD``). A user who cannot write there
    (a root another account built and owns) and finds no finished view there gets one in
    their own cache folder instead; EmulatorUnavailable when neither can be written."""
    root = root.absolute()
    shared = root.parent / "qemu-user" / preset.board
    try:
        return _make_view(root, shared, preset)
    except (OSError, errors.DeviceError) as exc:
        shared_problem = f"{shared} is not writable ({_reason(exc)})"
    own = own_views_dir(root) / preset.board
    try:
        return _make_view(root, own, preset)
    except (OSError, errors.DeviceError) as exc:
        raise errors.EmulatorUnavailable(
            f"Cannot make the emulated board's view of the root: {shared_problem}, and "
            f"neither is {own} ({_reason(exc)})", where=str(shared.parent),
            hint="Run `workbench emulator build --user` as this user for a root of your own, "
            "or set WORKBENCH_EMULATOR_DIR (or WORKBENCH_CACHE_DIR) to a folder you own"
            ) from None


def own_views_dir(root: Path) -> Path:
    """Where this user keeps the board views of ``root`` when its own folder is not theirs:
    their cache folder, a folder per root."""
    from hashlib import sha256

    from workbench._paths import cache_dir

    digest = sha256(str(root).encode()).hexdigest()[:12]
    return cache_dir() / "emulator-views" / digest


def _make_view(root: Path, view: Path, preset: Preset) -> Path:
    """Make or bring up to date the view at ``view``; writes nothing that is already right,
    so a finished view in a folder this user cannot write still serves. OSError (or the
    DeviceError of the cpuinfo's write) when something must be written and cannot."""
    cpuinfo = view / "proc" / "cpuinfo"
    cpuinfo.parent.mkdir(parents=True, exist_ok=True)
    for entry in root.iterdir():
        link = view / entry.name
        if entry.name in HOST_FOLDERS:
            if link.is_symlink():  # a view made before these were left out
                link.unlink(missing_ok=True)
        elif not link.is_symlink():
            try:
                link.symlink_to(entry)
            except FileExistsError:
                pass  # another process made it meanwhile
    text = preset.cpuinfo(os.cpu_count() or 1)
    try:
        current: str | None = cpuinfo.read_text()
    except OSError:
        current = None
    if current != text:
        write_atomic(cpuinfo, text, error=errors.DeviceError)
    return view


def _reason(exc: OSError | errors.DeviceError) -> str:
    if isinstance(exc, errors.DeviceError):
        return exc.what
    return str(exc.strerror or exc)
