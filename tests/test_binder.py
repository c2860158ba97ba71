"""The Binder configuration (binder/): what repo2docker makes of it, and postBuild run as a
user without root in a fresh virtual environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
NOBODY = 65534


def test_apt_txt_brings_what_the_unprivileged_emulated_board_needs() -> None:
    packages = (BINDER / "apt.txt").read_text().split()
    for package in ("debian-archive-keyring", "mmdebstrap", "qemu-user-static",
                    "openssh-server"):
        assert package in packages
    assert os.access(BINDER / "postBuild", os.X_OK)
    assert "emulator build --user --mirror" in (BINDER / "postBuild").read_text()


def test_repo2docker_renders_a_dockerfile_that_installs_apt_txt_and_runs_postbuild(
        tmp_path: Path) -> None:
    repo2docker = shutil.which("jupyter-repo2docker") or str(
        Path(sys.executable).parent / "jupyter-repo2docker")
    if not os.path.exists(repo2docker):
        pytest.skip("jupyter-repo2docker is not installed (the test extra has it)")
    # --no-build renders the Dockerfile only: no Docker engine is reached (none is named here)
    env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path / 'no-docker.sock'}")
    done = subprocess.run([repo2docker, "--no-build", "--debug", str(ROOT)], env=env,
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    dockerfile = done.stdout + done.stderr
    install = next(line for line in dockerfile.splitlines()
                   if "apt-get install" in line and "mmdebstrap" in line)
    for package in (BINDER / "apt.txt").read_text().split():
        assert package in install
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    assert "RUN ./binder/postBuild" in dockerfile
    # postBuild runs after the repository and its requirements are in place, as the notebook user
    assert dockerfile.index("COPY --chown=0:0 src/ ${REPO_DIR}/") < dockerfile.index(
        "RUN ./binder/postBuild")


def _unprivileged() -> tuple[int, int]:
    if os.geteuid() != 0:
        return os.geteuid(), os.getegid()
    return NOBODY, NOBODY


def test_postbuild_as_a_user_in_a_fresh_venv_enables_the_extension_and_a_qemu_board(
        tmp_path: Path) -> None:
    configured = os.environ.get("WORKBENCH_EMULATOR_DIR")
    if not configured or shutil.which("setpriv") is None:
        pytest.skip("needs WORKBENCH_EMULATOR_DIR (where the user root is cached) and setpriv")
    user_root = Path(configured).resolve().parent / "workbench-emulator-user"
    if not (user_root / "user-build.json").exists():
        pytest.skip("the user root is not built yet: tests/emulator/test_user_build.py builds it")
    if not (ROOT / "workbench/labextension/package.json").exists():
        pytest.skip("the lab extension is not built: run `bash tests/setup.sh`")
    uid, gid = _unprivileged()
    home = tmp_path / "home"
    home.mkdir()
    # The image's copy of the repository: the notebook user's, with the prebuilt extension.
    repo = home / "repo"
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(
        ".venv", ".git", "node_modules", "__pycache__", "*.egg-info", ".mypy_cache",
        ".ruff_cache", "lib", "tsconfig.tsbuildinfo"))
    venv = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # Binder's base environment has JupyterLab and the rest already: here the test venv's
    # packages stand for it, seen through a .pth, so only the project itself is installed.
    purelib = sysconfig.get_paths()["purelib"]
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    (venv / "lib" / version / "site-packages" / "base-environment.pth").write_text(purelib + "\n")
    for path in [home, *home.rglob("*")]:
        os.lchown(path, uid, gid)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKBENCH_", "VIRTUAL"))}
    env.update(HOME=str(home), PATH=f"{venv / 'bin'}:/usr/bin:/bin",
               WORKBENCH_EMULATOR_DIR=str(user_root),
               WORKBENCH_CACHE_DIR=str(user_root / "cache"))
    env.pop("PYTHONPATH", None)
    prefix = [] if os.geteuid() != 0 else [
        "setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"]
    python = str(venv / "bin" / "python")
    installed = subprocess.run([*prefix, python, "-m", "pip", "install", "--quiet",
                                "--no-deps", "."], cwd=repo, env=env,
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-3000:]
    built = subprocess.run([*prefix, "bash", "binder/postBuild"], cwd=repo, env=env,
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, (built.stdout + built.stderr)[-3000:]
    assert "edge-workbench" in built.stdout + built.stderr  # the extension, listed as enabled
    listed = subprocess.run([*prefix, python, "-m", "workbench", "devices"], env=env, cwd=home,
                            capture_output=True, text=True, timeout=120)
    assert "qemu:raspberry-pi-5" in listed.stdout, listed.stdout + listed.stderr
