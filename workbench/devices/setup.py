"""Put a runtime on a board without pip, venv or internet there.

The host downloads the wheels the board needs (``pip download`` with the
board's platform tags and Python version: binary wheels only), uploads them
like any artifact (content-addressed, resumable) and the agent unpacks them
into ``<cache>/runtime/<bundle id>``, which ``runtime/<backend>`` then points
at. Runtimes of different backends stay side by side, each bundle with its
own dependencies: a job runs with only its backend's bundle on its path, a
probe with all of them (so it lists every runtime). ``runtime/current`` is
where earlier versions put the one runtime; it is still read, last. A user's own bundle — a vendor's
wheel, or an SDK folder with execution-provider or delegate libraries — goes
the same way. Arm NN has no wheels: its bundle is made from Debian's packages
(:mod:`workbench.devices.armnn_bundle`), or the board's apt-get installs them
(:mod:`workbench.devices.armnn_setup`). The host's and the board's runtime
versions are recorded side by side (for Arm NN, the bundle's version is the
host's), and a difference is flagged.
"""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import errors
from workbench._atomic import write_atomic
from workbench._paths import cache_dir

if TYPE_CHECKING:
    from workbench.devices.base import ProgressCallback
    from workbench.devices.ssh import SSHDevice

#: what each built-in backend needs on a board (besides the agent); ai-edge-litert has
#: aarch64 wheels for CPython 3.9-3.13 (manylinux_2_27 from 2.x, so glibc 2.27 or newer)
PACKAGES = {"onnxruntime": ["onnxruntime", "numpy"], "litert": ["ai-edge-litert", "numpy"]}
#: the runtime name a backend's board probe reports -> the package that carries it
RUNTIME_PACKAGES = {"onnxruntime": "onnxruntime", "litert": "ai-edge-litert"}
#: the backends whose runtime `setup` installs into ``runtime/<backend>`` (Arm NN: Debian's
#: packages, :mod:`workbench.devices.armnn_bundle`)
BUNDLED = (*PACKAGES, "armnn")
OLDEST_GLIBC_MINOR = 17


def runtime_path(cache: str, backend: str | None = None, shared: str | None = None) -> str:
    """PYTHONPATH on the board: ``backend``'s bundle, or every backend's (a probe), the
    account's own before the board's shared one (in ``shared``, the board folder); the bundle
    of earlier versions (``runtime/current``) last. Missing folders are ignored by Python."""
    names = [backend] if backend else list(BUNDLED)
    roots = [f"{cache}/runtime"] + ([f"{shared.rstrip('/')}/runtime"] if shared else [])
    return ":".join([f"{root}/{name}" for name in names for root in roots]
                    + [f"{cache}/runtime/current"])


def platform_tags(machine: str, libc: list[str]) -> list[str]:
    """pip ``--platform`` tags a board with this machine and C library accepts, newest first."""
    if machine not in ("aarch64", "x86_64", "armv7l"):
        raise errors.UnsupportedPlatform(f"No wheels are published for {machine}",
                                         where=f"board machine {machine}")
    if not libc or libc[0] != "glibc":
        raise errors.UnsupportedPlatform(
            f"The board's C library ({' '.join(libc) or 'unknown'}) is not glibc; manylinux "
            "wheels need glibc", where="board libc")
    major, minor = (int(x) for x in libc[1].split(".")[:2])
    tags = [f"manylinux_{major}_{m}_{machine}" for m in range(minor, OLDEST_GLIBC_MINOR - 1, -1)]
    return [*tags, f"manylinux2014_{machine}", f"linux_{machine}"]


def host_version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _pip_download(requirements: list[str], tags: list[str], python: str, folder: Path) -> str:
    command = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--no-deps",
               "--implementation", "cp", "--python-version", python, "-d", str(folder),
               "--disable-pip-version-check", "-q"]
    for tag in tags:
        command += ["--platform", tag]
    done = subprocess.run(command + requirements, capture_output=True, text=True)
    return "" if done.returncode == 0 else (done.stderr or done.stdout).strip()


def fetch_wheels(packages: list[str], board: dict[str, Any]) -> tuple[list[Path], list[str]]:
    """Wheels for the board, pinned to the host's versions where the board can take them.

    Returns the wheel files and notes on versions that differ from the host's.
    """
    version = board["version"]
    python = f"{version[0]}.{version[1]}"
    tags = platform_tags(board["machine"], board["libc"])
    folder = cache_dir() / "wheels" / f"cp{version[0]}{version[1]}-{tags[0]}"
    folder.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    for package in packages:
        pinned = host_version(package)
        problem = _pip_download([f"{package}=={pinned}"], tags, python, folder) if pinned else "x"
        if problem:
            problem = _pip_download([package], tags, python, folder)
            if problem:
                raise errors.UnsupportedPlatform(
                    f"No {package} wheel for Python {python} on {tags[0]}: "
                    f"{problem.splitlines()[-1]}", where=f"PyPI, {board['machine']}")
            notes.append(f"{package} {pinned} has no wheel for the board; the newest that "
                         "fits was taken")
    prefixes = tuple(p.replace("-", "_").lower() + "-" for p in packages)
    wheels = sorted(w for w in folder.glob("*.whl") if w.name.lower().startswith(prefixes))
    return _newest_per_package(wheels), notes


def _newest_per_package(wheels: list[Path]) -> list[Path]:
    from packaging.version import Version

    best: dict[str, tuple[Version, Path]] = {}
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        if name not in best or Version(version) > best[name][0]:
            best[name] = (Version(version), wheel)
    return [path for _, path in best.values()]


def zip_folder(folder: Path, *, into: Path | None = None, name: str | None = None) -> Path:
    """A folder (a user's SDK, a built bundle) as one deterministic zip, named by its
    content, in ``into`` (by default the host cache's ``bundles``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), (2020, 1, 1, 0, 0, 0))
            info.external_attr = (path.stat().st_mode & 0o777) << 16
            archive.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
    data = buffer.getvalue()
    target = ((into or cache_dir() / "bundles")
              / f"{name or folder.name}-{hashlib.sha256(data).hexdigest()[:16]}.zip")
    if not target.exists():
        write_atomic(target, data, make_parents=True)
    return target


def setup_device(device: SSHDevice, backend: str = "onnxruntime", *,
                 bundle: list[str | Path] | None = None,
                 progress: ProgressCallback | None = None, shared: bool = False,
                 apt: bool = False) -> dict[str, Any]:
    """Install what ``backend`` needs on the board; a report of what is there now.

    ``shared`` installs it once for every account on the board, read-only, in
    the board folder (``<board folder>/runtime``): a class of accounts then
    does not fill the board's storage with one copy each. ``apt`` (Arm NN
    only) installs the board's own Debian packages instead of a bundle, where
    the login is root or may use sudo without a password.
    """
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", backend):
        raise errors.InvalidOptionValue(f"{backend!r} is not a backend name",
                                        where="workbench device setup --backend",
                                        hint="Give a backend's name, e.g. --backend litert")
    board = device.board()
    notes: list[str] = []
    hosts: dict[str, str | None] = {}
    if apt:
        from workbench.devices import armnn_setup

        if backend != "armnn" or bundle or shared:
            raise errors.InvalidOptionValue(
                "--apt installs Arm NN's Debian packages, for every account, on its own",
                where="workbench device setup --apt",
                hint="Use it as `--backend armnn --apt`, without --bundle or --shared")
        packages = armnn_setup.install_with_apt(device, board)
        return _report(device, board, "armnn", {}, bundle=None, parts=[], apt=packages,
                       notes=notes, shared=True)
    if bundle:
        parts = []
        for item in map(Path, bundle):
            if not item.exists():
                raise errors.DeviceError("The runtime bundle does not exist", where=str(item),
                                         hint="Give wheel files or an SDK folder")
            parts.append(zip_folder(item) if item.is_dir() else item)
    elif backend == "armnn":
        from workbench.devices import armnn_setup

        parts, notes, hosts = armnn_setup.bundle_parts(device, board)
    else:
        if backend not in PACKAGES:
            raise errors.BackendNotFound(f"No runtime packages known for backend {backend!r}",
                                         where="workbench device setup",
                                         hint="Give the runtime as --bundle WHEEL_OR_FOLDER")
        parts, notes = fetch_wheels(PACKAGES[backend], board)
    # one batch: the whole bundle's size is checked against fresh free space before a byte
    remote = device.ensure_many(parts, progress)
    bundle_id = hashlib.sha256("".join(sorted(r.rsplit("/", 2)[-2] for r in remote))
                               .encode()).hexdigest()[:16]
    root = f"{device.board_dir.rstrip('/')}/runtime" if shared else f"{device.cache}/runtime"
    device.tool("install-bundle", "--link", backend, *(["--shared"] if shared else []),
                f"{root}/{bundle_id}", *remote)
    return _report(device, board, backend, hosts, bundle=bundle_id,
                   parts=[p.name for p in parts], notes=notes, shared=shared)


def _report(device: SSHDevice, board: dict[str, Any], backend: str,
            hosts: dict[str, str | None], *, notes: list[str],
            **facts: Any) -> dict[str, Any]:
    """What is on the board now, with each runtime's version on the host (its package here,
    or what the host's bundle carries, in ``hosts``) beside the board's; a difference is
    skew."""
    info = device.probe(refresh=True)
    runtimes = [backend] if backend in BUNDLED else ["onnxruntime"]
    versions = {name: {"host": hosts.get(name) or (host_version(RUNTIME_PACKAGES[name])
                                                   if name in RUNTIME_PACKAGES else None),
                       "board": info.runtime_version(name)} for name in runtimes}
    skew = [f"{name}: host {v['host']}, board {v['board']}" for name, v in versions.items()
            if v["host"] and v["board"] and v["host"] != v["board"]]
    for name in runtimes:
        problem = (info.runtimes.get(name) or {}).get("error")
        if problem:
            notes = [*notes, f"{name} does not load on the board: {problem}"]
    return {"device": device.name, "python": ".".join(map(str, board["version"])),
            "machine": board["machine"], "versions": versions, "skew": skew, "notes": notes,
            **facts}
