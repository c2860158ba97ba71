"""Run commands as root of a private user + mount namespace with its own binfmt_misc.

Since Linux 6.7 such a namespace can mount its own binfmt_misc instance, so
qemu-aarch64 is registered there (flags OCPF: the interpreter is opened at
registration, so it also works inside the chroot) and never machine-wide.
Used as ``python -m workbench.emulator.sandbox build|run ...`` by
:mod:`workbench.emulator`; nothing else on the machine changes.

    build ROOT MIRROR CLIENT_PUB     mmdebstrap an arm64 bookworm root at ROOT
    run ROOT PORT CPUINFO [OPT...]   the root's sshd on 127.0.0.1:PORT (pid 1 of a pid ns)
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
QEMU = "/usr/libexec/qemu-binfmt/aarch64-binfmt-P"
# The ELF header of an aarch64 executable and its mask, as binfmt_misc escapes.
MAGIC = r"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"
MASK = r"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"
PACKAGES = ("python3,openssh-server,passwd,procps,"
            "python3-pyarmnn,libarmnn-cpuacc-backend22,libarmnn-cpuref-backend22,"
            "libarmnntfliteparser22")


def _in_new_namespaces() -> None:
    """Fork; the child continues as root of a new user+mount namespace, the parent waits."""
    libc = ctypes.CDLL(None, use_errno=True)
    ready_r, ready_w = os.pipe()
    mapped_r, mapped_w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(ready_r)
        os.close(mapped_w)
        if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0:
            sys.exit("unshare: " + os.strerror(ctypes.get_errno()))
        os.write(ready_w, b"x")
        if os.read(mapped_r, 1) != b"x":
            sys.exit("the parent could not map user ids")
        return
    os.close(ready_w)
    os.close(mapped_r)
    os.read(ready_r, 1)
    for name in ("uid_map", "gid_map"):
        with open(f"/proc/{child}/{name}", "w") as handle:
            handle.write("0 0 65536\n")
    os.write(mapped_w, b"x")
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, lambda n, _frame: os.kill(child, n))
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    sys.exit(os.waitstatus_to_exitcode(status))


def _register_qemu() -> None:
    subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", "/proc/sys/fs/binfmt_misc"],
                   check=True)
    with open("/proc/sys/fs/binfmt_misc/register", "w") as register:
        register.write(f":qemu-aarch64:M::{MAGIC}:{MASK}:{QEMU}:OCPF")


def build(root: str, mirror: str, client_pub: str) -> None:
    _in_new_namespaces()
    _register_qemu()
    hooks = [
        'chroot "$1" useradd -m -u 1000 -s /bin/bash -p "*" board',
        'mkdir -p "$1/run/sshd" "$1/home/board/.ssh"',
        f'cp {client_pub} "$1/home/board/.ssh/authorized_keys"',
        'chroot "$1" chown -R board:board /home/board/.ssh',
        'chmod 700 "$1/home/board/.ssh"',
    ]
    command = ["unshare", "--pid", "--fork", "--mount-proc", "mmdebstrap", "--mode=root",
               "--arch=arm64", "--variant=apt", f"--include={PACKAGES}"]
    command += [f"--customize-hook={hook}" for hook in hooks]
    os.execvp("unshare", [*command, "bookworm", root, mirror])


def run(root: str, port: str, cpuinfo: str, *sshd_options: str) -> None:
    _in_new_namespaces()
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    _register_qemu()
    for folder in ("dev", "sys"):
        subprocess.run(["mount", "--rbind", f"/{folder}", f"{root}/{folder}"], check=True)
    os.execvp("unshare", ["unshare", "--pid", "--fork", "--kill-child=SIGTERM", sys.executable,
                          "-m", "workbench.emulator.sandbox", "inner", root, port, cpuinfo,
                          *sshd_options])


def inner(root: str, port: str, cpuinfo: str, *sshd_options: str) -> None:
    """pid 1 of the board: a fresh /proc with the preset's cpuinfo, then the root's sshd."""
    subprocess.run(["mount", "-t", "proc", "proc", f"{root}/proc"], check=True)
    subprocess.run(["mount", "--bind", cpuinfo, f"{root}/proc/cpuinfo"], check=True)
    os.makedirs(f"{root}/run/sshd", exist_ok=True)
    options = [arg for option in sshd_options for arg in ("-o", option)]
    os.execvp("chroot", ["chroot", root, "/usr/sbin/sshd", "-D", "-e", "-p", port, *options])


if __name__ == "__main__":
    commands: dict[str, Callable[..., None]] = {"build": build, "run": run, "inner": inner}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](*sys.argv[2:])
