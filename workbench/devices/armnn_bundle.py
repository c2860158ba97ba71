"""Arm NN for a board without root: Debian bookworm's arm64 packages as one runtime bundle.

The host downloads the packages once with ``mmdebstrap --variant=extract`` (an
ordinary user may run it: no chroot, no maintainer scripts), keeps the ``.deb``
files and unpacks only Arm NN's own packages (``dpkg-deb -x``) into a bundle:

* ``pyarmnn/``: the Python package, at the top, so the runtime folder on
  ``PYTHONPATH`` imports it;
* ``armnn-lib/``: the shared libraries under their sonames (the links the
  packages ship, with their targets' bytes), and ``armnn-lib/backends/``: the
  CpuAcc and CpuRef backends, which Arm NN loads as dynamic backends;
* ``armnn-bundle.json``: the packages and versions, the libraries and the
  Arm NN version, which the runner reads to load the libraries and point Arm NN
  at its backends (nothing on the board is installed or needs root);
* ``armnn-licenses/``: each package's copyright file.

What the packages need besides each other (the C and C++ runtime, Python 3.11
and numpy) is on every Debian or Raspberry Pi OS bookworm board, or, for numpy,
comes as a wheel beside the bundle; any other dependency stops the build, so a
changed package cannot make a bundle that fails only on the board.

The bundle is kept in the host cache (``<cache>/armnn-bundle``) and made again
only when :data:`BUNDLE_VERSION` changes. Its zip is deterministic, so the
board's content-addressed cache skips it when it is there already.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from workbench import errors
from workbench._atomic import write_atomic
from workbench._paths import cache_dir

#: bumped when the bundle's contents or layout change, so a cached one is made again
BUNDLE_VERSION = 1
#: Arm NN 22 with its CpuAcc (Arm Compute Library) and CpuRef backends and TfLite parser
BUNDLE_PACKAGES = ("python3-pyarmnn", "libarmnn22", "libarmnn-cpuacc-backend22",
                   "libarmnn-cpuref-backend22", "libarmnnaclcommon22", "libarmnntfliteparser22",
                   "libarm-compute20", "libflatbuffers2")
#: what those packages need that a bookworm board with Python 3.11 has (numpy: a wheel)
BOARD_PROVIDES = ("libc6", "libgcc-s1", "libstdc++6", "python3", "python3:any", "python3-numpy")
MANIFEST = "armnn-bundle.json"
LIB_FOLDER = "armnn-lib"
_LIBDIR = "usr/lib/aarch64-linux-gnu"


def bundle_folder() -> Path:
    """Where the host keeps the bundle and the packages it was made from."""
    return cache_dir() / "armnn-bundle"


def _download(folder: Path, mirror: str) -> Path:
    """The arm64 ``.deb`` files of the bundle's packages and their dependencies."""
    from workbench.emulator.user_build import check_user_supported, mmdebstrap_extract

    check_user_supported()
    root = folder / "download"
    shutil.rmtree(root, ignore_errors=True)
    mmdebstrap_extract(root, mirror, folder / "download.log", BUNDLE_PACKAGES,
                       options=("--skip=cleanup/apt/cache",),
                       doing="Downloading Debian bookworm's arm64 Arm NN packages")
    return root / "var/cache/apt/archives"


def _fields(deb: Path) -> dict[str, str]:
    done = subprocess.run(["dpkg-deb", "-f", str(deb), "Package", "Version", "Depends"],
                          capture_output=True, text=True, check=True)
    fields: dict[str, str] = {}
    for line in done.stdout.splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def dependency_names(depends: str) -> list[str]:
    """The package names a Depends field asks for (each alternative's first choice)."""
    names = []
    for clause in filter(None, (c.strip() for c in depends.split(","))):
        first = clause.split("|")[0].strip()
        names.append(re.split(r"[\s(]", first, maxsplit=1)[0])
    return names


def unmet(packages: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    """Per bundled package, the dependencies neither the bundle nor a bookworm board has."""
    known = set(packages) | set(BOARD_PROVIDES)
    found = {name: [d for d in dependency_names(fields.get("Depends", "")) if d not in known]
             for name, fields in packages.items()}
    return {name: missing for name, missing in found.items() if missing}


def _lay_out(staging: Path, bundle: Path) -> list[str]:
    """Move the unpacked packages into the bundle's layout; the libraries' names."""
    shutil.move(str(staging / "usr/lib/python3/dist-packages"), str(bundle))
    libs = bundle / LIB_FOLDER
    (libs / "backends").mkdir(parents=True)
    libdir = staging / _LIBDIR
    linked = {p.resolve() for p in libdir.iterdir() if p.is_symlink()}
    names = []
    for path in sorted(libdir.glob("lib*.so*")):
        if path.is_symlink() or path.resolve() not in linked:
            # a soname link carries its target's bytes; a file no link names keeps its name
            shutil.copyfile(path.resolve(), libs / path.name)
            names.append(path.name)
    for backend in sorted((libdir / "armnn22").glob("*.so")):
        shutil.copyfile(backend, libs / "backends" / backend.name)
    for copyright_file in sorted((staging / "usr/share/doc").glob("*/copyright")):
        target = bundle / "armnn-licenses" / copyright_file.parent.name
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(copyright_file, target / "copyright")
    return names


def _armnn_version(bundle: Path) -> str | None:
    for info in bundle.glob("pyarmnn-*.egg-info/PKG-INFO"):
        for line in info.read_text(errors="replace").splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
    return None


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of the bundle kept in ``folder`` ({} when there is none of this version):
    the manifest inside the zip, with the zip's name and the build's seconds."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(manifest, dict) or manifest.get("bundle_version") != BUNDLE_VERSION:
        return {}
    return manifest


def build_bundle(mirror: str | None = None, *, folder: Path | None = None,
                 force: bool = False) -> tuple[Path, dict[str, Any]]:
    """The bundle's zip and manifest, made once (about a minute, most of it the download)
    and then reused from ``folder`` (by default :func:`bundle_folder`)."""
    from workbench.emulator.user_build import DEBIAN_MIRROR

    folder = folder or bundle_folder()
    manifest = read_manifest(folder)
    archive = folder / str(manifest.get("zip", "-"))
    if manifest and archive.is_file() and not force:
        return archive, manifest
    folder.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    staging, bundle = folder / "staging", folder / "bundle.partial"
    try:
        archive, manifest = _make(folder, mirror or DEBIAN_MIRROR, staging, bundle)
    finally:  # the download and the unpacked files are hundreds of MB nobody needs again
        for path in (staging, bundle, folder / "download"):
            shutil.rmtree(path, ignore_errors=True)
    manifest.update(zip=archive.name, mirror=mirror or DEBIAN_MIRROR,
                    seconds=round(time.monotonic() - started, 1))
    # the zip is the bundle from now on; the manifest beside it says what it holds
    write_atomic(folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True),
                 error=errors.DeviceError)
    return archive, manifest


def _make(folder: Path, mirror: str, staging: Path,
          bundle: Path) -> tuple[Path, dict[str, Any]]:
    from workbench.devices.setup import zip_folder

    archives = _download(folder, mirror)
    debs = {}
    for deb in sorted(archives.glob("*.deb")):
        fields = _fields(deb)
        if fields.get("Package") in BUNDLE_PACKAGES:
            debs[fields["Package"]] = (deb, fields)
    missing = [name for name in BUNDLE_PACKAGES if name not in debs]
    problems = unmet({name: fields for name, (_, fields) in debs.items()})
    if missing or problems:
        raise errors.DeviceError(
            "Debian bookworm's Arm NN packages are not what the bundle expects: "
            + "; ".join([f"{name} was not downloaded" for name in missing]
                        + [f"{name} needs {', '.join(d)}" for name, d in problems.items()]),
            where=mirror, hint="Report it; meanwhile install Arm NN on the board with --apt, "
            "or give your own build with --bundle")
    for path in (staging, bundle):
        shutil.rmtree(path, ignore_errors=True)
    for deb, _ in debs.values():
        subprocess.run(["dpkg-deb", "-x", str(deb), str(staging)], check=True)
    libraries = _lay_out(staging, bundle)
    manifest = {"bundle_version": BUNDLE_VERSION, "suite": "bookworm", "arch": "arm64",
                "armnn": _armnn_version(bundle),
                "packages": {name: fields["Version"] for name, (_, fields) in debs.items()},
                "libraries": libraries, "backends": f"{LIB_FOLDER}/backends"}
    (bundle / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return zip_folder(bundle, into=folder, name="armnn"), manifest
