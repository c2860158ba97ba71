"""An emulated Arm board: an aarch64 Debian root whose own sshd, Python and aarch64
onnxruntime, LiteRT and Arm NN (Debian's 22) run under qemu-user, reachable on 127.0.0.1
like any board.

    workbench emulator build                      # once: ~2 minutes, ~450 MB, cached
    workbench emulator start --board raspberry-pi-5   # registers device "emu-pi5"
    workbench profile zoo:mobilenetv2 --device emu-pi5
    workbench emulator stop                       # the boards started from the command line

A board runs while someone holds it: :func:`start` adds the caller (this
process, or a named holder such as the command line) to the board's holders,
and :func:`stop` takes the caller away again, stopping the board only when
nobody else still holds it; a holder whose process ended holds nothing. So a
test or a notebook never stops a board that a benchmark or another session
uses; ``stop(everything=True)`` (``workbench emulator stop --all``) stops every
board, whoever holds it.

Every profile from it is marked emulated: emulated times are not hardware
times. What it shows faithfully is what the Arm build of a runtime does —
which kernels and fusions it picks, and its numerical results.

It needs root, Linux 6.7 or newer (a user namespace with its own
binfmt_misc: nothing is registered machine-wide) and Debian's
qemu-user-static and mmdebstrap; :func:`check_supported` says what is missing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workbench import errors
from workbench._listening import wait_listening
from workbench._paths import cache_dir
from workbench.emulator.presets import PRESETS, Preset
from workbench.errors import EmulatorUnavailable

__all__ = ["COMMAND_LINE_HOLDER", "DEFAULT_BOARD", "PRESETS", "EmulatorUnavailable",
           "board_connection", "build", "check_supported", "emulator_dir", "is_built", "start",
           "status", "stop", "this_process"]

SANDBOX = "workbench.emulator.sandbox"
PYTHON_IN_ROOT = (3, 11, 2)  # bookworm's python3
START_TIMEOUT_S = 60.0
#: the board `start` emulates unless told
DEFAULT_BOARD = "raspberry-pi-5"
#: who holds the boards started with `workbench emulator start`, until `... stop`
COMMAND_LINE_HOLDER = "command line"


def emulator_dir() -> Path:
    """Where the root file system, keys and state live (WORKBENCH_EMULATOR_DIR moves it)."""
    override = os.environ.get("WORKBENCH_EMULATOR_DIR")
    return Path(override) if override else cache_dir() / "emulator"


def check_supported() -> None:
    """Raise EmulatorUnavailable saying what this machine lacks."""
    hint_packages = "Install Debian's qemu-user-static and mmdebstrap (bash tests/setup.sh does)"
    if os.geteuid() != 0:
        raise EmulatorUnavailable("The emulated board needs root (user and mount namespaces "
                                  "with a private binfmt_misc)", where="this machine",
                                  hint="Run as root, or use a real board")
    release = tuple(int(x) for x in platform.release().split("-")[0].split(".")[:2])
    if release < (6, 7):
        raise EmulatorUnavailable(f"Linux {platform.release()} is older than 6.7: it cannot "
                                  "mount a private binfmt_misc", where="kernel",
                                  hint="Use a newer kernel, or a real board")
    for tool in ("mmdebstrap", "unshare", "mount", "chroot"):
        if shutil.which(tool) is None:
            raise EmulatorUnavailable(f"{tool} is not installed", where="this machine",
                                      hint=hint_packages)
    from workbench.emulator.sandbox import QEMU

    if not os.path.exists(QEMU):
        raise EmulatorUnavailable("qemu-user-static is not installed", where=QEMU,
                                  hint=hint_packages)
    if not Path("/proc/self/ns/user").exists():
        raise EmulatorUnavailable("This kernel has no user namespaces", where="kernel",
                                  hint="Use a real board")


def _root() -> Path:
    return emulator_dir() / "rootfs"


#: bumped when the root's contents change, so an older cached root is rebuilt
ROOT_VERSION = 3
#: the runtimes unpacked into the root: onnxruntime and LiteRT (aarch64 wheels)
ROOT_PACKAGES = ("onnxruntime", "litert")


def is_built() -> bool:
    """Whether a root of the current version is there."""
    try:
        report = json.loads((emulator_dir() / "build.json").read_text())
    except (OSError, ValueError):
        return False
    return report.get("version") == ROOT_VERSION and _root().is_dir()


def _mirror() -> str:
    for sources in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    listing = Path("/etc/apt/sources.list")
    for line in listing.read_text().splitlines() if listing.exists() else []:
        if line.startswith("deb "):
            return line.split()[1]
    return "http://deb.debian.org/debian"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parent.parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


def _keygen(path: Path) -> None:
    for old in (path, path.with_suffix(".pub")):
        old.unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "workbench-emulator",
                    "-f", str(path)], check=True, capture_output=True)


def _install_runtime(root: Path) -> list[str]:
    """aarch64 wheels for the root's Python, unpacked into its dist-packages."""
    from workbench.devices.setup import PACKAGES, fetch_wheels

    board = {"version": list(PYTHON_IN_ROOT), "machine": "aarch64", "libc": ["glibc", "2.36"]}
    packages = sorted({p for backend in ROOT_PACKAGES for p in PACKAGES[backend]})
    wheels, _ = fetch_wheels(packages, board)
    target = root / "usr/local/lib/python3.11/dist-packages"
    target.mkdir(parents=True, exist_ok=True)
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(target)
    return [w.name for w in wheels]


def build(log: Any = None) -> dict[str, Any]:
    """Build the root file system (replacing an older one); returns what was built."""
    check_supported()
    folder = emulator_dir()
    (folder / "keys").mkdir(parents=True, exist_ok=True)
    client = folder / "keys" / "id_board"
    if not client.exists():
        _keygen(client)
    partial = folder / "rootfs.partial"
    shutil.rmtree(partial, ignore_errors=True)
    started = time.monotonic()
    with open(folder / "build.log", "w") as output:
        done = subprocess.run([sys.executable, "-m", SANDBOX, "build", str(partial), _mirror(),
                               str(client.with_suffix(".pub"))], stdout=output,
                              stderr=subprocess.STDOUT, env=_env())
    if done.returncode != 0:
        tail = (folder / "build.log").read_text()[-3000:]
        raise errors.DeviceError("Building the emulated board's root file system failed",
                                 where=str(folder / "build.log"),
                                 hint=f"The end of the log:\n{tail}")
    # A new host key each build; the emulator's own known_hosts follows it at start.
    host_key = folder / "keys" / "host_ed25519"
    _keygen(host_key)
    ssh = partial / "etc/ssh"
    for old in ssh.glob("ssh_host_*"):
        old.unlink()
    shutil.copy(host_key, ssh / "ssh_host_ed25519_key")
    shutil.copy(host_key.with_suffix(".pub"), ssh / "ssh_host_ed25519_key.pub")
    (ssh / "ssh_host_ed25519_key").chmod(0o600)
    (ssh / "sshd_config.d/workbench.conf").write_text(
        "ListenAddress 127.0.0.1\nHostKey /etc/ssh/ssh_host_ed25519_key\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "PermitRootLogin no\nPrintMotd no\n")
    wheels = _install_runtime(partial)
    shutil.rmtree(_root(), ignore_errors=True)
    partial.rename(_root())
    report = {"version": ROOT_VERSION, "built": time.time(),
              "seconds": round(time.monotonic() - started, 1), "wheels": wheels,
              "python": ".".join(map(str, PYTHON_IN_ROOT))}
    (folder / "build.json").write_text(json.dumps(report))
    return report


def _state_path(preset: Preset) -> Path:
    return emulator_dir() / f"state-{preset.board}.json"


def _preset(board: str) -> Preset:
    if board not in PRESETS:
        raise errors.InvalidOptionValue(f"No emulated preset for {board!r}", where="emulator",
                                        hint=f"Presets: {', '.join(PRESETS)}")
    return PRESETS[board]


def _alive(state: dict[str, Any]) -> bool:
    try:
        os.kill(int(state["pid"]), 0)
        socket.create_connection(("127.0.0.1", int(state["port"])), 1).close()
        return True
    except (OSError, KeyError, ValueError):
        return False


def status() -> list[dict[str, Any]]:
    """The emulated boards that run now."""
    running = []
    for path in sorted(emulator_dir().glob("state-*.json")):
        state = json.loads(path.read_text())
        if _alive(state):
            running.append(state)
        else:
            path.unlink(missing_ok=True)
    return running


def board_connection(state: dict[str, Any]) -> dict[str, Any]:
    """How to reach a running board over SSH, from its state (what :func:`start` registers)."""
    folder = emulator_dir()
    return {"host": "127.0.0.1", "port": int(state["port"]), "user": "board",
            "key_filename": str(folder / "keys" / "id_board"),
            "known_hosts": [str(folder / "known_hosts")], "python": "python3"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def this_process() -> str:
    """The holder that stands for the calling process (its pid and start time: a pid that the
    system hands out again later is another holder)."""
    return f"pid:{os.getpid()}:{_started_at(os.getpid())}"


def _started_at(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _holds(holder: str) -> bool:
    """Whether ``holder`` still holds a board: a named holder until it lets go, a process
    while it runs."""
    if not holder.startswith("pid:"):
        return True
    _, pid, since = holder.split(":", 2)
    return _started_at(int(pid)) == since != ""


@contextlib.contextmanager
def _states_locked() -> Iterator[None]:
    """Hold the lock over the boards' state files: their holders change in one step."""
    folder = emulator_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "state.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def start(board: str = DEFAULT_BOARD, port: int | None = None,
          holder: str | None = None) -> dict[str, Any]:
    """Start the board in the background (or join it, when it runs already) and register
    it as a device; its state.

    ``holder`` (this process by default) holds the board until it calls :func:`stop`
    with the same holder, or its process ends.
    """
    preset = _preset(board)
    check_supported()
    if not is_built():
        raise EmulatorUnavailable("The emulated board is not built yet", where=str(_root()),
                                  hint="Run `workbench emulator build` first (about 2 minutes)")
    holder = holder or this_process()
    with _states_locked():
        for state in status():
            if state["board"] == board:
                state["holders"] = sorted({*state.get("holders", []), holder})
                _state_path(preset).write_text(json.dumps(state))
                return state
        return _launch(preset, port, holder)


def _launch(preset: Preset, port: int | None, holder: str) -> dict[str, Any]:
    folder = emulator_dir()
    port = port or _free_port()
    cpuinfo = folder / f"cpuinfo-{preset.board}"
    cpuinfo.write_text(preset.cpuinfo(os.cpu_count() or 1))
    log = folder / f"board-{preset.board}.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", SANDBOX, "run", str(_root()), str(port), str(cpuinfo),
             f"SetEnv=QEMU_CPU={preset.qemu_cpu} LANG=C.UTF-8"],
            stdout=output, stderr=subprocess.STDOUT, env=_env(), start_new_session=True)
    try:
        wait_listening(
            process, port, START_TIMEOUT_S,
            stopped=lambda: errors.DeviceError("The emulated board did not start",
                                               where=str(log),
                                               hint=f"Its log:\n{log.read_text()[-2000:]}"),
            late=lambda: errors.DeviceError("The emulated board's sshd did not answer in time",
                                            where=str(log), hint="Its log says why; start it "
                                            "again when the machine is less loaded"))
    except BaseException:  # an interrupt too: the board runs in a session of its own
        stop_process(process.pid)
        raise
    known_hosts = folder / "known_hosts"
    public = (folder / "keys" / "host_ed25519.pub").read_text().split()
    known_hosts.write_text(f"[127.0.0.1]:{port} {public[0]} {public[1]}\n")
    from workbench.devices import registry

    # each start listens on a new port: the emulator owns its board's entry and rewrites it
    registry.add(preset.device, replace=True, kind="emulated", host="127.0.0.1", port=port,
                 user="board", key_filename=str(folder / "keys" / "id_board"),
                 known_hosts=[str(known_hosts)],
                 python="python3", notes=f"emulated {preset.board} ({preset.qemu_cpu} under "
                 "qemu-user): times are not hardware times")
    state = {"board": preset.board, "device": preset.device, "pid": process.pid, "port": port,
             "qemu_cpu": preset.qemu_cpu, "holders": [holder]}
    _state_path(preset).write_text(json.dumps(state))
    return state


def stop_process(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)  # the launcher, unshare and the board's pid-1 sshd
    except ProcessLookupError:
        pass


def _unregister(device: str) -> None:
    from workbench.devices import registry

    try:
        registry.remove(device)
    except errors.DeviceNotFound:
        pass


def stop(board: str | None = None, *, holder: str | None = None,
         everything: bool = False) -> list[str]:
    """Let go of ``board`` (or of every board ``holder`` holds); returns the boards stopped.

    ``holder`` (this process by default) stops holding the board; the board stops
    when nobody else holds it, so a board that another process or the command line
    still uses runs on, and a board whose holders are all gone stops too.
    ``everything`` stops every running board, whoever holds it.
    """
    holder = holder or this_process()
    stopped: list[str] = []
    with _states_locked():
        for path in sorted(emulator_dir().glob("state-*.json")):
            state = json.loads(path.read_text())
            if board not in (None, state["board"]):
                continue
            held = state.get("holders", [])
            others = [h for h in held if h != holder and _holds(h)]
            if others and not everything:
                if holder in held:
                    state["holders"] = others
                    path.write_text(json.dumps(state))
                continue  # a board nobody holds any more stops with anyone's stop
            stop_process(int(state["pid"]))
            path.unlink(missing_ok=True)
            _unregister(state["device"])
            stopped.append(state["board"])
    return stopped
