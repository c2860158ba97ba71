"""The emulated board without root or namespaces: the agent under ``qemu-aarch64-static -L``.

For places where user namespaces are not available (no root, Binder,
JupyterHub): a root file system (from ``workbench emulator build --user``,
which needs no root, or a full ``workbench emulator build``) and qemu-user
run the aarch64 Python, numpy and onnxruntime of that root directly, with
no SSH. Limits, said plainly: there is no binfmt registration, so any
subprocess a runner starts runs a *host* binary; and the board is this
machine's files seen through the root (``-L``), not a separate machine.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from workbench import errors
from workbench.devices.base import DeviceInfo
from workbench.devices.local import LocalDevice
from workbench.emulator.presets import PRESETS, Preset

QEMU_USER = "qemu-aarch64-static"


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
        super().__init__(f"qemu-{self.preset.device}", python=str(self.root / "usr/bin/python3"))
        # qemu-user shows the host's /proc/cpuinfo; with -L it reads ROOT/proc/cpuinfo instead
        # when that file exists, so the runtime sees the preset's core.
        cpuinfo = self.root / "proc/cpuinfo"
        try:
            cpuinfo.parent.mkdir(exist_ok=True)
            cpuinfo.write_text(self.preset.cpuinfo(os.cpu_count() or 1))
        except OSError as exc:
            raise errors.DeviceError(f"Cannot write the preset's cpuinfo: {exc.strerror}",
                                     where=str(cpuinfo),
                                     hint="Make the root file system writable") from None

    def _command(self, *args: str) -> list[str]:
        return [self.qemu, "-L", str(self.root), "-cpu", self.preset.qemu_cpu, self.python,
                "-m", "workbench_agent", *args]

    def _probe(self) -> DeviceInfo:
        info = super()._probe()
        info.kind = self.kind
        info.emulated = True
        return info
